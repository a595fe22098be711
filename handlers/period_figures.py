"""A period's figures for every unit of a scope, read in one place, so that no sheet or view can
title one period and count another.

Two figures per unit and indicator, never mixed:
- `done`: done in the period, the live reports dated from its first day to `until`;
- `cumulative`: cumulative at its end, every live report dated up to `until` (the running
  totals, less what was dated after).
`until` is the period's last day, or today while the period runs. `by_week` splits `done`
week by week, the weeks the period's ends cut kept as their parts, so the weeks add up to it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from handlers import scoring
from handlers.periods import Period, WeekPart
from handlers.progress import Own, grades_of, own_targets, score_of
from storage import config, reports, units
from storage.models import Indicator, Unit
from storage.reports import ALL_TIME

Sums = dict[int, int]  # indicator id -> amount


@dataclass(frozen=True)
class PeriodFigures:
    period: Period  # a campaign's from its first report
    until: date
    weeks: list[WeekPart]
    done: dict[int, Sums]  # unit id -> done in the period
    cumulative: dict[int, Sums]  # unit id -> cumulative at `until`
    by_week: dict[int, list[Sums]]  # unit id -> done, one entry per week part

    def done_in(self, unit_id: int) -> Sums:
        return self.done.get(unit_id, {})

    def cumulative_at_end(self, unit_id: int) -> Sums:
        return self.cumulative.get(unit_id, {})

    def weekly(self, unit_id: int) -> list[Sums]:
        return self.by_week.get(unit_id) or [{} for _ in self.weeks]


async def period_figures(
    session: AsyncSession,
    *,
    scope: Unit,
    period: Period,
    today: date,
    indicators: Sequence[Indicator],
) -> PeriodFigures:
    """Every unit of `scope`'s subtree (itself included): what it did in `period`, week by
    week, and where it stood at the period's end (or today, while the period runs)."""
    if period.kind == "campaign":
        began = await reports.first_report_date(session, scope=scope)
        period = period.starting(began or period.until(today))
    until = period.until(today)
    weeks = period.weeks(today)
    daily = await reports.daily_sums_under(session, scope=scope, first=period.first, last=until)
    done: dict[int, Sums] = {}
    by_week: dict[int, list[Sums]] = {}
    for uid, days in daily.items():
        total: Sums = {}
        parts: list[Sums] = [{} for _ in weeks]
        for day, sums in days.items():
            n = (day - weeks[0].monday).days // 7
            for ind, amount in sums.items():
                total[ind] = total.get(ind, 0) + amount
                parts[n][ind] = parts[n].get(ind, 0) + amount
        done[uid], by_week[uid] = total, parts
    indicator_ids = [ind.id for ind in indicators if ind.id is not None]
    cumulative = await reports.totals_under(
        session, scope=scope, level=None, indicator_ids=indicator_ids, period=ALL_TIME
    )
    # Reports dated after the end (an old period exported today) are in the running totals.
    later = await reports.sums_under(session, scope=scope, first=until + timedelta(days=1))
    for uid, sums in later.items():
        row = cumulative.setdefault(uid, {})
        for ind, amount in sums.items():
            row[ind] = row.get(ind, 0) - amount
    return PeriodFigures(period, until, weeks, done, cumulative, by_week)


@dataclass(frozen=True)
class Standing:
    """A unit's score and grade on its cumulative figures at the period's end."""

    households: int | None
    score: float
    grade: str


async def standings(
    session: AsyncSession,
    *,
    tree: Sequence[Unit],
    indicators: Sequence[Indicator],
    figures: PeriodFigures,
) -> dict[int, Standing]:
    """Unit id -> standing at the period's end, scored as `/tien_do` scores (a village on its
    own totals with the targets in force, a unit above on its villages' scores weighted by
    households), from the period's cumulative figures instead of today's."""
    ids = sorted({i for u in tree for i in units.path_ids(u)})
    own: Own = await own_targets(session, unit_ids=ids)
    villages = [u for u in tree if u.level == "village"]
    under: dict[int, list[Unit]] = {}
    for v in villages:
        for ancestor in units.path_ids(v):
            under.setdefault(ancestor, []).append(v)
    scores: dict[int, tuple[float, int]] = {
        v.id or 0: (
            score_of(v, v.households, figures.cumulative_at_end(v.id or 0), indicators, own),
            v.households or 0,
        )
        for v in villages
    }
    out: dict[int, Standing] = {}
    for u in tree:
        uid = u.id or 0
        if u.level == "village":
            households, value = u.households, scores[uid][0]
        else:
            below = under.get(uid, [])
            known = [v.households for v in below if v.households is not None]
            # A parent's households are its villages' (as /tien_do counts them), its own
            # figure only where no village has one.
            households = sum(known) if known else u.households
            if below:
                value = scoring.rollup([scores[v.id or 0] for v in below])
            else:  # a unit with no villages yet: scored on its own totals
                value = score_of(u, households, figures.cumulative_at_end(uid), indicators, own)
        plan = await config.plan_for(session, unit=u)
        out[uid] = Standing(households, value, scoring.grade(value, grades_of(plan)))
    return out
