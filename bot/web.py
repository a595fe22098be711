"""The aiohttp server: Telegram's webhook and /healthz."""

from __future__ import annotations

import json
import logging
import secrets
from typing import Any

from aiohttp import web
from sqlalchemy import text

from bot.metrics import Metrics
from bot.telegram import WEBHOOK_PATH, TelegramTransport
from bot.zalo import SECRET_HEADER as ZALO_SECRET_HEADER
from bot.zalo import WEBHOOK_PATH as ZALO_WEBHOOK_PATH
from bot.zalo import ZaloTransport
from storage.db import SessionFactory

log = logging.getLogger(__name__)

TELEGRAM_SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 (a header name)
MAX_BODY = 1024 * 1024


def _authorised(request: web.Request, header: str, secret: str | None) -> bool:
    given = request.headers.get(header, "")
    return bool(secret) and secrets.compare_digest(given.encode(), (secret or "").encode())


async def _json(request: web.Request) -> Any:
    try:
        return await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None


def build(
    *,
    sessions: SessionFactory,
    telegram: TelegramTransport | None,
    secret: str | None,
    zalo: ZaloTransport | None = None,
    metrics: Metrics | None = None,
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
        if not _authorised(request, TELEGRAM_SECRET_HEADER, secret):
            return web.Response(status=401, text="unauthorized")
        data = await _json(request)
        if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
            return web.Response(status=400, text="not an update")
        assert telegram is not None  # noqa: S101 (route only added with a transport)
        try:
            await telegram.accept([data])
        except Exception:
            log.exception("telegram webhook: could not store the update")
            return web.Response(status=503, text="try again")  # Telegram will redeliver
        return web.Response(text="ok")

    async def zalo_webhook(request: web.Request) -> web.Response:
        if not _authorised(request, ZALO_SECRET_HEADER, secret):
            return web.Response(status=401, text="unauthorized")
        data = await _json(request)
        if isinstance(data, dict) and isinstance(data.get("result"), dict):
            data = data["result"]  # the getUpdates envelope, should a caller send it
        if not isinstance(data, dict) or "event_name" not in data:
            return web.Response(status=400, text="not an update")
        assert zalo is not None  # noqa: S101 (route only added with a transport)
        try:
            await zalo.accept(data)
        except Exception:
            log.exception("zalo webhook: could not store the update")
            return web.Response(status=503, text="try again")
        return web.json_response({"ok": True})

    async def metrics_page(_request: web.Request) -> web.Response:
        assert metrics is not None  # noqa: S101 (route only added with metrics)
        body = await metrics.render(sessions)
        return web.Response(body=body, content_type="text/plain", charset="utf-8")

    app.router.add_get("/healthz", healthz)
    if metrics is not None:
        app.router.add_get("/metrics", metrics_page)
    if telegram is not None:
        app.router.add_post(WEBHOOK_PATH, telegram_webhook)
    if zalo is not None:
        app.router.add_post(ZALO_WEBHOOK_PATH, zalo_webhook)
    return app
