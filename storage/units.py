"""Queries over the unit tree."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement
from sqlmodel import col, func, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from storage import cache
from storage.folding import key, safe_name, unit_key, village_key
from storage.merged_provinces import (
    FormerCommune,
    FormerProvince,
    commune_key,
    former_commune,
    former_province,
)
from storage.models import Unit


class _Subtree(FunctionElement[bool]):
    # No Boolean type: SQLite would compare the expression to 1 and lose the index.
    type = sa.types.NullType()  # type: ignore[assignment]
    inherit_cache = True
    name = "subtree"


@compiles(_Subtree)
def _like(element: _Subtree, compiler: SQLCompiler, **kw: object) -> str:
    column_clause, prefix_clause, _upper = element.clauses  # the upper bound is SQLite's alone
    column, prefix = compiler.process(column_clause, **kw), compiler.process(prefix_clause, **kw)
    return f"({column} LIKE {prefix} || '%')"


@compiles(_Subtree, "sqlite")
def _range(element: _Subtree, compiler: SQLCompiler, **kw: object) -> str:
    # SQLite will not use an index for LIKE against an expression; a range on the same
    # bytes does ("/12/" up to "/120": '0' follows '/'). PostgreSQL keeps LIKE, whose meaning
    # does not depend on the database's collation.
    column, prefix, upper = (compiler.process(c, **kw) for c in element.clauses)
    return f"({column} >= {prefix} AND {column} < {upper})"


def in_subtree(path: str) -> sa.ColumnElement[bool]:
    """Units at or under the unit whose path is `path` (paths are "/1/23/", digits and
    slashes only, so nothing in them is a LIKE wildcard)."""
    return _Subtree(
        col(Unit.path), sa.literal(path, sa.String), sa.literal(path[:-1] + "0", sa.String)
    )


class Placed(Protocol):
    @property
    def path(self) -> str: ...


@dataclass(frozen=True, slots=True)
class Village:
    """A village as scoring needs it: read as plain rows, because a national rollup reads
    73,000 of them and ORM instances cost ten times as much."""

    id: int
    path: str
    households: int | None
    ids: tuple[int, ...]  # the path's unit ids, root first: split once, used twice a rollup


async def villages_under(session: AsyncSession, *, unit: Unit) -> list[Village]:
    rows = await session.exec(
        select(Unit.id, Unit.path, Unit.households).where(
            in_subtree(unit.path), Unit.level == "village"
        )
    )
    return [
        Village(int(uid or 0), path, households, tuple(_ids(path)))
        for uid, path, households in rows.all()
    ]


def as_village(unit: Unit) -> Village:
    assert unit.id is not None  # noqa: S101 (a stored unit)
    return Village(unit.id, unit.path, unit.households, tuple(path_ids(unit)))


async def count_villages(session: AsyncSession, *, unit: Unit) -> int:
    return int(
        (
            await session.exec(
                select(func.count()).where(in_subtree(unit.path), Unit.level == "village")
            )
        ).one()
    )


def path_ids(unit: Placed) -> list[int]:
    """The ids from the root down to `unit`, itself included."""
    return _ids(unit.path)


def _ids(path: str) -> list[int]:
    return [int(part) for part in path.strip("/").split("/") if part]


async def get(session: AsyncSession, *, unit_id: int) -> Unit | None:
    known: Unit | None = cache.get(session, ("unit", unit_id))
    if known is not None:
        return await cache.attach(session, known)
    unit = await session.get(Unit, unit_id)
    if unit is not None:
        cache.put_row(session, ("unit", unit_id), unit)
    return unit


async def subtree(session: AsyncSession, *, unit: Unit) -> list[Unit]:
    """The unit and every unit under it, in path order (a parent before its children)."""
    rows = await session.exec(
        select(Unit).where(col(Unit.path).startswith(unit.path)).order_by(col(Unit.path))
    )
    return list(rows.all())


async def by_code(session: AsyncSession, *, level: str, code: str) -> list[Unit]:
    rows = await session.exec(select(Unit).where(Unit.level == level, Unit.code == code))
    return list(rows.all())


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
        stmt = stmt.where(in_subtree(parent_path))
    if text.isdigit():
        stmt = stmt.where(Unit.code == str(int(text)))
    else:
        stmt = stmt.where(Unit.name_key == unit_key(text))
    rows = await session.exec(stmt.order_by(col(Unit.code)))
    return list(rows.all())


async def find_province(
    session: AsyncSession, *, query: str
) -> tuple[list[Unit], FormerProvince | None]:
    """Today's province that `query` names, or the one a province merged on 1 July 2025 is part
    of now, with that former province."""
    found = await find(session, level="province", query=query)
    former = None if found else former_province(query)
    if former is None:
        return found, None
    rows = await session.exec(
        select(Unit).where(Unit.level == "province", Unit.name_key == former.now_key)
    )
    return list(rows.all()), former


async def communes_now(
    session: AsyncSession, *, code: str
) -> tuple[list[Unit], FormerCommune | None]:
    """For a commune code that is not today's: the commune of before 1 July 2025 it was, and
    the communes of today it became part of (the first the one most of it went to)."""
    former = former_commune(code)
    if former is None:
        return [], None
    province = (
        await session.exec(
            select(Unit).where(Unit.level == "province", Unit.name_key == former.province_key)
        )
    ).first()
    if province is None or province.id is None:
        return [], former
    by_key = {commune_key(c.name): c for c in await children(session, unit_id=province.id)}
    return [by_key[k] for k in former.now if k in by_key], former


async def children(session: AsyncSession, *, unit_id: int) -> list[Unit]:
    rows = await session.exec(
        select(Unit).where(Unit.parent_id == unit_id).order_by(col(Unit.name_key))
    )
    return list(rows.all())


async def find_village(session: AsyncSession, *, commune: Unit, name: str) -> Unit | None:
    """The commune's village of that name, accents, case and the word Thôn/Ấp/Bản/… aside:
    `thon=Phu My` finds "Thôn Phú Mỹ" instead of making a second village."""
    wanted = village_key(name)
    found = await session.exec(
        select(Unit).where(Unit.parent_id == commune.id, Unit.level == "village")
    )
    return next((u for u in found.all() if village_key(u.name) == wanted), None)


async def village_names(
    session: AsyncSession, *, keys: Sequence[str], limit: int = 50
) -> list[str]:
    """The names of villages anywhere whose lookup key is one of `keys` (how another commune
    spells a name typed without accents)."""
    rows = await session.exec(
        select(Unit.name)
        .where(Unit.level == "village", col(Unit.name_key).in_(list(keys)))
        .limit(limit)
    )
    return list(rows.all())


async def create_village(session: AsyncSession, *, commune: Unit, name: str) -> Unit:
    name = safe_name(name)
    # The commune's row locked until this transaction ends (PostgreSQL; SQLite has one writer):
    # two villages made at once in one commune get two codes, not the same one twice.
    last = (
        await session.exec(select(Unit.village_seq).where(Unit.id == commune.id).with_for_update())
    ).one()
    codes = (await session.exec(select(Unit.code).where(Unit.parent_id == commune.id))).all()
    # The next number after the highest ever given: a removed or merged village's code is never
    # given again (the commune keeps its last number).
    taken = [int(c.rsplit("-", 1)[1]) for c in codes if c.rsplit("-", 1)[-1].isdigit()]
    number = max(last or 0, max(taken, default=0)) + 1
    await session.exec(update(Unit).where(col(Unit.id) == commune.id).values(village_seq=number))
    village = Unit(
        parent_id=commune.id,
        level="village",
        code=f"{commune.code}-{number}",
        name=name,
        name_key=key(name),
    )
    session.add(village)
    await session.flush()
    village.path = f"{commune.path}{village.id}/"
    await session.flush()
    return village


async def village_count(session: AsyncSession, *, commune: Unit) -> int:
    found = await session.exec(
        select(func.count()).select_from(Unit).where(Unit.parent_id == commune.id)
    )
    return int(found.one())


async def households_of(session: AsyncSession, *, unit: Unit) -> int | None:
    """A village's households; a higher unit's, the sum over its villages (a parent is the sum
    of its children), or its own figure while none of them has one."""
    if unit.level == "village":
        return unit.households
    total = (
        await session.exec(
            select(func.sum(Unit.households)).where(in_subtree(unit.path), Unit.level == "village")
        )
    ).one()
    return int(total) if total is not None else unit.households
