"""Search keys for Vietnamese names and words: case, accents and spacing folded away.

It lives at the bottom layer because unit lookup keys are stored columns; the report grammar
uses the same folding so that a key typed on a phone without accents finds its indicator.
"""

from __future__ import annotations

import re
import unicodedata

_SPACE = re.compile(r"\s+")
# Phone keyboards send typographic quotes and dashes; they carry no meaning in commands.
_PUNCT_MAP = str.maketrans(
    {
        "“": '"',
        "”": '"',
        "„": '"',
        "«": '"',
        "»": '"',
        "‘": "'",
        "’": "'",
        "‚": "'",
        "–": "-",
        "—": "-",
        "−": "-",
        "\u00a0": " ",
        "\u200b": " ",
        "\ufeff": " ",
    }
)


def clean(text: str) -> str:
    """NFKC-compose, map typographic punctuation, drop stray combining marks.

    After this, every character of the result folds to exactly one character (see `fold_char`),
    so indices found in the folded text are valid in the cleaned original.
    """
    text = unicodedata.normalize("NFKC", text).translate(_PUNCT_MAP)
    return "".join(ch for ch in text if not unicodedata.combining(ch))


# Characters that change how text around them is shown without being seen: controls (BEL,
# ESC, NUL…), format characters (bidi overrides and isolates, zero-width spaces and joiners,
# BOMs, tags), private-use, surrogates and unassigned code points.
_HIDDEN = frozenset({"Cc", "Cf", "Co", "Cs", "Cn"})
# Unicode's default-ignorable code points that are letters or marks (Hangul fillers, the
# grapheme joiner, variation selectors, Mongolian and Khmer invisibles) and the blank Braille
# pattern: shown as nothing, they make two names look alike that are not.
_INVISIBLE = re.compile(
    "[\u034f\u115f\u1160\u17b4\u17b5\u180b-\u180f\u2800\u3164\ufe00-\ufe0f\uffa0"
    "\U000e0100-\U000e01ef\U0001bca0-\U0001bca3\U0001d173-\U0001d17a]"
)
_MARKS_PER_LETTER = 2  # Vietnamese needs two (a vowel mark and a tone) when decomposed


def safe_name(text: str, *, limit: int = 200) -> str:
    """A name as a person gave it, made safe to store and to show anywhere (a board, a
    workbook, a page, a terminal): hidden characters removed, every kind of space and line
    break made one space, stacks of combining marks cut, composed (NFC), at most `limit`
    characters. The one cleaner for every name that comes in: a village's, a team's, a
    person's, a chat's, an imported cell."""
    out: list[str] = []
    marks = _MARKS_PER_LETTER  # no mark stands first: it has no letter to sit on
    for ch in unicodedata.normalize("NFC", _INVISIBLE.sub("", text)):
        category = unicodedata.category(ch)
        if category[0] == "Z" or ch in "\t\n\r\v\f\x1c\x1d\x1e\x1f\x85":
            out.append(" ")
            marks = _MARKS_PER_LETTER
        elif category in _HIDDEN:
            continue
        elif category[0] == "M":
            marks += 1
            if marks <= _MARKS_PER_LETTER:
                out.append(ch)
        else:
            out.append(ch)
            marks = 0
    name = " ".join("".join(out).split())
    return name[:limit].rstrip()


def fold_char(ch: str) -> str:
    if ch in "đĐ":
        return "d"
    if ch.isascii():
        return ch.lower()
    base = unicodedata.normalize("NFD", ch)[0]
    return base.lower() if len(base.lower()) == 1 else ch


def fold(text: str) -> str:
    """Lower case without accents, same length as `clean(text)`."""
    return "".join(fold_char(ch) for ch in clean(text))


def key(text: str) -> str:
    """A comparison key: folded, underscores as spaces, runs of space collapsed, trimmed."""
    return _SPACE.sub(" ", fold(text).replace("_", " ")).strip()


_UNIT_PREFIXES = (
    "thanh pho ",
    "tinh ",
    "dac khu ",
    "phuong ",
    "xa ",
    "thi tran ",
    "huyen ",
    "quan ",
    "thi xa ",
)


def unit_key(name: str) -> str:
    """The lookup key of an administrative name: "Xã Thăng Bình" and "thang binh" meet."""
    k = key(name).strip("\"' ")
    for prefix in _UNIT_PREFIXES:
        if k.startswith(prefix) and len(k) > len(prefix):
            return k[len(prefix) :].strip()
    return k


_PUNCTUATION = re.compile(r"[^\w ]")
# Words before a village's own name that are no part of it: "Thôn Phú Mỹ" is "Phú Mỹ".
VILLAGE_WORDS = ("thon ", "ap ", "ban ", "khoi pho ", "to dan pho ", "khu pho ")


def village_key(name: str) -> str:
    """ "Thôn Phú Mỹ", "thon phu my" and "Phú Mỹ" meet; "Thôn 3" and "Tổ dân phố 3" do too."""
    k = _PUNCTUATION.sub(" ", key(name))
    k = " ".join(k.split())
    for word in VILLAGE_WORDS:
        if k.startswith(word) and len(k) > len(word):
            return k[len(word) :]
    return k
