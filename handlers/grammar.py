"""The small grammars people type: `/lien_ket` bindings, counts and dates, and the indicator
matcher that the report reader (`handlers.reading`) and `/chi_tieu` share. Pure, no I/O.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

from rapidfuzz import fuzz, process

from storage.folding import clean, fold, key, safe_name

MAX_VALUE = 100_000
MAX_NOTE = 500
NAME_CHARS = 120  # a unit's name as given in a command ("Khu phố Tân Long Đông Bắc" is 25)


def not_a_name(value: str) -> bool:
    """A village's, commune's or person's name holds letters, and no markup: "🌾" alone or
    "<b>Hà Lam</b>" is no name (escaped everywhere, but nobody means it)."""
    return not any(c.isalpha() for c in value) or "<" in value or ">" in value


# A commune has tens of villages; more than this in one is a mistake (or a file meant to hurt).
VILLAGES_PER_COMMUNE = 300
# Words that count households rather than name an indicator.
_COUNTING_WORDS = frozenset({"ho", "gia", "dinh", "dan", "households", "household"})
_NUMBER = re.compile(r"^[-+]?\d+(?:\.\d+)*$")
_THOUSANDS = re.compile(r"^\d{1,3}(?:\.\d{3})+$")
_DATE_VALUE = re.compile(r"^(\d{1,2})[/.\-](\d{1,2})(?:[/.\-](\d{2}|\d{4}))?$")


# Words people put after a number ("12 hộ"); never an indicator on their own.
@dataclass(frozen=True)
class IndicatorSpec:
    code: str
    aliases: tuple[str, ...] = ()
    households: bool = True  # counts households (bounded by the village's), not things


@dataclass(frozen=True)
class Problem:
    """Why a text was refused. `code` selects the message; `args` fill it in."""

    code: str
    args: dict[str, str] = field(default_factory=dict)
    # When part of the text was understood: the arguments of a `/bao_cao` that records it.
    suggestion: str | None = None


class IndicatorMatcher:
    """Finds the indicator a typed key means: its code, a name or an alias (`exact`), or the
    longest alias standing as whole words inside a longer key ("Cài app Smart" -> app)."""

    def __init__(self, specs: Iterable[IndicatorSpec]) -> None:
        self.codes: list[str] = []
        self.household_codes: set[str] = set()
        self._exact: dict[str, str] = {}
        pairs: list[tuple[str, str]] = []
        for spec in specs:
            self.codes.append(spec.code)
            if spec.households:
                self.household_codes.add(spec.code)
            for word in (spec.code, *spec.aliases):
                k = key(word)
                if k:
                    self._exact.setdefault(k, spec.code)
                    pairs.append((k, spec.code))
        self._by_length = sorted(pairs, key=lambda p: -len(p[0]))
        self.longest = max((len(k.split()) for k in self._exact), default=1)
        self.vocabulary = frozenset(w for k in self._exact for w in k.split())

    def exact(self, phrase: str) -> str | None:
        return self._exact.get(key(phrase))

    def is_weak(self, alias: str) -> bool:
        """An alias made of words that also just count households ("hộ", "hộ gia đình")
        names its indicator only when nothing else in the key does."""
        return all(w in _COUNTING_WORDS for w in key(alias).split())

    def near(self, phrase: str) -> tuple[str, float] | None:
        """The indicator whose code or alias is closest to a mistyped key, with the score
        (0–100), when one is close enough to ask about."""
        k = key(phrase)
        if len(k) < 4:
            return None
        found = process.extract(k, list(self._exact), scorer=fuzz.ratio, limit=8)
        if not found or found[0][1] < 75:
            return None
        alias, score, _index = found[0]
        code = self._exact[alias]
        rival = max((sc for a, sc, _i in found if self._exact[a] != code), default=0.0)
        # Two indicators almost as close: a guess either way could store the wrong one.
        if rival > score - 10:
            return None
        return code, float(score)

    def match(self, phrase: str) -> str | None:
        k = key(phrase)
        if not k:
            return None
        if k in self._exact:
            return self._exact[k]
        padded = f" {k} "
        best: set[str] = set()
        best_len = 0
        for alias, code in self._by_length:
            if len(alias) < best_len:
                break
            if f" {alias} " in padded:
                best.add(code)
                best_len = len(alias)
        return best.pop() if len(best) == 1 else None


def parse_date(value: str, *, today: date) -> date | None:
    """DD/MM[/YYYY]. Without a year, this year's day — or last year's when this year's lies
    more than half a year ahead (30/12 read on 2 January). A day a little ahead stays in the
    future, for the caller to refuse with the right year."""
    m = _DATE_VALUE.match(value)
    if not m:
        return None
    day, month, year = int(m.group(1)), int(m.group(2)), m.group(3)
    try:
        if year is not None:
            y = int(year)
            return date(y + 2000 if y < 100 else y, month, day)
        candidate = date(today.year, month, day)
        if (candidate - today).days > 183:
            candidate = date(today.year - 1, month, day)
        return candidate
    except ValueError:
        return None


def foreign_digit(text: str) -> str | None:
    """A character Unicode counts as a digit that is not a keyboard's 0–9: a superscript
    ("10³" folds to 103), a subscript, a circled, full-width or other script's digit. The
    numbers of commands that set something (households, targets, times) take only 0–9."""
    for ch in text:
        if not ch.isascii() and unicodedata.category(ch) in ("Nd", "No", "Nl"):
            return ch
    return None


# --- /lien_ket -----------------------------------------------------------------------------

LINK_KEYS = ("tinh", "xa", "thon", "ho", "moi")
_LINK_KEY = re.compile(r"(?:^|(?<=[\s,;]))(?P<key>[a-z_]+)\s*=")
_LINK_ALIASES = {"phuong": "xa", "dac_khu": "xa", "ban": "thon", "ap": "thon", "to": "thon"}


@dataclass(frozen=True)
class LinkRequest:
    commune: str
    province: str | None = None
    village: str | None = None
    households: int | None = None
    new: bool = False  # `moi=co`: a new village even when one of a close name exists


def parse_link(text: str) -> LinkRequest | Problem:
    """`tinh=Đà Nẵng xa=Thăng Bình thon=Thôn 3 ho=350`: each value runs to the next key."""
    odd = foreign_digit(text)
    if odd is not None:
        return Problem("odd_digit", {"value": odd})
    original = clean(text)
    folded = fold(text)
    found = list(_LINK_KEY.finditer(folded))
    if not found:
        return Problem("link_empty")
    if original[: found[0].start()].strip():
        return Problem("link_unknown", {"key": original[: found[0].start()].strip()})
    fields: dict[str, str] = {}
    for i, m in enumerate(found):
        name = _LINK_ALIASES.get(m.group("key"), m.group("key"))
        end = found[i + 1].start() if i + 1 < len(found) else len(original)
        value = original[m.end() : end].strip().strip("\"'").strip()
        if name not in LINK_KEYS:
            return Problem("link_unknown", {"key": m.group("key")})
        if name in fields:
            return Problem("duplicate", {"key": name})
        value = safe_name(value, limit=NAME_CHARS + 1)
        if not value:
            return Problem("link_missing_value", {"key": name})
        if len(value) > NAME_CHARS:
            return Problem("name_too_long", {"key": name, "count": str(NAME_CHARS)})
        # A commune or village may be named by its code (xa=20791, thon=20791-3).
        coded = bool(re.fullmatch(r"[\d\s-]+", value)) and any(c.isdigit() for c in value)
        if name in ("tinh", "xa", "thon") and not coded and not_a_name(value):
            return Problem("not_a_name", {"key": name, "value": value[:30]})
        fields[name] = value
    if "xa" not in fields:
        return Problem("link_no_commune")
    households: int | None = None
    if "ho" in fields:
        raw = fields["ho"].split()[0]
        if not _NUMBER.match(raw):
            return Problem("not_number", {"key": "ho", "value": fields["ho"]})
        if any(ch.isdigit() for w in fields["ho"].split()[1:] for ch in w):
            return Problem("one_number", {"key": "ho", "value": fields["ho"]})
        counted = whole_number(raw, "ho")
        if isinstance(counted, Problem):
            return counted
        households = counted
    return LinkRequest(
        commune=fields["xa"],
        province=fields.get("tinh"),
        village=fields.get("thon"),
        households=households,
        new=fold(fields.get("moi", "")) in ("co", "yes", "1"),
    )


def whole_number(raw: str, key: str) -> int | Problem:
    """A count as typed, the one rule for reports and admin commands alike: dots between
    thousands ("1.200", as Vietnamese writes it); a negative, a fraction or more than
    MAX_VALUE answered with what was wrong."""
    if not _NUMBER.match(raw):
        return Problem("not_number", {"key": key, "value": raw})
    if raw.startswith("-") and raw.strip("-0.") != "":
        return Problem("negative", {"key": key, "value": raw})
    raw = raw.lstrip("+-")
    if _THOUSANDS.match(raw):
        raw = raw.replace(".", "")
    if "." in raw:
        return Problem("not_integer", {"key": key, "value": raw})
    value = int(raw)
    if value > MAX_VALUE:
        return Problem("too_large", {"key": key, "value": raw})
    return value


def parse_count(text: str) -> int | Problem:
    """A single non-negative whole number, as `/so_ho 350` takes (a unit word may follow)."""
    odd = foreign_digit(text)
    if odd is not None:
        return Problem("odd_digit", {"value": odd})
    words = fold(text).split()
    if not words:
        return Problem("count_missing")
    raw = words[0]
    if not _NUMBER.match(raw):
        return Problem("not_number", {"key": "ho", "value": clean(text).split()[0]})
    if any(ch.isdigit() for w in words[1:] for ch in w):
        # "1 200" (a space between thousands) or "350 hộ 400": which number is meant?
        return Problem("one_number", {"key": "ho", "value": " ".join(clean(text).split())})
    return whole_number(raw, "ho")
