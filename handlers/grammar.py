"""The grammars people type: `/bao_cao` reports and `/lien_ket` bindings. Pure, no I/O.

Parsing runs on the folded text (no case, no accents), whose characters line up one to one with
the cleaned original, so a note is cut from the original with its accents intact.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date

from storage.folding import clean, fold, key

MAX_VALUE = 100_000
MAX_NOTE = 500

# Words people put after a number ("12 hộ"); never an indicator on their own.
_UNIT_WORDS = frozenset({"ho", "nguoi", "hs", "tk", "lan", "cai", "don", "luot"})
_UNIT_PAIRS = frozenset({"ho so", "tai khoan", "ho dan", "ho gia dinh"})

_NOTE = re.compile(r"(?:^|(?<=[\s,;]))ghi[\s_]*chu\b\s*[:=]?\s*(?P<note>[^\n]*)", re.MULTILINE)
_DATE_KEY = re.compile(r"(?:^|(?<=[\s,;]))ngay\b\s*[:=]?\s*(?P<value>[^\s,;]*)")
_DATE_VALUE = re.compile(r"^(\d{1,2})[/.\-](\d{1,2})(?:[/.\-](\d{2}|\d{4}))?$")
_SEGMENT = re.compile(r"[\n;,]")
# A word may hold inner hyphens ("e-payment") but neither starts nor ends with one.
_TOKEN = re.compile(r"[=:]|[-+]?\d+(?:\.\d+)*|[^\s=:\d+\-](?:[^\s=:\d+]*[^\s=:\d+\-])?|[-+]")
_NUMBER = re.compile(r"^[-+]?\d+(?:\.\d+)*$")
# Quotes, brackets and a full stop that is not inside a number are mere decoration.
_NOISE = re.compile(r"[\"'()\[\]{}!?*#/\\|<>~`]|(?<!\d)\.|\.(?!\d)")


@dataclass(frozen=True)
class IndicatorSpec:
    code: str
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class ParsedReport:
    values: dict[str, int]  # indicator code -> number, in the order typed
    day: date | None = None  # from ngay=, else None (the message's own date)
    note: str | None = None


@dataclass(frozen=True)
class Problem:
    """Why a text was refused. `code` selects the message; `args` fill it in."""

    code: str
    args: dict[str, str] = field(default_factory=dict)


class IndicatorMatcher:
    """Finds the indicator a typed key means: its code or an alias, or the longest alias
    standing as whole words inside a longer key ("Cài app Smart" -> app)."""

    def __init__(self, specs: Iterable[IndicatorSpec]) -> None:
        self.codes: list[str] = []
        self._exact: dict[str, str] = {}
        pairs: list[tuple[str, str]] = []
        for spec in specs:
            self.codes.append(spec.code)
            for word in (spec.code, *spec.aliases):
                k = key(word)
                if k:
                    self._exact.setdefault(k, spec.code)
                    pairs.append((k, spec.code))
        self._by_length = sorted(pairs, key=lambda p: -len(p[0]))

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


def _blank(text: str, start: int, end: int) -> str:
    return text[:start] + " " * (end - start) + text[end:]


def parse_date(value: str, *, today: date) -> date | None:
    """DD/MM[/YYYY]; without a year, the latest such day not after today."""
    m = _DATE_VALUE.match(value)
    if not m:
        return None
    day, month, year = int(m.group(1)), int(m.group(2)), m.group(3)
    try:
        if year is not None:
            y = int(year)
            return date(y + 2000 if y < 100 else y, month, day)
        candidate = date(today.year, month, day)
        if candidate > today:
            candidate = date(today.year - 1, month, day)
        return candidate
    except ValueError:
        return None


def parse_report(text: str, matcher: IndicatorMatcher, *, today: date) -> ParsedReport | Problem:
    original = clean(text)
    folded = fold(text)
    note: str | None = None
    day: date | None = None

    m = _NOTE.search(folded)
    if m:
        note = original[m.start("note") : m.end("note")].strip().strip("\"'").strip() or None
        if note and len(note) > MAX_NOTE:
            note = note[:MAX_NOTE]
        folded = _blank(folded, m.start(), m.end())

    m = _DATE_KEY.search(folded)
    if m:
        raw = original[m.start("value") : m.end("value")]
        day = parse_date(fold(raw), today=today)
        if day is None:
            return Problem("bad_date", {"value": raw or "?"})
        folded = _blank(folded, m.start(), m.end())

    values: dict[str, int] = {}
    for segment in _SEGMENT.split(folded):
        problem = _parse_segment(segment, matcher, values)
        if problem is not None:
            return problem
    if not values:
        return Problem("empty")
    return ParsedReport(values=values, day=day, note=note)


def _strip_unit_words(words: Sequence[str]) -> list[str]:
    rest = list(words)
    while rest:
        if len(rest) >= 2 and f"{rest[0]} {rest[1]}" in _UNIT_PAIRS:
            rest = rest[2:]
        elif rest[0] in _UNIT_WORDS:
            rest = rest[1:]
        else:
            break
    return rest


def _parse_segment(
    segment: str, matcher: IndicatorMatcher, values: dict[str, int]
) -> Problem | None:
    tokens = _TOKEN.findall(_NOISE.sub(" ", segment))
    words: list[str] = []
    separated = False  # a "=" or ":" stood between the key and what follows
    had_value = False
    for tok in tokens:
        if tok in ("=", ":", "-", "+"):
            if words:
                separated = True
            continue
        if _NUMBER.match(tok):
            if not words:
                return Problem("number_without_key", {"value": tok})
            problem = _add_pair(words, tok, matcher, values, after_value=had_value)
            if problem is not None:
                return problem
            words, separated, had_value = [], False, True
            continue
        if separated:
            return Problem("not_number", {"key": " ".join(words), "value": tok})
        words.append(tok)
    if words:
        if had_value and not _strip_unit_words(words):
            return None  # "… 12 hộ": the unit after the last number
        phrase = " ".join(words)
        if matcher.match(phrase) is None:
            return Problem("unknown_key", {"key": phrase})
        return Problem("missing_value", {"key": phrase})
    return None


def _add_pair(
    words: list[str],
    number: str,
    matcher: IndicatorMatcher,
    values: dict[str, int],
    *,
    after_value: bool,
) -> Problem | None:
    phrase = " ".join(words)
    code = matcher.match(phrase)
    if code is None and after_value:
        # "app 5 hộ tt 3": the "hộ" belonged to the 5.
        rest = _strip_unit_words(words)
        if rest and rest != words:
            phrase = " ".join(rest)
            code = matcher.match(phrase)
    if code is None:
        return Problem("unknown_key", {"key": phrase})
    if number.startswith("-") and number.strip("-0.") != "":
        return Problem("negative", {"key": phrase, "value": number})
    if "." in number:
        return Problem("not_integer", {"key": phrase, "value": number})
    value = int(number.lstrip("+"))
    if value > MAX_VALUE:
        return Problem("too_large", {"key": phrase, "value": number})
    if code in values:
        return Problem("duplicate", {"key": code})
    values[code] = value
    return None


# --- /lien_ket -----------------------------------------------------------------------------

LINK_KEYS = ("tinh", "xa", "thon", "ho")
_LINK_KEY = re.compile(r"(?:^|(?<=[\s,;]))(?P<key>[a-z_]+)\s*=")
_LINK_ALIASES = {"phuong": "xa", "dac_khu": "xa", "ban": "thon", "ap": "thon", "to": "thon"}


@dataclass(frozen=True)
class LinkRequest:
    commune: str
    province: str | None = None
    village: str | None = None
    households: int | None = None


def parse_link(text: str) -> LinkRequest | Problem:
    """`tinh=Đà Nẵng xa=Thăng Bình thon=Thôn 3 ho=350`: each value runs to the next key."""
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
        if not value:
            return Problem("link_missing_value", {"key": name})
        fields[name] = " ".join(value.split())
    if "xa" not in fields:
        return Problem("link_no_commune")
    households: int | None = None
    if "ho" in fields:
        raw = fields["ho"].split()[0]
        if not raw.isdigit():
            return Problem("not_number", {"key": "ho", "value": fields["ho"]})
        households = int(raw)
        if households > MAX_VALUE:
            return Problem("too_large", {"key": "ho", "value": raw})
    return LinkRequest(
        commune=fields["xa"],
        province=fields.get("tinh"),
        village=fields.get("thon"),
        households=households,
    )


def parse_count(text: str) -> int | Problem:
    """A single non-negative whole number, as `/so_ho 350` takes (a unit word may follow)."""
    words = fold(text).split()
    if not words:
        return Problem("count_missing")
    raw = words[0]
    if not _NUMBER.match(raw):
        return Problem("not_number", {"key": "ho", "value": clean(text).split()[0]})
    if raw.startswith("-") and raw.strip("-0.") != "":
        return Problem("negative", {"key": "ho", "value": raw})
    if "." in raw:
        return Problem("not_integer", {"key": "ho", "value": raw})
    value = int(raw.lstrip("+"))
    if value > MAX_VALUE:
        return Problem("too_large", {"key": "ho", "value": raw})
    return value
