"""People's names as Vietnamese write them: family name first, whatever order a platform gives.

Telegram asks for a "first name" and a "last name", so a Vietnamese user often types first
"Mai", last "Trần Thị", and a board that joins them the Western way shows "Mai Trần Thị".
`display_name` is the one place a person's name is made from what the platform gives; every
board, list, workbook and log shows what it decided.

The rule weighs both orders (or, for a name given whole, each rotation of its words) as a
Vietnamese full name: a family name first is likely (a family name from the small set most
Vietnamese carry, weaker when the word is also a common given name, "Mai", "Hà", "Hoàng"); the
middle names "Văn"/"Thị" right after a family name are likelier still; a word that can only
be a family name last, or "Thị" last, is unlikely. A name is reordered only when another order
is clearly likelier and every word of it is a Vietnamese syllable, so "John Nguyen", "H'Hen
Niê" and "Anna Ho" stay as given. Accents carry meaning here ("Lý" is a family name, "Ly" a
given name; "Thị" a middle name, "Thi" a given name): a name written with accents is judged by
them, one written without by a stricter, folded reading.
"""

from __future__ import annotations

import re
import unicodedata

from storage.folding import fold, key

# Family names that are hardly ever given names (accented, lower case).
_FAMILY = frozenset({
    "nguyễn", "trần", "lê", "phạm", "huỳnh", "phan", "võ", "đặng", "bùi", "đỗ", "hồ", "ngô", "lý",
    "trịnh", "đinh", "trương", "đoàn", "tạ", "lưu", "quách", "khổng", "mạc", "triệu", "hứa",
    "khúc", "nghiêm", "phùng", "doãn", "lại", "diệp", "tống", "hầu", "đàm", "nông", "bế", "cầm",
    "lò", "phí", "bành", "nhữ", "thiều", "cù", "tôn", "chu", "tăng", "thân", "ông", "lữ", "lã",
    "khương", "lục", "hoàng", "vũ", "dương",
})  # fmt: skip
# Family names that are also common given (or middle) names: likely first, but no proof of
# anything when they come last ("Nguyễn Anh Vũ", "Trần Thị Mai").
_ALSO_GIVEN = frozenset({
    "hoàng", "vũ", "dương", "lâm", "mai", "hà", "cao", "đào", "kim", "châu", "giang", "phương",
    "thái", "tô", "la", "lương", "lường", "quàng", "kiều", "từ", "âu", "vương", "hoa", "sơn",
    "danh", "thạch", "đồng", "trình", "ninh", "mẫn", "yên", "hàn", "bạch", "văn", "viên", "vi",
    "kha", "cung", "tiêu", "quan", "lộc", "ma",
})  # fmt: skip
_MIDDLE = frozenset({"thị", "văn"})

# Without accents many family names are also given names ("Nguyen" is Nguyên, "Tran" Trân,
# "Dang" Đăng, "Trinh" Trinh, "Truong" Trường, "Ly" Ly): only these stay sure.
_FAMILY_FOLDED = frozenset({
    "le", "pham", "huynh", "phan", "vo", "bui", "do", "ho", "ngo", "quach", "khong", "hua",
    "khuc", "nghiem", "phung", "nong", "lo", "phi", "banh", "thieu", "cu",
})  # fmt: skip
_ALSO_GIVEN_FOLDED = frozenset({fold(w) for w in _FAMILY | _ALSO_GIVEN} - _FAMILY_FOLDED)
_MIDDLE_FOLDED = frozenset({"thi", "van"})

# A Vietnamese syllable with its accents folded away: an onset, a vowel group, a coda.
_SYLLABLE = re.compile(
    r"(?:ngh|ng|nh|ch|gh|gi|kh|ph|qu|th|tr|[bcdghklmnprstvx])?"
    r"(?:uye|uya|uyu|uoi|uou|oai|oay|oeo|uay|ieu|yeu"
    r"|ai|ao|au|ay|eo|eu|ia|ie|iu|oa|oe|oi|oo|ua|ue|ui|uo|uu|uy|ye"
    r"|[aeiouy])"
    r"(?:ch|ng|nh|[cmnpt])?"
)

