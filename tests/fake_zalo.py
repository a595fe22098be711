"""A local Zalo Bot API server, faithful to what is known of the real one.

`POST /bot{token}/{method}` with JSON; answers `{"ok": true, "result": …}` or `{"ok": false,
"error_code": N, "description": "…"}`. `getUpdates` hands out one update per call, with no
update_id, and answers HTTP 408 when nothing comes within `timeout`; it refuses while a webhook is
set. `sendMessage` takes `chat_id` and `text` of 1–2000 characters. Webhook calls carry the secret
in `X-Bot-Api-Secret-Token`. Ids are hex strings; a private chat's id is not its user's id.
"""

from __future__ import annotations

import asyncio
import itertools
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

from sandbox.loopback import LoopbackServer

# method -> (required fields, optional fields)
METHODS: dict[str, tuple[set[str], set[str]]] = {
    "getme": (set(), set()),
    "getupdates": (set(), {"timeout"}),
    "setwebhook": ({"url", "secret_token"}, set()),
    "deletewebhook": (set(), set()),
    "getwebhookinfo": (set(), set()),
    "sendmessage": ({"chat_id", "text"}, set()),
    "sendphoto": ({"chat_id", "photo"}, {"caption"}),
    "sendchataction": ({"chat_id", "action"}, set()),
}


class ZaloApiError(Exception):
    def __init__(self, status: int, description: str) -> None:
        super().__init__(description)
        self.status, self.description = status, description


@dataclass
class ZaloUser:
    id: str
    display_name: str
    chat_id: str


