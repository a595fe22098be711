"""Processes stored updates: each chat's in order, different chats side by side and in turn.

Every update is in the inbox before the platform hears it was received, so a crash at any
instant loses nothing: what was stored is processed after a restart, and what was not was never
acknowledged and comes again. An update is marked done in the same transaction as its effects
(`storage.inbox.take`, called by the router first thing), so both commit or neither does: the
update is processed exactly once.

Order and fairness: a chat's updates form a lane, and only a lane's oldest pending update may be
processed (a report before its edit, a link before the first report). Each round takes the head
of every lane and serves the lanes least recently served first, so a person sending a thousand
messages holds up only their own chat: everyone else waits for one update of theirs at most.
Several workers (PostgreSQL) process different lanes at once; SQLite has one writer, so one.

Rounds (SQLite): the one worker processes the heads of a round together, in one transaction
(`Round`): one commit, one session and one configuration read for up to `ROUND` updates instead
of one each, which is most of what a report cost once its own statements were few. The replies
wait for that commit. Should anything in a round fail, all of it is rolled back and its updates
are processed again one at a time, each in its own transaction as usual (so one bad update costs
only itself, as before); a command declared `alone` ends the round and runs on its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from handlers.incoming import Observer, Reply
from handlers.router import NotShared, StorageUnavailable, storage_notice
from storage import inbox
from storage.db import SessionFactory, transaction

log = logging.getLogger(__name__)

RETRY_SECONDS = 1.0
LANES_PER_ROUND = 500
ROUND = 32  # updates in one transaction at most: the first one's answer waits for the last


@dataclass
class Round:
    """The transaction a round's updates share, and what to do once it has committed (queue
    their replies, count what happened)."""

    session: AsyncSession
    after: list[Callable[[], None]] = field(default_factory=list)

    def observing(self, observer: Observer) -> Observer:
        """An observer whose counts reach `observer` only if the round commits: a round rolled
        back and done again one update at a time must not count its updates twice."""
        return _CountedAfter(self, observer)


class _CountedAfter:
    def __init__(self, round_: Round, observer: Observer) -> None:
        self._round, self._observer = round_, observer

    def count(self, event: str, label: str = "") -> None:
        self._round.after.append(functools.partial(self._observer.count, event, label))


Claim = Callable[[AsyncSession], Awaitable[bool]]
# One stored update; it calls the claim first inside the transaction of its effects (the
# router does), or not at all when it has none. With a Round, it joins that transaction (and
# raises NotShared, before doing anything, when it may not).
Processor = Callable[[dict[str, Any], Claim | None, Round | None], Awaitable[None]]


class _Claim:
    """The claim of one inbox row, remembering whether it was asked and what it got."""

    def __init__(self, row_id: int) -> None:
        self.row_id = row_id
        self.asked = self.taken = False

    async def __call__(self, session: AsyncSession) -> bool:
        self.asked = True
        self.taken = await inbox.take(session, row_id=self.row_id)
        return self.taken


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
    def __init__(
        self, sessions: SessionFactory, *, workers: int = 1, rounds: bool = False
    ) -> None:
        """`rounds`: SQLite's one writer (see the module's docstring). Not on PostgreSQL, where
        several processes (or workers) would each hold a round's locks on the same communes'
        total rows, taken in different orders: deadlocks, each costing a round."""
        self.sessions = sessions
        self.workers = 1 if rounds else max(1, workers)
        self.rounds = rounds
        self.processors: dict[str, Processor] = {}
        # The chat of a platform's update, stored beside it as its lane.
        self.chat_of: dict[str, Callable[[dict[str, Any]], str | None]] = {}
        self.wake = asyncio.Event()
        self._served: dict[str, int] = {}
        self._turn = 0

    async def store(self, items: Sequence[tuple[str, str, dict[str, Any]]]) -> int:
        """Stores updates (key, platform, payload); raises when the database cannot, so that
        the caller does not acknowledge them."""
        rows = []
        for key, platform, payload in items:
            find = self.chat_of.get(platform)
            rows.append((key, platform, find(payload) if find else None, payload))
        async with transaction(self.sessions) as session:
            added = await inbox.store(session, items=rows)
        self.wake.set()
        return added

    async def _one(self, row_id: int, platform: str, payload: str) -> bool:
        """Processes one update; True when this worker did (False: another one had it)."""
        processor = self.processors.get(platform)
        claim = _Claim(row_id)
        error: str | None = None
        if processor is None:
            error = f"no transport for {platform}"
        else:
            try:
                await processor(json.loads(payload), claim, None)
            except StorageUnavailable:
                raise  # not the update's fault: it stays pending, no attempt counted
            except Exception as exc:
                log.exception("inbox: update %s failed", row_id)
                error = repr(exc)
        if claim.asked and claim.taken and error is None:
            return True  # done, with its effects
        if claim.asked and not claim.taken and error is None:
            return False  # another worker has it, or had it
        # No effects to commit with (not a command, or an error before the router).
        async with transaction(self.sessions) as session:
            await inbox.finish(session, row_id=row_id, error=error)
        return True

    async def _together(self, rows: Sequence[Any]) -> tuple[int, int, Round]:
        """Processes `rows` in one transaction, in order, up to the first that must run alone.
        Returns how many rows it went through, how many of those were this worker's to do (not
        already another's), and the committed round (whose `after` is still to run). Raises
        whatever the round raised, with nothing of it kept."""
        through = taken = 0
        async with transaction(self.sessions) as session:
            round_ = Round(session)
            for row in rows:
                processor = self.processors.get(row.platform)
                if processor is None:
                    break  # answered alone, as an error
                claim = _Claim(row.id)
                try:
                    await processor(json.loads(row.payload), claim, round_)
                except NotShared:
                    break
                if not claim.asked:
                    await inbox.finish(session, row_id=row.id, error=None)  # nothing to do
                through += 1
                taken += int(claim.taken or not claim.asked)
        return through, taken, round_

    async def _rounds(self, rows: Sequence[Any]) -> int:
        handled = 0
        i = 0
        while i < len(rows):
            chunk = rows[i : i + ROUND]
            if len(chunk) == 1:
                handled += await self._lane(chunk[0])
                i += 1
                continue
            try:
                through, taken, done = await self._together(chunk)
            except Exception:
                # Rolled back whole: each again on its own, where its error (or the database
                # being away) is dealt with as for any single update.
                log.warning(
                    "inbox: a round of %d failed; one at a time", len(chunk), exc_info=True
                )
                for row in chunk:
                    handled += await self._lane(row)
                i += len(chunk)
                continue
            # Committed: from here nothing may undo it, or send the round to be done again.
            for then in done.after:
                try:
                    then()
                except Exception:
                    log.exception("inbox: after a round")
            for row in chunk[:through]:
                self._mark_served(row)
            handled += taken
            i += through
            if through < len(chunk):
                handled += await self._lane(chunk[through])
                i += 1
        return handled

    def _mark_served(self, row: Any) -> None:
        self._turn += 1
        self._served[row.chat_id or ""] = self._turn

    async def _lane(self, row: Any, gate: asyncio.Semaphore | None = None) -> int:
        if gate is None:
            done = await self._one(row.id, row.platform, row.payload)
        else:
            async with gate:
                done = await self._one(row.id, row.platform, row.payload)
        self._mark_served(row)
        return int(done)

    async def drain(self) -> int:
        """Processes what is pending now; returns how many updates it handled."""
        handled = idle_rounds = 0
        while True:
            async with self.sessions() as session:
                rows = await inbox.heads(session, limit=LANES_PER_ROUND)
            if not rows:
                return handled
            before = handled
            rows.sort(key=lambda r: (self._served.get(r.chat_id or "", -1), r.id))
            if self.rounds:
                handled += await self._rounds(rows)
            elif self.workers == 1:
                for row in rows:
                    handled += await self._lane(row)
            else:
                gate = asyncio.Semaphore(self.workers)
                results = await asyncio.gather(
                    *(self._lane(r, gate) for r in rows), return_exceptions=True
                )
                for result in results:
                    if isinstance(result, BaseException):
                        raise result
                    handled += result
            if handled == before:
                # Every head is another worker's right now: let it finish them.
                idle_rounds += 1
                if idle_rounds > 100:
                    return handled
                await asyncio.sleep(0.01)
            if len(self._served) > 100_000:
                self._served.clear()  # forget old lanes; fairness restarts from here

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
