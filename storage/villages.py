"""Keeping a commune's villages tidy: renaming one, merging a duplicate into another, removing
an empty one. Storage only; handlers/villages.py decides who may and what is said."""

from __future__ import annotations

from typing import Any

from sqlmodel import col, delete, func, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.folding import key, safe_name
from storage.models import (
    AdminGrant,
    AuditEntry,
    Chat,
    Flow,
    Membership,
    PlanApplication,
    Report,
    Schedule,
    Target,
    Unit,
    UnitTotal,
    WebPass,
)


async def report_count(session: AsyncSession, *, unit_id: int) -> int:
    """Reports ever made in the unit, withdrawn ones too (their history is the unit's)."""
    found = await session.exec(
        select(func.count()).select_from(Report).where(Report.unit_id == unit_id)
    )
    return int(found.one())


def rename(unit: Unit, name: str) -> None:
    unit.name = safe_name(name)
    unit.name_key = key(unit.name)


async def merge(session: AsyncSession, *, source: Unit, into: Unit) -> int:
    """Everything of `source` moves to `into`, a village of the same commune, and `source`
    goes: its reports, running totals (added to `into`'s; the commune's and the province's
    are unchanged, both villages being theirs), members, chats, guided reports, admin grants
    and audit entries. Returns how many reports moved."""
    assert source.id is not None  # noqa: S101 (stored)
    assert into.id is not None  # noqa: S101 (stored)
    assert source.parent_id == into.parent_id  # noqa: S101 (checked by the caller)
    moved = await report_count(session, unit_id=source.id)
    await session.exec(update(Report).where(col(Report.unit_id) == source.id).values(
        unit_id=into.id))  # fmt: skip
    rows = await session.exec(select(UnitTotal).where(UnitTotal.unit_id == source.id))
    for row in list(rows.all()):
        kept = await session.get(UnitTotal, (into.id, row.indicator_id, row.period))
        if kept is None:
            session.add(UnitTotal(unit_id=into.id, indicator_id=row.indicator_id,
                                  period=row.period, value=row.value))  # fmt: skip
        else:
            kept.value += row.value
        await session.delete(row)
    await session.flush()
    await _move_unique(session, Membership, source.id, into.id)
    await _move_unique(session, AdminGrant, source.id, into.id)
    for table in (Chat, Flow, AuditEntry):
        await session.exec(update(table).where(col(table.unit_id) == source.id).values(
            unit_id=into.id))  # fmt: skip
    await _drop(session, source)
    return moved


async def remove(session: AsyncSession, *, unit: Unit) -> None:
    """An empty village goes (the caller checked it has no reports): its chats are unlinked,
    its members and settings dropped, its audit entries kept under its commune."""
    assert unit.id is not None  # noqa: S101 (stored)
    await session.exec(update(Chat).where(col(Chat.unit_id) == unit.id).values(unit_id=None))
    await session.exec(update(AuditEntry).where(col(AuditEntry.unit_id) == unit.id).values(
        unit_id=unit.parent_id))  # fmt: skip
    for table in (Membership, AdminGrant, Flow):
        await session.exec(delete(table).where(col(table.unit_id) == unit.id))
    await session.exec(delete(UnitTotal).where(col(UnitTotal.unit_id) == unit.id))
    await _drop(session, unit)


async def _move_unique(session: AsyncSession, table: Any, source: int, into: int) -> None:
    """Rows keyed by (person, unit): moved, unless the person already has one in `into`."""
    rows = await session.exec(select(table).where(table.unit_id == source))
    for row in list(rows.all()):
        clash: Any = await session.exec(
            select(table).where(table.unit_id == into, table.person_id == row.person_id)
        )
        if clash.first() is None:
            row.unit_id = into
        else:
            await session.delete(row)
    await session.flush()


async def _drop(session: AsyncSession, unit: Unit) -> None:
    """The unit's own settings and the links to its pages, then the unit."""
    for table in (Target, Schedule, PlanApplication, WebPass):
        await session.exec(delete(table).where(col(table.unit_id) == unit.id))
    await session.delete(unit)
    await session.flush()
