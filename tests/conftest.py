"""Shared fixtures: a migrated, seeded SQLite database copied fresh for every test."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from handlers.incoming import Deps
from storage import db
from storage.reference import ensure_reference_data
from tests.harness import Clock

SUPERADMIN = "tg:1"


async def _build(path: Path) -> None:
    engine = db.create_engine(f"sqlite+aiosqlite:///{path}")
    await db.upgrade(engine)
    async with db.transaction(db.session_factory(engine)) as session:
        await ensure_reference_data(session)
    await engine.dispose()


@pytest.fixture(scope="session")
def template_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Migrations and the 3,355 official units cost seconds; pay them once per run."""
    path = tmp_path_factory.mktemp("template") / "tcns.db"
    asyncio.run(_build(path))
    return path


@pytest.fixture
def db_path(template_db: Path, tmp_path: Path) -> Path:
    path = tmp_path / "tcns.db"
    shutil.copy(template_db, path)
    return path


@pytest.fixture
def clock() -> Clock:
    # Friday 20 November 2026, 10:00 in Vietnam.
    return Clock(datetime(2026, 11, 20, 3, 0, tzinfo=UTC))


@pytest.fixture
async def deps(db_path: Path, clock: Clock) -> AsyncIterator[Deps]:
    engine = db.create_engine(f"sqlite+aiosqlite:///{db_path}")
    yield Deps(
        sessions=db.session_factory(engine),
        superadmins=frozenset({SUPERADMIN}),
        clock=clock,
        bot_usernames={"tcns_test_bot"},
    )
    await engine.dispose()
