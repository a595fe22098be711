"""What differs between SQLite and PostgreSQL, asked in one place."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel.ext.asyncio.session import AsyncSession


def is_postgres(where: AsyncSession | AsyncEngine) -> bool:
    bind = where.bind if isinstance(where, AsyncSession) else where
    return bind is not None and bind.dialect.name == "postgresql"


def name(session: AsyncSession) -> str:
    return "postgresql" if is_postgres(session) else "sqlite"


def insert_for(session: AsyncSession) -> Callable[..., Any]:
    """The dialect's INSERT, which has ON CONFLICT."""
    return postgresql.insert if is_postgres(session) else sqlite.insert


_BUILT: dict[tuple[str, Hashable], Any] = {}


def built_once(
    session: AsyncSession, key: Hashable, build: Callable[[Callable[..., Any]], Any]
) -> Any:
    """A statement of the hot path, built once per dialect: `build` is given the dialect's
    INSERT (the one with ON CONFLICT)."""
    found = _BUILT.get((name(session), key))
    if found is None:
        found = _BUILT[(name(session), key)] = build(insert_for(session))
    return found


def insert_or_skip(session: AsyncSession, table: Any, keys: Sequence[str]) -> Any:
    """INSERT .. ON CONFLICT (keys) DO NOTHING into `table`, built once per dialect."""
    return built_once(
        session,
        ("insert_or_skip", table.name, tuple(keys)),
        lambda insert: insert(table).on_conflict_do_nothing(index_elements=list(keys)),
    )


async def core(session: AsyncSession, statement: Any, params: Any = None) -> Any:
    """A Core statement on the session's connection, in its transaction: the hot path's way,
    without the ORM's bookkeeping (and without SQLModel's warning about `execute`)."""
    connection = await session.connection()
    return await connection.execute(statement, params)
