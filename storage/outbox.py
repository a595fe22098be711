"""The outbox's rows: which posts are due, what became of each, and the chats a delivery
finds gone or moved. The sender (scheduler/outbox.py) decides; this reads and writes."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import col, func, or_, select, update
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import SelectOfScalar

from storage.models import Chat, Media, Outbox


def _due(now: datetime, job: str | None) -> SelectOfScalar[Outbox]:
    stmt = select(Outbox).where(
        Outbox.state == "pending",
        or_(col(Outbox.not_before).is_(None), col(Outbox.not_before) <= now),
    )
    if job is not None:
        stmt = stmt.where(Outbox.job == job)
    return stmt.order_by(col(Outbox.id))


async def due(
    session: AsyncSession, *, now: datetime, job: str | None, limit: int, lock: bool = False
) -> list[Outbox]:
    """The oldest posts due at `now` (of `job`, or of every job). With `lock` (PostgreSQL),
    they stay locked for this transaction and other senders skip them."""
    stmt = _due(now, job).limit(limit)
    if lock:
        stmt = stmt.with_for_update(skip_locked=True)
    return list((await session.exec(stmt)).all())


async def media(session: AsyncSession, *, key: str) -> Media | None:
    return await session.get(Media, key)


async def next_retry(session: AsyncSession, *, job: str | None) -> datetime | None:
    """When the soonest post waiting out a 429 or a fault may go again."""
    stmt = select(func.min(Outbox.not_before)).where(Outbox.state == "pending")
    if job is not None:
        stmt = stmt.where(Outbox.job == job)
    return (await session.exec(stmt)).one()


async def mark_sent(session: AsyncSession, *, post_id: int, now: datetime) -> None:
    """The common case in one statement: at hundreds of posts a second SQLite's single writer,
    not the Bot API, would otherwise set the pace."""
    await session.exec(
        update(Outbox)
        .where(col(Outbox.id) == post_id)
        .values(state="sent", sent_at=now, last_error=None, attempts=col(Outbox.attempts) + 1)
    )


async def get(session: AsyncSession, *, post_id: int) -> Outbox | None:
    return await session.get(Outbox, post_id)


async def taken(session: AsyncSession, *, job: str, period: str, chat_id: str) -> bool:
    """Whether the chat already has this round's post."""
    found = await session.exec(
        select(Outbox.id).where(
            Outbox.job == job, Outbox.period == period, Outbox.chat_id == chat_id
        )
    )
    return found.first() is not None


def copy_to(session: AsyncSession, *, post: Outbox, chat_id: str) -> None:
    """The same post, pending, for another chat (a leader's private chat refused it)."""
    session.add(
        Outbox(
            job=post.job,
            period=post.period,
            chat_id=chat_id,
            body=post.body,
            media_key=post.media_key,
            media_kind=post.media_kind,
            buttons=post.buttons,
        )
    )


async def retire_chat(session: AsyncSession, *, chat_id: str) -> bool:
    """A group that removed the bot gets no more posts; True when it was one."""
    chat = await session.get(Chat, chat_id)
    if chat is None or chat.kind == "private":
        return False
    chat.active = False
    return True


async def move_chat(session: AsyncSession, *, old_id: str, new_id: str) -> None:
    """A group that became a supergroup lives on under its new id, linked as before."""
    old = await session.get(Chat, old_id)
    if old is None or await session.get(Chat, new_id) is not None:
        return
    session.add(
        Chat(
            id=new_id,
            platform=old.platform,
            kind=old.kind,
            title=old.title,
            unit_id=old.unit_id,
            language=old.language,
        )
    )
    old.active = False
    old.unit_id = None


async def pending_count(session: AsyncSession) -> int:
    found = await session.exec(
        select(func.count()).select_from(Outbox).where(Outbox.state == "pending")
    )
    return int(found.one())


async def keep_file(
    session: AsyncSession, *, key: str, filename: str, mime: str, content: bytes
) -> None:
    """A file kept by its hash (a workbook waiting for its import to be confirmed)."""
    if await session.get(Media, key) is None:
        session.add(Media(key=key, filename=filename[:200], mime=mime, content=content))
        await session.flush()


async def file_by_prefix(session: AsyncSession, *, prefix: str) -> Media | None:
    """The kept file whose hash starts so (a button's data holds only part of it)."""
    found = await session.exec(select(Media).where(col(Media.key).startswith(prefix)).limit(2))
    rows = list(found.all())
    return rows[0] if len(rows) == 1 else None
