"""What the commune digest and the quarter's evaluation read: figures as they stood at the end of
a day, which units have a team, who reported in which week, and the admins who can be written
to privately. No text lives here."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import AdminGrant, Chat, Membership, Report, Unit
from storage.units import in_subtree


async def with_team(session: AsyncSession, *, unit_ids: Sequence[int]) -> set[int]:
    """Those of the units that have a team: at least one member, as the boards and
    `config.team_counts` count them (a group linked with nobody in it yet is no team)."""
    if not unit_ids:
        return set()
    members = await session.exec(
        select(Membership.unit_id).where(col(Membership.unit_id).in_(unit_ids)).distinct()
    )
    return {int(u) for u in members.all()}


async def reported_in(
    session: AsyncSession, *, unit_ids: Sequence[int], weeks: Sequence[str]
) -> dict[str, set[int]]:
    """Week -> the units that had at least one report (not withdrawn) dated in it."""
    found: dict[str, set[int]] = {w: set() for w in weeks}
    if not unit_ids or not weeks:
        return found
    rows = await session.exec(
        select(Report.week, Report.unit_id)
        .where(
            col(Report.unit_id).in_(unit_ids),
            col(Report.week).in_(weeks),
            col(Report.withdrawn_at).is_(None),
        )
        .distinct()
    )
    for week, unit_id in rows.all():
        found[week].add(int(unit_id))
    return found


async def last_report_dates(session: AsyncSession, *, unit_ids: Sequence[int]) -> dict[int, date]:
    """Unit id -> the date of its latest report (not withdrawn); units without one left out."""
    if not unit_ids:
        return {}
    rows = await session.exec(
        select(Report.unit_id, sa.func.max(Report.report_date))
        .where(col(Report.unit_id).in_(unit_ids), col(Report.withdrawn_at).is_(None))
        .group_by(col(Report.unit_id))
    )
    return {int(u): d for u, d in rows.all() if d is not None}


async def communes_under(session: AsyncSession, *, unit: Unit) -> list[Unit]:
    """The communes at or under `unit`, by name."""
    rows = await session.exec(
        select(Unit)
        .where(in_subtree(unit.path), Unit.level == "commune")
        .order_by(col(Unit.name_key), col(Unit.id))
    )
    return list(rows.all())


@dataclass(frozen=True, slots=True)
class AdminChat:
    """An admin's grant on a unit above the villages, and the private chat they opened."""

    chat_id: str
    language: str | None
    unit_id: int
    path: str


async def admin_private_chats(
    session: AsyncSession, *, chat_ids: Sequence[str] | None = None
) -> list[AdminChat]:
    """Every grant on a commune or above whose holder has opened a private chat with the bot
    (a chat they never opened cannot be written to first); with `chat_ids`, only theirs."""
    stmt = (
        select(Chat.id, Chat.language, Unit.id, Unit.path)
        .select_from(AdminGrant)
        .join(Chat, col(Chat.person_id) == col(AdminGrant.person_id))
        .join(Unit, col(Unit.id) == col(AdminGrant.unit_id))
        .where(Chat.kind == "private", col(Chat.active).is_(True), Unit.level != "village")
        .order_by(col(Chat.id), col(Unit.path))
    )
    if chat_ids is not None:
        stmt = stmt.where(col(Chat.id).in_(chat_ids))
    rows = await session.exec(stmt)
    return [
        AdminChat(chat_id, language, int(unit_id or 0), path)
        for chat_id, language, unit_id, path in rows.all()
    ]
