"""The update driver every platform shares: taking updates in (webhook or long poll), the inbox,
the dedupe key, routing, the outage notice, the reply queue and its pacing, metrics and back-off.

A platform supplies only what is its own (`Platform`): turning its updates into `Incoming`, one
long poll, setting or clearing its webhook, and sending one reply. Telegram is `bot/telegram.py`,
Zalo `bot/zalo.py`; a new platform is one more such file.

Replies are written to the outbox in the transaction of the update they answer (handlers/
outgoing.py) and sent from there by the one sender of the process (scheduler/outbox.py), chat
by chat in order: a slow or rate-limited chat delays nobody else's answer, and a crash, a
restart or an outage delays a reply but never loses it. Only a button press's answer leaves at
once, from here. While the database is away, people are told so from memory (bot/outage.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import logging
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

from aiohttp import web
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.inbox import InboxWorker, Round
from bot.metrics import Metrics
from bot.outage import Outage
from bot.pacing import Pacer
from handlers import router, sheets
from handlers.incoming import (
    Answer,
    Deps,
    Document,
    Incoming,
    Reply,
    SendResult,
)
from handlers.richtext import Rich
from scheduler.outbox import OutboxSender

log = logging.getLogger(__name__)

STORE_RETRY_SECONDS = 1.0
Claim = Callable[[AsyncSession], Awaitable[bool]]


class Platform(Protocol):
    """What one chat platform brings; everything else is the driver's."""

    name: str  # "tg", "zalo": the prefix of its chat ids and its inbox rows
    title: str  # "telegram", for the log
    webhook_path: str
    secret_header: str
    pacer: Pacer  # the platform's sending limits, which its `send` keeps

    def key(self, payload: dict[str, Any]) -> str:
        """The dedupe key of an update: a redelivery has the same one."""
        ...

    def to_incoming(self, payload: dict[str, Any]) -> Incoming | None:
        """The neutral message of an update; None for what the bot does not read."""
        ...

    def chat(self, payload: dict[str, Any]) -> str | None:
        """The chat an update belongs to (its lane in the inbox), read cheaply."""
        ...

    def webhook_updates(self, data: Any) -> list[dict[str, Any]] | None:
        """The updates in a webhook call's body; None when it is not an update."""
        ...

    def webhook_answer(self) -> web.Response: ...

    async def open(self, deps: Deps) -> None:
        """Connects (the token is checked here) and learns the bot's own names."""
        ...

    async def listen(self, url: str | None, secret: str | None) -> None:
        """Sets the webhook to `url` (calls carry `secret`), or with None clears it so that
        polling works."""
        ...

    async def fetch(self) -> list[dict[str, Any]]:
        """One long poll: the updates that came, [] when none did; raises when it failed."""
        ...

    def fetched(self, payloads: list[dict[str, Any]]) -> None:
        """The updates of the last poll are stored: the platform may forget them now."""
        ...

    async def send(self, chat_id: str, reply: Reply, *, reply_to: str | None) -> SendResult:
        """One reply (or post) to one chat, and what became of it; never raises."""
        ...

    def is_group(self, chat_id: str) -> bool: ...

    async def download(self, file_id: str) -> bytes:
        """A file people sent (a workbook to import)."""
        ...

    async def close(self) -> None: ...


def message_id(msg: Incoming) -> str:
    """The platform's id of the message, the tail of its key "<chat id>:<message id>"."""
    return msg.message_key.rsplit(":", 1)[-1]


@dataclass
class Backoff:
    """1, 2, 4 … 60 s between failed polls; back to 1 s after one that worked."""

    delay: float = 1.0

    def failed(self) -> float:
        delay, self.delay = self.delay, min(self.delay * 2, 60.0)
        return delay

    def worked(self) -> None:
        self.delay = 1.0


