"""Processes stored updates, oldest first, each through its platform's transport.

Every update is in the inbox before the platform hears it was received, so a crash at any
instant loses nothing: what was stored is processed after a restart, and what was not was never
acknowledged and comes again. Processing twice is harmless: the router records each update's key
in the same transaction as its effects, so a second run changes nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from handlers.incoming import Reply
from handlers.router import StorageUnavailable, storage_notice
from storage import inbox
from storage.db import SessionFactory, transaction
from storage.models import InboxUpdate

log = logging.getLogger(__name__)

RETRY_SECONDS = 1.0

Processor = Callable[[dict[str, Any]], Awaitable[None]]


class WaitNotices:
    """While the database is away, each waiting update's sender hears once that it will be
    recorded and must not be sent again."""

    def __init__(self) -> None:
        self._told: set[str | None] = set()

    def first(self, update_key: str | None, exc: StorageUnavailable) -> Reply | None:
        if update_key in self._told:
            return None
        self._told.add(update_key)
        return storage_notice(exc.language)


class InboxWorker:
    def __init__(self, sessions: SessionFactory) -> None:
        self.sessions = sessions
        self.processors: dict[str, Processor] = {}
        self.wake = asyncio.Event()

    async def store(self, items: Sequence[tuple[str, str, dict[str, Any]]]) -> int:
        """Stores updates (key, platform, payload); raises when the database cannot, so that
        the caller does not acknowledge them."""
        async with transaction(self.sessions) as session:
            added = await inbox.store(session, items=items)
        self.wake.set()
        return added

    async def _process(self, row: InboxUpdate) -> str | None:
        processor = self.processors.get(row.platform)
        if processor is None:
            return f"no transport for {row.platform}"
        try:
            await processor(json.loads(row.payload))
        except StorageUnavailable:
            raise  # not the update's fault: it stays pending, no attempt counted
        except Exception as exc:
            log.exception("inbox: update %s failed", row.key)
            return repr(exc)
        return None

    async def drain(self) -> int:
        """Processes what is pending now; returns how many updates it handled."""
        handled = 0
        while True:
            async with self.sessions() as session:
                postgres = session.bind is not None and session.bind.dialect.name == "postgresql"
            if postgres:
                # The row stays locked (SKIP LOCKED) while it is processed: another worker
                # takes the next one instead.
                async with transaction(self.sessions) as session:
                    rows = await inbox.claim(session, limit=1)
                    if not rows:
                        return handled
                    inbox.finish(rows[0], error=await self._process(rows[0]))
                handled += 1
                continue
            # SQLite has one writer: claim, process and record in short transactions of their
            # own, so the processing itself can write.
            async with self.sessions() as session:
                rows = await inbox.claim(session, limit=20)
            if not rows:
                return handled
            for row in rows:
                error = await self._process(row)
                async with transaction(self.sessions) as session:
                    stored = await session.get(InboxUpdate, row.id)
                    if stored is not None:
                        inbox.finish(stored, error=error)
                handled += 1

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            self.wake.clear()
            try:
                await self.drain()
            except StorageUnavailable:
                log.warning("inbox: database unavailable; waiting to try again")
            except Exception:
                log.exception("inbox: round failed; retrying")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), timeout=RETRY_SECONDS)
