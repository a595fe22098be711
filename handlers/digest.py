"""The rules of the commune digest, over plain figures: which villages are silent, which dropped,
which are behind the pace their target needs by the quarter's end. Pure, no I/O.

Weeks are the finished ones before the digest's week, oldest first: the last of them is "last
week", the four before it are what last week is measured against.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date

WEEKS_SEEN = 5  # last week and the four before it
SILENT_WEEKS = 2  # no report in this many finished weeks: silent
# Last week at or under this share of the four weeks' average is a drop worth a line...
DROP_SHARE = 0.5
# ...when that average was at least this much a week (0.25 a week falling to 0 is not news).
DROP_FLOOR = 1.0
PACE_WEEKS = 4  # the recent pace: the average of the last this many finished weeks


@dataclass(frozen=True)
class IndicatorWeeks:
    code: str
    weeks: tuple[int, ...]  # the WEEKS_SEEN finished weeks' figures, oldest first
    done: int  # cumulative to the end of last week
    needed: int | None = None  # households its target asks for; None without one


@dataclass(frozen=True)
class VillageWeeks:
    unit_id: int
    name: str
    has_team: bool
    reported: tuple[bool, ...]  # whether it had a report in each of the SILENT_WEEKS weeks
    last_report: date | None = None
    members: int = 0
    members_reported: int = 0  # of them, those who reported last week
    indicators: tuple[IndicatorWeeks, ...] = ()


@dataclass(frozen=True)
class Drop:
    code: str
    last: int
    average: float  # of the four weeks before


@dataclass(frozen=True)
class Pace:
    code: str
    missing: int  # households still to reach the target
    per_week: int  # what the weeks left need, rounded up
    recent: float  # the average of the last PACE_WEEKS weeks


@dataclass(frozen=True)
class Findings:
    silent: list[VillageWeeks] = field(default_factory=list)
    dropped: list[tuple[VillageWeeks, list[Drop]]] = field(default_factory=list)
    behind: list[tuple[VillageWeeks, Pace]] = field(default_factory=list)
    no_team: list[VillageWeeks] = field(default_factory=list)
    # Villages with members who did not report last week, most missing first; and the counts
    # over every village with a team.
    unreported: list[VillageWeeks] = field(default_factory=list)
    teams: int = 0  # villages with a team
    members: int = 0
    members_missing: int = 0

    @property
    def alarms(self) -> int:
        return len(self.silent) + len(self.dropped) + len(self.behind)


def weeks_left(monday: date, quarter_last: date) -> int:
    """The weeks of the quarter still begun, the digest's own included: from Monday 30/11 to
    31/12 that is five (the last one three days long)."""
    return max(1, math.ceil(((quarter_last - monday).days + 1) / 7))


def per_week(missing: int, weeks: int) -> int:
    """Households a week that close `missing` in `weeks` weeks, rounded up."""
    return math.ceil(missing / max(1, weeks))


def drops(indicators: Sequence[IndicatorWeeks]) -> list[Drop]:
    """The indicators whose last week fell to half the average of the four before or less."""
    out: list[Drop] = []
    for ind in indicators:
        if len(ind.weeks) < WEEKS_SEEN:
            continue
        *before, last = ind.weeks[-WEEKS_SEEN:]
        average = sum(before) / len(before)
        if average >= DROP_FLOOR and last <= average * DROP_SHARE:
            out.append(Drop(ind.code, last, average))
    return sorted(out, key=lambda d: d.last / d.average)


def pace(ind: IndicatorWeeks, weeks: int) -> Pace | None:
    """How an indicator with a target stands against what the weeks left need; None when it
    has no target or has reached it."""
    if ind.needed is None or ind.needed <= 0:
        return None
    missing = ind.needed - ind.done
    if missing <= 0:
        return None
    recent = ind.weeks[-PACE_WEEKS:]
    return Pace(ind.code, missing, per_week(missing, weeks), sum(recent) / PACE_WEEKS)


def behind(indicators: Sequence[IndicatorWeeks], weeks: int) -> Pace | None:
    """The weakest of the indicators whose recent pace is under what they need a week: the
    lowest share of the need its pace covers (the larger need first when equal)."""
    slow = [
        p
        for p in (pace(ind, weeks) for ind in indicators)
        if p is not None and p.recent < p.per_week
    ]
    if not slow:
        return None
    return min(slow, key=lambda p: (p.recent / p.per_week, -p.per_week))


def findings(villages: Sequence[VillageWeeks], *, weeks: int) -> Findings:
    """What a commune's admins should look at this week. A village without a team is listed
    once as such and raises no alarm: there is nobody to be silent or slow."""
    out = Findings()
    teams = [v for v in villages if v.has_team]
    out.no_team.extend(v for v in villages if not v.has_team)
    for v in teams:
        silent = not any(v.reported[-SILENT_WEEKS:])
        if silent:
            out.silent.append(v)
        else:
            # A silent village's drop says nothing its silence does not.
            fell = drops(v.indicators)
            if fell:
                out.dropped.append((v, fell))
        slow = behind(v.indicators, weeks)
        if slow is not None:
            out.behind.append((v, slow))
    # The longest silent first (never reported before any date), then by name.
    out.silent.sort(key=lambda v: (v.last_report or date.min, v.name))
    out.dropped.sort(key=lambda vd: (vd[1][0].last / vd[1][0].average, vd[0].name))
    out.behind.sort(key=lambda vp: (vp[1].recent / vp[1].per_week, vp[0].name))
    unreported = sorted(
        (v for v in teams if v.members > v.members_reported),
        key=lambda v: (-(v.members - v.members_reported), v.name),
    )
    return replace(
        out,
        unreported=unreported,
        teams=len(teams),
        members=sum(v.members for v in teams),
        members_missing=sum(v.members - v.members_reported for v in teams),
    )
