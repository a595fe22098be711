"""Reports and the running totals kept beside them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage import cache, dialect
from storage.dialect import core
from storage.models import Membership, Person, Report, ReportValue, Unit, UnitTotal, utcnow
from storage.units import in_subtree, path_ids

ALL_TIME = "all"

# The hot path's statements, built once: a report is a few of these, on SQLAlchemy Core.
_REPORT = Report.__table__  # type: ignore[attr-defined]
_VALUE = ReportValue.__table__  # type: ignore[attr-defined]
_TOTAL = UnitTotal.__table__  # type: ignore[attr-defined]
_UNIT = Unit.__table__  # type: ignore[attr-defined]
_INSERT_REPORT = sa.insert(_REPORT).returning(_REPORT.c.id)
_INSERT_VALUES = sa.insert(_VALUE)
_TOTALS_OF = sa.select(_TOTAL.c.period, _TOTAL.c.indicator_id, _TOTAL.c.value).where(
    _TOTAL.c.unit_id == sa.bindparam("unit_id"),
    _TOTAL.c.period.in_(sa.bindparam("periods", expanding=True)),
)


def _add_totals_statement(session: AsyncSession) -> sa.Insert:
    """INSERT .. ON CONFLICT DO UPDATE adding to the value: concurrent reports from two workers
    add up instead of overwriting each other."""

    def build(insert: Any) -> sa.Insert:
        stmt = insert(_TOTAL)
        return stmt.on_conflict_do_update(  # type: ignore[no-any-return]
            index_elements=["unit_id", "indicator_id", "period"],
            set_={"value": _TOTAL.c.value + stmt.excluded.value},
        )

    return dialect.built_once(session, "add_totals", build)  # type: ignore[no-any-return]


async def _add_to_totals(
    session: AsyncSession, *, unit: Unit, week: str, deltas: Mapping[int, int]
) -> None:
    """Adds `deltas` (indicator id -> amount) to the unit and all its ancestors.

    One atomic INSERT .. ON CONFLICT DO UPDATE per row, so concurrent reports from two
    workers add up instead of overwriting each other.
    """
    rows = [
        {"unit_id": uid, "indicator_id": ind, "period": period, "value": amount}
        for uid in path_ids(unit)
        for period in (week, ALL_TIME)
        for ind, amount in deltas.items()
        if amount
    ]
    if rows:
        await core(session, _add_totals_statement(session), rows)


async def unit_totals(
    session: AsyncSession, *, unit_id: int, periods: Sequence[str]
) -> dict[str, dict[int, int]]:
    """period -> indicator id -> the unit's running total, for a few periods in one read."""
    found: dict[str, dict[int, int]] = {p: {} for p in periods}
    rows = await core(session, _TOTALS_OF, {"unit_id": unit_id, "periods": list(periods)})
    for period, indicator_id, value in rows.all():
        found[period][indicator_id] = value
    return found


_BY_MESSAGE_KEY = sa.select(_REPORT).where(_REPORT.c.message_key == sa.bindparam("key"))


async def by_message_key(session: AsyncSession, *, message_key: str) -> Report | None:
    """The report of a message (an edit or a redelivery finds it), in this session."""
    row = (await core(session, _BY_MESSAGE_KEY, {"key": message_key})).first()
    if row is None:
        return None
    return await cache.attach(session, Report(**row._mapping))


async def get(session: AsyncSession, *, report_id: int) -> Report | None:
    return await session.get(Report, report_id)


async def values_of(session: AsyncSession, *, report_id: int) -> dict[int, int]:
    rows = await session.exec(select(ReportValue).where(ReportValue.report_id == report_id))
    return {rv.indicator_id: rv.value for rv in rows.all()}


async def create(
    session: AsyncSession,
    *,
    unit: Unit,
    person_id: str,
    chat_id: str,
    message_key: str,
    week: str,
    report_date: date,
    values: Mapping[int, int],
    note: str | None,
    source_text: str,
) -> int:
    """A new report with its values, added to the running totals: three statements. Returns
    the report's id."""
    assert unit.id is not None  # noqa: S101 (a stored unit)
    now = utcnow()
    row = {
        "unit_id": unit.id,
        "person_id": person_id,
        "chat_id": chat_id,
        "message_key": message_key,
        "week": week,
        "report_date": report_date,
        "note": note,
        "source_text": source_text,
        "created_at": now,
        "updated_at": now,
        "withdrawn_at": None,
    }
    report_id: int = (await core(session, _INSERT_REPORT, row)).scalar_one()
    if values:
        await core(
            session,
            _INSERT_VALUES,
            [{"report_id": report_id, "indicator_id": i, "value": v} for i, v in values.items()],
        )
    await _add_to_totals(session, unit=unit, week=week, deltas=values)
    return report_id


