"""A commune's first screen: one line per village, the ones behind first — score and grade,
who of its team reported in the week, days since its last report, its weakest indicator, and
"no team yet" — so that an official sees in ten seconds where to call. The dashboard and a
commune's `/tong_hop` both show it; the figures are the board's and the roster's."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

from sqlmodel.ext.asyncio.session import AsyncSession

from handlers import views
from handlers.context import indicator_name
from handlers.i18n import _
from handlers.progress import Board, IndicatorProgress, unit_progress
from handlers.richtext import Rich, b
from storage import config, reports
from storage.models import Indicator, Unit


@dataclass(frozen=True)
class Weakest:
    name: str
    share: float  # of what its target needs, in percent
    missing: int  # households still short


@dataclass(frozen=True)
class VillageLine:
    unit: Unit
    team: bool
    score: float | None = None
    grade: str | None = None
    rank: int | None = None
    members: int = 0
    reported: int = 0
    reported_before: int | None = None  # in the week before, where asked for
    last_report: date | None = None
    weakest: Weakest | None = None
    missing: list[str] = field(default_factory=list)  # who has not reported, when shown

    def days_since(self, today: date) -> int | None:
        return (today - self.last_report).days if self.last_report is not None else None


def weakest_item(items: Sequence[IndicatorProgress]) -> IndicatorProgress | None:
    """The household indicator furthest from what its target needs (done ÷ needed), among
    those still short; between two as far, the one more households short. (A team's summary
    names the same one.)"""
    gaps = [
        (it.done / it.needed, -(it.missing or 0), it)
        for it in items
        if it.indicator.kind == "households" and it.needed and it.missing
    ]
    return min(gaps, key=lambda g: (g[0], g[1]))[2] if gaps else None


def weakest(items: Sequence[IndicatorProgress]) -> Weakest | None:
    item = weakest_item(items)
    if item is None or not item.needed:
        return None
    name = indicator_name(item.indicator.name_vi, item.indicator.name_en)
    return Weakest(name, 100.0 * item.done / item.needed, item.missing or 0)


def behind_first(lines: Sequence[VillageLine], today: date) -> list[VillageLine]:
    """Teams by score, lowest first (the longest silent first among equals), then the
    villages without a team, by name."""

    def order(line: VillageLine) -> tuple[int, float, int, str]:
        if not line.team:
            return (1, 0.0, 0, line.unit.name_key)
        silent = line.days_since(today)
        return (0, line.score or 0.0, -(silent if silent is not None else 10**6), "")

    return sorted(lines, key=order)


async def village_lines(
    session: AsyncSession,
    *,
    board: Board,
    week: str,
    today: date,
    indicators: Sequence[Indicator],
    names: bool,
    at_end: bool = False,
    week_before: str | None = None,
) -> list[VillageLine]:
    """The board's villages (a commune's), behind first. `names`: who has not reported in
    `week`, for those allowed to see it (leaders and admins); `at_end`: the weakest indicator
    as the figures stood at the end of `week` (a summary of a finished week)."""
    activity = await reports.village_activity(session, scope=board.scope, week=week)
    before = (
        await reports.village_activity(session, scope=board.scope, week=week_before)
        if week_before is not None
        else {}
    )
    lines: list[VillageLine] = []
    for row in board.rows:
        unit = row.unit
        if unit.id is None or unit.level != "village":
            continue
        act = activity.get(unit.id, reports.Activity(0, 0, None))
        earlier = before[unit.id].reported if unit.id in before else None
        progress = await unit_progress(
            session, unit=unit, week=week, indicators=indicators, team=False, at_end=at_end
        )
        missing: list[str] = []
        if names:
            done = await reports.reporters(session, unit_id=unit.id, week=week)
            roster = await config.roster(session, unit_id=unit.id)
            missing = [p.display_name for _m, p in roster if p.id not in done]
        lines.append(
            VillageLine(
                unit,
                True,
                score=row.score,
                grade=row.grade,
                rank=row.rank,
                members=act.members,
                reported=act.reported,
                reported_before=earlier,
                last_report=act.last_day,
                weakest=weakest(progress.items),
                missing=missing,
            )
        )
    lines += [VillageLine(u, False) for u in board.unteamed if u.level == "village"]
    return behind_first(lines, today)


def render(lines: Sequence[VillageLine], today: date) -> Rich:
    """The lines as chat text: one per village, two short parts a line."""
    rich = Rich()
    for line in lines:
        if not line.team:
            rich.add("▫️ ", b(line.unit.name), " — ", _("no team yet"))
            continue
        parts = [
            _("{score} ({grade})").format(
                score=views.number(line.score or 0.0, "0.0"),
                grade=views.grade_name(line.grade or ""),
            ),
            _("{done}/{total} reported").format(
                done=views.number(line.reported), total=views.number(line.members)
            ),
            last_report(line, today),
        ]
        if line.weakest is not None:
            parts.append(
                _("weakest: {name} ({share} of its target)").format(
                    name=line.weakest.name, share=views.percent(line.weakest.share)
                )
            )
        rich.add("• ", b(line.unit.name), ": ", " · ".join(parts))
    return rich


def last_report(line: VillageLine, today: date) -> str:
    days = line.days_since(today)
    if days is None:
        return _("never reported")
    if days <= 0:
        return _("reported today")
    return _("last report {days} days ago").format(days=views.number(days))
