"""Progress and boards, read from the running totals only: their cost is their scope's."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlmodel.ext.asyncio.session import AsyncSession

from handlers import scoring
from storage import config, reports, units
from storage.models import Indicator, PlanApplication, Target, Unit
from storage.reports import ALL_TIME

DEFAULT_TEAM = (4, 8)


@dataclass(frozen=True)
class IndicatorProgress:
    indicator: Indicator
    done: int
    this_week: int
    target: int | None  # percent of households; a plain count for a count indicator
    needed: int | None  # households that make the target
    missing: int | None  # households still to reach it
    percent: float | None  # share of households done, for household indicators


@dataclass(frozen=True)
class TeamFigures:
    """A commune's two plan-level goals (plan 3220: 100 % of villages with a team, 100 % of
    members trained), or a village team's size against the plan's range."""

    villages: int
    villages_with_team: int
    members: int
    trained: int
    villages_goal: int | None
    trained_goal: int | None
    size_range: tuple[int, int]


@dataclass(frozen=True)
class UnitProgress:
    unit: Unit
    households: int | None
    items: list[IndicatorProgress]
    score: float
    grade: str
    team: TeamFigures | None = None


@dataclass(frozen=True)
class BoardRow:
    rank: int
    unit: Unit
    score: float
    households: int | None
    grade: str


@dataclass(frozen=True)
class Board:
    scope: Unit  # whose children are ranked
    rows: list[BoardRow]
    own_unit_id: int | None


Own = dict[int, dict[int, Target]]


async def own_targets(session: AsyncSession, *, unit_ids: Sequence[int]) -> Own:
    """unit id -> indicator id -> the target that unit set itself."""
    out: Own = {}
    for t in await config.targets_at(session, unit_ids=unit_ids):
        out.setdefault(t.unit_id, {})[t.indicator_id] = t
    return out


def target_for(
    unit: units.Placed, ind: Indicator, own: Own
) -> tuple[int | None, float, int | None]:
    """(target, weight, the id of the unit that set it): the nearest unit up the tree that set
    one, else the indicator's default (source None)."""
    for uid in reversed(units.path_ids(unit)):
        found = own.get(uid, {}).get(ind.id or 0)
        if found is not None:
            weight = found.weight if found.weight is not None else ind.weight
            return found.percent, weight, uid
    return ind.default_target, ind.weight, None


def _goals_for(
    unit: units.Placed, indicators: Sequence[Indicator], own: Own
) -> dict[str, scoring.Goal]:
    goals: dict[str, scoring.Goal] = {}
    for ind in indicators:
        if ind.kind != "households" or ind.id is None:
            continue
        percent, weight, _source = target_for(unit, ind, own)
        if percent:
            goals[ind.code] = scoring.Goal(percent=percent, weight=weight)
    return goals


def score_of(
    unit: units.Placed,
    households: int | None,
    done: Mapping[int, int],
    indicators: Sequence[Indicator],
    own: Own,
) -> float:
    """A village's score from its figures (indicator id -> done) and the targets in force."""
    by_code = {ind.code: done.get(ind.id or 0, 0) for ind in indicators}
    return scoring.score(by_code, households, _goals_for(unit, indicators, own))


def grades_of(plan: PlanApplication | None) -> tuple[tuple[float, str], ...]:
    if plan is None:
        return scoring.DEFAULT_GRADES
    return tuple((float(lowest), str(name)) for lowest, name in json.loads(plan.grades))


async def unit_progress(
    session: AsyncSession,
    *,
    unit: Unit,
    week: str,
    indicators: Sequence[Indicator],
    totals: dict[str, dict[int, int]] | None = None,
    team: bool = True,
) -> UnitProgress:
    """`totals` (period -> indicator id -> total, for "all" and `week`) when the caller has
    them already; `team` False leaves out the team's figures (a report's confirmation)."""
    assert unit.id is not None  # noqa: S101 (a stored unit)
    households = await units.households_of(session, unit=unit)
    if totals is None:
        totals = await reports.unit_totals(session, unit_id=unit.id, periods=[ALL_TIME, week])
    cumulative, weekly = totals.get(ALL_TIME, {}), totals.get(week, {})
    own = await own_targets(session, unit_ids=units.path_ids(unit))
    items: list[IndicatorProgress] = []
    for ind in indicators:
        assert ind.id is not None  # noqa: S101 (stored)
        done = cumulative.get(ind.id, 0)
        target, _weight, _source = target_for(unit, ind, own)
        target = target or None
        if ind.kind == "households":
            need = scoring.needed(households, target) if target and households else None
        else:
            need = target
        items.append(
            IndicatorProgress(
                indicator=ind,
                done=done,
                this_week=weekly.get(ind.id, 0),
                target=target,
                needed=need,
                missing=max(0, need - done) if need is not None else None,
                percent=(
                    100.0 * done / households if ind.kind == "households" and households else None
                ),
            )
        )
    if unit.level == "village":
        # Scored on its own totals, which are at hand.
        done_by_code = {ind.code: cumulative.get(ind.id or 0, 0) for ind in indicators}
        value = scoring.score(done_by_code, households, _goals_for(unit, indicators, own))
    else:
        value = await _score(session, unit=unit, indicators=indicators)
    plan = await config.plan_for(session, unit=unit)
    return UnitProgress(
        unit=unit,
        households=households,
        items=items,
        score=value,
        grade=scoring.grade(value, grades_of(plan)),
        team=await _team(session, unit=unit, plan=plan) if team else None,
    )


