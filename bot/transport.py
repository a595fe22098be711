"""The update driver every platform shares: taking updates in (webhook or long poll), the inbox,
the dedupe key, routing, the outage notice, the reply queue and its pacing, metrics and back-off.

A platform supplies only what is its own (`Platform`): turning its updates into `Incoming`, one
long poll, setting or clearing its webhook, and sending one reply. Telegram is `bot/telegram.py`,
Zalo `bot/zalo.py`; a new platform is one more such file.

Replies never hold the worker that processes updates: they are queued per chat and sent by a
task of that chat's own, so a slow or rate-limited chat (or a person sending a thousand messages
to a Zalo bot) delays nobody else's answer.
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

from bot.inbox import InboxWorker, Round, WaitNotices
from bot.metrics import Metrics
from bot.pacing import Pacer
from handlers import router
from handlers.incoming import (
    Answer,
    Button,
    Deps,
    Document,
    Incoming,
    Reply,
    SendOutcome,
    SendResult,
)
from handlers.richtext import Rich
from storage import flows
from storage.db import transaction

log = logging.getLogger(__name__)

SEND_ATTEMPTS = 4
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


def coalesce(batch: list[tuple[Reply, str | None]]) -> list[tuple[Reply, str | None]]:
    """New text messages waiting for the same chat become one, where the first of them was;
    attachments, edits, deletions and questions stay apart and in order. Of the merged
    messages' buttons each is kept once, except those that belong to one message only (the
    undo of one report), which would be ambiguous under several."""
    texts = [r for r, _q in batch if r.mergeable]
    if len(texts) <= 1:
        return batch
    merged = Rich()
    buttons: dict[str, Button] = {}
    for n, reply in enumerate(texts):
        if n:
            merged.blank()
        merged.extend(reply.rich)
        for row in reply.buttons:
            for button in row:
                if not button.personal:
                    buttons.setdefault(button.data, button)
    keys = list(buttons.values())[:20]
    rows = tuple(tuple(keys[n : n + 4]) for n in range(0, len(keys), 4))
    out: list[tuple[Reply, str | None]] = []
    for reply, quote in batch:
        if not reply.mergeable:
            out.append((reply, quote))
        elif reply is texts[0]:
            out.append((Reply(merged, quote=False, buttons=rows), None))
    return out


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
        self._pending: dict[str, list[tuple[Reply, str | None]]] = {}
        self._flushers: dict[str, asyncio.Task[None]] = {}
        self._answers: set[asyncio.Task[SendResult]] = set()
        self._waiting = WaitNotices()
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
        await self.drain_replies()
        await self.platform.close()

    # --- intake ------------------------------------------------------------------------

    async def accept(self, payloads: list[dict[str, Any]]) -> None:
        """Takes updates from a poll or a webhook call: into the inbox (raising when it cannot,
        so that the platform is not told they arrived), or straight to processing."""
        if self.inbox is not None:
            await self.inbox.store([(self.platform.key(p), self.name, p) for p in payloads])
            return
        for payload in payloads:
            await self.process(payload)

    async def _poll(self) -> None:
        backoff = Backoff()
        while True:
            try:
                payloads = await self.platform.fetch()
                if payloads:
                    await self.accept(payloads)
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
            replies = await router.handle(deps, msg, claim=claim, within=round_.session)
            round_.after.append(functools.partial(self._queue_replies, msg, replies))
            return
        try:
            replies = await router.handle(self.deps, msg, claim=claim)
        except router.StorageUnavailable as exc:
            notice = self._waiting.first(msg.update_key, exc)
            if msg.press_id is not None and notice is not None:
                text = notice.rich.plain()[:200]
                self._answer_now(msg.chat_id, Reply(Rich(), answer=Answer(msg.press_id, text)))
            elif notice is not None:
                self.queue_reply(msg.chat_id, notice, None)
            raise
        self._queue_replies(msg, replies)

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
        return dataclasses.replace(msg, document=dataclasses.replace(document, content=content))

    def _queue_replies(self, msg: Incoming, replies: list[Reply]) -> None:
        answered = False
        for reply in replies:
            if reply.answer is not None:
                answered = True
                self._answer_now(msg.chat_id, reply)
                continue
            quote = reply.quote and msg.press_id is None
            self.queue_reply(msg.chat_id, reply, message_id(msg) if quote else None)
        if msg.press_id is not None and not answered:
            # Every press is answered, or its button spins on the person's phone.
            self._answer_now(msg.chat_id, Reply(Rich(), answer=Answer(msg.press_id)))

    def _answer_now(self, chat_id: str, reply: Reply) -> None:
        """A press's answer leaves at once, not behind the chat's queue and its pacing:
        Telegram wants it within seconds, and the person is waiting for it."""
        task = asyncio.create_task(self.deliver(chat_id, reply))
        self._answers.add(task)
        task.add_done_callback(self._answers.discard)

    # --- replies: queued per chat, coalesced while the chat waits for a slot -------------

    def queue_reply(self, chat_id: str, reply: Reply, reply_to: str | None) -> None:
        self._pending.setdefault(chat_id, []).append((reply, reply_to))
        if chat_id not in self._flushers:
            self._flushers[chat_id] = asyncio.create_task(self._flush(chat_id))

    async def _flush(self, chat_id: str) -> None:
        """Sends what is queued for a chat. While the chat waits for a slot (a group's 20 a
        minute), more replies pile up and leave as one message: a burst of reports right after
        a reminder costs a few messages, not one each, and none is lost."""
        try:
            group = self.platform.is_group(chat_id)
            while self._pending.get(chat_id):
                await asyncio.sleep(self.pacer.linger(chat_id, group=group))
                await self.pacer.ready(chat_id, group=group)
                batch = self._pending.pop(chat_id)
                for reply, reply_to in coalesce(batch):
                    result = SendResult(SendOutcome.FAILED)
                    for _attempt in range(SEND_ATTEMPTS):
                        result = await self.deliver(chat_id, reply, reply_to=reply_to)
                        if result.outcome is not SendOutcome.RETRY:
                            break
                        await asyncio.sleep(max(result.retry_after, 0.5))
                    if result.outcome is not SendOutcome.SENT:
                        log.warning(
                            "%s: reply to %s not sent: %s", self.platform.title, chat_id, result
                        )
                    elif reply.remember is not None and result.message_id not in (
                        None,
                        reply.edit,  # edited in place: its id is the one already kept
                    ):
                        await self._remember(chat_id, reply, result.message_id)
        except Exception:
            log.exception("%s: replies to %s failed", self.platform.title, chat_id)
        finally:
            self._flushers.pop(chat_id, None)

    async def _remember(self, chat_id: str, reply: Reply, sent_id: str) -> None:
        """A guided report's message is sent: its id is kept for the next step to edit."""
        assert reply.remember is not None  # noqa: S101 (checked by the caller)
        try:
            async with transaction(self.deps.sessions) as session:
                wanted = await flows.remember(
                    session,
                    flow_id=reply.remember.flow_id,
                    slot=reply.remember.slot,
                    message_id=sent_id,
                    ask=reply.remember.ask,
                )
        except Exception:
            # The next step then sends a new message instead of editing this one.
            log.warning("%s: could not keep message %s", self.platform.title, sent_id)
            return
        if not wanted:
            # Overtaken while it was on its way: it would only linger in the chat.
            gone = (
                Reply(Rich(), delete=sent_id)
                if reply.remember.slot == "ask"
                else Reply(Rich(), edit=sent_id)
            )
            await self.deliver(chat_id, gone)

    async def replies_sent(self, chat_id: str) -> None:
        """Waits until every reply queued for the chat so far has left (a test reading a
        whole answer that came as several messages)."""
        while (flusher := self._flushers.get(chat_id)) is not None:
            await asyncio.gather(flusher, return_exceptions=True)

    async def drain_replies(self) -> None:
        """Waits until every queued reply has left (for a clean stop)."""
        while self._flushers or self._answers:
            await asyncio.gather(*self._flushers.values(), *self._answers, return_exceptions=True)

    # --- Messenger ---------------------------------------------------------------------

    def handles(self, chat_id: str) -> bool:
        return chat_id.startswith(f"{self.name}:")

    async def deliver(
        self, chat_id: str, reply: Reply, *, reply_to: str | None = None
    ) -> SendResult:
        result = await self.platform.send(chat_id, reply, reply_to=reply_to)
        if self.metrics is not None:
            self.metrics.sent(self.name, result.outcome.value)
        return result
