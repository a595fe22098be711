"""Migrations build exactly the schema the models describe, on SQLite and on PostgreSQL."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.engine import Connection, make_url
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


@pytest.fixture
async def postgres_url() -> AsyncIterator[str]:
    base = os.environ.get("TCNS_TEST_POSTGRES_URL")
    if not base:
        pytest.skip("TCNS_TEST_POSTGRES_URL is not set")
    name = f"tcns_test_{uuid.uuid4().hex[:12]}"
    admin = db.create_engine(base)
    async with admin.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(base).set(database=name).render_as_string(hide_password=False)
    finally:
        async with admin.connect() as conn:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await admin.dispose()


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