# How much likelier one order must be than the order given: two fields are a strong hint of
# where the family name is, a name typed whole a weaker one.
_MARGIN_FIELDS = 1
_MARGIN_WHOLE = 3


def _words(text: str | None) -> list[str]:
    return unicodedata.normalize("NFC", text or "").split()


def _accented(words: list[str]) -> bool:
    return any(fold(w) != w.lower() for w in words)


def _vietnamese(words: list[str]) -> bool:
    return all(_SYLLABLE.fullmatch(fold(w)) for w in words)


def _score(words: list[str], accented: bool) -> int:
    """How much `words`, in this order, look like a Vietnamese full name."""
    if accented:
        seen = [w.lower() for w in words]
        family, also, middle = _FAMILY, _ALSO_GIVEN, _MIDDLE
    else:
        seen = [fold(w) for w in words]
        family, also, middle = _FAMILY_FOLDED, _ALSO_GIVEN_FOLDED, _MIDDLE_FOLDED
    first, last = seen[0], seen[-1]
    score = 0
    if first in family and first not in also:
        score += 3
    elif first in family or first in also:
        score += 2
    elif first in middle:
        score -= 1
    if score > 0 and len(seen) > 2 and seen[1] in middle:
        score += 2  # "Trần Thị …", "Võ Văn …"
    if len(seen) > 1 and last in family and last not in also:
        score -= 2
    if len(seen) > 1 and last in middle and accented:
        score -= 3  # "Mai Trần Thị": a name never ends with its middle name
    elif len(seen) > 1 and last in middle:
        score -= 1  # "Thi" and "Van" are given names too
    return score


def display_name(first: str | None, last: str | None = None) -> str:
    """The name to show for what a platform gives: its first and last name fields (Telegram),
    or one whole name (`last` None: Zalo, a typed name). Family name first; a name that does
    not look Vietnamese, or whose order is unclear, as given."""
    head, tail = _words(first), _words(last)
    given = head + tail
    if len(given) < 2 or not _vietnamese(given):
        return " ".join(given)
    accented = _accented(given)
    if head and tail:
        candidates, margin = [tail + head], _MARGIN_FIELDS
    else:
        candidates = [given[k:] + given[:k] for k in range(1, len(given))]
        margin = _MARGIN_WHOLE
    best = max(candidates, key=lambda words: _score(words, accented))
    if _score(best, accented) - _score(given, accented) >= margin:
        return " ".join(best)
    return " ".join(given)


def name_key(name: str) -> str:
    """A key two spellings of one person's name share: accents, case and the order of its
    words aside ("Trần Thị Mai", "Mai Tran Thi" and "tran thi mai" meet)."""
    return " ".join(sorted(key(name).split()))


def name_words(name: str) -> tuple[str, ...]:
    """The name's words, folded: case, accents and spacing aside ("Đ" is "d")."""
    return tuple(key(name).replace(".", " ").split())


def same_name(a: str, b: str) -> bool:
    """Whether two spellings name the same person: the same words in the same order, or in
    the order the other way of writing a name gives — the family name moved from the front to
    the back or back again ("Mai Trần Thị" on Telegram is "Trần Thị Mai"; "tran thi mai" typed
    without accents too). One word alone ("Mai") is too little to tell a person by, unless
    both are just that word; never two blanks."""
    x, y = name_words(a), name_words(b)
    if not x or len(x) != len(y):
        return False
    if x == y:
        return True
    if len(x) < 2:
        return False
    # Every rotation: "Mai Trần Thị" is "Trần Thị Mai" turned by one word or by two.
    return any(x[n:] + x[:n] == y for n in range(1, len(x)))


def short_form(full: str, short: str) -> bool:
    """Whether `short` is `full` without its middle names: "Thu Lê" or "Lê Thu" for "Lê Thị
    Thu", as many set their name on Telegram (first name "Thu", last name "Lê"). Only a guess:
    taken where one person of the list fits it, never two."""
    whole, two = name_words(full), name_words(short)
    return (
        len(whole) >= 3
        and len(two) == 2
        and two[0] != two[1]
        and set(two)
        == {
            whole[0],
            whole[-1],
        }
    )
