"""What keeps the web pages from slowing the chats, which share their event loop and database.

A page costs tens of milliseconds of the loop; an update a few. So pages are let in by three
rules: one link may be opened a few times in a row and then about once a second (a leaked link
or a refreshing browser gets 429, cheaply); at most RENDERS pages are built at once, the rest
wait their turn; and when QUEUED are already waiting, a new one is told to come back later
instead of joining the queue. An update never waits behind more than RENDERS pages.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

BURST = 10  # a link opened this many times at once is still answered
PER_SECOND = 1.0  # and then this often
RENDERS = 1
QUEUED = 8
BUSY_SECONDS = 5
_KEPT = 4096  # links remembered before the idle ones are forgotten


class PageGuard:
    def __init__(
        self,
        *,
        burst: int = BURST,
        per_second: float = PER_SECOND,
        renders: int = RENDERS,
        queued: int = QUEUED,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.burst = burst
        self.per_second = per_second
        self.queued = queued
        self.clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # link -> (allowance, when)
        self._gate = asyncio.Semaphore(renders)
        self._waiting = 0
        self.refused = 0  # requests answered 429 (read by the benchmark)

    def admit(self, link: str) -> int:
        """0 when the link may be opened now, else the seconds to wait."""
        now = self.clock()
        allowance, then = self._buckets.get(link, (float(self.burst), now))
        allowance = min(float(self.burst), allowance + (now - then) * self.per_second)
        if allowance < 1:
            self._buckets[link] = (allowance, now)
            self.refused += 1
            return max(1, math.ceil((1 - allowance) / self.per_second))
        self._buckets[link] = (allowance - 1, now)
        if len(self._buckets) > _KEPT:
            self._forget_idle(now)
        return 0

    def _forget_idle(self, now: float) -> None:
        """Links whose allowance is full again are as good as new: dropped."""
        full = self.burst / self.per_second
        for link, (_allowance, then) in list(self._buckets.items()):
            if now - then >= full:
                del self._buckets[link]

    @asynccontextmanager
    async def rendering(self) -> AsyncIterator[bool]:
        """A turn to build a page: True when it is this request's, False when too many wait."""
        if self._waiting >= self.queued:
            self.refused += 1
            yield False
            return
        self._waiting += 1
        try:
            await self._gate.acquire()
        finally:
            self._waiting -= 1
        try:
            yield True
        finally:
            self._gate.release()
