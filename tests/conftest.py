"""Shared fixtures: a migrated, seeded SQLite database copied fresh for every test."""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from handlers.flood import FloodGate
from handlers.incoming import Deps
from sandbox.telegram import FakeTelegram
from storage import db
from storage.reference import ensure_reference_data
from tests.harness import Clock
from tests.tg_world import populate

SUPERADMIN = "tg:1"


async def _build(url: str) -> None:
    engine = db.create_engine(url)
    await db.upgrade(engine)
    async with db.transaction(db.session_factory(engine)) as session:
        await ensure_reference_data(session)
    await engine.dispose()


@pytest.fixture(scope="session")
def template_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Migrations and the 3,355 official units cost seconds; pay them once per run."""
    path = tmp_path_factory.mktemp("template") / "tcns.db"
    asyncio.run(_build(f"sqlite+aiosqlite:///{path}"))
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


async def _pg(base: str, *statements: str) -> None:
    engine = db.create_engine(base)
    async with engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        for statement in statements:
            await conn.execute(text(statement))
    await engine.dispose()


def _pg_url(base: str, name: str) -> str:
    return make_url(base).set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str | None]:
    """A migrated, seeded PostgreSQL database that each test clones (CREATE … TEMPLATE)."""
    base = os.environ.get("TCNS_TEST_POSTGRES_URL")
    if not base:
        yield None
        return
    name = f"tcns_tpl_{uuid.uuid4().hex[:10]}"
    asyncio.run(_pg(base, f'CREATE DATABASE "{name}"'))
    asyncio.run(_build(_pg_url(base, name)))
    yield name
    asyncio.run(_pg(base, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(params=["sqlite", "postgres"])
async def database_url(
    request: pytest.FixtureRequest, db_path: Path, pg_template: str | None
) -> AsyncIterator[str]:
    """Handler tests run on SQLite, and on PostgreSQL where TCNS_TEST_POSTGRES_URL is set."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{db_path}"
        return
    base = os.environ.get("TCNS_TEST_POSTGRES_URL")
    if not base or pg_template is None:
        pytest.skip("TCNS_TEST_POSTGRES_URL is not set")
    name = f"tcns_t_{uuid.uuid4().hex[:12]}"
    await _pg(base, f'CREATE DATABASE "{name}" TEMPLATE "{pg_template}"')
    yield _pg_url(base, name)
    await _pg(base, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
async def deps(database_url: str, clock: Clock) -> AsyncIterator[Deps]:
    engine = db.create_engine(database_url)
    yield Deps(
        sessions=db.session_factory(engine),
        superadmins=frozenset({SUPERADMIN}),
        clock=clock,
        bot_usernames={"tcns_test_bot"},
        # Dialogues here run a week of commands in a second; flood control has its own test.
        flood=FloodGate(limit=100_000),
    )
    await engine.dispose()


@pytest.fixture
async def fake(clock: Clock) -> AsyncIterator[FakeTelegram]:
    """The local Bot API server with the people and groups of `tests.tg_world`. Its messages
    are dated by the test's clock, which a test also hands to `app.start(clock=…)`: the dates
    people send at and the bot's "today" agree, whatever the real date is."""
    server = FakeTelegram(clock=lambda: clock().timestamp())
    populate(server)
    await server.start()
    yield server
    await server.stop()


def lift_group_limit(fake: FakeTelegram, running: object) -> None:
    """For tests about what the bot says, not how fast: a long conversation in one group would
    pass Telegram's 20 messages a minute, so both the fake and the bot's pacer allow more."""
    fake.group_per_minute = 10_000
    deps = getattr(running, "deps", None)
    if deps is not None:
        deps.flood.limit = 10_000  # one admin sets a whole commune up in a minute here
    telegram = getattr(running, "telegram", None)
    if telegram is not None:
        telegram.pacer.per_group_minute = 10_000


@pytest.fixture
async def postgres_url() -> AsyncIterator[str]:
    """A fresh, empty PostgreSQL database of this test's own."""
    base = os.environ.get("TCNS_TEST_POSTGRES_URL")
    if not base:
        pytest.skip("TCNS_TEST_POSTGRES_URL is not set")
    name = f"tcns_test_{uuid.uuid4().hex[:12]}"
    await _pg(base, f'CREATE DATABASE "{name}"')
    try:
        yield _pg_url(base, name)
    finally:
        await _pg(base, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Why tests were skipped, one line per reason with its count: on a laptop most are the
    PostgreSQL variants (TCNS_TEST_POSTGRES_URL unset) and the browser tests."""
    reasons: dict[str, int] = {}
    for report in terminalreporter.stats.get("skipped", []):
        longrepr = report.longrepr
        reason = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
        reason = reason.removeprefix("Skipped: ")
        reasons[reason] = reasons.get(reason, 0) + 1
    if reasons:
        terminalreporter.write_sep("-", "skipped, by reason")
        for reason, count in sorted(reasons.items(), key=lambda kv: -kv[1]):
            terminalreporter.write_line(f"{count:5d}  {reason}")
