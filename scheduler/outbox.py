"""Delivers the outbox: each pending post to its chat through the platform's messenger, at the
pace the messenger allows, recording what became of it.

Unknown outcome: a post whose send was under way when the process died is still `pending` and
goes again on restart. Telegram offers no idempotency key, so such a post may arrive twice; it
can never be lost. Everything not in flight is sent exactly once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlmodel import col, func, or_, select

from handlers.incoming import (
    Attachment,
    Deps,
    Messenger,
    Reply,
    SendOutcome,
    SendResult,
    system_clock,
)
from handlers.richtext import Rich
from storage.db import transaction
from storage.models import Chat, Media, Outbox

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
BATCH = 200


@dataclass
class Stats:
    sent: int = 0
    failed: int = 0
    retried: int = 0
    migrated: int = 0
    gone: int = 0
    outcomes: list[SendResult] = field(default_factory=list)


class OutboxSender:
    def __init__(
        self,
        deps: Deps,
        messengers: Sequence[Messenger],
        *,
        workers: int = 8,
        now: Callable[[], datetime] = system_clock,
    ) -> None:
        self.deps = deps
        # Delivery runs on the wall clock (a 429's wait is real seconds), whatever business
        # clock the jobs were given.
        self.now = now
        self.messengers = list(messengers)
        self.workers = workers
        self._media: dict[str, Attachment] = {}

    def _messenger(self, chat_id: str) -> Messenger | None:
        return next((m for m in self.messengers if m.handles(chat_id)), None)

    async def _claim(self, limit: int, job: str | None) -> list[Outbox]:
        now = self.now()
        async with self.deps.sessions() as session:
            stmt = select(Outbox).where(
                Outbox.state == "pending",
                or_(col(Outbox.not_before).is_(None), col(Outbox.not_before) <= now),
            )
            if job is not None:
                stmt = stmt.where(Outbox.job == job)
            rows = await session.exec(stmt.order_by(col(Outbox.id)).limit(limit))
            return list(rows.all())

    async def _attachment(self, row: Outbox) -> Attachment | None:
        if row.media_key is None:
            return None
        if row.media_key not in self._media:
            async with self.deps.sessions() as session:
                media = await session.get(Media, row.media_key)
            if media is None:
                return None
            self._media[row.media_key] = Attachment(
                media.filename,
                media.content,
                "photo" if row.media_kind == "photo" else "document",
                media.mime,
            )
        return self._media[row.media_key]

    async def _next_retry(self, job: str | None) -> datetime | None:
        async with self.deps.sessions() as session:
            stmt = select(func.min(Outbox.not_before)).where(Outbox.state == "pending")
            if job is not None:
                stmt = stmt.where(Outbox.job == job)
            found = (await session.exec(stmt)).one()
        if found is None:
            return None
        return found if found.tzinfo else found.replace(tzinfo=UTC)  # SQLite: naive UTC

    async def drain(
        self,
        *,
        job: str | None = None,
        stop: asyncio.Event | None = None,
        wait_retries: bool = False,
    ) -> Stats:
        """Sends every post that is due now; with `wait_retries`, also those waiting out a
        429 or a passing fault. Returns when none is left (or on `stop`)."""
        stats = Stats()
        while stop is None or not stop.is_set():
            rows = await self._claim(BATCH, job)
            if not rows:
                retry_at = await self._next_retry(job) if wait_retries else None
                if retry_at is None:
                    break
                await asyncio.sleep(max(0.05, (retry_at - self.now()).total_seconds()))
                continue
            queue: asyncio.Queue[Outbox] = asyncio.Queue()
            for row in rows:
                queue.put_nowait(row)
            count = min(self.workers, len(rows))
            await asyncio.gather(*(self._work(queue, stats, stop) for _ in range(count)))
        return stats

    async def _work(
        self, queue: asyncio.Queue[Outbox], stats: Stats, stop: asyncio.Event | None
    ) -> None:
        while not queue.empty() and (stop is None or not stop.is_set()):
            await self._send(queue.get_nowait(), stats)

    async def run(self, stop: asyncio.Event, *, idle: float = 2.0) -> None:
        """Keeps draining until `stop` is set."""
        while not stop.is_set():
            try:
                await self.drain(stop=stop)
            except Exception:
                log.exception("outbox: delivery round failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=idle)

    async def _send(self, row: Outbox, stats: Stats) -> None:
        messenger = self._messenger(row.chat_id)
        if messenger is None:
            await self._finish(row, state="failed", error="no messenger for this platform")
            stats.failed += 1
            return
        reply = Reply(
            Rich.from_json(row.body), quote=False, attachment=await self._attachment(row)
        )
        result = await messenger.deliver(row.chat_id, reply)
        stats.outcomes.append(result)
        if result.outcome is SendOutcome.SENT:
            await self._finish(row, state="sent")
            stats.sent += 1
        elif result.outcome is SendOutcome.RETRY:
            stats.retried += 1
            if row.attempts + 1 >= MAX_ATTEMPTS:
                await self._finish(row, state="failed", error=result.error or "too many retries")
            else:
                await self._retry(row, result.retry_after, result.error)
        elif result.outcome is SendOutcome.MIGRATED and result.new_chat_id:
            stats.migrated += 1
            await self._migrate(row, result.new_chat_id)
            moved = await self._reload(row)
            if moved is not None:
                await self._send(moved, stats)
        elif result.outcome is SendOutcome.GONE:
            stats.gone += 1
            await self._gone(row, result.error)
        else:
            stats.failed += 1
            await self._finish(row, state="failed", error=result.error)

    async def _reload(self, row: Outbox) -> Outbox | None:
        async with self.deps.sessions() as session:
            return await session.get(Outbox, row.id)

    async def _finish(self, row: Outbox, *, state: str, error: str | None = None) -> None:
        async with transaction(self.deps.sessions) as session:
            stored = await session.get(Outbox, row.id)
            if stored is None:
                return
            stored.state = state
            stored.attempts += 1
            stored.last_error = (error or None) and error[:500]
            if state == "sent":
                stored.sent_at = self.now()
        row.state = state

    async def _retry(self, row: Outbox, after: float, error: str | None) -> None:
        async with transaction(self.deps.sessions) as session:
            stored = await session.get(Outbox, row.id)
            if stored is None:
                return
            stored.attempts += 1
            stored.not_before = self.now() + timedelta(seconds=max(after, 1.0))
            stored.last_error = (error or "retry")[:500]
            row.not_before = stored.not_before

    async def _gone(self, row: Outbox, error: str | None) -> None:
        """The chat refused the bot: retire it, and use the fallback chat if the post has one."""
        async with transaction(self.deps.sessions) as session:
            stored = await session.get(Outbox, row.id)
            if stored is None:
                return
            stored.state, stored.attempts = "failed", stored.attempts + 1
            stored.last_error = f"gone: {error or ''}"[:500]
            chat = await session.get(Chat, row.chat_id)
            if chat is not None and chat.kind != "private":
                chat.active = False  # removed from the group: stop posting there
                log.warning("outbox: %s removed the bot; retired", row.chat_id)
            if stored.fallback_chat_id:
                exists = (
                    await session.exec(
                        select(Outbox).where(
                            Outbox.job == stored.job,
                            Outbox.period == stored.period,
                            Outbox.chat_id == stored.fallback_chat_id,
                        )
                    )
                ).first()
                if exists is None:
                    session.add(
                        Outbox(
                            job=stored.job,
                            period=stored.period,
                            chat_id=stored.fallback_chat_id,
                            body=stored.body,
                            media_key=stored.media_key,
                            media_kind=stored.media_kind,
                        )
                    )
        row.state = "failed"

    async def _migrate(self, row: Outbox, new_chat_id: str) -> None:
        """A group that became a supergroup: the chat lives on under its new id."""
        async with transaction(self.deps.sessions) as session:
            old = await session.get(Chat, row.chat_id)
            if old is not None and await session.get(Chat, new_chat_id) is None:
                session.add(
                    Chat(
                        id=new_chat_id,
                        platform=old.platform,
                        kind=old.kind,
                        title=old.title,
                        unit_id=old.unit_id,
                        language=old.language,
                    )
                )
                old.active = False
                old.unit_id = None
            stored = await session.get(Outbox, row.id)
            if stored is not None:
                taken = (
                    await session.exec(
                        select(Outbox).where(
                            Outbox.job == stored.job,
                            Outbox.period == stored.period,
                            Outbox.chat_id == new_chat_id,
                        )
                    )
                ).first()
                if taken is None:
                    stored.chat_id = new_chat_id
                else:
                    stored.state = "failed"
                    stored.last_error = f"migrated to {new_chat_id}, which has its own post"
        log.info("outbox: %s migrated to %s", row.chat_id, new_chat_id)
