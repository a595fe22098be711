"""The outbox's rows: replies and posts, which are due, what became of each, and the chats a
delivery finds gone or moved. The sender (scheduler/outbox.py) decides; this reads and writes."""

from __future__ import annotations

import contextlib
import secrets
import weakref
from collections.abc import AsyncIterator, Callable, Collection, Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, bindparam, event, text
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.orm import Session
from sqlmodel import col, delete, func, or_, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.db import SessionFactory
from storage.dialect import core, insert_for, is_postgres
from storage.models import Chat, Media, Outbox, utcnow

REPLY = "reply"  # the job of every reply to an update
# Advisory locks of "a sender is sending into this chat" (PostgreSQL), beside the scheduler's.
_CHAT_LOCKS = 0x7C45
IDLE_LOCK = 60  # seconds a chat's lock may sit in an idle transaction (one send takes a few)


# Who hears when the outbox was given something: a sender, told which chats once the
# transaction that wrote into them has committed — so that a reply, and a notice written into
# another chat beside it, leave at once, without the sender asking every chat's queue.
_WATCHERS: weakref.WeakKeyDictionary[Engine, list[Callable[[set[str]], None]]] = (
    weakref.WeakKeyDictionary()
)
_QUEUED = "tcns.outbox.queued"


def watch(engine: AsyncEngine, told: Callable[[set[str]], None]) -> None:
    """`told(chats)` after every commit on `engine` that wrote into those chats' queues."""
    _WATCHERS.setdefault(engine.sync_engine, []).append(told)


def unwatch(engine: AsyncEngine, told: Callable[[set[str]], None]) -> None:
    with contextlib.suppress(ValueError):
        _WATCHERS.get(engine.sync_engine, []).remove(told)


def queued(session: AsyncSession, chat_ids: Iterable[str]) -> None:
    """This transaction writes into these chats' queues."""
    session.sync_session.info.setdefault(_QUEUED, set()).update(chat_ids)


@event.listens_for(Session, "after_commit")
def _committed(sync_session: Session) -> None:
    chats = sync_session.info.pop(_QUEUED, None)
    bind = sync_session.bind
    if not chats or bind is None:
        return
    engine = bind if isinstance(bind, Engine) else bind.engine
    for told in list(_WATCHERS.get(engine, ())):
        told(chats)


@event.listens_for(Session, "after_rollback")
def _rolled_back(sync_session: Session) -> None:
    sync_session.info.pop(_QUEUED, None)


async def add_replies(session: AsyncSession, *, rows: Sequence[dict[str, Any]]) -> None:
    """Replies to an update, in their order, in the update's own transaction: committed with
    what they answer, or not at all. Each row: chat_id, body and what else a post has."""
    if not rows:
        return
    now = utcnow()
    values = [
        {
            "job": REPLY,
            # Unique per reply; a reply is never queued twice (its update is done with it).
            "period": secrets.token_hex(8),
            "state": "pending",
            "attempts": 0,
            "doubt": False,
            "created_at": now,
            "media_key": None,
            "media_kind": None,
            "buttons": None,
            "edit_id": None,
            "delete_id": None,
            "reply_to": None,
            "extra": None,
            "fallback_chat_id": None,
            **row,
        }
        for row in rows
    ]
    await core(session, insert_for(session)(Outbox), values)
    queued(session, (row["chat_id"] for row in values))


def _pending_heads() -> Any:
    return (
        select(func.min(Outbox.id)).where(Outbox.state == "pending").group_by(col(Outbox.chat_id))
    )


async def heads(
    session: AsyncSession,
    *,
    now: datetime,
    limit: int,
    job: str | None = None,
    skip: Collection[str] = (),
) -> list[Outbox]:
    """The oldest pending message of each chat, where it is due at `now` (and of `job`, when
    given): what may be sent next, chat by chat. Chats in `skip` are being sent already."""
    stmt = select(Outbox).where(
        col(Outbox.id).in_(_pending_heads()),
        or_(col(Outbox.not_before).is_(None), col(Outbox.not_before) <= now),
    )
    if job is not None:
        stmt = stmt.where(Outbox.job == job)
    if skip:
        stmt = stmt.where(col(Outbox.chat_id).not_in(list(skip)))
    return list((await session.exec(stmt.order_by(col(Outbox.id)).limit(limit))).all())


