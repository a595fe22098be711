"""The grammars of configuration commands: `/chi_tieu`, `/lich`, `/thanh_vien`. Pure, no I/O."""

from __future__ import annotations

import re
from dataclasses import dataclass

from handlers.grammar import IndicatorMatcher, Problem, foreign_digit
from storage.folding import clean, fold, key

# The scheduled jobs a unit can time, by their one name (the scheduler's, the outbox's,
# `tcns jobs run`'s), and the words /lich and a plan's [schedule] accept for each.
JOBS = ("reminders", "summaries", "leaderboards", "digest")
JOB_KEYS = {
    "nhac": "reminders",
    "nhac nho": "reminders",
    "reminder": "reminders",
    "reminders": "reminders",
    "tong hop": "summaries",
    "summary": "summaries",
    "summaries": "summaries",
    "xep hang": "leaderboards",
    "leaderboard": "leaderboards",
    "leaderboards": "leaderboards",
    "ban tin": "digest",
    "digest": "digest",
}
# Words that put a setting back to what the unit inherits.
RESET_WORDS = frozenset({"mac dinh", "default", "xoa", "bo", "reset"})

_DAYS = {
    "thu2": 0, "t2": 0, "thu hai": 0, "mon": 0, "monday": 0,
    "thu3": 1, "t3": 1, "thu ba": 1, "tue": 1, "tuesday": 1,
    "thu4": 2, "t4": 2, "thu tu": 2, "wed": 2, "wednesday": 2,
    "thu5": 3, "t5": 3, "thu nam": 3, "thu": 3, "thursday": 3,
    "thu6": 4, "t6": 4, "thu sau": 4, "fri": 4, "friday": 4,
    "thu7": 5, "t7": 5, "thu bay": 5, "sat": 5, "saturday": 5,
    "cn": 6, "chu nhat": 6, "sun": 6, "sunday": 6,
}  # fmt: skip
_TIME = re.compile(r"^(\d{1,2})(?:[:h](\d{2})?)?$")
# Keys are single words ("tong_hop"), so a value may hold spaces: "to=doan thanh nien".
_PAIR_KEY = re.compile(r"(?:^|(?<=[\s,;]))(?P<key>[a-z_]+)\s*=")

AFFILIATIONS = {
    "doan": "youth_union",
    "doan thanh nien": "youth_union",
    "youth union": "youth_union",
    "cong an": "police",
    "police": "police",
    "truong thon": "village_head",
    "village head": "village_head",
    "can bo xa": "commune_staff",
    "commune staff": "commune_staff",
    "dang vien": "party",
    "party": "party",
    "phu nu": "womens_union",
    "hoi phu nu": "womens_union",
    "cuu chien binh": "veterans",
    "khac": "other",
    "other": "other",
}
_YES = frozenset({"co", "yes", "roi", "da", "1", "x"})
_NO = frozenset({"khong", "no", "chua", "0"})


@dataclass(frozen=True)
class When:
    weekday: int  # Monday 0
    minute: int  # after local midnight

    def label(self) -> str:
        return f"{self.minute // 60:02d}:{self.minute % 60:02d}"


def _pairs(text: str) -> list[tuple[str, str]] | Problem:
    """`a=1 b c=2 3`: each value runs to the next `key=`; keys folded, values as typed."""
    odd = foreign_digit(text)
    if odd is not None:
        return Problem("odd_digit", {"value": odd})
    original = clean(text)
    folded = fold(text)
    found = list(_PAIR_KEY.finditer(folded))
    if not found:
        return Problem("config_empty")
    if original[: found[0].start()].strip():
        return Problem("config_syntax", {"value": original[: found[0].start()].strip()})
    out: list[tuple[str, str]] = []
    for i, m in enumerate(found):
        end = found[i + 1].start() if i + 1 < len(found) else len(original)
        out.append((key(m.group("key")), original[m.end() : end].strip().strip("\"'").strip()))
    return out


def parse_when(text: str) -> When | None:
    """ "thu6 16:00", "T5 09:00", "thứ 6 16h", "chủ nhật 8:30", "fri 16:00"."""
    words = key(text).split()
    if len(words) < 2:
        return None
    day = " ".join(words[:-1])
    weekday = _DAYS.get(day, _DAYS.get(day.replace(" ", "")))
    if weekday is None:
        return None
    m = _TIME.match(words[-1])
    if not m:
        return None
    hour, minute = int(m.group(1)), int(m.group(2) or 0)
    if hour > 23 or minute > 59:
        return None
    return When(weekday, hour * 60 + minute)


def parse_schedule(text: str) -> dict[str, When | None] | Problem:
    """Job -> new time, or None to go back to the inherited one."""
    pairs = _pairs(text)
    if isinstance(pairs, Problem):
        return pairs
    out: dict[str, When | None] = {}
    for name, value in pairs:
        job = JOB_KEYS.get(name)
        if job is None:
            return Problem("schedule_unknown", {"key": name})
        if job in out:
            return Problem("duplicate", {"key": name})
        if key(value) in RESET_WORDS:
            out[job] = None
            continue
        when = parse_when(value)
        if when is None:
            return Problem("schedule_bad_time", {"key": name, "value": value or "?"})
        out[job] = when
    return out


def parse_targets(text: str, matcher: IndicatorMatcher) -> dict[str, int | None] | Problem:
    """Indicator code -> percent (0 to 100, 0 meaning no target), or None to inherit."""
    pairs = _pairs(text)
    if isinstance(pairs, Problem):
        return pairs
    out: dict[str, int | None] = {}
    for name, value in pairs:
        code = matcher.match(name)
        if code is None:
            return Problem("unknown_key", {"key": name})
        if code in out:
            return Problem("duplicate", {"key": code})
        folded = key(value).rstrip("%").strip()
        if folded in RESET_WORDS:
            out[code] = None
            continue
        if not folded.isdigit():
            return Problem("not_number", {"key": name, "value": value or "?"})
        percent = int(folded)
        if percent > 100:
            return Problem("target_range", {"key": name, "value": value})
        out[code] = percent
    return out


@dataclass(frozen=True)
class MemberChange:
    affiliation: str | None = None
    trained: bool | None = None


def parse_member(text: str) -> MemberChange | Problem:
    """`to=doan tap_huan=co`: a member's affiliation and whether they are trained."""
    pairs = _pairs(text)
    if isinstance(pairs, Problem):
        return pairs
    affiliation: str | None = None
    trained: bool | None = None
    for name, value in pairs:
        folded = key(value)
        if name in ("to", "to chuc", "don vi", "affiliation", "nguon"):
            affiliation = AFFILIATIONS.get(folded)
            if affiliation is None:
                return Problem("affiliation_unknown", {"value": value or "?"})
        elif name in ("tap huan", "trained", "da tap huan"):
            if folded in _YES:
                trained = True
            elif folded in _NO:
                trained = False
            else:
                return Problem("yes_no", {"key": name, "value": value or "?"})
        else:
            return Problem("member_unknown", {"key": name})
    return MemberChange(affiliation=affiliation, trained=trained)