async def replace(
    session: AsyncSession,
    *,
    report: Report,
    unit: Unit,
    week: str,
    report_date: date,
    values: Mapping[int, int],
    note: str | None,
    source_text: str,
) -> None:
    """An edited message: the old values leave the totals, the new ones enter."""
    assert report.id is not None  # noqa: S101 (a stored report)
    old = await values_of(session, report_id=report.id)
    await _add_to_totals(
        session, unit=unit, week=report.week, deltas={k: -v for k, v in old.items()}
    )
    for rv in (
        await session.exec(select(ReportValue).where(ReportValue.report_id == report.id))
    ).all():
        await session.delete(rv)
    await session.flush()
    session.add_all(
        ReportValue(report_id=report.id, indicator_id=ind, value=v) for ind, v in values.items()
    )
    report.week = week
    report.report_date = report_date
    report.note = note
    report.source_text = source_text
    report.updated_at = utcnow()
    await _add_to_totals(session, unit=unit, week=week, deltas=values)
    await session.flush()


async def last_of_person(
    session: AsyncSession, *, person_id: str, unit_id: int, weeks: Sequence[str]
) -> Report | None:
    """The person's most recently sent report in the unit that is not withdrawn, among those
    dated in `weeks` (whatever order they are dated in)."""
    rows = await session.exec(
        select(Report)
        .where(
            Report.person_id == person_id,
            Report.unit_id == unit_id,
            col(Report.week).in_(weeks),
            col(Report.withdrawn_at).is_(None),
        )
        .order_by(col(Report.created_at).desc(), col(Report.id).desc())
        .limit(1)
    )
    return rows.first()


@dataclass(frozen=True)
class DayReport:
    id: int
    created_at: datetime
    values: dict[int, int]


async def of_day(
    session: AsyncSession, *, person_id: str, unit_id: int, day: date, since: datetime
) -> list[DayReport]:
    """The person's live reports in the unit dated `day` and sent after `since`, newest first,
    with their values, in one statement: what a report sent again would count twice."""
    rows = (
        await session.exec(
            select(Report.id, Report.created_at, ReportValue.indicator_id, ReportValue.value)
            .outerjoin(ReportValue, col(ReportValue.report_id) == col(Report.id))
            .where(
                Report.person_id == person_id,
                Report.unit_id == unit_id,
                Report.report_date == day,
                col(Report.withdrawn_at).is_(None),
                col(Report.created_at) >= since,
            )
            .order_by(col(Report.created_at).desc(), col(Report.id).desc())
            .limit(200)
        )
    ).all()
    found: dict[int, DayReport] = {}
    for report_id, created_at, indicator_id, value in rows:
        assert report_id is not None  # noqa: S101 (stored)
        entry = found.setdefault(report_id, DayReport(report_id, created_at, {}))
        if indicator_id is not None:
            entry.values[indicator_id] = value
    return list(found.values())


async def withdraw(session: AsyncSession, *, report: Report, unit: Unit) -> dict[int, int]:
    """Marks the report withdrawn and takes its values out of the totals; returns them."""
    assert report.id is not None  # noqa: S101 (a stored report)
    old = await values_of(session, report_id=report.id)
    report.withdrawn_at = utcnow()
    await _add_to_totals(
        session, unit=unit, week=report.week, deltas={k: -v for k, v in old.items()}
    )
    await session.flush()
    return old


async def totals(
    session: AsyncSession,
    *,
    unit_ids: Sequence[int],
    period: str = ALL_TIME,
    indicator_ids: Sequence[int] | None = None,
) -> dict[int, dict[int, int]]:
    """unit id -> indicator id -> running total, for the given period. Naming the indicators
    lets the database seek each row by its whole key instead of reading every week of a unit."""
    result: dict[int, dict[int, int]] = {uid: {} for uid in unit_ids}
    if not unit_ids:
        return result
    # Plain columns, not ORM instances: a national rollup reads hundreds of thousands.
    stmt = select(UnitTotal.unit_id, UnitTotal.indicator_id, UnitTotal.value).where(
        col(UnitTotal.unit_id).in_(unit_ids), UnitTotal.period == period
    )
    if indicator_ids is not None:
        stmt = stmt.where(col(UnitTotal.indicator_id).in_(indicator_ids))
    for unit_id, indicator_id, value in (await session.exec(stmt)).all():
        result[unit_id][indicator_id] = value
    return result


