"""The weekly summary a leader gets (and `/tong_hop` on demand): this week against last, who
reported, progress and gaps, rank and its change, and the weakest indicator with what to do."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from handlers import commune_screen, views
from handlers.context import indicator_name
from handlers.i18n import _
from handlers.periods import short_span, week_key, week_start
from handlers.progress import board, unit_progress
from handlers.richtext import Rich, b, fmt, i, joined, mention
from storage import config, reports
from storage.models import Indicator, Unit


def tip(code: str) -> str:
    """What a team can do about its weakest indicator."""
    tips = {
        "ho": _("plan door-to-door visits by hamlet group and hold a guidance session at the "
                "village cultural house"),
        "app": _("install the citizen app with each household during visits; bring a phone "
                 "charger and check that ID documents are at hand"),
        "tt": _("invite the bank or post office staff for an account-opening day in the village"),
        "cks": _("collect the households that need a digital signature and book the provider "
                 "for a visit"),
    }  # fmt: skip
    return tips.get(code, _("agree on a target for next week and split the households"))


def moved(delta: int) -> str:
    """ "+6", "−3", "±0": how a figure moved since last week."""
    if delta > 0:
        return f"+{views.number(delta)}"
    if delta < 0:
        return f"−{views.number(-delta)}"
    return "±0"


async def _ranked_before(session: AsyncSession, unit: Unit, week: str) -> bool:
    """Whether the unit had any report by the end of `week` (and so a rank then)."""
    assert unit.id is not None  # noqa: S101 (stored)
    ever = (await reports.totals(session, unit_ids=[unit.id]))[unit.id]
    later = await reports.later_totals(
        session, week=week, indicator_ids=list(ever), unit_ids=[unit.id]
    )
    return any(value - later.get(unit.id, {}).get(ind, 0) for ind, value in ever.items())


async def reported_people(session: AsyncSession, *, unit_id: int, week: str) -> set[str]:
    return await reports.reporters(session, unit_id=unit_id, week=week)


async def weekly_summary(
    session: AsyncSession, *, unit: Unit, today: date, indicators: Sequence[Indicator]
) -> Rich:
    """The summary of the last week finished before `today` (on a Monday, the week that ended
    the day before), against the week before it: whole weeks against whole weeks, on demand as
    on schedule, headed with the dates it covers. Progress, gaps and ranks as they stood at
    the end of that week."""
    assert unit.id is not None  # noqa: S101 (stored)
    monday = week_start(today) - timedelta(days=7)
    week = week_key(monday)
    last_week = week_key(monday - timedelta(days=7))
    this = (await reports.totals(session, unit_ids=[unit.id], period=week))[unit.id]
    prev = (await reports.totals(session, unit_ids=[unit.id], period=last_week))[unit.id]
    covered = views.week_label(week, monday)
    rich = Rich().add(
        "📋 ",
        fmt(_("Weekly summary — {unit}, {week}"), unit=b(unit.name), week=covered),
    )

    rich.add(
        b(
            _("Done that week, and the change from the week before ({previous})").format(
                previous=short_span(monday - timedelta(days=7), monday - timedelta(days=1))
            )
        )
    )
    for ind in indicators:
        if ind.id is None:
            continue
        now, before = this.get(ind.id, 0), prev.get(ind.id, 0)
        if now or before:
            name = indicator_name(ind.name_vi, ind.name_en)
            rich.add(f"• {name}: {views.number(now)} ({moved(now - before)})")
    if not this and not prev:
        rich.add(i(_("No reports in that week or the week before.")))

    if unit.level == "village":
        members = await config.roster(session, unit_id=unit.id)
        reported = await reported_people(session, unit_id=unit.id, week=week)
        missing = [(m, p) for m, p in members if p.id not in reported]
        done, total = len(members) - len(missing), len(members)
    else:
        # A commune (or above) has no roster of its own: its villages' rosters, added up; and
        # its teams out of every village (one without a team is a team missing).
        expected, teams_reported, total, done = await reports.reporting_rate(
            session, scope=unit, week=week
        )
        rich.add(
            b(_("Teams that reported")),
            ": ",
            f"{views.number(teams_reported)}/{views.number(expected)}",
        )
        missing = []
    rich.add(
        b(_("Reported")),
        ": ",
        _("{done} of {total} members").format(done=views.number(done), total=views.number(total)),
    )
    if missing:
        names = joined([mention(p.id, p.display_name) for _m, p in missing])
        rich.add(_("Not yet: "), names)

    progress = await unit_progress(
        session, unit=unit, week=week, indicators=indicators, at_end=True
    )
    rich.blank().extend(views.progress(progress, warn_team=True, week=covered))

    now_board = await board(session, unit=unit, indicators=indicators, at_end_of=week)
    then_board = await board(session, unit=unit, indicators=indicators, at_end_of=last_week)
    if unit.level != "village" and now_board.scope.id == unit.id:
        # A commune's villages, the ones behind first: where to call this week.
        lines = await commune_screen.village_lines(
            session, board=now_board, week=week, today=today, indicators=indicators,
            names=False, at_end=True,
        )  # fmt: skip
    else:
        lines = []
    rank_now = next((r.rank for r in now_board.rows if r.unit.id == unit.id), None)
    rank_then = next((r.rank for r in then_board.rows if r.unit.id == unit.id), None)
    if rank_now is not None and not await _ranked_before(session, unit, last_week):
        # Its first week with reports: there was no rank to change from.
        rich.add(
            "🏆 ",
            fmt(
                _("Rank {rank} of {count} in {scope} (its first ranked week)"),
                rank=b(views.number(rank_now)),
                count=views.number(len(now_board.rows)),
                scope=now_board.scope.name,
            ),
        )
    elif rank_now is not None:
        if rank_then is None or rank_then == rank_now:
            change = _("unchanged")
        elif rank_then > rank_now:
            change = _("up {steps}").format(steps=views.number(rank_then - rank_now))
        else:
            change = _("down {steps}").format(steps=views.number(rank_now - rank_then))
        rich.add(
            "🏆 ",
            fmt(
                _("Rank {rank} of {count} in {scope} ({change} since last week)"),
                rank=b(views.number(rank_now)),
                count=views.number(len(now_board.rows)),
                scope=now_board.scope.name,
                change=change,
            ),
        )

    weakest = commune_screen.weakest_item(progress.items)
    if weakest is not None:
        name = indicator_name(weakest.indicator.name_vi, weakest.indicator.name_en)
        rich.add(
            "💡 ",
            fmt(
                _("Weakest: {name} ({missing} households short). Suggestion: {tip}."),
                name=b(name),
                missing=views.number(weakest.missing or 0),
                tip=tip(weakest.indicator.code),
            ),
        )
    if lines:
        rich.blank().add("🏘️ ", b(_("Villages, the ones behind first")))
        rich.extend(commune_screen.render(lines, today))
    return rich
