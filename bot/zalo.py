"""Zalo through the Zalo Bot API (`POST {base}/bot{token}/{method}`), with our own aiohttp client.

Zalo bots cannot join ordinary Zalo groups: members talk to the bot in private chats, join their
team with `/tham_gia MÃ`, and get reminders, summaries and boards there.
"""

from __future__ import annotations

import hashlib
import json
import logging
from datetime import UTC, datetime
from typing import Any

import aiohttp
from aiohttp import web

from bot.pacing import Pacer
from bot.render import plain
from bot.settings import Settings
from handlers.incoming import LATEST_DATE, Deps, Incoming, Reply, SendOutcome, SendResult
from handlers.person_names import display_name
from handlers.web_access import CHART_PATH
from handlers.weblinks import SECRET_NAME, chart_token
from storage import outbox, secrets
from storage.db import transaction

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
    given = sender.get("display_name") or sender.get("first_name")
    name = display_name(given if isinstance(given, str) else None) or str(sender["id"])
    sent = message.get("date")
    sent_at = (
        datetime.fromtimestamp(int(sent) / 1000, UTC)
        if isinstance(sent, int | float | str)
        and str(sent).isascii()
        and str(sent).isdigit()
        and int(sent) <= LATEST_DATE * 1000
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
        buttons=False,
        text=text,
        sent_at=sent_at,
        message_key=f"{chat_id}:{message_id}",
        update_key=f"zalo:message:{message_id}",
    )


class ZaloPlatform:
    name = "zalo"
    title = "zalo"
    webhook_path = WEBHOOK_PATH
    secret_header = SECRET_HEADER

    def __init__(self, settings: Settings) -> None:
        assert settings.zalo_token is not None  # noqa: S101 (checked by the caller)
        self.base = f"{settings.zalo_api_url}/bot{settings.zalo_token.get_secret_value()}"
        self.pacer = Pacer.configured(settings)
        self.http: aiohttp.ClientSession | None = None
        self.deps: Deps | None = None

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

    def key(self, payload: dict[str, Any]) -> str:
        message = payload.get("message")
        message_id = message.get("message_id") if isinstance(message, dict) else None
        if message_id:
            return f"zalo:message:{message_id}"
        digest = hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()
        return f"zalo:update:{digest}"

    def to_incoming(self, payload: dict[str, Any]) -> Incoming | None:
        return to_incoming(payload)

    def chat(self, payload: dict[str, Any]) -> str | None:
        message = payload.get("message")
        chat = message.get("chat") if isinstance(message, dict) else None
        return f"zalo:{chat['id']}" if isinstance(chat, dict) and chat.get("id") else None

    def webhook_updates(self, data: Any) -> list[dict[str, Any]] | None:
        if isinstance(data, dict) and isinstance(data.get("result"), dict):
            data = data["result"]  # the getUpdates envelope, should a caller send it
        if not isinstance(data, dict) or "event_name" not in data:
            return None
        return [data]

    def webhook_answer(self) -> web.Response:
        return web.json_response({"ok": True})

    def is_group(self, chat_id: str) -> bool:
        return False  # a Zalo bot talks in private chats only

    async def open(self, deps: Deps) -> None:
        self.deps = deps
        if self.http is None:
            self.http = aiohttp.ClientSession()
        me = await self.call("getMe") or {}
        log.info("zalo: %s", me.get("account_name") or me.get("id"))

    async def listen(self, url: str | None, secret: str | None) -> None:
        if url is None:
            await self.call("deleteWebhook")  # getUpdates does not work while one is set
            return
        await self.call("setWebhook", {"url": url, "secret_token": secret})

    async def fetch(self) -> list[dict[str, Any]]:
        """One long poll. Zalo forgets what it hands out: an update that cannot be stored
        after this is lost, and the driver says so in the log."""
        try:
            update = await self.call(
                "getUpdates", {"timeout": POLL_TIMEOUT}, wait=POLL_TIMEOUT + 10
            )
        except ZaloError as exc:
            if exc.status == 408 or exc.code == 408:
                return []  # no news within the timeout
            raise
        updates = update if isinstance(update, list) else [update]
        return [u for u in updates if isinstance(u, dict)]

    def fetched(self, payloads: list[dict[str, Any]]) -> None:
        return None  # nothing to confirm: Zalo has no offset

    async def download(self, file_id: str) -> bytes:
        """Never asked: `to_incoming` reads only text messages, so no Zalo update carries a
        file. Should one, it is refused as the API refuses what it lacks (the transport then
        answers that the file could not be read)."""
        raise ZaloError(400, 400, f"files are not read from Zalo ({file_id})")

    async def close(self) -> None:
        if self.http is not None:
            await self.http.close()
            self.http = None

    async def _photo_url(self, reply: Reply) -> str | None:
        """Where Zalo can fetch the reply's chart: an unguessable, expiring address of this
        server's (bot/pages.py), when TCNS_PUBLIC_URL is public (https). Zalo sends photos by
        address only; without one the chart goes as its text."""
        picture = reply.attachment
        deps = self.deps
        if picture is None or picture.kind != "photo" or deps is None:
            return None
        if not deps.public_url.startswith("https://"):
            return None
        key = hashlib.sha256(picture.content).hexdigest()
        async with transaction(deps.sessions) as session:
            await outbox.keep_file(
                session, key=key, filename=picture.filename, mime=picture.mime,
                content=picture.content,
            )  # fmt: skip
            secret = await secrets.named(session, name=SECRET_NAME)
        token = chart_token(secret, media_key=key, now=deps.clock())
        return f"{deps.public_url}{CHART_PATH}{token}.png"

    async def send(self, chat_id: str, reply: Reply, *, reply_to: str | None) -> SendResult:
        """Plain text under 2000 characters a message, split at line boundaries; a chart by
        its address (`_photo_url`) with the first part as its caption."""
        target = chat_id.removeprefix("zalo:")
        if not reply.is_message or (reply.edit is not None and not reply.rich.lines):
            return SendResult(SendOutcome.SENT)  # no buttons, menus or deletions on Zalo
        try:
            texts = plain(reply.rich, TEXT_LIMIT)
            url = await self._photo_url(reply)
            if url is not None:
                async with self.pacer.slot(chat_id, group=False):
                    caption = texts.pop(0) if texts else ""
                    await self.call("sendPhoto", {"chat_id": target, "photo": url,
                                                  "caption": caption})  # fmt: skip
            # Zalo cannot edit a message either: an edit comes as a new one.
            for text in texts:
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
        except (aiohttp.ConnectionTimeoutError, aiohttp.ClientConnectorError) as exc:
            return SendResult(SendOutcome.RETRY, error=str(exc))  # never left
        except (aiohttp.ClientError, TimeoutError) as exc:
            # Went out, no answer: see scheduler/outbox.py, after_unknown.
            return SendResult(SendOutcome.UNKNOWN, error=str(exc))
