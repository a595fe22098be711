"""While the database cannot take updates, the people who wrote are told — once each, from
memory, since nothing can be written — that what they sent will be recorded when it is back and
must not be sent again (sent again, a report would count twice).

One notice a chat for everyone who wrote there since the last look, naming them when they are
several: a group takes 20 messages a minute, and thirty members each told apart would hold the
answers that follow for a minute and a half.

Not at the first failure: a database that is back within AFTER seconds (a restart, a failover)
costs nobody a message. An update that is stored or processed meanwhile is forgotten here; the
outage ends with the first update stored, and the next one starts afresh.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from handlers.incoming import Incoming

log = logging.getLogger(__name__)

AFTER = 3.0  # seconds of outage before anyone is told
LOOK = 0.5  # how often the waiting are looked at

# The messages of one chat whose senders are to be told (the first quoted, every sender named);
# a press is told alone (its answer is not a chat message).
Tell = Callable[[list[Incoming]], Awaitable[None]]


@dataclass
class Outage:
    tell: Tell
    after: float = AFTER
    clock: Callable[[], float] = time.monotonic
    since: float | None = None
    _waiting: dict[str, Incoming] = field(default_factory=dict)  # update key -> message
    _told: set[tuple[str, str]] = field(default_factory=set)  # (chat, person) this outage
    _watch: asyncio.Task[None] | None = None

    def waiting(self, msg: Incoming) -> None:
        """`msg` could not be stored (or processed) because the database is away."""
        if self.since is None:
            self.since = self.clock()
            log.warning("outage: the database cannot take updates")
        self._waiting.setdefault(msg.update_key or msg.message_key, msg)
        if self._watch is None or self._watch.done():
            self._watch = asyncio.create_task(self._watching())

    def stored(self, key: str) -> None:
        """An update got into the database: it needs no notice, and the outage is over."""
        self._waiting.pop(key, None)
        if self.since is not None:
            log.info("outage: over after %.0f s", self.clock() - self.since)
            self.since = None
            self._told.clear()

    async def _watching(self) -> None:
        while self._waiting and self.since is not None:
            if self.clock() - self.since >= self.after:
                for group in self._to_tell():
                    with contextlib.suppress(Exception):
                        await self.tell(group)
            await asyncio.sleep(LOOK)
        self._waiting.clear()

    def _to_tell(self) -> list[list[Incoming]]:
        """The waiting messages whose senders were not told yet, one list a chat (a press
        apart), each sender once; the waiting are taken."""
        chats: dict[str, list[Incoming]] = {}
        groups: list[list[Incoming]] = []
        for msg in self._waiting.values():
            who = (msg.chat_id, msg.sender_id)
            if who in self._told:
                continue
            self._told.add(who)
            if msg.press_id is not None:
                groups.append([msg])
            else:
                chats.setdefault(msg.chat_id, []).append(msg)
        self._waiting.clear()
        return groups + list(chats.values())

    async def close(self) -> None:
        if self._watch is not None:
            self._watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watch
