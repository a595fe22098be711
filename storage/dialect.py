"""What differs between SQLite and PostgreSQL, asked in one place."""

from __future__ import annotations

from collections.abc import Callable
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


async def core(session: AsyncSession, statement: Any, params: Any = None) -> Any:
    """A Core statement on the session's connection, in its transaction: the hot path's way,
    without the ORM's bookkeeping (and without SQLModel's warning about `execute`)."""
    connection = await session.connection()
    return await connection.execute(statement, params)