async def _team(
    session: AsyncSession, *, unit: Unit, plan: PlanApplication | None
) -> TeamFigures | None:
    size = (plan.team_min, plan.team_max) if plan is not None else DEFAULT_TEAM
    villages = 1 if unit.level == "village" else await units.count_villages(session, unit=unit)
    if not villages:
        return None
    with_team, members, trained = await config.team_counts(session, scope=unit)
    return TeamFigures(
        villages=villages,
        villages_with_team=with_team,
        members=members,
        trained=trained,
        villages_goal=plan.villages_with_team if plan is not None else None,
        trained_goal=plan.members_trained if plan is not None else None,
        size_range=size,
    )


async def _score(session: AsyncSession, *, unit: Unit, indicators: Sequence[Indicator]) -> float:
    villages = [] if unit.level == "village" else await units.villages_under(session, unit=unit)
    if not villages:  # a village, or a unit with no villages yet: scored on its own totals
        alone = units.as_village(unit)
        return (await _village_scores(session, villages=[alone], indicators=indicators))[alone.id][
            0
        ]
    scores = await _village_scores(session, villages=villages, indicators=indicators, scope=unit)
    return scoring.rollup(list(scores.values()))


async def _village_scores(
    session: AsyncSession,
    *,
    villages: Sequence[units.Village],
    indicators: Sequence[Indicator],
    before_week: str | None = None,
    scope: Unit | None = None,
) -> dict[int, tuple[float, int]]:
    """unit id -> (score, households) from each unit's own cumulative totals; with
    `before_week`, as they stood before that week (its totals taken off). With `scope`, the
    villages are all those under it, and their totals are read by one join."""

    ids = [v.id for v in villages]
    indicator_ids = [ind.id for ind in indicators if ind.id is not None]

    async def read(period: str) -> dict[int, dict[int, int]]:
        if scope is None:
            return await reports.totals(
                session, unit_ids=ids, period=period, indicator_ids=indicator_ids
            )
        return await reports.totals_under(
            session, scope=scope, level="village", period=period, indicator_ids=indicator_ids
        )

    totals = await read(ALL_TIME)
    if before_week is not None:
        for uid, per in (await read(before_week)).items():
            row = totals.setdefault(uid, {})
            for ind, value in per.items():
                row[ind] = row.get(ind, 0) - value
    own = await own_targets(session, unit_ids=sorted({a for v in villages for a in v.ids}))
    code_of = {ind.id: ind.code for ind in indicators}
    # Goals depend only on which units up the path set targets, and almost every village
    # shares its commune's: worked out once per distinct chain, not 73,000 times.
    goals_by_chain: dict[tuple[int, ...], dict[str, scoring.Goal]] = {}
    out: dict[int, tuple[float, int]] = {}
    for v in villages:
        chain = tuple(a for a in v.ids if a in own)
        goals = goals_by_chain.get(chain)
        if goals is None:
            goals = goals_by_chain[chain] = _goals_for(v, indicators, own)
        done = {code_of[i]: n for i, n in totals.get(v.id, {}).items() if i in code_of}
        out[v.id] = (scoring.score(done, v.households, goals), v.households or 0)
    return out


async def board(
    session: AsyncSession,
    *,
    unit: Unit,
    indicators: Sequence[Indicator],
    before_week: str | None = None,
) -> Board:
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
        scored = await _village_scores(
            session,
            villages=[units.as_village(m) for m in members],
            indicators=indicators,
            before_week=before_week,
        )
        households = {uid: h for uid, (_, h) in scored.items()}
        scores = {uid: s for uid, (s, _) in scored.items()}
    else:
        below = await units.villages_under(session, unit=scope)
        village_scores = await _village_scores(
            session, villages=below, indicators=indicators, before_week=before_week, scope=scope
        )
        by_parent: dict[int, list[tuple[float, int]]] = {}
        for v in below:
            for ancestor in v.ids:
                by_parent.setdefault(ancestor, []).append(village_scores[v.id])
        scores, households = {}, {}
        for m in members:
            assert m.id is not None  # noqa: S101 (stored)
            parts = by_parent.get(m.id, [])
            scores[m.id] = scoring.rollup(parts)
            households[m.id] = sum(h for _, h in parts)
    names = {m.id: m.name_key for m in members if m.id is not None}
    by_id = {m.id: m for m in members}
    grades = grades_of(await config.plan_for(session, unit=scope))
    rows = [
        BoardRow(
            rank=r,
            unit=by_id[uid],
            score=scores[uid],
            households=households.get(uid),
            grade=scoring.grade(scores[uid], grades),
        )
        for r, uid in scoring.rank(scores, names)
    ]
    return Board(scope=scope, rows=rows, own_unit_id=unit.id)


def village_score(
    village: units.Placed,
    done: dict[str, int],
    households: int | None,
    indicators: Sequence[Indicator],
    own: Own,
) -> float:
    """A village's score from cumulative figures by indicator code, as they stood on any day
    (the quarter's evaluation scores the quarter's last day): the same goals as every board."""
    return scoring.score(done, households, _goals_for(village, indicators, own))