async def totals_under(
    session: AsyncSession,
    *,
    scope: Unit,
    level: str | None,
    indicator_ids: Sequence[int],
    period: str = ALL_TIME,
) -> dict[int, dict[int, int]]:
    """The same as `totals` for every unit of `level` (None: of every level) in `scope`'s
    subtree, by one join rather than a list of ids (a province holds thousands of villages)."""
    stmt = (
        select(UnitTotal.unit_id, UnitTotal.indicator_id, UnitTotal.value)
        .join(Unit, col(Unit.id) == UnitTotal.unit_id)
        .where(
            in_subtree(scope.path),
            col(UnitTotal.indicator_id).in_(indicator_ids),
            UnitTotal.period == period,
        )
    )
    if level is not None:
        stmt = stmt.where(Unit.level == level)
    rows = await session.exec(stmt)
    result: dict[int, dict[int, int]] = {}
    for unit_id, indicator_id, value in rows.all():
        result.setdefault(unit_id, {})[indicator_id] = value
    return result


async def of_person(
    session: AsyncSession, *, person_id: str, unit_id: int, limit: int
) -> tuple[list[tuple[Report, dict[int, int]]], dict[int, int]]:
    """The person's latest reports in the unit with their values, and their all-time sums."""
    reports = list(
        (
            await session.exec(
                select(Report)
                .where(
                    Report.person_id == person_id,
                    Report.unit_id == unit_id,
                    col(Report.withdrawn_at).is_(None),
                )
                .order_by(col(Report.report_date).desc(), col(Report.id).desc())
            )
        ).all()
    )
    ids = [r.id for r in reports if r.id is not None]
    values: dict[int, dict[int, int]] = {rid: {} for rid in ids}
    sums: dict[int, int] = {}
    if ids:
        for rv in (
            await session.exec(select(ReportValue).where(col(ReportValue.report_id).in_(ids)))
        ).all():
            values[rv.report_id][rv.indicator_id] = rv.value
            sums[rv.indicator_id] = sums.get(rv.indicator_id, 0) + rv.value
    latest = [(r, values[r.id]) for r in reports[:limit] if r.id is not None]
    return latest, sums


async def reporters(session: AsyncSession, *, unit_id: int, week: str) -> set[str]:
    """Who reported in the unit in `week` (withdrawn reports do not count)."""
    rows = await session.exec(
        select(Report.person_id).where(
            Report.unit_id == unit_id, Report.week == week, col(Report.withdrawn_at).is_(None)
        )
    )
    return set(rows.all())


async def weekly_totals(
    session: AsyncSession, *, unit_ids: Sequence[int], weeks: Sequence[str]
) -> dict[tuple[int, int], dict[str, int]]:
    """(unit id, indicator id) -> week -> the week's total, for the units and weeks given."""
    rows = await session.exec(
        select(UnitTotal).where(
            col(UnitTotal.unit_id).in_(unit_ids), col(UnitTotal.period).in_(weeks)
        )
    )
    table: dict[tuple[int, int], dict[str, int]] = {}
    for t in rows.all():
        table.setdefault((t.unit_id, t.indicator_id), {})[t.period] = t.value
    return table


async def dated_in(
    session: AsyncSession, *, scope: Unit, first: date, last: date
) -> list[tuple[Report, Unit, Person, dict[int, int]]]:
    """The reports dated from `first` to `last` in `scope`'s subtree, with their unit, their
    author and their values (indicator id -> value), in date order; withdrawn ones left out."""
    rows = await session.exec(
        select(Report, Unit, Person)
        .join(Unit, col(Unit.id) == col(Report.unit_id))
        .join(Person, col(Person.id) == col(Report.person_id))
        .where(
            col(Unit.path).startswith(scope.path),
            col(Report.withdrawn_at).is_(None),
            col(Report.report_date) >= first,
            col(Report.report_date) <= last,
        )
        .order_by(col(Report.report_date), col(Report.id))
    )
    found = list(rows.all())
    ids = [r.id for r, _u, _p in found if r.id is not None]
    values: dict[int, dict[int, int]] = {}
    if ids:
        rvs = await session.exec(select(ReportValue).where(col(ReportValue.report_id).in_(ids)))
        for rv in rvs.all():
            values.setdefault(rv.report_id, {})[rv.indicator_id] = rv.value
    return [(r, u, p, values.get(r.id or 0, {})) for r, u, p in found]


