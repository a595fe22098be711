"""What units inherit down the tree: admins, targets, schedules, plans, join codes."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage import cache, passes
from storage.models import (
    AdminGrant,
    AuditEntry,
    Chat,
    Indicator,
    Membership,
    Person,
    PlanApplication,
    Schedule,
    Target,
    Unit,
    utcnow,
)
from storage.units import in_subtree, path_ids

# Letters and digits that cannot be misread for one another on a phone screen.
_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
JOIN_CODE_LENGTH = 8


# --- admins --------------------------------------------------------------------------------


async def admin_grant_over(
    session: AsyncSession, *, person_id: str, unit: Unit
) -> AdminGrant | None:
    """The person's grant on `unit` or on one of its ancestors, nearest first."""
    ids = path_ids(unit)
    rows = await session.exec(
        select(AdminGrant).where(
            AdminGrant.person_id == person_id, col(AdminGrant.unit_id).in_(ids)
        )
    )
    grants = sorted(rows.all(), key=lambda g: -ids.index(g.unit_id))
    return grants[0] if grants else None


async def admins_of(session: AsyncSession, *, unit_id: int) -> list[str]:
    """Who was made admin of the unit itself (not of one above it)."""
    rows = await session.exec(
        select(AdminGrant.person_id)
        .where(AdminGrant.unit_id == unit_id)
        .order_by(col(AdminGrant.person_id))
    )
    return list(rows.all())


async def has_any_grant(session: AsyncSession, *, person_id: str) -> bool:
    rows = await session.exec(select(AdminGrant).where(AdminGrant.person_id == person_id))
    return rows.first() is not None


async def grant(session: AsyncSession, *, person_id: str, unit_id: int, by: str) -> bool:
    """True when the grant is new."""
    existing = (
        await session.exec(
            select(AdminGrant).where(
                AdminGrant.person_id == person_id, AdminGrant.unit_id == unit_id
            )
        )
    ).first()
    if existing is not None:
        return False
    session.add(AdminGrant(person_id=person_id, unit_id=unit_id, granted_by=by))
    await session.flush()
    return True


async def revoke(session: AsyncSession, *, person_id: str, unit_id: int) -> bool:
    """True when there was a grant to take back. The admin's links to the unit's pages and
    below end with it."""
    existing = (
        await session.exec(
            select(AdminGrant).where(
                AdminGrant.person_id == person_id, AdminGrant.unit_id == unit_id
            )
        )
    ).first()
    if existing is None:
        return False
    await session.delete(existing)
    await session.flush()
    unit = await session.get(Unit, unit_id)
    if unit is not None:
        under = (await session.exec(select(Unit.id).where(in_subtree(unit.path)))).all()
        await passes.withdraw_held(session, now=utcnow(), person_id=person_id,
                                   unit_ids=[i for i in under if i is not None],
                                   roles=("admin",))  # fmt: skip
    return True


# --- indicators and targets ----------------------------------------------------------------


async def indicators_for(session: AsyncSession, *, unit: Unit | None) -> list[Indicator]:
    """The national indicators and those a plan added for `unit` or above it."""
    ids = path_ids(unit) if unit is not None else []

    async def load() -> list[Indicator]:
        stmt = select(Indicator).where(
            col(Indicator.scope_unit_id).is_(None) | col(Indicator.scope_unit_id).in_(ids)
        )
        rows = await session.exec(stmt.order_by(col(Indicator.position), col(Indicator.id)))
        return [cache.copy(row) for row in rows.all()]

    # Callers read these and never change them: the kept copies themselves are handed out.
    return list(await cache.cached(session, ("indicators", tuple(ids)), load))


async def all_indicators(session: AsyncSession) -> list[Indicator]:
    """Every indicator, national or added by a plan anywhere, as rows of this session."""
    return list((await session.exec(select(Indicator))).all())


async def add_indicator(session: AsyncSession, *, indicator: Indicator) -> Indicator:
    """A plan's own indicator, for its unit and below."""
    session.add(indicator)
    await session.flush()
    return indicator


async def targets_at(session: AsyncSession, *, unit_ids: Sequence[int]) -> list[Target]:
    if not unit_ids:
        return []

    async def load() -> list[Target]:
        rows = await session.exec(select(Target).where(col(Target.unit_id).in_(unit_ids)))
        return [cache.copy(row) for row in rows.all()]

    return list(await cache.cached(session, ("targets", tuple(unit_ids)), load))


async def set_target(
    session: AsyncSession,
    *,
    unit_id: int,
    indicator_id: int,
    percent: int | None,
    weight: float | None = None,
) -> None:
    """Sets the unit's own target, or with None removes it so the unit inherits again."""
    existing = (
        await session.exec(
            select(Target).where(Target.unit_id == unit_id, Target.indicator_id == indicator_id)
        )
    ).first()
    if percent is None:
        if existing is not None:
            await session.delete(existing)
    elif existing is None:
        session.add(
            Target(unit_id=unit_id, indicator_id=indicator_id, percent=percent, weight=weight)
        )
    else:
        existing.percent = percent
        if weight is not None:
            existing.weight = weight
    await session.flush()


