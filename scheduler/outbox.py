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
from datetime import datetime, timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from handlers.incoming import (
    Attachment,
    Deps,
    Messenger,
    Reply,
    SendOutcome,
    SendResult,
    buttons_from_json,
    system_clock,
)
from handlers.richtext import Rich
from storage import outbox
from storage.db import transaction
from storage.dialect import is_postgres
from storage.models import Outbox

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
        async with self.deps.sessions() as session:
            return await outbox.due(session, now=self.now(), job=job, limit=limit)

    async def _postgres(self) -> bool:
        async with self.deps.sessions() as session:
            return is_postgres(session)

    async def _attachment(self, row: Outbox) -> Attachment | None:
        if row.media_key is None:
            return None
        if row.media_key not in self._media:
            async with self.deps.sessions() as session:
                media = await outbox.media(session, key=row.media_key)
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
            return await outbox.next_retry(session, job=job)

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
        if await self._postgres():
            return await self._drain_locked(
                job=job, stop=stop, wait_retries=wait_retries, stats=stats
            )
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

    async def _drain_locked(
        self, *, job: str | None, stop: asyncio.Event | None, wait_retries: bool, stats: Stats
    ) -> Stats:
        async def worker() -> None:
            while (stop is None or not stop.is_set()) and await self._send_locked(job, stats):
                pass

        while stop is None or not stop.is_set():
            await asyncio.gather(*(worker() for _ in range(self.workers)))
            retry_at = await self._next_retry(job) if wait_retries else None
            if retry_at is None:
                break
            await asyncio.sleep(max(0.05, (retry_at - self.now()).total_seconds()))
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
        """One post (SQLite: short transactions; the send needs none)."""
        result = await self._deliver(row, stats)
        if result.outcome is SendOutcome.SENT:
            stats.sent += 1
            assert row.id is not None  # noqa: S101 (stored)
            async with transaction(self.deps.sessions) as session:
                await outbox.mark_sent(session, post_id=row.id, now=self.now())
            row.state = "sent"
            return
        async with transaction(self.deps.sessions) as session:
            stored = await outbox.get(session, post_id=row.id or 0)
            if stored is not None:
                await self._record(session, stored, result, stats)
                row.state, row.not_before = stored.state, stored.not_before

    async def _send_locked(self, job: str | None, stats: Stats) -> bool:
        """PostgreSQL: take one due post with FOR UPDATE SKIP LOCKED, send it and record the
        outcome in the same transaction. Another worker skips it meanwhile; if this process dies
        the lock goes with its connection and the post is still pending. False when none is due."""
        async with transaction(self.deps.sessions) as session:
            rows = await outbox.due(session, now=self.now(), job=job, limit=1, lock=True)
            if not rows:
                return False
            row = rows[0]
            await self._record(session, row, await self._deliver(row, stats), stats)
        return True

    async def _deliver(self, row: Outbox, stats: Stats) -> SendResult:
        messenger = self._messenger(row.chat_id)
        if messenger is None:
            return SendResult(SendOutcome.FAILED, error="no messenger for this platform")
        reply = Reply(
            Rich.from_json(row.body),
            quote=False,
            attachment=await self._attachment(row),
            buttons=buttons_from_json(row.buttons),
            edit=row.edit_id,
            delete=row.delete_id,
        )
        result = await messenger.deliver(row.chat_id, reply)
        stats.outcomes.append(result)
        return result

    async def _record(
        self, session: AsyncSession, row: Outbox, result: SendResult, stats: Stats
    ) -> None:
        row.attempts += 1
        if result.outcome is SendOutcome.SENT:
            stats.sent += 1
            row.state, row.sent_at, row.last_error = "sent", self.now(), None
        elif result.outcome is SendOutcome.RETRY and row.attempts < MAX_ATTEMPTS:
            stats.retried += 1
            # What the server asked for (a 429's retry_after), and backing off: 1, 2, 4 … 60 s.
            backoff = min(60.0, 2.0 ** (row.attempts - 1))
            row.not_before = self.now() + timedelta(seconds=max(result.retry_after, backoff))
            row.last_error = (result.error or "retry")[:500]
        elif result.outcome is SendOutcome.MIGRATED and result.new_chat_id:
            stats.migrated += 1
            await self._migrate(session, row, result.new_chat_id)
        elif result.outcome is SendOutcome.GONE:
            stats.gone += 1
            await self._gone(session, row, result.error)
        else:
            stats.failed += 1
            row.state, row.last_error = "failed", (result.error or "failed")[:500]
        await session.flush()

    async def _gone(self, session: AsyncSession, row: Outbox, error: str | None) -> None:
        """The chat refused the bot: retire it, and use the fallback chat if the post has one."""
        row.state, row.last_error = "failed", f"gone: {error or ''}"[:500]
        if await outbox.retire_chat(session, chat_id=row.chat_id):
            log.warning("outbox: %s removed the bot; retired", row.chat_id)
        fallback = row.fallback_chat_id
        if fallback and not await self._taken(session, row, fallback):
            outbox.copy_to(session, post=row, chat_id=fallback)

    async def _taken(self, session: AsyncSession, row: Outbox, chat_id: str) -> bool:
        return await outbox.taken(session, job=row.job, period=row.period, chat_id=chat_id)

    async def _migrate(self, session: AsyncSession, row: Outbox, new_chat_id: str) -> None:
        """A group that became a supergroup: the chat lives on under its new id, and the post,
        still pending, goes there on the next round."""
        await outbox.move_chat(session, old_id=row.chat_id, new_id=new_chat_id)
        if await self._taken(session, row, new_chat_id):
            row.state, row.last_error = "failed", f"migrated to {new_chat_id}, posted there"
        else:
            row.chat_id = new_chat_id
            row.attempts -= 1  # the move is not a failed attempt
        log.info("outbox: %s migrated to %s", row.chat_id, new_chat_id)
