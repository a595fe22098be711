"""Progress and boards, read from the running totals only: their cost is their scope's."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from sqlmodel.ext.asyncio.session import AsyncSession

from handlers import parent_sums, scoring
from storage import config, reports, units
from storage.models import Indicator, PlanApplication, Target, Unit
from storage.reports import ALL_TIME

DEFAULT_TEAM = (4, 8)


@dataclass(frozen=True)
class IndicatorProgress:
    indicator: Indicator
    done: int
    this_week: int
    # Percent of households; a plain count for a count indicator. A parent's is worked out
    # from its villages' (parent_sums): the share of its households their targets add up to.
    target: float | None
    needed: int | None  # households that make the target (a parent: its villages' added)
    missing: int | None  # households still to reach it (a parent: its villages' gaps added)
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
    # A parent whose figures are its villages' added up, and how many of those villages keep
    # a target other than the one in force here.
    summed: bool = False
    apart: int = 0


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
    # Children with no team (no village under them has a member): shown as such after the
    # ranked ones, never ranked nor scored (a village nobody works in has not worked badly).
    unteamed: list[Unit] = field(default_factory=list)


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
    at_end: bool = False,
) -> UnitProgress:
    """`totals` (period -> indicator id -> total, for "all" and `week`) when the caller has
    them already; `team` False leaves out the team's figures (a report's confirmation);
    `at_end`: as the figures stood at the end of `week` (what later weeks added left out).

    A unit above villages is the sum of its villages (handlers/parent_sums.py): its target in
    households, done and gap are theirs added up, each village with the target in force for
    it; its shares are worked out from those sums."""
    assert unit.id is not None  # noqa: S101 (a stored unit)
    if totals is None:
        totals = await reports.unit_totals(session, unit_id=unit.id, periods=[ALL_TIME, week])
        if at_end:
            ids = [ind.id for ind in indicators if ind.id is not None]
            later = await reports.later_totals(
                session, week=week, indicator_ids=ids, unit_ids=[unit.id]
            )
            totals[ALL_TIME] = _less(totals[ALL_TIME], later.get(unit.id, {}))
    cumulative, weekly = totals.get(ALL_TIME, {}), totals.get(week, {})
    villages = [] if unit.level == "village" else await units.villages_under(session, unit=unit)
    if any(v.households for v in villages):
        return await _summed(
            session,
            unit=unit,
            villages=villages,
            indicators=indicators,
            cumulative=cumulative,
            weekly=weekly,
            at_end_of=week if at_end else None,
            team=team,
        )
    households = await units.households_of(session, unit=unit)
    own = await own_targets(session, unit_ids=units.path_ids(unit))
    items: list[IndicatorProgress] = []
    for ind in indicators:
        assert ind.id is not None  # noqa: S101 (stored)
        done = cumulative.get(ind.id, 0)
        target, _weight, _source = target_for(unit, ind, own)
        part = parent_sums.Part(households, done, target or None)
        need = parent_sums.needed(ind.kind, part)
        items.append(
            IndicatorProgress(
                indicator=ind,
                done=done,
                this_week=weekly.get(ind.id, 0),
                target=target or None,
                needed=need,
                missing=parent_sums.missing(ind.kind, part),
                percent=(
                    100.0 * done / households if ind.kind == "households" and households else None
                ),
            )
        )
    if villages:
        # Villages without a household count yet: none of them scores.
        data = await _read_villages(
            session,
            villages=villages,
            indicators=indicators,
            at_end_of=week if at_end else None,
            scope=unit,
        )
        value = scoring.rollup(list(_scores(data, indicators).values()))
    else:
        # A village (or a unit with no villages yet): scored on its own totals, at hand.
        done_by_code = {ind.code: cumulative.get(ind.id or 0, 0) for ind in indicators}
        value = scoring.score(done_by_code, households, _goals_for(unit, indicators, own))
    plan = await config.plan_for(session, unit=unit)
    return UnitProgress(
        unit=unit,
        households=households,
        items=items,
        score=value,
        grade=scoring.grade(value, grades_of(plan)),
        team=await _team(session, unit=unit, plan=plan) if team else None,
    )


def _less(total: dict[int, int], later: dict[int, int]) -> dict[int, int]:
    return {ind: value - later.get(ind, 0) for ind, value in total.items()}


async def _summed(
    session: AsyncSession,
    *,
    unit: Unit,
    villages: Sequence[units.Village],
    indicators: Sequence[Indicator],
    cumulative: dict[int, int],
    weekly: dict[int, int],
    at_end_of: str | None,
    team: bool,
) -> UnitProgress:
    """A parent's progress from its villages, read in one pass: the same rows score them."""
    data = await _read_villages(
        session, villages=villages, indicators=indicators, at_end_of=at_end_of, scope=unit
    )
    own = data.own
    households = sum(v.households or 0 for v in villages)
    here = {ind.id: target_for(unit, ind, own)[0] or None for ind in indicators}
    # Targets depend only on which units up the path set some: once per distinct chain.
    by_chain: dict[tuple[int, ...], dict[int | None, int | None]] = {}
    in_force: dict[int, dict[int | None, int | None]] = {}
    apart: set[int] = set()
    for v in villages:
        chain = tuple(a for a in v.ids if a in own)
        found = by_chain.get(chain)
        if found is None:
            found = by_chain[chain] = {
                ind.id: target_for(v, ind, own)[0] or None for ind in indicators
            }
        in_force[v.id] = found
        if found != here:
            apart.add(v.id)
    items: list[IndicatorProgress] = []
    for ind in indicators:
        assert ind.id is not None  # noqa: S101 (stored)
        parts = [
            parent_sums.Part(
                v.households, data.totals.get(v.id, {}).get(ind.id, 0), in_force[v.id][ind.id]
            )
            for v in villages
        ]
        added = parent_sums.add_up(ind.kind, parts)
        # What the unit's running total says it did: its villages' and any report made at
        # the unit itself (a commune's own chat), which no village's gap can take.
        done = cumulative.get(ind.id, 0)
        households_kind = ind.kind == "households"
        items.append(
            IndicatorProgress(
                indicator=ind,
                done=done,
                this_week=weekly.get(ind.id, 0),
                target=added.share if households_kind else added.needed,
                needed=added.needed,
                missing=added.missing,
                percent=100.0 * done / households if households_kind and households else None,
            )
        )
    value = scoring.rollup(list(_scores(data, indicators).values()))
    plan = await config.plan_for(session, unit=unit)
    return UnitProgress(
        unit=unit,
        households=households,
        items=items,
        score=value,
        grade=scoring.grade(value, grades_of(plan)),
        team=await _team(session, unit=unit, plan=plan) if team else None,
        summed=True,
        apart=len(apart),
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


@dataclass(frozen=True)
class _Villages:
    """Villages with their cumulative totals and the targets set along their paths."""

    villages: Sequence[units.Village]
    totals: dict[int, dict[int, int]]
    own: Own


async def _read_villages(
    session: AsyncSession,
    *,
    villages: Sequence[units.Village],
    indicators: Sequence[Indicator],
    at_end_of: str | None = None,
    scope: Unit | None = None,
) -> _Villages:
    """Each village's cumulative totals; with `at_end_of`, as they stood at the end of that
    week (what later weeks added taken off). With `scope`, the villages are all those under
    it, and their totals are read by one join."""
    ids = [v.id for v in villages]
    indicator_ids = [ind.id for ind in indicators if ind.id is not None]
    if scope is None:
        totals = await reports.totals(
            session, unit_ids=ids, period=ALL_TIME, indicator_ids=indicator_ids
        )
    else:
        totals = await reports.totals_under(
            session, scope=scope, level="village", period=ALL_TIME, indicator_ids=indicator_ids
        )
    if at_end_of is not None:
        later = await reports.later_totals(
            session,
            week=at_end_of,
            indicator_ids=indicator_ids,
            unit_ids=None if scope is not None else ids,
            scope=scope,
        )
        for uid, per in later.items():
            row = totals.setdefault(uid, {})
            for ind, value in per.items():
                row[ind] = row.get(ind, 0) - value
    own = await own_targets(session, unit_ids=sorted({a for v in villages for a in v.ids}))
    return _Villages(villages, totals, own)


def _scores(data: _Villages, indicators: Sequence[Indicator]) -> dict[int, tuple[float, int]]:
    """unit id -> (score, households) from each village's own cumulative totals."""
    code_of = {ind.id: ind.code for ind in indicators}
    # Goals depend only on which units up the path set targets, and almost every village
    # shares its commune's: worked out once per distinct chain, not 73,000 times.
    goals_by_chain: dict[tuple[int, ...], dict[str, scoring.Goal]] = {}
    out: dict[int, tuple[float, int]] = {}
    for v in data.villages:
        chain = tuple(a for a in v.ids if a in data.own)
        goals = goals_by_chain.get(chain)
        if goals is None:
            goals = goals_by_chain[chain] = _goals_for(v, indicators, data.own)
        done = {code_of[i]: n for i, n in data.totals.get(v.id, {}).items() if i in code_of}
        out[v.id] = (scoring.score(done, v.households, goals), v.households or 0)
    return out


async def board(
    session: AsyncSession,
    *,
    unit: Unit,
    indicators: Sequence[Indicator],
    at_end_of: str | None = None,
) -> Board:
    """The units beside this one: a village sees its commune's villages, a commune its
    villages, a province its communes. With `at_end_of`, as they stood at the end of that
    week. Units without a team are listed apart, unranked."""
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
    teamed = await config.teamed_villages(session, scope=scope)
    if all(m.level == "village" for m in members):
        data = await _read_villages(
            session,
            villages=[units.as_village(m) for m in members],
            indicators=indicators,
            at_end_of=at_end_of,
        )
        scored = _scores(data, indicators)
        households = {uid: h for uid, (_, h) in scored.items()}
        scores = {uid: s for uid, (s, _) in scored.items()}
        with_team = {m.id for m in members if m.id in teamed}
    else:
        below = await units.villages_under(session, unit=scope)
        village_scores = _scores(
            await _read_villages(
                session, villages=below, indicators=indicators, at_end_of=at_end_of, scope=scope
            ),
            indicators,
        )
        by_parent: dict[int, list[tuple[float, int]]] = {}
        with_team = set()
        for v in below:
            for ancestor in v.ids:
                by_parent.setdefault(ancestor, []).append(village_scores[v.id])
                if v.id in teamed:
                    with_team.add(ancestor)
        scores, households = {}, {}
        for m in members:
            assert m.id is not None  # noqa: S101 (stored)
            parts = by_parent.get(m.id, [])
            scores[m.id] = scoring.rollup(parts)
            households[m.id] = sum(h for _, h in parts)
    names = {m.id: m.name_key for m in members if m.id is not None}
    by_id = {m.id: m for m in members}
    grades = grades_of(await config.plan_for(session, unit=scope))
    ranked = {uid: value for uid, value in scores.items() if uid in with_team}
    rows = [
        BoardRow(
            rank=r,
            unit=by_id[uid],
            score=scores[uid],
            households=households.get(uid),
            grade=scoring.grade(scores[uid], grades),
        )
        for r, uid in scoring.rank(ranked, names)
    ]
    unteamed = [m for m in members if m.id not in with_team]
    return Board(scope=scope, rows=rows, own_unit_id=unit.id, unteamed=unteamed)