async def targets_below(
    session: AsyncSession, *, scope: Unit, indicator_ids: Sequence[int] | None = None
) -> list[tuple[Target, Unit]]:
    """The targets units under `scope` (not `scope` itself) set themselves, by name: those
    that keep their own when `scope`'s changes."""
    stmt = (
        select(Target, Unit)
        .join(Unit, col(Unit.id) == col(Target.unit_id))
        .where(in_subtree(scope.path), Unit.id != scope.id)
    )
    if indicator_ids is not None:
        stmt = stmt.where(col(Target.indicator_id).in_(indicator_ids))
    rows = await session.exec(stmt.order_by(col(Unit.name_key), col(Unit.id)))
    return list(rows.all())


# --- schedules -----------------------------------------------------------------------------


@dataclass(frozen=True)
class ScheduleEntry:
    job: str
    weekday: int
    minute: int
    source: Unit | None  # the unit that set it; None for the built-in default


async def schedule_rows(session: AsyncSession, *, unit_ids: Sequence[int]) -> list[Schedule]:
    if not unit_ids:
        return []
    rows = await session.exec(select(Schedule).where(col(Schedule.unit_id).in_(unit_ids)))
    return list(rows.all())


async def set_schedule(
    session: AsyncSession, *, unit_id: int, job: str, weekday: int | None, minute: int | None
) -> None:
    """Sets the unit's own time for `job`, or with None removes it (inherit again)."""
    existing = (
        await session.exec(
            select(Schedule).where(Schedule.unit_id == unit_id, Schedule.job == job)
        )
    ).first()
    if weekday is None or minute is None:
        if existing is not None:
            await session.delete(existing)
    elif existing is None:
        session.add(Schedule(unit_id=unit_id, job=job, weekday=weekday, minute=minute))
    else:
        existing.weekday, existing.minute = weekday, minute
    await session.flush()


# --- plans ---------------------------------------------------------------------------------


async def plan_for(session: AsyncSession, *, unit: Unit) -> PlanApplication | None:
    """The plan applied nearest above (or at) the unit."""
    ids = path_ids(unit)

    async def load() -> tuple[PlanApplication | None]:
        rows = await session.exec(
            select(PlanApplication).where(col(PlanApplication.unit_id).in_(ids))
        )
        found = sorted(rows.all(), key=lambda p: -ids.index(p.unit_id))
        return (cache.copy(found[0]) if found else None,)

    return (await cache.cached(session, ("plan", tuple(ids)), load))[0]  # type: ignore[no-any-return]


async def save_plan_application(session: AsyncSession, *, application: PlanApplication) -> None:
    existing = await session.get(PlanApplication, application.unit_id)
    if existing is not None:
        await session.delete(existing)
        await session.flush()
    session.add(application)
    await session.flush()


# --- teams ---------------------------------------------------------------------------------


async def join_code(session: AsyncSession, *, unit: Unit, renew: bool = False) -> str:
    """The unit's join code, made on first use; `renew` replaces it (the old one stops working)."""
    if unit.join_code and not renew:
        return unit.join_code
    while True:
        code = "".join(secrets.choice(_CODE_ALPHABET) for _ in range(JOIN_CODE_LENGTH))
        taken = (await session.exec(select(Unit).where(Unit.join_code == code))).first()
        if taken is None:
            break
    unit.join_code = code
    await session.flush()
    return code


async def unit_by_join_code(session: AsyncSession, *, code: str) -> Unit | None:
    normalized = "".join(ch for ch in code.upper() if ch.isalnum())
    if len(normalized) != JOIN_CODE_LENGTH:
        return None
    return (await session.exec(select(Unit).where(Unit.join_code == normalized))).first()


async def membership(session: AsyncSession, *, person_id: str, unit_id: int) -> Membership | None:
    return (
        await session.exec(
            select(Membership).where(
                Membership.person_id == person_id, Membership.unit_id == unit_id
            )
        )
    ).first()


async def leave(session: AsyncSession, *, person_id: str, unit_id: int) -> Membership | None:
    """The person is no longer a member of the team (their reports stay), nor are their links
    to its pages any good; the membership that was, or None."""
    found = await membership(session, person_id=person_id, unit_id=unit_id)
    if found is not None:
        await session.delete(found)
        await session.flush()
        await passes.withdraw_held(session, now=utcnow(), person_id=person_id,
                                   unit_ids=[unit_id], roles=("member", "leader"))  # fmt: skip
    return found


