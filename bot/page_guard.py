"""What keeps the web pages from slowing the chats, which share their event loop and database.

A page costs tens of milliseconds of the loop; an update a few. So pages are let in by four
rules: one link (or one person's form) may be opened a few times in a row and then about once a
second (a leaked link or a refreshing browser gets 429, cheaply); addresses that are no link at
all share one such allowance, so that made-up tokens cannot buy a fresh one each; at most
RENDERS pages are built at once, the rest wait their turn; and when QUEUED are already waiting,
a new one is told to come back later instead of joining the queue. An update never waits behind
more than RENDERS pages.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

BURST = 10  # a link opened this many times at once is still answered
PER_SECOND = 1.0  # and then this often
# What every address that is no link shares: many people opening expired links in one minute
# still read why; a flood of made-up ones is answered 429.
REFUSED_BURST = 60
REFUSED_PER_SECOND = 5.0
RENDERS = 1
QUEUED = 8
BUSY_SECONDS = 5
_KEPT = 4096  # links remembered at the most; the least recently seen is forgotten first
REFUSED = "refused"  # the one allowance of every address that is no link


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
        # link -> (allowance, when), least recently seen first
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._gate = asyncio.Semaphore(renders)
        self._waiting = 0
        self.refused = 0  # requests answered 429 (read by the benchmark)

    def admit(self, link: str) -> int:
        """0 when the link may be opened now, else the seconds to wait."""
        now = self.clock()
        burst, rate = (
            (REFUSED_BURST, REFUSED_PER_SECOND)
            if link == REFUSED
            else (self.burst, self.per_second)
        )
        allowance, then = self._buckets.pop(link, (float(burst), now))
        allowance = min(float(burst), allowance + (now - then) * rate)
        if allowance < 1:
            self._buckets[link] = (allowance, now)
            self.refused += 1
            return max(1, math.ceil((1 - allowance) / rate))
        self._buckets[link] = (allowance - 1, now)
        while len(self._buckets) > _KEPT:
            self._buckets.popitem(last=False)
        return 0

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
