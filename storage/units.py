"""Queries over the unit tree."""

from __future__ import annotations

from collections.abc import Sequence

from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.folding import key, unit_key
from storage.models import Unit


def path_ids(unit: Unit) -> list[int]:
    """The ids from the root down to `unit`, itself included."""
    return [int(part) for part in unit.path.strip("/").split("/") if part]


async def get(session: AsyncSession, *, unit_id: int) -> Unit | None:
    return await session.get(Unit, unit_id)


async def by_ids(session: AsyncSession, *, ids: Sequence[int]) -> list[Unit]:
    if not ids:
        return []
    rows = await session.exec(select(Unit).where(col(Unit.id).in_(ids)))
    return list(rows.all())


async def find(
    session: AsyncSession, *, level: str, query: str, parent_path: str | None = None
) -> list[Unit]:
    """Units of `level` whose official code is `query` or whose name matches it.

    `parent_path` narrows the search to one subtree (a commune inside a province).
    """
    text = query.strip().strip("\"'")
    stmt = select(Unit).where(Unit.level == level)
    if parent_path:
        stmt = stmt.where(col(Unit.path).startswith(parent_path))
    if text.isdigit():
        stmt = stmt.where(Unit.code == str(int(text)))
    else:
        stmt = stmt.where(Unit.name_key == unit_key(text))
    rows = await session.exec(stmt.order_by(col(Unit.code)))
    return list(rows.all())


async def children(session: AsyncSession, *, unit_id: int) -> list[Unit]:
    rows = await session.exec(
        select(Unit).where(Unit.parent_id == unit_id).order_by(col(Unit.name_key))
    )
    return list(rows.all())


async def find_village(session: AsyncSession, *, commune: Unit, name: str) -> Unit | None:
    existing = await session.exec(
        select(Unit).where(Unit.parent_id == commune.id, Unit.name_key == key(name))
    )
    return existing.first()


async def create_village(session: AsyncSession, *, commune: Unit, name: str) -> Unit:
    name = " ".join(name.split())
    count = (
        await session.exec(
            select(func.count()).select_from(Unit).where(Unit.parent_id == commune.id)
        )
    ).one()
    village = Unit(
        parent_id=commune.id,
        level="village",
        code=f"{commune.code}-{count + 1}",
        name=name,
        name_key=key(name),
    )
    session.add(village)
    await session.flush()
    village.path = f"{commune.path}{village.id}/"
    await session.flush()
    return village


async def households_of(session: AsyncSession, *, unit: Unit) -> int | None:
    """A unit's households: its own figure, else the sum over the villages below it."""
    if unit.households is not None or unit.level == "village":
        return unit.households
    total = (
        await session.exec(
            select(func.sum(Unit.households)).where(
                col(Unit.path).startswith(unit.path), Unit.level == "village"
            )
        )
    ).one()
    return int(total) if total is not None else None
