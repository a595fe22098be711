"""A fault-injecting proxy between a bot and the sandbox Bot API: Telegram having a bad minute,
on demand, and a witness of what the bot did meanwhile.

Modes, for the methods that send into a chat (the polling of updates passes, as when only
Telegram's sending side is unwell):
- "pass": forwarded as they are;
- "502": answered 502 Bad Gateway, not forwarded;
- "timeout": held and never answered (the bot's read timeout ends it); `forward` decides whether
  the request reached the server first (the answer lost) or not (the request lost);
- "429": answered 429 with `retry_after`, and the chat held that long: the proxy records every
  call into a held chat before its time (`early`), which the bot must never make;
- "reset": the connection cut, before forwarding or (`forward`) after.

Every call into a chat that reached the server is in `delivered`, in order, with the time.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

from sandbox.loopback import LoopbackServer

# Methods that act in a chat; the others (getUpdates, getMe, setMyCommands…) pass.
CHAT_METHODS = frozenset({
    "sendmessage", "sendphoto", "senddocument", "editmessagetext",
    "editmessagereplymarkup", "deletemessage", "answercallbackquery", "setchatmenubutton",
})  # fmt: skip


@dataclass
class FaultProxy(LoopbackServer):
    target: str  # the sandbox's base URL
    mode: str = "pass"
    forward: bool = False  # "timeout", "reset": after the server had the request
    retry_after: int = 5
    hold: float = 30.0  # how long a "timeout" holds a request
    held_until: dict[str, float] = field(default_factory=dict)  # chat -> end of its 429
    early: list[tuple[str, str, float]] = field(default_factory=list)  # (chat, method, early by)
    delivered: list[tuple[str, str, float]] = field(default_factory=list)  # (chat, method, at)
    faults: int = 0

    def __post_init__(self) -> None:
        self._runner: web.AppRunner | None = None
        self._pusher: asyncio.Task[None] | None = None
        self.port = 0
        self._http: aiohttp.ClientSession | None = None

    def routes(self, app: web.Application) -> None:
        app.router.add_route("*", "/{path:.*}", self._handle)

    async def stop(self) -> None:
        if self._http is not None:
            await self._http.close()
        await super().stop()

    @staticmethod
    def _chat(method: str, body: bytes, content_type: str) -> str | None:
        if method not in CHAT_METHODS:
            return None
        if content_type == "application/json":
            with contextlib.suppress(ValueError):
                data = json.loads(body or b"{}")
                if isinstance(data, dict) and "chat_id" in data:
                    return str(data["chat_id"])
                if isinstance(data, dict) and "callback_query_id" in data:
                    return "callback"
            return None
        marker = b'name="chat_id"'
        if marker in body:  # multipart: the field's value follows a blank line
            rest = body.split(marker, 1)[1].split(b"\r\n\r\n", 1)[-1]
            return rest.split(b"\r\n", 1)[0].decode(errors="replace")
        return None

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        path = request.match_info["path"]
        method = path.rsplit("/", 1)[-1].lower()
        body = await request.read()
        chat = self._chat(method, body, request.content_type)
        now = time.monotonic()
        if chat is not None and chat in self.held_until and now < self.held_until[chat]:
            self.early.append((chat, method, self.held_until[chat] - now))
        faulty = chat is not None and self.mode != "pass"
        if faulty:
            self.faults += 1
        if faulty and self.mode == "502":
            return web.json_response(
                {"ok": False, "error_code": 502, "description": "Bad Gateway"}, status=502
            )
        if faulty and self.mode == "429":
            assert chat is not None  # noqa: S101 (faulty)
            self.held_until[chat] = now + self.retry_after
            return web.json_response(
                {
                    "ok": False,
                    "error_code": 429,
                    "description": f"Too Many Requests: retry after {self.retry_after}",
                    "parameters": {"retry_after": self.retry_after},
                },
                status=429,
            )
        if faulty and self.mode in ("timeout", "reset") and not self.forward:
            return await self._fail(request)
        answer = await self._forward(request, path, body)
        if chat is not None and answer.status < 300:
            self.delivered.append((chat, method, time.monotonic()))
        if faulty and self.mode in ("timeout", "reset"):
            return await self._fail(request)
        return answer

    async def _fail(self, request: web.Request) -> web.StreamResponse:
        if self.mode == "timeout":
            await asyncio.sleep(self.hold)
            return web.Response(status=504)
        transport = request.transport
        if transport is not None:
            transport.abort()  # a connection reset
        return web.Response(status=500)

    async def _forward(self, request: web.Request, path: str, body: bytes) -> web.Response:
        if self._http is None:
            self._http = aiohttp.ClientSession()
        headers = {k: v for k, v in request.headers.items()
                   if k.lower() in ("content-type",)}  # fmt: skip
        async with self._http.request(
            request.method, f"{self.target}/{path}", data=body, headers=headers,
            params=request.query,
        ) as upstream:  # fmt: skip
            content = await upstream.read()
            return web.Response(
                body=content, status=upstream.status, content_type=upstream.content_type
            )


def chats_in_order(proxy: FaultProxy, chat: str) -> list[tuple[str, float]]:
    """The calls that reached the server in one chat, in order."""
    return [(method, at) for c, method, at in proxy.delivered if c == chat]


def summary(proxy: FaultProxy) -> dict[str, Any]:
    return {"faults": proxy.faults, "early": len(proxy.early), "delivered": len(proxy.delivered)}
