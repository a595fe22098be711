"""Sending under Telegram's limits: about 30 messages a second overall, 20 a minute into one
group, about one a second into one private chat. Every message the bot sends, a reply or a
scheduled post, takes its slot here first, so the two never add up past a limit.

The server counts a message when it arrives, somewhere between when we start sending it and
when its answer comes back. So a message holds its slot while in flight and is then counted at
the moment it completed: never earlier than the server saw it. (Counting from the start alone
let a slow upload land in the same server second as quicker messages sent after it: 429s.)
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.settings import Settings


class Window:
    """At most `limit` messages in flight or completed within any `period` seconds."""

    def __init__(self, limit: int, period: float) -> None:
        self.limit, self.period = limit, period
        self.done: deque[float] = deque()
        self.in_flight = 0

    def wait(self, now: float) -> float:
        while self.done and now - self.done[0] >= self.period:
            self.done.popleft()
        if len(self.done) + self.in_flight < self.limit:
            return 0.0
        if not self.done:
            return 0.01  # all slots in flight: look again shortly
        return self.done[0] + self.period - now

    def finish(self, now: float) -> None:
        self.in_flight -= 1
        self.done.append(now)

    @property
    def idle(self) -> bool:
        return self.in_flight == 0 and not self.done


class Pacer:
    # The published limits: counting at completion already leaves the margin jitter needs.
    def __init__(
        self,
        *,
        per_second: int = 30,
        per_group_minute: int = 20,
        per_private_second: int = 1,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.overall = Window(per_second, 1.0)
        self.per_group_minute = per_group_minute
        self.per_private_second = per_private_second
        self.chats: dict[str, Window] = {}
        self.clock = clock
        self._lock = asyncio.Lock()

    @classmethod
    def configured(cls, settings: Settings) -> Pacer:
        return cls(
            per_second=settings.send_per_second,
            per_group_minute=settings.send_per_group_minute,
            per_private_second=settings.send_per_private_second,
        )

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

    def linger(self, chat: str, *, group: bool, burst: int = 5) -> float:
        """How long to let replies to `chat` gather before the next message: nothing while
        the chat has used fewer than `burst` of its slots, then its steady rate (3 s in a
        group). A burst of reports then leaves as a few merged messages instead of spending
        the minute's twenty on the first twenty and holding the rest back a minute."""
        window = self._window(chat, group)
        window.wait(self.clock())
        if len(window.done) + window.in_flight < burst:
            return 0.0
        return window.period / window.limit

    async def ready(self, chat: str, *, group: bool) -> None:
        """Waits until `chat` could send, without taking the slot."""
        while True:
            delay = self._window(chat, group).wait(self.clock())
            if delay <= 0:
                return
            await asyncio.sleep(delay)

    @asynccontextmanager
    async def slot(self, chat: str, *, group: bool) -> AsyncIterator[None]:
        """Holds a slot overall and in `chat` for one message, while it is being sent."""
        window = self._window(chat, group)
        while True:
            async with self._lock:
                now = self.clock()
                delay = max(self.overall.wait(now), window.wait(now))
                if delay <= 0:
                    self.overall.in_flight += 1
                    window.in_flight += 1
                    break
            await asyncio.sleep(delay)
        try:
            yield
        finally:
            now = self.clock()
            self.overall.finish(now)
            window.finish(now)
            if len(self.chats) > 10_000:
                self._forget(now)

    def _forget(self, now: float) -> None:
        for key in [k for k, w in self.chats.items() if w.wait(now) == 0 and w.idle]:
            del self.chats[key]

    def penalise_all(self, seconds: float) -> None:
        """After a 429 that names no chat: nothing goes for `seconds`."""
        until = self.clock() + seconds - self.overall.period
        self.overall.done.clear()
        self.overall.done.extend([until] * self.overall.limit)

    def penalise(self, chat: str, seconds: float, *, group: bool) -> None:
        """After a 429 for `chat`, keep its window shut for `seconds`."""
        window = self._window(chat, group)
        until = self.clock() + seconds - window.period
        window.done.clear()
        window.done.extend([until] * window.limit)