@dataclass
class FakeZalo(LoopbackServer):
    token: str = "3121907645830011:ZALOtestTOKENforTHEfake"
    users: dict[str, ZaloUser] = field(default_factory=dict)
    sent: list[tuple[str, str]] = field(default_factory=list)  # (chat id, text)
    photos: list[tuple[str, str, str]] = field(default_factory=list)  # (chat id, url, caption)
    errors: list[tuple[str, int, str]] = field(default_factory=list)
    idle_polls: int = 0  # getUpdates calls answered 408
    webhook_url: str | None = None
    webhook_secret: str | None = None
    # What "now" is for message dates (seconds since the epoch): tests run weeks at fixed dates.
    clock: Callable[[], float] = time.time

    def __post_init__(self) -> None:
        self._updates: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._delivered: list[dict[str, Any]] = []
        self._new_sent = asyncio.Condition()
        self._names = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self._pusher: asyncio.Task[None] | None = None
        self.port = 0

    def add_user(self, display_name: str) -> ZaloUser:
        user = ZaloUser(secrets.token_hex(8), display_name, secrets.token_hex(8))
        self.users[user.id] = user
        return user

    def by_chat(self, chat_id: str) -> ZaloUser | None:
        return next((u for u in self.users.values() if u.chat_id == chat_id), None)

    async def user_sends(self, user: ZaloUser, text: str, *, event: str = "message.text.received"
                         ) -> dict[str, Any]:  # fmt: skip
        message: dict[str, Any] = {
            "message_id": secrets.token_hex(16),
            "date": int(self.clock() * 1000),
            "chat": {"id": user.chat_id, "chat_type": "PRIVATE"},
            "from": {"id": user.id, "is_bot": False, "display_name": user.display_name},
        }
        if event == "message.text.received":
            message["text"] = text
        update = {"event_name": event, "message": message}
        await self._updates.put(update)
        return update

    def drained(self) -> bool:
        """Every update sent so far has been handed to the bot."""
        return self._updates.empty()

    async def redeliver(self, update: dict[str, Any]) -> None:
        await self._updates.put(update)

    def texts_to(self, user: ZaloUser) -> list[str]:
        return [t for c, t in self.sent if c == user.chat_id]

    async def wait_texts(self, user: ZaloUser, count: int, *, within: float = 10) -> list[str]:
        async with asyncio.timeout(within), self._new_sent:
            await self._new_sent.wait_for(lambda: len(self.texts_to(user)) >= count)
        return self.texts_to(user)

    # --- the server ------------------------------------------------------------------------

    def routes(self, app: web.Application) -> None:
        app.router.add_post("/bot{token}/{method}", self._handle)

    async def _handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"].lower()
        try:
            if request.match_info["token"] != self.token:
                raise ZaloApiError(401, "Unauthorized")
            if method not in METHODS:
                raise ZaloApiError(404, "Not Found")
            try:
                params = await request.json() if request.can_read_body else {}
            except ValueError as exc:
                raise ZaloApiError(400, "Bad Request: body is not JSON") from exc
            if not isinstance(params, dict):
                raise ZaloApiError(400, "Bad Request: body is not an object")
            required, optional = METHODS[method]
            for name in params:
                if name not in required | optional:
                    raise ZaloApiError(400, f"Bad Request: unknown field {name}")
            for name in required:
                if params.get(name) in (None, ""):
                    raise ZaloApiError(400, f"Bad Request: {name} is required")
            result = await getattr(self, f"_m_{method}")(params)
        except ZaloApiError as exc:
            if exc.status != 408:
                self.errors.append((method, exc.status, exc.description))
            return web.json_response(
                {"ok": False, "error_code": exc.status, "description": exc.description},
                status=exc.status,
            )
        return web.json_response({"ok": True, "result": result})

    async def _m_getme(self, _p: dict[str, Any]) -> dict[str, Any]:
        return {"id": "7a1b2c3d", "account_name": "tcns_bot", "account_type": "BASIC",
                "can_join_groups": False}  # fmt: skip

    async def _m_getupdates(self, params: dict[str, Any]) -> dict[str, Any]:
        if self.webhook_url:
            raise ZaloApiError(
                400, "Bad Request: getUpdates is not available while a webhook is set"
            )
        timeout = float(params.get("timeout", 30))
        try:
            async with asyncio.timeout(timeout):
                update = await self._updates.get()
        except TimeoutError:
            self.idle_polls += 1
            raise ZaloApiError(408, "Request timeout") from None
        self._delivered.append(update)
        return update

    async def _m_setwebhook(self, params: dict[str, Any]) -> dict[str, Any]:
        secret = str(params["secret_token"])
        if not 8 <= len(secret) <= 256:
            raise ZaloApiError(400, "Bad Request: secret_token must have 8 to 256 characters")
        self.webhook_url, self.webhook_secret = str(params["url"]), secret
        if self._pusher is None:
            self._pusher = asyncio.create_task(self._push())
        return {"url": self.webhook_url}

    async def _m_deletewebhook(self, _p: dict[str, Any]) -> dict[str, Any]:
        self.webhook_url = None
        return {"url": ""}

    async def _m_getwebhookinfo(self, _p: dict[str, Any]) -> dict[str, Any]:
        return {"url": self.webhook_url or ""}

    def _chat(self, params: dict[str, Any]) -> str:
        chat_id = params["chat_id"]
        if not isinstance(chat_id, str):
            raise ZaloApiError(400, "Bad Request: chat_id must be a string")
        if self.by_chat(chat_id) is None:
            raise ZaloApiError(400, "Bad Request: chat not found")
        return chat_id

    async def _m_sendmessage(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_id = self._chat(params)
        text = params["text"]
        if not isinstance(text, str) or not 1 <= len(text) <= 2000:
            raise ZaloApiError(400, "Bad Request: text must have 1 to 2000 characters")
        self.sent.append((chat_id, text))
        async with self._new_sent:
            self._new_sent.notify_all()
        return {"message_id": secrets.token_hex(16), "date": int(self.clock() * 1000)}

    async def _m_sendphoto(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_id = self._chat(params)
        if not str(params["photo"]).startswith(("http://", "https://")):
            raise ZaloApiError(400, "Bad Request: photo must be a URL")
        caption = params.get("caption", "")
        if not isinstance(caption, str) or len(caption) > 2000:
            raise ZaloApiError(400, "Bad Request: caption must have at most 2000 characters")
        self.photos.append((chat_id, str(params["photo"]), caption))
        async with self._new_sent:
            self._new_sent.notify_all()
        return {"message_id": secrets.token_hex(16), "date": int(self.clock() * 1000)}

    async def _m_sendchataction(self, params: dict[str, Any]) -> bool:
        self._chat(params)
        if params["action"] != "typing":
            raise ZaloApiError(400, "Bad Request: unknown action")
        return True

    async def _push(self) -> None:
        """Webhook delivery: each update POSTed with the secret until answered 2xx."""
        async with aiohttp.ClientSession() as http:
            while True:
                update = await self._updates.get()
                while self.webhook_url:
                    headers = {"X-Bot-Api-Secret-Token": self.webhook_secret or ""}
                    try:
                        async with http.post(self.webhook_url, json=update, headers=headers) as r:
                            if 200 <= r.status < 300:
                                break
                    except aiohttp.ClientError:
                        pass
                    await asyncio.sleep(0.2)
