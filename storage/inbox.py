"""The inbound queue: store first, acknowledge, then process, each chat's updates in order."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage import dialect
from storage.dialect import core, is_postgres
from storage.models import InboxUpdate, utcnow

MAX_ATTEMPTS = 5
_TABLE = InboxUpdate.__table__  # type: ignore[attr-defined]


async def store(
    session: AsyncSession, *, items: Sequence[tuple[str, str, str | None, dict[str, Any]]]
) -> int:
    """(key, platform, chat id, payload) rows; a key seen before is ignored. Returns how many
    were new."""
    if not items:
        return 0
    statement = dialect.insert_or_skip(session, _TABLE, ["key"])
    now = utcnow()
    added = 0
    for key, platform, chat_id, payload in items:
        row = {
            "key": key,
            "platform": platform,
            "chat_id": chat_id,
            "payload": json.dumps(payload, ensure_ascii=False),
            "state": "pending",
            "attempts": 0,
            "received_at": now,
        }
        added += (await core(session, statement, row)).rowcount or 0
    return added


_PENDING = _TABLE.c.state == "pending"
_HEADS = (
    sa.select(_TABLE.c.id, _TABLE.c.platform, _TABLE.c.chat_id, _TABLE.c.payload)
    .where(
        _PENDING,
        _TABLE.c.id.in_(
            sa.select(sa.func.min(_TABLE.c.id))
            .where(_PENDING)
            .group_by(sa.func.coalesce(_TABLE.c.chat_id, ""))
        ),
    )
    .order_by(_TABLE.c.id)
    .limit(sa.bindparam("limit"))
)


async def heads(session: AsyncSession, *, limit: int) -> list[sa.Row[Any]]:
    """Each chat's oldest pending update (id, platform, chat id, payload), oldest first: what
    may be processed now without overtaking an earlier update of the same chat. (Updates
    stored without a chat form one lane of their own.)"""
    return list((await core(session, _HEADS, {"limit": limit})).all())


_TAKE = (
    sa.update(_TABLE)
    .where(_TABLE.c.id == sa.bindparam("row_id"), _PENDING)
    .values(state="done", done_at=sa.bindparam("now"))
)
_TAKE_LOCKED = (
    sa.update(_TABLE)
    .where(
        _TABLE.c.id
        == sa.select(_TABLE.c.id)
        .where(_TABLE.c.id == sa.bindparam("row_id"), _PENDING)
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )
    .values(state="done", done_at=sa.bindparam("now"))
)


async def take(session: AsyncSession, *, row_id: int) -> bool:
    """Marks the update done in the transaction that holds its effects, so that both commit or
    neither does. False when it is not pending any more, or (PostgreSQL) another worker holds
    it right now: then this one must leave it alone."""
    stmt = _TAKE_LOCKED if is_postgres(session) else _TAKE
    result = await core(session, stmt, {"row_id": row_id, "now": utcnow()})
    return bool(result.rowcount)


async def finish(session: AsyncSession, *, row_id: int, error: str | None = None) -> None:
    """Outside a processing transaction: done, or one more failed attempt (failed for good
    after MAX_ATTEMPTS)."""
    if error is None:
        await core(session, _TAKE, {"row_id": row_id, "now": utcnow()})
        return
    row = await session.get(InboxUpdate, row_id)
    if row is None or row.state != "pending":
        return
    row.attempts += 1
    row.last_error = error[:500]
    if row.attempts >= MAX_ATTEMPTS:
        row.state = "failed"


async def pending_count(session: AsyncSession) -> int:
    rows = await session.exec(
        select(func.count()).select_from(InboxUpdate).where(col(InboxUpdate.state) == "pending")
    )
    return int(rows.one())


async def backlog(session: AsyncSession) -> tuple[int, datetime | None]:
    """How many updates wait, and since when the oldest has."""
    found = await session.exec(
        select(func.count(), func.min(InboxUpdate.received_at)).where(
            col(InboxUpdate.state) == "pending"
        )
    )
    waiting, oldest = found.one()
    return int(waiting), oldest