async def reporting_rate(
    session: AsyncSession, *, scope: Unit, week: str
) -> tuple[int, int, int, int]:
    """DHIS2's reporting rate of `week` in `scope`'s subtree, as counts: (teams expected,
    teams that reported, members expected, members who reported). A team is expected in every
    village, whether it has one yet or not (five villages without one are five teams missing,
    not a rate of 100 %); a member, in the team they belong to."""
    villages = select(Unit.id).where(in_subtree(scope.path), Unit.level == "village")
    expected_teams = (
        await session.exec(
            select(sa.func.count()).where(in_subtree(scope.path), Unit.level == "village")
        )
    ).one()
    expected_members = (
        await session.exec(select(sa.func.count()).where(col(Membership.unit_id).in_(villages)))
    ).one()
    reported = _reporters(villages, week)
    teams_reported, members_reported = (
        await session.exec(
            select(
                # Only members count, and only teams with one: someone who left still reported.
                func_count_distinct(
                    sa.case((col(Membership.id).is_not(None), reported.c.unit_id))
                ),
                sa.func.count(col(Membership.id)),
            )
            .select_from(reported)
            .join(
                Membership,
                sa.and_(
                    col(Membership.unit_id) == reported.c.unit_id,
                    col(Membership.person_id) == reported.c.person_id,
                ),
                isouter=True,
            )
        )
    ).one()
    return int(expected_teams), int(teams_reported), int(expected_members), int(members_reported)


def _reporters(villages: Any, week: str) -> Any:
    """(unit id, person id) of everyone with a live report in `week` in one of `villages`."""
    return (
        select(Report.unit_id, Report.person_id)
        .where(
            col(Report.unit_id).in_(villages),
            Report.week == week,
            col(Report.withdrawn_at).is_(None),
        )
        .distinct()
        .subquery()
    )


def func_count_distinct(column: Any) -> Any:
    return sa.func.count(sa.distinct(column))


async def sums_dated_in(
    session: AsyncSession, *, scope: Unit, first: date, last: date
) -> dict[int, int]:
    """Indicator id -> the sum of the values of the reports dated from `first` to `last` in
    `scope`'s subtree (withdrawn ones left out): the workbook's Reports sheet, added up."""
    rows = await session.exec(
        select(ReportValue.indicator_id, sa.func.sum(ReportValue.value))
        .join(Report, col(Report.id) == col(ReportValue.report_id))
        .join(Unit, col(Unit.id) == col(Report.unit_id))
        .where(
            col(Unit.path).startswith(scope.path),
            col(Report.withdrawn_at).is_(None),
            col(Report.report_date) >= first,
            col(Report.report_date) <= last,
        )
        .group_by(col(ReportValue.indicator_id))
    )
    return {int(ind): int(total or 0) for ind, total in rows.all()}


def _rolled_up(scope: Unit, rows: Any, keyed: Any) -> dict[int, dict[Any, dict[int, int]]]:
    """Each row's sum added to its unit and to every unit above it inside `scope`, as the
    running totals add a report to its unit's path."""
    depth = len(path_ids(scope)) - 1
    out: dict[int, dict[Any, dict[int, int]]] = {}
    for row in rows:
        path, indicator_id, total = row.path, row.indicator_id, int(row.total or 0)
        key = keyed(row)
        for uid in [int(p) for p in path.strip("/").split("/") if p][depth:]:
            per = out.setdefault(uid, {}).setdefault(key, {})
            per[indicator_id] = per.get(indicator_id, 0) + total
    return out


def _dated_sums(scope: Unit, first: date | None, last: date | None, *by: Any) -> Any:
    stmt = (
        sa.select(
            _UNIT.c.path.label("path"),
            _VALUE.c.indicator_id.label("indicator_id"),
            *by,
            sa.func.sum(_VALUE.c.value).label("total"),
        )
        .join(_REPORT, _REPORT.c.id == _VALUE.c.report_id)
        .join(_UNIT, _UNIT.c.id == _REPORT.c.unit_id)
        .where(in_subtree(scope.path), _REPORT.c.withdrawn_at.is_(None))
        .group_by(_UNIT.c.path, _VALUE.c.indicator_id, *by)
    )
    if first is not None:
        stmt = stmt.where(_REPORT.c.report_date >= first)
    if last is not None:
        stmt = stmt.where(_REPORT.c.report_date <= last)
    return stmt


