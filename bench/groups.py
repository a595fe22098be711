"""Village groups, linked and known to a local Bot API server: what the delivery benchmarks and
tests post into."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlmodel import col, select

from bot import app
from bot.settings import Settings
from sandbox.telegram import FakeTelegram
from storage import db, units
from storage.models import Chat, Unit


async def fresh_database(path: Path) -> str:
    """An empty SQLite file at `path`, migrated and seeded as `tcns run` leaves it; its URL."""
    await asyncio.to_thread(path.unlink, missing_ok=True)
    url = f"sqlite+aiosqlite:///{path}"
    engine, _sessions = await app.prepare_database(Settings(_env_file=None, database_url=url))
    await engine.dispose()
    return url


async def _on_server(base_url: str, *statements: str) -> None:
    """Statements outside any transaction (CREATE DATABASE needs that)."""
    admin = db.create_engine(base_url)
    async with admin.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        for statement in statements:
            await conn.execute(text(statement))
    await admin.dispose()


async def fresh_postgres(base_url: str, name: str) -> str:
    """An empty PostgreSQL database `name` beside `base_url`'s, migrated and seeded; its URL."""
    await _on_server(
        base_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', f'CREATE DATABASE "{name}"'
    )
    url = make_url(base_url).set(database=name).render_as_string(hide_password=False)
    engine, _sessions = await app.prepare_database(Settings(_env_file=None, database_url=url))
    await engine.dispose()
    return url


async def drop_postgres(base_url: str, name: str) -> None:
    await _on_server(base_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def link_groups(
    database_url: str,
    fake: FakeTelegram,
    *,
    communes: int,
    per: int,
    province: str | None = "48",
    households: int = 100,
) -> list[int]:
    """`communes` × `per` villages of one province (Đà Nẵng by default; None: the first
    communes of the country), each with its own
    linked group and `households` (+ its number) households; returns the groups' chat ids."""
    engine = db.create_engine(database_url)
    chat_ids: list[int] = []
    try:
        async with db.transaction(db.session_factory(engine)) as session:
            query = select(Unit).where(Unit.level == "commune")
            if province is not None:
                top = (
                    await session.exec(
                        select(Unit).where(Unit.level == "province", Unit.code == province)
                    )
                ).one()
                query = query.where(Unit.parent_id == top.id)
            found = await session.exec(query.order_by(col(Unit.code)).limit(communes))
            for c, commune in enumerate(found.all()):
                for v in range(per):
                    village = await units.create_village(
                        session, commune=commune, name=f"Thôn {v + 1}"
                    )
                    village.households = households + v
                    chat_id = -1005000000000 - c * 10_000 - v
                    session.add(
                        Chat(
                            id=f"tg:{chat_id}",
                            platform="tg",
                            kind="group",
                            title=f"Tổ CNS {village.name}",
                            unit_id=village.id,
                        )
                    )
                    fake.add_group(chat_id, f"Tổ CNS {commune.name} {village.name}")
                    chat_ids.append(chat_id)
    finally:
        await engine.dispose()
    return chat_ids
