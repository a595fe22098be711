"""Zalo through the Zalo Bot API (`POST {base}/bot{token}/{method}`), with our own aiohttp client.

Zalo bots cannot join ordinary Zalo groups: members talk to the bot in private chats, join their
team with `/tham_gia MÃ`, and get reminders, summaries and boards there.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
from datetime import UTC, datetime
from typing import Any

import aiohttp

from bot.inbox import InboxWorker, WaitNotices
from bot.metrics import Metrics
from bot.pacing import Pacer
from bot.render import plain
from bot.settings import Settings
from handlers import router
from handlers.incoming import Deps, Incoming, Reply, SendOutcome, SendResult

log = logging.getLogger(__name__)

WEBHOOK_PATH = "/zalo/webhook"
SECRET_HEADER = "X-Bot-Api-Secret-Token"  # noqa: S105 (a header name)
TEXT_LIMIT = 2000
POLL_TIMEOUT = 30


class ZaloError(Exception):
    def __init__(self, status: int, code: int, description: str) -> None:
        super().__init__(f"{code}: {description}")
        self.status, self.code, self.description = status, code, description


def to_incoming(update: dict[str, Any]) -> Incoming | None:
    """The neutral message of a Zalo update; None for images, stickers and the like."""
    if update.get("event_name") != "message.text.received":
        return None
    message = update.get("message")
    if not isinstance(message, dict):
        return None
    chat, sender = message.get("chat") or {}, message.get("from") or {}
    text, message_id = message.get("text"), message.get("message_id")
    if not isinstance(text, str) or not message_id or not chat.get("id") or not sender.get("id"):
        return None
    if sender.get("is_bot"):
        return None
    # Some copies of the documentation say first_name where others say display_name.
    name = sender.get("display_name") or sender.get("first_name") or str(sender["id"])
    sent = message.get("date")
    sent_at = (
        datetime.fromtimestamp(int(sent) / 1000, UTC)
        if isinstance(sent, int | float | str) and str(sent).isdigit()
        else datetime.now(UTC)
    )
    chat_id = f"zalo:{chat['id']}"
    return Incoming(
        platform="zalo",
        chat_id=chat_id,
        chat_kind="private"
        if str(chat.get("chat_type", "PRIVATE")).upper() == "PRIVATE"
        else "group",
        sender_id=f"zalo:{sender['id']}",
        sender_name=str(name)[:255],
        text=text,
        sent_at=sent_at,
        message_key=f"{chat_id}:{message_id}",
        update_key=f"zalo:message:{message_id}",
    )


class ZaloTransport:
    def __init__(self, settings: Settings, deps: Deps, inbox: InboxWorker | None = None) -> None:
        assert settings.zalo_token is not None  # noqa: S101 (checked by the caller)
        self.settings = settings
        self.deps = deps
        self.base = f"{settings.zalo_api_url}/bot{settings.zalo_token.get_secret_value()}"
        self.webhook = settings.webhook_base_url is not None
        self.pacer = Pacer.configured(settings)
        self.metrics: Metrics | None = None
        self.inbox = inbox
        self._waiting = WaitNotices()
        self.http: aiohttp.ClientSession | None = None
        self._poller: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()

    async def call(
        self, method: str, payload: dict[str, Any] | None = None, *, wait: float = 30
    ) -> Any:
        """One API call; `wait` bounds it (a long poll waits longer than its own timeout)."""
        assert self.http is not None  # noqa: S101 (started)
        async with self.http.post(
            f"{self.base}/{method}",
            json=payload or {},
            timeout=aiohttp.ClientTimeout(total=wait),
        ) as response:
            try:
                body = await response.json(content_type=None)
            except ValueError:
                body = None
            if not isinstance(body, dict) or not body.get("ok"):
                code = (
                    int(body.get("error_code", response.status))
                    if isinstance(body, dict)
                    else response.status
                )
                description = str(body.get("description", "")) if isinstance(body, dict) else ""
                raise ZaloError(response.status, code, description)
            return body.get("result")

    async def start(self) -> None:
        self.http = aiohttp.ClientSession()
        me = await self.call("getMe") or {}
        name = me.get("account_name") or me.get("id")
        log.info("zalo: started as %s (%s)", name, "webhook" if self.webhook else "polling")
        if self.webhook:
            secret = self.settings.webhook_secret
            assert secret is not None  # noqa: S101 (settings refuse webhook mode without one)
            await self.call(
                "setWebhook",
                {
                    "url": f"{self.settings.webhook_base_url}{WEBHOOK_PATH}",
                    "secret_token": secret.get_secret_value(),
                },
            )
        else:
            await self.call("deleteWebhook")  # getUpdates does not work while one is set
            self._poller = asyncio.create_task(self._poll())

    async def stop(self) -> None:
        self._stopping.set()
        if self._poller is not None:
            self._poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._poller
        if self.http is not None:
            await self.http.close()

    async def _poll(self) -> None:
        delay = 1.0
        while not self._stopping.is_set():
            try:
                update = await self.call(
                    "getUpdates", {"timeout": POLL_TIMEOUT}, wait=POLL_TIMEOUT + 10
                )
                delay = 1.0
            except ZaloError as exc:
                if exc.status == 408 or exc.code == 408:
                    continue  # no news within the timeout: ask again
                log.warning("zalo: getUpdates failed: %s", exc)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 60)
                continue
            except (aiohttp.ClientError, TimeoutError) as exc:
                log.warning("zalo: getUpdates failed: %s", exc)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 60)
                continue
            for one in update if isinstance(update, list) else [update]:
                if isinstance(one, dict):
                    try:
                        await self.accept(one)
                    except Exception:
                        # Zalo has no acknowledgement to withhold: this one is lost, said loudly.
                        log.exception("zalo: could not store an update")

    async def accept(self, update: dict[str, Any]) -> None:
        """Into the inbox (raising when it cannot), or straight to processing without one."""
        if self.inbox is None:
            await self.process(update)
            return
        message = update.get("message") if isinstance(update.get("message"), dict) else {}
        message_id = (message or {}).get("message_id")
        key = (
            f"zalo:message:{message_id}"
            if message_id
            else "zalo:update:"
            + hashlib.sha256(json.dumps(update, sort_keys=True).encode()).hexdigest()
        )
        await self.inbox.store([(key, "zalo", update)])

    async def process(self, update: dict[str, Any]) -> None:
        msg = to_incoming(update)
        if msg is None:
            return
        try:
            replies = await router.handle(self.deps, msg)
        except router.StorageUnavailable as exc:
            notice = self._waiting.first(msg.update_key, exc)
            if notice is not None:
                await self.deliver(msg.chat_id, notice)
            raise
        for reply in replies:
            result = await self.deliver(msg.chat_id, reply)
            if result.outcome is not SendOutcome.SENT:
                log.warning("zalo: reply to %s not sent: %s", msg.chat_id, result)

    # --- Messenger ------------------------------------------------------------------------

    def handles(self, chat_id: str) -> bool:
        return chat_id.startswith("zalo:")

    async def deliver(self, chat_id: str, reply: Reply) -> SendResult:
        result = await self._deliver(chat_id, reply)
        if self.metrics is not None:
            self.metrics.sent("zalo", result.outcome.value)
        return result

    async def _deliver(self, chat_id: str, reply: Reply) -> SendResult:
        """Plain text under 2000 characters a message, split at line boundaries. Zalo sends
        photos only by URL and tcns serves none, so a chart or workbook goes as its text."""
        target = chat_id.removeprefix("zalo:")
        try:
            for text in plain(reply.rich, TEXT_LIMIT):
                async with self.pacer.slot(chat_id, group=False):
                    await self.call("sendMessage", {"chat_id": target, "text": text})
            return SendResult(SendOutcome.SENT)
        except ZaloError as exc:
            if exc.status == 429 or exc.code == 429:
                return SendResult(SendOutcome.RETRY, retry_after=5.0, error=str(exc))
            if exc.status == 403 or exc.code == 403:
                return SendResult(SendOutcome.GONE, error=str(exc))
            if exc.status >= 500:
                return SendResult(SendOutcome.RETRY, error=str(exc))  # the sender backs off
            return SendResult(SendOutcome.FAILED, error=str(exc))
        except (aiohttp.ClientError, TimeoutError) as exc:
            return SendResult(SendOutcome.RETRY, error=str(exc))