class Transport:
    """One platform, driven: intake, processing, replies. It is also the platform's
    `Messenger` for scheduled posts (`handles`, `deliver`)."""

    def __init__(
        self,
        platform: Platform,
        deps: Deps,
        *,
        inbox: InboxWorker | None = None,
        webhook_url: str | None = None,
        secret: str | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        self.platform = platform
        self.name = platform.name
        self.deps = deps
        self.pacer = platform.pacer
        self.inbox = inbox
        self.webhook_url = webhook_url
        self.secret = secret
        self.metrics = metrics
        self._poller: asyncio.Task[None] | None = None
        self._answers: set[asyncio.Task[SendResult]] = set()
        self.outage = Outage(self._tell_waiting)
        # The process's one sender (bot/app.py sets it), for `replies_sent`.
        self.sender: OutboxSender | None = None
        if inbox is not None:
            inbox.processors[self.name] = self.process
            inbox.chat_of[self.name] = platform.chat

    @property
    def webhook(self) -> bool:
        return self.webhook_url is not None

    # --- life --------------------------------------------------------------------------

    async def open(self) -> None:
        """Ready to send (scheduled posts from `tcns jobs run`), without taking updates."""
        await self.platform.open(self.deps)

    async def start(self) -> None:
        await self.open()
        if self.webhook_url is not None:
            url = f"{self.webhook_url}{self.platform.webhook_path}"
            await self.platform.listen(url, self.secret)
        else:
            await self.platform.listen(None, None)  # a webhook would refuse the polls
            self._poller = asyncio.create_task(self._poll())
        log.info("%s: started (%s)", self.platform.title, "webhook" if self.webhook else "polling")

    async def stop(self) -> None:
        if self._poller is not None:
            # What the cancelled poll would have brought was never confirmed: it comes again.
            self._poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._poller
            self._poller = None
        await self.outage.close()
        if self._answers:
            await asyncio.gather(*self._answers, return_exceptions=True)
        await self.platform.close()

    # --- intake ------------------------------------------------------------------------

    async def accept(self, payloads: list[dict[str, Any]]) -> None:
        """Takes updates from a poll or a webhook call: into the inbox (raising when it cannot,
        so that the platform is not told they arrived), or straight to processing."""
        if self.inbox is None:
            for payload in payloads:
                await self.process(payload)
            return
        keys = [self.platform.key(p) for p in payloads]
        try:
            await self.inbox.store(
                [(k, self.name, p) for k, p in zip(keys, payloads, strict=True)]
            )
        except Exception:
            for payload in payloads:
                self._unstored(payload)
            raise
        for key in keys:
            self.outage.stored(key)

    def _unstored(self, payload: dict[str, Any]) -> None:
        """An update the database could not take: its sender may need telling."""
        try:
            msg = self.platform.to_incoming(payload)
        except Exception:
            return
        if msg is not None and router.answers(self.deps, msg):
            self.outage.waiting(msg)

    async def _tell_waiting(self, msgs: list[Incoming]) -> None:
        """The notice of an outage, from memory (nothing can be written): in the chat, quoting
        the first message and naming its senders when they are several, or as a press's
        answer."""
        first = msgs[0]
        if first.press_id is not None:
            notice = router.storage_notice(self.deps.default_locale)
            await self.deliver(first.chat_id, Reply(Rich(), answer=Answer(
                first.press_id, notice.rich.plain()[:200])))  # fmt: skip
            return
        people = [(m.sender_id, m.sender_name) for m in msgs] if len(msgs) > 1 else []
        notice = router.storage_notice(self.deps.default_locale, people=people)
        quote = message_id(first) if not first.edited else None
        await self.deliver(first.chat_id, notice, reply_to=quote)

    async def _poll(self) -> None:
        backoff = Backoff()
        while True:
            try:
                payloads = await self.platform.fetch()
                if payloads:
                    try:
                        await self.accept(payloads)
                    except Exception as exc:
                        # The database is away. Nothing is confirmed, so the next poll brings
                        # these again with any newer ones (whose senders hear of the outage
                        # too); tried every second, not backing off as after a failed poll,
                        # so that the backlog goes as soon as it is back.
                        log.warning("%s: cannot store %d updates (%s); trying again",
                                    self.platform.title, len(payloads), exc)  # fmt: skip
                        await asyncio.sleep(STORE_RETRY_SECONDS)
                        continue
                    self.platform.fetched(payloads)  # confirmed only now that they are stored
                backoff.worked()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                delay = backoff.failed()
                log.warning(
                    "%s: poll failed (%s); again in %.0f s", self.platform.title, exc, delay
                )
                await asyncio.sleep(delay)

    def route(self) -> tuple[str, Callable[[web.Request], Awaitable[web.Response]]]:
        """The webhook: authorised by the secret header, stored before it is answered 2xx."""

        async def webhook(request: web.Request) -> web.Response:
            given = request.headers.get(self.platform.secret_header, "")
            if not self.secret or not secrets.compare_digest(given.encode(), self.secret.encode()):
                return web.Response(status=401, text="unauthorized")
            try:
                data = await request.json()
            except ValueError:  # not JSON, or not UTF-8
                data = None
            payloads = self.platform.webhook_updates(data)
            if payloads is None:
                return web.Response(status=400, text="not an update")
            try:
                await self.accept(payloads)
            except Exception:
                log.exception("%s webhook: could not store the update", self.platform.title)
                return web.Response(status=503, text="try again")  # the platform sends it again
            return self.platform.webhook_answer()

        return self.platform.webhook_path, webhook

    # --- processing --------------------------------------------------------------------

    async def process(
        self, payload: dict[str, Any], claim: Claim | None = None, round_: Round | None = None
    ) -> None:
        """One update through the router; its replies are queued, never sent from here (in a
        round, once the round has committed). Raises StorageUnavailable to keep the update for
        later."""
        msg = self.platform.to_incoming(payload)
        if msg is None:
            return
        if msg.document is not None:
            if round_ is not None:
                raise router.NotShared("a file")  # fetched outside any transaction, alone
            msg = await self._fetched(msg)
        if round_ is not None:
            deps = dataclasses.replace(self.deps, observer=round_.observing(self.deps.observer))
            replies = await router.handle(
                deps, msg, claim=claim, within=round_.session, durable=True
            )
            round_.after.append(functools.partial(self._answered, msg, replies))
            return
        try:
            replies = await router.handle(self.deps, msg, claim=claim, durable=True)
        except router.StorageUnavailable:
            self.outage.waiting(msg)
            raise
        self._answered(msg, replies)

    async def _fetched(self, msg: Incoming) -> Incoming:
        """The message with its file's content, when it is small enough and could be had."""
        document = msg.document
        assert document is not None  # noqa: S101 (checked by the caller)
        if document.size > Document.MAX_BYTES:
            return msg
        try:
            content = await self.platform.download(document.file_id)
        except Exception as exc:
            log.warning("%s: could not fetch %s: %s", self.platform.title, document.name, exc)
            return msg
        if len(content) > Document.MAX_BYTES:
            return msg
        book, unreadable = None, None
        if sheets.is_table(document.name):
            # Read here, outside any transaction: a workbook takes a while (in a process of
            # its own), and nothing may wait while a transaction holds SQLite's writer.
            try:
                book = await sheets.read_book(document.name, content)
            except sheets.Unreadable as exc:
                unreadable = exc
        read = dataclasses.replace(
            document,
            content=content,
            table=book.table if book is not None else None,
            others=book.others if book is not None else {},
            unreadable=unreadable,
        )
        return dataclasses.replace(msg, document=read)

    def _answered(self, msg: Incoming, replies: list[Reply]) -> None:
        """The update's replies are in the outbox (their commit told the sender); a press's
        answer leaves now (every press is answered, or its button spins on the person's phone)."""
        answered = False
        for reply in replies:
            if reply.answer is not None:
                answered = True
                self._answer_now(msg.chat_id, reply)
        if msg.press_id is not None and not answered:
            self._answer_now(msg.chat_id, Reply(Rich(), answer=Answer(msg.press_id)))

    def _answer_now(self, chat_id: str, reply: Reply) -> None:
        """A press's answer leaves at once, not behind the chat's queue and its pacing:
        Telegram wants it within seconds, and the person is waiting for it."""
        task = asyncio.create_task(self.deliver(chat_id, reply))
        self._answers.add(task)
        task.add_done_callback(self._answers.discard)

    async def replies_sent(self, chat_id: str) -> None:
        """Waits until everything the chat is owed now has left (a test reading a whole
        answer that came as several messages)."""
        if self.sender is not None:
            await self.sender.settled(chat_id)

    # --- Messenger ---------------------------------------------------------------------

    def handles(self, chat_id: str) -> bool:
        return chat_id.startswith(f"{self.name}:")

    async def ready(self, chat_id: str) -> None:
        """The chat's pace: replies gather while it has used its burst (a group's 20 a minute
        leave as a few merged messages rather than the first twenty and a minute's wait), then
        it waits for a slot."""
        group = self.platform.is_group(chat_id)
        await asyncio.sleep(self.pacer.linger(chat_id, group=group))
        await self.pacer.ready(chat_id, group=group)

    async def deliver(
        self, chat_id: str, reply: Reply, *, reply_to: str | None = None
    ) -> SendResult:
        result = await self.platform.send(chat_id, reply, reply_to=reply_to)
        if self.metrics is not None:
            self.metrics.sent(self.name, result.outcome.value)
        return result
