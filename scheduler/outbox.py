"""The one sender of everything the bot sends but a press's answer: the replies to updates
(written with what they answer, handlers/outgoing.py), the scheduled posts and the notices, all
from the outbox.

Chat by chat, in order. A chat's messages leave one at a time, oldest first, from one lane; up
to LANES chats are sent to at once. Replies waiting for the same chat while it waits for a slot
(a group's 20 a minute) leave as one message. Every message takes its slot from the platform's
pacer (one per bot token: 30 a second in all, 20 a minute into a group), and a 429 holds the
whole chat — replies, posts, photos, edits alike — until its `retry_after` is over.

What became of a send, and what follows (`_record`):
- sent: done;
- refused for a while (429, 5xx, a network failure before the request went out): again after
  the wait, backing off to 10 s, for as long as it takes — an outage of any length delays a
  message, never drops it;
- unknown (the request went out and no answer came, or the process died while it was under
  way): `after_unknown` decides, in one place;
- the chat removed the bot, or never opened it: the chat is retired, a fallback used if any;
- the group moved (a supergroup): the message follows it;
- refused for good (a bad request): logged, and the chat's next message goes.

Nothing kept in memory decides what is owed; the database does. The loop looks at the outbox
every second (at once when woken after an update), so a chat with work due and no lane gets one
whatever became of the last; a lane that makes no progress for STUCK seconds is cancelled and
its message is in doubt.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from handlers import i18n, outgoing
from handlers.i18n import _
from handlers.incoming import (
    Attachment,
    Button,
    Deps,
    Messenger,
    Reply,
    SendOutcome,
    SendResult,
    system_clock,
)
from handlers.richtext import Rich
from storage import flows, outbox, passes, people
from storage.db import SessionFactory, transaction
from storage.dialect import is_postgres
from storage.models import Outbox

log = logging.getLogger(__name__)

LANES = 16  # chats sent to at once (PostgreSQL: each holds a connection while it sends)
MERGED = 20  # at most this many waiting replies become one message
# Seconds between attempts at the most: once Telegram is back, a chat waits no longer than
# this (and its message under way) for its answers.
BACKOFF_CAP = 10.0
STUCK = 180.0  # seconds without progress before a lane is given up (its send timed out long ago)
KEEP_REPLIES = timedelta(days=2)  # sent replies kept this long, then forgotten


def after_unknown(row: Outbox) -> bool:
    """The one decision on a send whose outcome is unknown (the request went out and no answer
    came back, or the process died while it was under way): send it again? Telegram has no
    idempotency key, so "again" may make a copy and "not again" may lose it.

    - An edit, a deletion, a command menu: again — doing it twice is doing it once.
    - Any new message, a report's receipt as much as a board or a reminder: again, and it says
      so ("sent again: you may see it twice"). A member who got no ✅ would report again — a
      second report — and a board that never came is a week without one; a copy that says it is
      one misleads nobody.

    True: sent again (and marked as a repeat when it is a new message)."""
    return True


def is_new_message(row: Outbox) -> bool:
    return row.edit_id is None and row.delete_id is None and '"menu"' not in (row.extra or "")


@dataclass
class Stats:
    sent: int = 0
    failed: int = 0
    retried: int = 0
    unknown: int = 0
    migrated: int = 0
    gone: int = 0
    outcomes: list[SendResult] = field(default_factory=list)


# Chats being sent to by some sender of this process, per database: a second sender (a test's,
# `tcns jobs run`'s) never sends into a chat while another does.
_BUSY: weakref.WeakKeyDictionary[SessionFactory, set[str]] = weakref.WeakKeyDictionary()


def _busy(sessions: SessionFactory) -> set[str]:
    return _BUSY.setdefault(sessions, set())


# Messages sent whose "sent" is not written yet, per database (SQLite only: one process sends
# there). Written together, in the sender's next transaction or within SENT_LATER seconds, so
# that a message costs one write rather than two; should the process die first, they are in
# doubt as any message under way is, and go again saying so. Every look at what is pending
# writes them first.
_UNWRITTEN: weakref.WeakKeyDictionary[SessionFactory, set[int]] = weakref.WeakKeyDictionary()
SENT_LATER = 0.05


def _unwritten(sessions: SessionFactory) -> set[int]:
    return _UNWRITTEN.setdefault(sessions, set())


def _mergeable(row: Outbox) -> bool:
    """A reply of plain text (buttons perhaps): it may share a message with the next ones."""
    if row.job != outbox.REPLY or row.media_key or row.edit_id or row.delete_id or row.doubt:
        return False
    if row.sending_at is not None:
        return False
    extra = row.extra or ""
    return not any(k in extra for k in ('"ask"', '"keys"', '"app_menu"', '"remember"', '"menu"'))


def coalesce(replies: Sequence[Reply]) -> Reply:
    """Replies waiting for the same chat as one message, where the first of them was quoted
    nowhere: their texts one after another; of their buttons each kept once, except those that
    belong to one reply only (the undo of one report), which would be ambiguous under several."""
    if len(replies) == 1:
        return replies[0]
    merged = Rich()
    buttons: dict[str, Button] = {}
    for n, reply in enumerate(replies):
        if n:
            merged.blank()
        merged.extend(reply.rich)
        for row in reply.buttons:
            for button in row:
                if not button.personal:
                    buttons.setdefault(button.data, button)
    keys = list(buttons.values())[:20]
    rows = tuple(tuple(keys[n : n + 4]) for n in range(0, len(keys), 4))
    return Reply(merged, quote=False, buttons=rows)


class OutboxSender:
    def __init__(
        self,
        deps: Deps,
        messengers: Sequence[Messenger],
        *,
        lanes: int = LANES,
        now: Callable[[], datetime] = system_clock,
    ) -> None:
        self.deps = deps
        # Delivery runs on the wall clock (a 429's wait is real seconds), whatever business
        # clock the jobs were given.
        self.now = now
        self.messengers = list(messengers)
        self.lanes = lanes
        self._media: dict[str, Attachment] = {}
        self._wake = asyncio.Event()
        self._progress: dict[str, float] = {}  # chat -> when its lane last moved (monotonic)
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._forgotten_at = 0.0
        # Chats given something since their lane last looked (told by the commit that wrote
        # it, `_queued_into`): looked at without asking the database which chats have work,
        # and a lane goes on after its message only when its chat is here or had more
        # waiting. Anything else (another process's writes) the whole look finds, at least
        # every `idle` seconds.
        self._dirty: set[str] = set()
        self._look_all = True
        self._looked_at = 0.0
        self._defer_sent = not is_postgres(deps.sessions.kw["bind"])
        self._writing: asyncio.Task[None] | None = None

    def wake(self) -> None:
        """Look at every chat's queue now rather than at the next second."""
        self._look_all = True
        self._wake.set()

    async def _write_sent(self) -> None:
        """Writes the sent messages not written yet."""
        owed = set(_unwritten(self.deps.sessions))
        if owed:
            async with transaction(self.deps.sessions) as session:
                await outbox.mark_sent(session, ids=sorted(owed), now=self.now())
            _unwritten(self.deps.sessions).difference_update(owed)  # only once committed

    async def _write_sent_soon(self) -> None:
        await asyncio.sleep(SENT_LATER)
        self._writing = None
        try:
            await self._write_sent()
        except Exception:
            log.exception("outbox: could not write what was sent; kept for the next look")

    def _messenger(self, chat_id: str) -> Messenger | None:
        return next((m for m in self.messengers if m.handles(chat_id)), None)

    # --- the loop ------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event, *, idle: float = 1.0) -> None:
        """Sends until `stop` is set, then lets the lanes under way finish their message."""
        stats = Stats()
        engine = self.deps.sessions.kw["bind"]
        outbox.watch(engine, self._queued_into)
        try:
            await self._run(stop, stats, idle)
        finally:
            outbox.unwatch(engine, self._queued_into)
        await self._finish()

    def _queued_into(self, chats: set[str]) -> None:
        """A transaction that wrote into these chats' queues has committed."""
        self._dirty.update(chats)
        self._wake.set()

    async def _run(self, stop: asyncio.Event, stats: Stats, idle: float) -> None:
        while not stop.is_set():
            self._wake.clear()
            try:
                if self._look_all or time.monotonic() - self._looked_at >= idle:
                    self._look_all = False
                    self._looked_at = time.monotonic()
                    await self._start_lanes(stats, job=None)
                    self._supervise()
                    await self._forget_old()
                else:
                    self._start_dirty(stats)
            except Exception:
                log.exception("outbox: a round of delivery failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._woken(stop), timeout=idle)

    async def _woken(self, stop: asyncio.Event) -> None:
        waits = [asyncio.ensure_future(self._wake.wait()), asyncio.ensure_future(stop.wait())]
        try:
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for wait in waits:
                wait.cancel()

    async def drain(
        self,
        *,
        job: str | None = None,
        stop: asyncio.Event | None = None,
        wait_retries: bool = False,
    ) -> Stats:
        """Sends every message due now (of `job`, when given) and returns when none is left;
        with `wait_retries`, also those waiting out a 429 or a passing fault."""
        stats = Stats()
        while stop is None or not stop.is_set():
            started = await self._start_lanes(stats, job=job)
            if self._tasks:
                await asyncio.wait(list(self._tasks.values()), return_when=asyncio.FIRST_COMPLETED)
                continue
            if started:
                continue
            if await self._due(job):
                await asyncio.sleep(0.02)  # another sender (or process) is at it
                continue
            retry_at = await self._next_retry(job) if wait_retries else None
            if retry_at is None:
                break
            await asyncio.sleep(max(0.05, (retry_at - self.now()).total_seconds()))
        return stats

    async def _due(self, job: str | None) -> bool:
        """Whether a message is due anywhere (in a chat another sender is sending to, when this
        one started none)."""
        await self._write_sent()
        async with self.deps.sessions() as session:
            return bool(await outbox.heads(session, now=self.now(), limit=1, job=job))

    async def settled(self, chat_id: str, *, within: float = 30) -> None:
        """Waits until the chat has nothing left to send now (a test reading a whole answer
        that came as several messages)."""
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            task = self._tasks.get(chat_id)
            if task is not None:
                await asyncio.gather(task, return_exceptions=True)
                continue
            await self._write_sent()
            async with self.deps.sessions() as session:
                due = await outbox.heads(session, now=self.now(), limit=1, skip=())
                mine = [r for r in due if r.chat_id == chat_id]
                pending = await outbox.pending_in(session, chat_id=chat_id)
            if not pending or (not mine and chat_id not in _busy(self.deps.sessions)):
                return
            self.wake()
            await asyncio.sleep(0.02)

    async def _finish(self, *, within: float = 30) -> None:
        if self._tasks:
            _done, late = await asyncio.wait(list(self._tasks.values()), timeout=within)
            for task in late:
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)
        if self._writing is not None:
            self._writing.cancel()
        with contextlib.suppress(Exception):
            await self._write_sent()

    async def _start_lanes(self, stats: Stats, *, job: str | None) -> int:
        """A lane for each chat whose next message is due and that nobody sends to yet."""
        room = self.lanes - len(self._tasks)
        if room <= 0:
            return 0
        busy = _busy(self.deps.sessions)
        await self._write_sent()
        async with self.deps.sessions() as session:
            heads = await outbox.heads(session, now=self.now(), limit=room * 2, job=job, skip=busy)
        started = 0
        for head in heads:
            chat = head.chat_id
            if started >= room or chat in busy:
                continue
            self._start(chat, stats, job)
            started += 1
        return started

    def _start_dirty(self, stats: Stats) -> None:
        """A lane for each chat just given something that nobody sends to yet; the lane finds
        out itself whether anything is due."""
        busy = _busy(self.deps.sessions)
        for chat in list(self._dirty):
            if len(self._tasks) >= self.lanes:
                return
            if chat not in busy:
                self._start(chat, stats, None)

    def _start(self, chat: str, stats: Stats, job: str | None) -> None:
        _busy(self.deps.sessions).add(chat)
        self._progress[chat] = time.monotonic()
        task = asyncio.create_task(self._lane(chat, stats, job))
        self._tasks[chat] = task
        task.add_done_callback(functools.partial(self._lane_ended, chat))

    def _lane_ended(self, chat: str, _task: asyncio.Task[None] | None = None) -> None:
        self._tasks.pop(chat, None)
        self._progress.pop(chat, None)
        _busy(self.deps.sessions).discard(chat)
        self._wake.set()  # its chat may have more, or others may wait for a lane

    def _supervise(self) -> None:
        """A lane that has not moved for STUCK seconds is given up: the database still says
        what its chat is owed, and the next round gives the chat a lane again."""
        now = time.monotonic()
        for chat, task in list(self._tasks.items()):
            if now - self._progress.get(chat, now) > STUCK:
                log.error("outbox: sending to %s made no progress for %.0f s; restarted",
                          chat, STUCK)  # fmt: skip
                task.cancel()

    async def _forget_old(self) -> None:
        if time.monotonic() - self._forgotten_at < 600:
            return
        self._forgotten_at = time.monotonic()
        async with transaction(self.deps.sessions) as session:
            await outbox.forget_replies(session, before=self.now() - KEEP_REPLIES)
            await passes.forget_ended(session, now=self.now())

    async def _next_retry(self, job: str | None) -> datetime | None:
        async with self.deps.sessions() as session:
            return await outbox.next_retry(session, job=job)

    # --- one chat ------------------------------------------------------------------------

    async def _lane(self, chat_id: str, stats: Stats, job: str | None) -> None:
        messenger = self._messenger(chat_id)
        while True:
            if messenger is not None:
                await messenger.ready(chat_id)
            async with outbox.chat_lock(self.deps.sessions, chat_id=chat_id) as mine:
                if not mine:
                    return  # another process sends into this chat
                # What is given to the chat from here on, this lane's next look may miss.
                self._dirty.discard(chat_id)
                result, more = await self._next(chat_id, messenger, stats, job)
            self._progress[chat_id] = time.monotonic()
            if result is None or result.outcome not in (SendOutcome.SENT, SendOutcome.FAILED):
                return
            if not more and chat_id not in self._dirty:
                return

    async def _next(
        self, chat_id: str, messenger: Messenger | None, stats: Stats, job: str | None
    ) -> tuple[SendResult | None, bool]:
        """The chat's next message (with the replies waiting right behind it, merged): sent,
        and what became of it recorded; and whether more was waiting behind it. None when it
        has nothing due."""
        batch: list[Outbox] = []
        owed = set(_unwritten(self.deps.sessions))
        async with transaction(self.deps.sessions) as session:
            if owed:  # sent and not written yet, it would read as still to send
                await outbox.mark_sent(session, ids=sorted(owed), now=self.now())
            rows = await outbox.lane(session, chat_id=chat_id, limit=MERGED + 1)
            head = rows[0] if rows else None
            if (
                head is not None
                and (job is None or head.job == job)
                and (head.not_before is None or head.not_before <= self.now())
            ):
                batch.append(head)
                if _mergeable(head):
                    for row in rows[1:MERGED]:
                        if not _mergeable(row):
                            break
                        batch.append(row)
                ids = [r.id for r in batch if r.id is not None]
                await outbox.attempting(session, ids=ids, now=self.now())
        _unwritten(self.deps.sessions).difference_update(owed)
        if not batch:
            return None, False
        head = batch[0]
        if messenger is None:
            result = SendResult(SendOutcome.FAILED, error="no messenger for this platform")
        else:
            reply = await self._reply(batch)
            quote = head.reply_to if reply.quote else None
            result = await messenger.deliver(chat_id, reply, reply_to=quote)
        stats.outcomes.append(result)
        async with transaction(self.deps.sessions) as session:
            await self._record(session, batch, result, stats)
        return result, len(rows) > len(batch)

    async def _reply(self, batch: Sequence[Outbox]) -> Reply:
        head = batch[0]
        replies = [outgoing.reply_of(row, await self._attachment(row)) for row in batch]
        reply = coalesce(replies)
        if (head.doubt or head.sending_at is not None) and is_new_message(head):
            # An earlier attempt may have arrived: this one says it is sent again.
            language = await self._language(head.chat_id)
            with i18n.use(language):
                note = _("Sent again: the connection broke while this was being sent, so you "
                         "may see it twice.")  # fmt: skip
            rich = Rich().extend(reply.rich).add("↻ ", note)
            reply = Reply(rich, quote=reply.quote, attachment=reply.attachment,
                          buttons=reply.buttons, ask=reply.ask, keys=reply.keys,
                          key_apps=reply.key_apps, app_menu=reply.app_menu,
                          remember=reply.remember)  # fmt: skip
        return reply

    async def _language(self, chat_id: str) -> str:
        async with self.deps.sessions() as session:
            chat = await people.get_chat(session, chat_id=chat_id)
        return (chat.language if chat is not None else None) or self.deps.default_locale

    async def _attachment(self, row: Outbox) -> Attachment | None:
        if row.media_key is None:
            return None
        if row.media_key not in self._media:
            async with self.deps.sessions() as session:
                media = await outbox.media(session, key=row.media_key)
            if media is None:
                return None
            if len(self._media) > 64:
                self._media.clear()
            self._media[row.media_key] = Attachment(
                media.filename,
                media.content,
                "photo" if row.media_kind == "photo" else "document",
                media.mime,
            )
        return self._media[row.media_key]

    # --- what became of it ---------------------------------------------------------------

    async def _record(
        self, session: AsyncSession, batch: Sequence[Outbox], result: SendResult, stats: Stats
    ) -> None:
        now = self.now()
        ids = [r.id for r in batch if r.id is not None]
        if result.outcome is SendOutcome.SENT:
            stats.sent += len(batch)
            if self._defer_sent and not any('"remember"' in (r.extra or "") for r in batch):
                _unwritten(self.deps.sessions).update(ids)
                if self._writing is None:
                    self._writing = asyncio.create_task(self._write_sent_soon())
                return
            await outbox.mark_sent(session, ids=ids, now=now)
            for row in batch:
                await self._remember(session, row, result.message_id)
            return
        rows = [await outbox.get(session, post_id=i) for i in ids]
        for row in (r for r in rows if r is not None):
            row.sending_at = None
            await self._outcome(session, row, result, stats, now)
        await session.flush()

    async def _outcome(
        self, session: AsyncSession, row: Outbox, result: SendResult, stats: Stats, now: datetime
    ) -> None:
        backoff = min(BACKOFF_CAP, 2.0 ** max(0, row.attempts - 1))
        if result.outcome is SendOutcome.RETRY:
            stats.retried += 1
            # What the server asked for (a 429's retry_after), and backing off: 1, 2, 4, 8, 10 s.
            wait = max(result.retry_after, backoff)
            row.not_before = now + timedelta(seconds=wait)
            row.last_error = (result.error or "retry")[:500]
        elif result.outcome is SendOutcome.UNKNOWN:
            stats.unknown += 1
            row.last_error = f"unknown: {result.error or ''}"[:500]
            if after_unknown(row):
                row.doubt = row.doubt or is_new_message(row)
                row.not_before = now + timedelta(seconds=backoff)
            else:
                row.state = "sent"
        elif result.outcome is SendOutcome.MIGRATED and result.new_chat_id:
            stats.migrated += 1
            await self._migrate(session, row, result.new_chat_id)
        elif result.outcome is SendOutcome.GONE:
            stats.gone += 1
            await self._gone(session, row, result.error)
        else:
            stats.failed += 1
            row.state, row.last_error = "failed", (result.error or "failed")[:500]
            log.warning("outbox: %s %s to %s refused: %s", row.job, row.id, row.chat_id,
                        row.last_error)  # fmt: skip

    async def _remember(self, session: AsyncSession, row: Outbox, sent_id: str | None) -> None:
        """A guided report's message is out: its id is kept for the next step to edit; when the
        flow moved on meanwhile, the message would only linger, so it goes."""
        if sent_id is None or not row.extra or '"remember"' not in row.extra:
            return
        remember = outgoing.reply_of(row, None).remember
        if remember is None or sent_id == row.edit_id:
            return
        wanted = await flows.remember(session, flow_id=remember.flow_id, slot=remember.slot,
                                      message_id=sent_id, ask=remember.ask)  # fmt: skip
        if not wanted:
            gone = {"chat_id": row.chat_id, "body": Rich().to_json()}
            gone["delete_id" if remember.slot == "ask" else "edit_id"] = sent_id
            await outbox.add_replies(session, rows=[gone])

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