# The sender's statements, built once: each message sent runs them, and building a statement
# costs more than running it on SQLite.
_OUTBOX = Outbox.__table__  # type: ignore[attr-defined]
_LANE = (
    select(Outbox)
    .where(Outbox.state == "pending", Outbox.chat_id == bindparam("chat"))
    .order_by(col(Outbox.id))
    .limit(bindparam("n"))
    .execution_options(populate_existing=True)
)
_ATTEMPTING = (
    update(_OUTBOX)
    .where(_OUTBOX.c.id.in_(bindparam("ids", expanding=True)))
    .values(sending_at=bindparam("now"), attempts=_OUTBOX.c.attempts + 1)
)
_SENT = (
    update(_OUTBOX)
    .where(_OUTBOX.c.id.in_(bindparam("ids", expanding=True)))
    .values(state="sent", sent_at=bindparam("now"), sending_at=None, last_error=None)
)


async def lane(session: AsyncSession, *, chat_id: str, limit: int) -> list[Outbox]:
    """The chat's pending messages, oldest first."""
    return list((await session.exec(_LANE, params={"chat": chat_id, "n": limit})).all())


async def attempting(session: AsyncSession, *, ids: Sequence[int], now: datetime) -> None:
    """An attempt begins: should the process die during it, its outcome is unknown. (The rows
    read in this transaction keep what they said before it: whether an earlier attempt was
    under way decides the "sent again" note.)"""
    await core(session, _ATTEMPTING, {"ids": list(ids), "now": now})


async def mark_sent(session: AsyncSession, *, ids: Sequence[int], now: datetime) -> None:
    """The common case in one statement: at hundreds of messages a second SQLite's single
    writer, not the Bot API, would otherwise set the pace."""
    await core(session, _SENT, {"ids": list(ids), "now": now})


async def in_doubt_since(session: AsyncSession, *, before: datetime) -> int:
    """Messages whose attempt began before `before` and never ended (the process died during
    it): whether they arrived is unknown. Marked so; how many."""
    result = await session.exec(
        update(Outbox)
        .where(
            col(Outbox.state) == "pending",
            col(Outbox.sending_at).is_not(None),
            col(Outbox.sending_at) < before,
        )
        .values(doubt=True, sending_at=None)
    )
    return int(result.rowcount or 0)


async def forget_replies(session: AsyncSession, *, before: datetime) -> None:
    """Replies long delivered (or refused) go: a reply holds names and figures, and its row
    has no use once it is out."""
    await session.exec(
        delete(Outbox).where(
            col(Outbox.job) == REPLY,
            col(Outbox.state).in_(("sent", "failed")),
            col(Outbox.created_at) < before,
        )
    )


async def pending_in(session: AsyncSession, *, chat_id: str) -> int:
    found = await session.exec(
        select(func.count())
        .select_from(Outbox)
        .where(Outbox.state == "pending", Outbox.chat_id == chat_id)
    )
    return int(found.one())


@contextlib.asynccontextmanager
async def chat_lock(sessions: SessionFactory, *, chat_id: str) -> AsyncIterator[bool]:
    """True while this process alone sends into the chat: several `tcns run` on one
    PostgreSQL database each send, never two into the same chat at once (its order, its
    pace). The lock is held by a connection of its own while one message is sent. On SQLite
    one process sends, and its sender keeps to one task per chat itself."""
    engine: AsyncEngine = sessions.kw["bind"]
    if not is_postgres(engine):
        yield True
        return
    key = {"space": _CHAT_LOCKS, "chat": chat_id}
    # A transaction's lock, held while one message is sent: however that ends (an error, a
    # cancellation), its rollback lets go of it; and should this process lose the connection
    # without the server noticing (a network cut), the server ends the idle transaction, and
    # the lock with it, after IDLE_LOCK.
    async with engine.connect() as connection, connection.begin():
        await connection.execute(
            text(f"SET LOCAL idle_in_transaction_session_timeout = '{IDLE_LOCK}s'")
        )
        got = (
            await connection.execute(
                text("SELECT pg_try_advisory_xact_lock(:space, hashtext(:chat))"), key
            )
        ).scalar_one()
        yield bool(got)


async def media(session: AsyncSession, *, key: str) -> Media | None:
    return await session.get(Media, key)


async def next_retry(session: AsyncSession, *, job: str | None) -> datetime | None:
    """When the soonest post waiting out a 429 or a fault may go again."""
    stmt = select(func.min(Outbox.not_before)).where(Outbox.state == "pending")
    if job is not None:
        stmt = stmt.where(Outbox.job == job)
    return (await session.exec(stmt)).one()


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
    queued(session, [chat_id])
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
