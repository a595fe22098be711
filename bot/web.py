"""The aiohttp server: Telegram's webhook and /healthz."""

from __future__ import annotations

import json
import logging
import secrets
from typing import Any

from aiohttp import web
from sqlalchemy import text

from bot.telegram import WEBHOOK_PATH, TelegramTransport
from storage.db import SessionFactory

log = logging.getLogger(__name__)

TELEGRAM_SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 (a header name)
MAX_BODY = 1024 * 1024


def build(
    *, sessions: SessionFactory, telegram: TelegramTransport | None, secret: str | None
) -> web.Application:
    app = web.Application(client_max_size=MAX_BODY)

    async def healthz(_request: web.Request) -> web.Response:
        try:
            async with sessions() as session:
                await session.exec(text("SELECT 1"))  # type: ignore[call-overload]
        except Exception:
            log.exception("healthz: database unreachable")
            return web.json_response({"ok": False, "database": "unreachable"}, status=503)
        return web.json_response({"ok": True})

    async def telegram_webhook(request: web.Request) -> web.Response:
        given = request.headers.get(TELEGRAM_SECRET_HEADER, "")
        if not secret or not secrets.compare_digest(given.encode(), secret.encode()):
            return web.Response(status=401, text="unauthorized")
        try:
            data: Any = await request.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            return web.Response(status=400, text="malformed JSON")
        if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
            return web.Response(status=400, text="not an update")
        assert telegram is not None  # noqa: S101 (route only added with a transport)
        await telegram.process_webhook(data)
        return web.Response(text="ok")

    app.router.add_get("/healthz", healthz)
    if telegram is not None:
        app.router.add_post(WEBHOOK_PATH, telegram_webhook)
    return app
