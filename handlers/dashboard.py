"""What a dashboard shows of a unit, for a pass's role: the progress `/tien_do` gives, the board
`/xep_hang` gives, the last weeks, the reporting rate, the quarter, and (for leaders and
admins) who has not reported. The same data and the same formatting as the chat's answers; the
web layer (bot/pages.py) only lays it out."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from handlers import views
from handlers.commune_screen import VillageLine, village_lines
from handlers.context import indicator_name
from handlers.export import quarter_bounds
from handlers.i18n import _
from handlers.periods import week_key, week_start
from handlers.progress import Board, UnitProgress, board, unit_progress
from handlers.summary import reported_people
from handlers.weblinks import Pass
from storage import config, reports, units
from storage.models import Unit

TREND_WEEKS = 12


@dataclass(frozen=True)
class Series:
    name: str
    code: str
    target: float | None  # percent (a parent's: its villages' targets added, as a share)
    values: list[float]  # the share of households done at the end of each week, in percent


@dataclass(frozen=True)
class Trend:
    labels: list[str]  # each week's Monday, "16/11"
    series: list[Series]  # household indicators, as shares
    added: list[tuple[str, list[int]]]  # every indicator: what each week added
    active: list[bool]  # whether anything was added in each week


@dataclass(frozen=True)
class Rate:
    expected: int
    reported: int

    @property
    def percent(self) -> float:
        return 100.0 * self.reported / self.expected if self.expected else 0.0


@dataclass(frozen=True)
class Quarter:
    label: str  # "quý 4/2026"
    first: date
    last: date
    added: list[tuple[str, int]]  # what each indicator gained this quarter
    rank: int | None
    ranked: int


@dataclass
class Dashboard:
    unit: Unit
    where: str  # "Thôn Hà Lam, Xã Thăng Bình, Thành phố Đà Nẵng"
    today: date
    week_label: str
    progress: UnitProgress
    board: Board
    trend: Trend
    teams: Rate
    members: Rate
    last_teams: Rate  # the last finished week's
    last_members: Rate
    quarter: Quarter
    # Leaders and admins of a village: who has not reported this week, and last week.
    missing: list[str] | None = None
    missing_last: list[str] | None = None
    last_week_label: str = ""
    # Admins: the units right below, each to be opened.
    below: list[Unit] = field(default_factory=list)
    # A commune's first screen: its villages, the ones behind first (handlers/commune_screen).
    villages: list[VillageLine] = field(default_factory=list)


async def build(session: AsyncSession, *, unit: Unit, granted: Pass, today: date) -> Dashboard:
    assert unit.id is not None  # noqa: S101 (stored)
    indicators = await config.indicators_for(session, unit=unit)
    week = week_key(today)
    progress = await unit_progress(session, unit=unit, week=week, indicators=indicators)
    ranked = await board(session, unit=unit, indicators=indicators)
    chain = await units.by_ids(session, ids=units.path_ids(unit))
    by_id = {u.id: u for u in chain}
    where = ", ".join(by_id[i].name for i in reversed(units.path_ids(unit)) if i in by_id)
    trend = await _trend(session, unit=unit, progress=progress, today=today)
    (
        teams_expected,
        teams_reported,
        members_expected,
        members_reported,
    ) = await reports.reporting_rate(session, scope=unit, week=week)
    last_week = week_key(week_start(today) - timedelta(days=1))
    last = await reports.reporting_rate(session, scope=unit, week=last_week)
    monday = week_start(today)
    dashboard = Dashboard(
        unit=unit,
        where=where,
        today=today,
        week_label=views.week_label(week, monday),
        progress=progress,
        board=ranked,
        trend=trend,
        teams=Rate(teams_expected, teams_reported),
        members=Rate(members_expected, members_reported),
        last_teams=Rate(last[0], last[1]),
        last_members=Rate(last[2], last[3]),
        quarter=await _quarter(session, unit=unit, progress=progress, ranked=ranked, today=today),
        last_week_label=views.week_label(last_week, monday - timedelta(days=7)),
    )
    if granted.sees_missing and unit.level == "village":
        members = await config.roster(session, unit_id=unit.id)
        done = await reported_people(session, unit_id=unit.id, week=week)
        dashboard.missing = [p.display_name for _m, p in members if p.id not in done]
        done_last = await reported_people(session, unit_id=unit.id, week=last_week)
        dashboard.missing_last = [p.display_name for _m, p in members if p.id not in done_last]
    if unit.level != "village" and ranked.scope.id == unit.id:
        dashboard.villages = await village_lines(
            session, board=ranked, week=week, today=today, indicators=indicators,
            names=granted.sees_missing, week_before=last_week,
        )  # fmt: skip
    if granted.sees_all:
        dashboard.below = [
            u for u in await units.children(session, unit_id=unit.id) if u.level != "province"
        ]
    return dashboard


def _weeks(today: date) -> list[str]:
    monday = week_start(today)
    return [week_key(monday - timedelta(weeks=n)) for n in range(TREND_WEEKS - 1, -1, -1)]


async def _trend(
    session: AsyncSession, *, unit: Unit, progress: UnitProgress, today: date
) -> Trend:
    """Each week's end, worked back from the running total: the total less what later weeks
    added. A unit's totals include everything under it, so this is one query."""
    assert unit.id is not None  # noqa: S101 (stored)
    weeks = _weeks(today)
    table = await reports.weekly_totals(session, unit_ids=[unit.id], weeks=weeks)
    labels = [f"{date.fromisocalendar(int(w[:4]), int(w.split('W')[1]), 1):%d/%m}" for w in weeks]
    series: list[Series] = []
    added: list[tuple[str, list[int]]] = []
    for item in progress.items:
        ind = item.indicator
        name = indicator_name(ind.name_vi, ind.name_en)
        per_week = [table.get((unit.id, ind.id or 0), {}).get(w, 0) for w in weeks]
        added.append((name, per_week))
        if ind.kind != "households" or not progress.households:
            continue
        ends: list[float] = []
        later = 0
        for value in reversed(per_week):
            ends.append(100.0 * (item.done - later) / progress.households)
            later += value
        series.append(Series(name, ind.code, item.target, list(reversed(ends))))
    active = [any(values[n] for _name, values in added) for n in range(len(weeks))]
    # Weeks before the unit's first report are not the campaign's: left out (the week in
    # hand stays, empty or not).
    first = next((n for n, on in enumerate(active) if on), len(weeks) - 1)
    return Trend(
        labels=labels[first:],
        series=[replace(s, values=s.values[first:]) for s in series],
        added=[(name, values[first:]) for name, values in added],
        active=active[first:],
    )


async def _quarter(
    session: AsyncSession, *, unit: Unit, progress: UnitProgress, ranked: Board, today: date
) -> Quarter:
    """What the quarter has added so far, by the reports' dates (as the workbook counts)."""
    assert unit.id is not None  # noqa: S101 (stored)
    first, last = quarter_bounds(today)
    sums = await reports.sums_dated_in(session, scope=unit, first=first, last=min(last, today))
    added = [
        (indicator_name(item.indicator.name_vi, item.indicator.name_en),
         sums.get(item.indicator.id or 0, 0))
        for item in progress.items
    ]  # fmt: skip
    rank = next((r.rank for r in ranked.rows if r.unit.id == unit.id), None)
    label = _("quarter {quarter}/{year} ({first}–{last})").format(
        quarter=(first.month - 1) // 3 + 1,
        year=first.year,
        first=f"{first:%d/%m}",
        last=f"{min(last, today):%d/%m}",
    )
    return Quarter(label, first, last, added, rank, len(ranked.rows))