async def daily_sums_under(
    session: AsyncSession, *, scope: Unit, first: date, last: date
) -> dict[int, dict[date, dict[int, int]]]:
    """Unit id -> day -> indicator id -> the sum of the live reports dated that day, from
    `first` to `last`, for every unit of `scope`'s subtree (a unit's sums include its
    children's, as its running totals do)."""
    day = _REPORT.c.report_date
    rows = await core(session, _dated_sums(scope, first, last, day.label("day")))
    return _rolled_up(scope, rows.all(), lambda row: row.day)


async def sums_under(
    session: AsyncSession, *, scope: Unit, first: date | None = None, last: date | None = None
) -> dict[int, dict[int, int]]:
    """Unit id -> indicator id -> the sum of the live reports dated from `first` to `last`
    (either end open when None), for every unit of `scope`'s subtree, children included."""
    rows = await core(session, _dated_sums(scope, first, last))
    rolled = _rolled_up(scope, rows.all(), lambda _row: None)
    return {uid: per[None] for uid, per in rolled.items()}


async def first_report_date(session: AsyncSession, *, scope: Unit) -> date | None:
    """The day of the earliest live report in `scope`'s subtree: where its campaign begins."""
    found = (
        await session.exec(
            select(sa.func.min(Report.report_date))
            .join(Unit, col(Unit.id) == col(Report.unit_id))
            .where(in_subtree(scope.path), col(Report.withdrawn_at).is_(None))
        )
    ).one()
    return found if isinstance(found, date) or found is None else date.fromisoformat(str(found))


async def later_totals(
    session: AsyncSession,
    *,
    week: str,
    indicator_ids: Sequence[int],
    unit_ids: Sequence[int] | None = None,
    scope: Unit | None = None,
    level: str = "village",
) -> dict[int, dict[int, int]]:
    """unit id -> indicator id -> what the weeks after `week` added, for the units named or
    every unit of `level` under `scope`: taken off the running total, what stood at the end
    of `week`."""
    stmt = (
        select(UnitTotal.unit_id, UnitTotal.indicator_id, sa.func.sum(UnitTotal.value))
        .where(
            UnitTotal.period > week,
            col(UnitTotal.period).like("%-W%"),  # weeks only: "all" sorts after every week
            col(UnitTotal.indicator_id).in_(indicator_ids),
        )
        .group_by(col(UnitTotal.unit_id), col(UnitTotal.indicator_id))
    )
    if unit_ids is not None:
        stmt = stmt.where(col(UnitTotal.unit_id).in_(unit_ids))
    if scope is not None:
        stmt = stmt.join(Unit, col(Unit.id) == UnitTotal.unit_id).where(
            in_subtree(scope.path), Unit.level == level
        )
    result: dict[int, dict[int, int]] = {}
    for unit_id, indicator_id, value in (await session.exec(stmt)).all():
        result.setdefault(int(unit_id), {})[int(indicator_id)] = int(value or 0)
    return result


@dataclass(frozen=True)
class Activity:
    """A village's team in a week: its members, those of them who reported, and the day of its
    last live report (any week, any member)."""

    members: int
    reported: int
    last_day: date | None


async def village_activity(
    session: AsyncSession, *, scope: Unit, week: str
) -> dict[int, Activity]:
    """Village id -> its team's activity in `week`, for every village of `scope`'s subtree:
    three grouped queries, whatever the number of villages."""
    villages = select(Unit.id).where(in_subtree(scope.path), Unit.level == "village")
    members = dict(
        (
            await session.exec(
                select(Membership.unit_id, sa.func.count())
                .where(col(Membership.unit_id).in_(villages))
                .group_by(col(Membership.unit_id))
            )
        ).all()
    )
    reporters = _reporters(villages, week)
    reported = dict(
        (
            await session.exec(
                select(reporters.c.unit_id, sa.func.count())
                .select_from(reporters)
                .join(
                    Membership,
                    sa.and_(
                        col(Membership.unit_id) == reporters.c.unit_id,
                        col(Membership.person_id) == reporters.c.person_id,
                    ),
                )
                .group_by(reporters.c.unit_id)
            )
        ).all()
    )
    last = {
        uid: day if isinstance(day, date) or day is None else date.fromisoformat(str(day))
        for uid, day in (
            await session.exec(
                select(Report.unit_id, sa.func.max(Report.report_date))
                .where(col(Report.unit_id).in_(villages), col(Report.withdrawn_at).is_(None))
                .group_by(col(Report.unit_id))
            )
        ).all()
    }
    ids = (await session.exec(villages)).all()
    return {
        uid: Activity(int(members.get(uid, 0)), int(reported.get(uid, 0)), last.get(uid))
        for uid in ids
        if uid is not None
    }
