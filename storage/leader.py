"""One scheduler among several workers: a PostgreSQL advisory lock held on a connection of its
own. When its process dies the connection closes, the lock is free, and another worker takes it
at its next attempt. SQLite serves one process, which is always the leader."""

from __future__ import annotations

import logging

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from storage.dialect import is_postgres

log = logging.getLogger(__name__)

# An arbitrary constant that names "the tcns scheduler" among advisory locks.
SCHEDULER_LOCK = 0x7C45_5C4E


class Leadership:
    def __init__(self, engine: AsyncEngine, key: int = SCHEDULER_LOCK) -> None:
        self.engine = engine
        self.key = key
        self._conn: AsyncConnection | None = None
        self.held = not is_postgres(engine)

    async def try_acquire(self) -> bool:
        if self.held:
            if self._conn is not None and self._conn.closed:
                self.held, self._conn = False, None  # the connection went away with the lock
            else:
                return True
        try:
            if self._conn is None:
                self._conn = await self.engine.connect()
            got = (
                await self._conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": self.key})
            ).scalar_one()
            await self._conn.commit()  # the lock is per session, not per transaction
        except Exception:
            log.exception("leadership: could not ask for the lock")
            await self.release()
            return False
        self.held = bool(got)
        if self.held:
            log.info("leadership: this process runs the scheduler")
        return self.held

    async def release(self) -> None:
        if self._conn is not None:
            try:
                await self._conn.close()  # closing the session frees the lock
            except Exception:
                log.debug("leadership: closing the lock connection failed", exc_info=True)
        self._conn = None
        self.held = not is_postgres(self.engine)
