"""The inbound queue: store first, acknowledge, then process."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import InboxUpdate, utcnow

MAX_ATTEMPTS = 5


async def store(session: AsyncSession, *, items: Sequence[tuple[str, str, dict[str, Any]]]) -> int:
    """(key, platform, payload) rows; a key seen before is ignored. Returns how many were new."""
    if not items:
        return 0
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    added = 0
    for key, platform, payload in items:
        result = await session.exec(
            insert(InboxUpdate)
            .values(
                key=key,
                platform=platform,
                payload=json.dumps(payload, ensure_ascii=False),
                received_at=utcnow(),
            )
            .on_conflict_do_nothing(index_elements=["key"])
        )
        added += result.rowcount or 0
    return added


async def claim(session: AsyncSession, *, limit: int) -> list[InboxUpdate]:
    """The oldest pending updates. On PostgreSQL they stay locked (SKIP LOCKED) for the rest of
    this session's transaction, so several workers never take the same one."""
    stmt = (
        select(InboxUpdate)
        .where(InboxUpdate.state == "pending")
        .order_by(col(InboxUpdate.id))
        .limit(limit)
    )
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    return list((await session.exec(stmt)).all())


def finish(row: InboxUpdate, *, error: str | None = None) -> None:
    if error is None:
        row.state, row.done_at = "done", utcnow()
        return
    row.attempts += 1
    row.last_error = error[:500]
    if row.attempts >= MAX_ATTEMPTS:
        row.state = "failed"


async def pending_count(session: AsyncSession) -> int:
    rows = await session.exec(
        select(func.count()).select_from(InboxUpdate).where(InboxUpdate.state == "pending")
    )
    return int(rows.one())
