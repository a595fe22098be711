"""Sending under Telegram's limits: about 30 messages a second overall, 20 a minute into one
group, about one a second into one private chat. Every message the bot sends, a reply or a
scheduled post, takes its slot here first, so the two never add up past a limit."""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable


class Window:
    """At most `limit` events in any `period` seconds."""

    def __init__(self, limit: int, period: float) -> None:
        self.limit, self.period = limit, period
        self.events: deque[float] = deque()

    def wait(self, now: float) -> float:
        while self.events and now - self.events[0] >= self.period:
            self.events.popleft()
        if len(self.events) < self.limit:
            return 0.0
        return self.events[0] + self.period - now

    def take(self, now: float) -> None:
        self.events.append(now)


class Pacer:
    # One short of each published limit: the server counts from when a request arrives, we
    # count from when it leaves, and the two clocks differ by the network's jitter.
    def __init__(
        self,
        *,
        per_second: int = 29,
        per_group_minute: int = 19,
        per_private_second: int = 1,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.overall = Window(per_second, 1.0)
        self.per_group_minute = per_group_minute
        self.per_private_second = per_private_second
        self.chats: dict[str, Window] = {}
        self.clock = clock
        self._lock = asyncio.Lock()

    def _window(self, chat: str, group: bool) -> Window:
        found = self.chats.get(chat)
        if found is None:
            found = (
                Window(self.per_group_minute, 60.0)
                if group
                else Window(self.per_private_second, 1.0)
            )
            self.chats[chat] = found
        return found

    def backlog(self, chat: str) -> float:
        """Seconds until `chat` has a free slot: how long a reply there would wait."""
        window = self.chats.get(chat)
        return window.wait(self.clock()) if window is not None else 0.0

    async def acquire(self, chat: str, *, group: bool) -> None:
        while True:
            async with self._lock:
                now = self.clock()
                window = self._window(chat, group)
                delay = max(self.overall.wait(now), window.wait(now))
                if delay <= 0:
                    self.overall.take(now)
                    window.take(now)
                    if len(self.chats) > 10_000:
                        self._forget(now)
                    return
            await asyncio.sleep(delay)

    def _forget(self, now: float) -> None:
        for key in [k for k, w in self.chats.items() if w.wait(now) == 0 and not w.events]:
            del self.chats[key]

    def penalise(self, chat: str, seconds: float, *, group: bool) -> None:
        """After a 429 for `chat`, hold its window shut for `seconds`."""
        window = self._window(chat, group)
        until = self.clock() + seconds - window.period
        window.events.clear()
        window.events.extend([until] * window.limit)
