"""Migrations build exactly the schema the models describe, on SQLite and on PostgreSQL."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.engine import Connection
from sqlmodel import SQLModel, func, select

import storage.models  # noqa: F401  (registers the tables)
from storage import db
from storage.models import Unit
from storage.reference import ensure_reference_data


def _diff(connection: Connection) -> list[object]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, SQLModel.metadata))


async def test_sqlite_schema_matches_models(tmp_path: Path) -> None:
    engine = db.create_engine(f"sqlite+aiosqlite:///{tmp_path / 'm.db'}")
    await db.upgrade(engine)
    await db.upgrade(engine)  # a second run is a no-op
    async with engine.connect() as conn:
        assert await conn.run_sync(_diff) == []
    await engine.dispose()


async def test_postgres_schema_matches_models(postgres_url: str) -> None:
    engine = db.create_engine(postgres_url)
    await db.upgrade(engine)
    async with engine.connect() as conn:
        assert await conn.run_sync(_diff) == []
    sessions = db.session_factory(engine)
    async with db.transaction(sessions) as session:
        await ensure_reference_data(session)
    async with sessions() as session:
        assert (await session.exec(select(func.count()).select_from(Unit))).one() == 3355
    await engine.dispose()
