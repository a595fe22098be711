"""Engines, sessions and migrations."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib import resources
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import event, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel.ext.asyncio.session import AsyncSession

from storage import sqlite_inline

SessionFactory = async_sessionmaker[AsyncSession]


def create_engine(url: str) -> AsyncEngine:
    parsed = make_url(url)
    path = parsed.database
    if parsed.get_backend_name() == "sqlite" and path and path != ":memory:" and not parsed.query:
        # A file: on the loop's own thread (storage/sqlite_inline.py says why that holds).
        engine = create_async_engine(url, async_creator=sqlite_inline.creator(path))
    elif parsed.get_backend_name() == "postgresql":
        # Room for the inbox's workers, the sender's lanes (each holds a connection while it
        # sends into its chat: storage/outbox.py) and the pages.
        # A statement that gets no answer in a minute (the connection cut without the
        # server's word) fails instead of holding its task for ever; so does a connection
        # that cannot be made in ten seconds.
        engine = create_async_engine(
            url,
            pool_pre_ping=True,
            pool_size=10,
            max_overflow=30,
            connect_args={"command_timeout": 60, "timeout": 10},
        )
    else:
        engine = create_async_engine(url, pool_pre_ping=not url.startswith("sqlite"))
    if engine.dialect.name == "sqlite":

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA busy_timeout=10000")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

    return engine


def session_factory(engine: AsyncEngine) -> SessionFactory:
    return async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)


@asynccontextmanager
async def transaction(factory: SessionFactory) -> AsyncIterator[AsyncSession]:
    """One session, committed on success and rolled back on any error."""
    async with factory() as session, session.begin():
        yield session


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(resources.files("storage") / "migrations"))
    return config


def _upgrade(connection: Connection, revision: str) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    command.upgrade(config, revision)


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    """Apply the migrations on this engine's database (`tcns db upgrade`, and `tcns run`).

    On SQLite a migration may rebuild a table that others refer to; with foreign keys on, the
    rebuild's DROP would delete through them. They are off for the migrations (SQLite allows
    that only outside a transaction), and every reference is checked before they are on again.
    """
    sqlite = engine.dialect.name == "sqlite"
    async with engine.connect() as conn:
        if sqlite:
            await conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
            await conn.commit()
        try:
            async with conn.begin():
                await conn.run_sync(_upgrade, revision)
                if sqlite:
                    broken = (await conn.exec_driver_sql("PRAGMA foreign_key_check")).all()
                    if broken:
                        raise RuntimeError(f"migrations broke references: {broken[:5]}")
        finally:
            if sqlite:
                await conn.exec_driver_sql("PRAGMA foreign_keys=ON")
                await conn.commit()


# Registers the listeners that notice configuration changes in every session (storage/cache.py).
from storage import cache as _cache  # noqa: E402, F401


async def ping(factory: SessionFactory) -> None:
    """Raises when the database does not answer."""
    async with factory() as session:
        await session.exec(text("SELECT 1"))  # type: ignore[call-overload]


def redacted_url(url: str) -> str:
    """The URL without its password, for messages."""
    return make_url(url).render_as_string(hide_password=True)
