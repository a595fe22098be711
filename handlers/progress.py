"""Progress and boards, read from the running totals only: their cost is their scope's."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from handlers import scoring
from storage import reports, units
from storage.models import Indicator, Target, Unit
from storage.reports import ALL_TIME


@dataclass(frozen=True)
class IndicatorProgress:
    indicator: Indicator
    done: int
    this_week: int
    target: int | None  # percent of households
    needed: int | None  # households that make the target
    missing: int | None  # households still to reach it
    percent: float | None  # share of households done, for household indicators


@dataclass(frozen=True)
class UnitProgress:
    unit: Unit
    households: int | None
    items: list[IndicatorProgress]
    score: float
    grade: str


@dataclass(frozen=True)
class BoardRow:
    rank: int
    unit: Unit
    score: float
    households: int | None


@dataclass(frozen=True)
class Board:
    scope: Unit  # whose children are ranked
    rows: list[BoardRow]
    own_unit_id: int | None


async def _targets(session: AsyncSession, *, unit_ids: Sequence[int]) -> dict[int, dict[int, int]]:
    """unit id -> indicator id -> percent, for the units that set their own."""
    out: dict[int, dict[int, int]] = {}
    if not unit_ids:
        return out
    rows = await session.exec(select(Target).where(col(Target.unit_id).in_(unit_ids)))
    for t in rows.all():
        out.setdefault(t.unit_id, {})[t.indicator_id] = t.percent
    return out


def _goals_for(
    unit: Unit, indicators: Sequence[Indicator], own: dict[int, dict[int, int]]
) -> dict[str, scoring.Goal]:
    """Nearest target up the tree wins; the indicator's default otherwise."""
    chain = list(reversed(units.path_ids(unit)))
    goals: dict[str, scoring.Goal] = {}
    for ind in indicators:
        if ind.kind != "households" or ind.id is None:
            continue
        percent = ind.default_target
        for uid in chain:
            if ind.id in own.get(uid, {}):
                percent = own[uid][ind.id]
                break
        if percent:
            goals[ind.code] = scoring.Goal(percent=percent, weight=ind.weight)
    return goals


async def unit_progress(
    session: AsyncSession, *, unit: Unit, week: str, indicators: Sequence[Indicator]
) -> UnitProgress:
    assert unit.id is not None  # noqa: S101 (a stored unit)
    households = await units.households_of(session, unit=unit)
    cumulative = (await reports.totals(session, unit_ids=[unit.id], period=ALL_TIME))[unit.id]
    weekly = (await reports.totals(session, unit_ids=[unit.id], period=week))[unit.id]
    own = await _targets(session, unit_ids=units.path_ids(unit))
    goals = _goals_for(unit, indicators, own)
    items: list[IndicatorProgress] = []
    done_by_code: dict[str, int] = {}
    for ind in indicators:
        assert ind.id is not None  # noqa: S101 (stored)
        done = cumulative.get(ind.id, 0)
        done_by_code[ind.code] = done
        goal = goals.get(ind.code)
        need = scoring.needed(households, goal.percent) if goal and households else None
        items.append(
            IndicatorProgress(
                indicator=ind,
                done=done,
                this_week=weekly.get(ind.id, 0),
                target=goal.percent if goal else None,
                needed=need,
                missing=max(0, need - done) if need is not None else None,
                percent=(
                    100.0 * done / households if ind.kind == "households" and households else None
                ),
            )
        )
    value = await _score(session, unit=unit, indicators=indicators)
    return UnitProgress(
        unit=unit, households=households, items=items, score=value, grade=scoring.grade(value)
    )


async def _score(session: AsyncSession, *, unit: Unit, indicators: Sequence[Indicator]) -> float:
    if unit.level == "village":
        scores = await _village_scores(session, villages=[unit], indicators=indicators)
        assert unit.id is not None  # noqa: S101 (stored)
        return scores[unit.id][0]
    villages = await _villages_under(session, unit=unit)
    if not villages:
        return (await _village_scores(session, villages=[unit], indicators=indicators))[
            unit.id or 0
        ][0]
    scores = await _village_scores(session, villages=villages, indicators=indicators)
    return scoring.rollup(list(scores.values()))


async def _villages_under(session: AsyncSession, *, unit: Unit) -> list[Unit]:
    rows = await session.exec(
        select(Unit).where(col(Unit.path).startswith(unit.path), Unit.level == "village")
    )
    return list(rows.all())


async def _village_scores(
    session: AsyncSession, *, villages: Sequence[Unit], indicators: Sequence[Indicator]
) -> dict[int, tuple[float, int]]:
    """unit id -> (score, households) from each unit's own cumulative totals."""
    ids = [v.id for v in villages if v.id is not None]
    totals = await reports.totals(session, unit_ids=ids, period=ALL_TIME)
    ancestor_ids = {a for v in villages for a in units.path_ids(v)}
    own = await _targets(session, unit_ids=sorted(ancestor_ids))
    code_of = {ind.id: ind.code for ind in indicators}
    out: dict[int, tuple[float, int]] = {}
    for v in villages:
        assert v.id is not None  # noqa: S101 (stored)
        done = {code_of[i]: n for i, n in totals[v.id].items() if i in code_of}
        goals = _goals_for(v, indicators, own)
        out[v.id] = (scoring.score(done, v.households, goals), v.households or 0)
    return out


async def board(session: AsyncSession, *, unit: Unit, indicators: Sequence[Indicator]) -> Board:
    """The units beside this one: a village sees its commune's villages, a commune its
    villages, a province its communes."""
    assert unit.id is not None  # noqa: S101 (stored)
    if unit.level == "village" and unit.parent_id is not None:
        scope = await units.get(session, unit_id=unit.parent_id)
        assert scope is not None  # noqa: S101 (a village has its commune)
    else:
        scope = unit
    assert scope.id is not None  # noqa: S101 (stored)
    members = await units.children(session, unit_id=scope.id)
    if not members:
        return Board(scope=scope, rows=[], own_unit_id=unit.id)
    if all(m.level == "village" for m in members):
        scored = await _village_scores(session, villages=members, indicators=indicators)
        households = {uid: h for uid, (_, h) in scored.items()}
        scores = {uid: s for uid, (s, _) in scored.items()}
    else:
        below = await _villages_under(session, unit=scope)
        village_scores = await _village_scores(session, villages=below, indicators=indicators)
        by_parent: dict[int, list[tuple[float, int]]] = {}
        for v in below:
            assert v.id is not None  # noqa: S101 (stored)
            for ancestor in units.path_ids(v):
                by_parent.setdefault(ancestor, []).append(village_scores[v.id])
        scores, households = {}, {}
        for m in members:
            assert m.id is not None  # noqa: S101 (stored)
            parts = by_parent.get(m.id, [])
            scores[m.id] = scoring.rollup(parts)
            households[m.id] = sum(h for _, h in parts)
    names = {m.id: m.name_key for m in members if m.id is not None}
    by_id = {m.id: m for m in members}
    rows = [
        BoardRow(rank=r, unit=by_id[uid], score=scores[uid], households=households.get(uid))
        for r, uid in scoring.rank(scores, names)
    ]
    return Board(scope=scope, rows=rows, own_unit_id=unit.id)