async def memberships_of(
    session: AsyncSession, *, person_id: str
) -> list[tuple[Membership, Unit]]:
    """The teams the person is in, oldest membership first."""
    rows = await session.exec(
        select(Membership, Unit)
        .join(Unit, col(Unit.id) == col(Membership.unit_id))
        .where(Membership.person_id == person_id)
        .order_by(col(Membership.joined_at), col(Membership.id))
    )
    return list(rows.all())


async def team_chat(session: AsyncSession, *, unit_id: int) -> Chat | None:
    """The team's group chat (the first linked, if several), or None."""
    rows = await session.exec(
        select(Chat)
        .where(Chat.unit_id == unit_id, Chat.kind != "private", col(Chat.active).is_(True))
        .order_by(col(Chat.created_at), col(Chat.id))
    )
    return rows.first()


async def roster(session: AsyncSession, *, unit_id: int) -> list[tuple[Membership, Person]]:
    rows = await session.exec(
        select(Membership, Person)
        .join(Person, col(Person.id) == col(Membership.person_id))
        .where(Membership.unit_id == unit_id)
        .order_by(col(Membership.role).desc(), col(Person.display_name))
    )
    return list(rows.all())


async def set_leader(session: AsyncSession, *, unit_id: int, person_id: str) -> str | None:
    """Makes the person the team's leader; returns the previous leader's id."""
    previous: str | None = None
    for m, _p in await roster(session, unit_id=unit_id):
        if m.role == "leader" and m.person_id != person_id:
            m.role = "member"
            previous = m.person_id
    target = await membership(session, person_id=person_id, unit_id=unit_id)
    if target is None:
        target = Membership(person_id=person_id, unit_id=unit_id)
        session.add(target)
    target.role = "leader"
    await session.flush()
    if previous is not None:
        await passes.withdraw_held(session, now=utcnow(), person_id=previous,
                                   unit_ids=[unit_id], roles=("leader",))  # fmt: skip
    return previous


async def teamed_villages(session: AsyncSession, *, scope: Unit) -> set[int]:
    """The ids of the villages under `scope` (itself, for a village) that have a team: at
    least one member, as `team_counts` counts them. The others are shown as having none,
    never ranked."""
    villages = select(Unit.id).where(in_subtree(scope.path), Unit.level == "village")
    rows = await session.exec(
        select(Membership.unit_id).where(col(Membership.unit_id).in_(villages)).distinct()
    )
    return set(rows.all())


async def team_counts(session: AsyncSession, *, scope: Unit) -> tuple[int, int, int]:
    """(villages with at least one member, members, trained members) in `scope`'s subtree,
    counted by the database: a province has a hundred thousand members."""
    villages = select(Unit.id).where(in_subtree(scope.path), Unit.level == "village")
    with_team, members, trained = (
        await session.exec(
            select(
                func.count(func.distinct(Membership.unit_id)),
                func.count(),
                func.coalesce(func.sum(sa.case((col(Membership.trained), 1), else_=0)), 0),
            ).where(col(Membership.unit_id).in_(villages))
        )
    ).one()
    return int(with_team), int(members), int(trained)


# --- audit ---------------------------------------------------------------------------------


def _audited(unit: Unit) -> sa.ColumnElement[bool]:
    """The changes to the unit and everything under it that changed something: entries of
    before any no-op was refused, with the same value on both sides, are not shown. A report's
    correction may move only its date, its values the same: that one stays."""
    subtree = select(Unit.id).where(in_subtree(unit.path))
    before, after = col(AuditEntry.before), col(AuditEntry.after)
    return sa.and_(
        col(AuditEntry.unit_id).in_(subtree),
        sa.or_(
            before.is_(None),
            after.is_(None),
            before != after,
            col(AuditEntry.action) == "report_fix",
        ),
    )


async def audit_entries(
    session: AsyncSession, *, unit: Unit, limit: int, offset: int = 0
) -> list[tuple[AuditEntry, Person | None]]:
    """The latest changes to the unit and everything under it, newest first."""
    rows = await session.exec(
        select(AuditEntry, Person)
        .join(Person, col(Person.id) == col(AuditEntry.actor_id), isouter=True)
        .where(_audited(unit))
        .order_by(col(AuditEntry.at).desc(), col(AuditEntry.id).desc())
        .offset(offset)
        .limit(limit)
    )
    return list(rows.all())


async def audit_count(session: AsyncSession, *, unit: Unit) -> int:
    rows = await session.exec(
        select(sa.func.count()).select_from(AuditEntry).where(_audited(unit))
    )
    return int(rows.one())


async def granted_units(session: AsyncSession, *, person_id: str) -> list[Unit]:
    """The units a person was made admin of (each with everything under it)."""
    rows = await session.exec(
        select(Unit)
        .join(AdminGrant, col(AdminGrant.unit_id) == col(Unit.id))
        .where(AdminGrant.person_id == person_id)
    )
    return list(rows.all())
