"""The aiohttp server: each transport's webhook, /healthz, /metrics and the pages under /web/."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from aiohttp import web

from bot.metrics import Metrics
from bot.pages import Pages, safe_headers
from bot.transport import Transport
from storage import db
from storage.db import SessionFactory

log = logging.getLogger(__name__)

MAX_BODY = 1024 * 1024


def build(
    *,
    sessions: SessionFactory,
    transports: Sequence[Transport] = (),
    metrics: Metrics | None = None,
    pages: Pages | None = None,
) -> web.Application:
    app = web.Application(
        client_max_size=MAX_BODY, middlewares=[safe_headers] if pages is not None else []
    )

    async def healthz(_request: web.Request) -> web.Response:
        try:
            await db.ping(sessions)
        except Exception:
            log.exception("healthz: database unreachable")
            return web.json_response({"ok": False, "database": "unreachable"}, status=503)
        return web.json_response({"ok": True})

    async def metrics_page(_request: web.Request) -> web.Response:
        assert metrics is not None  # noqa: S101 (route only added with metrics)
        body = await metrics.render(sessions)
        return web.Response(body=body, content_type="text/plain", charset="utf-8")

    app.router.add_get("/healthz", healthz)
    if metrics is not None:
        app.router.add_get("/metrics", metrics_page)
    for transport in transports:
        app.router.add_post(*transport.route())
    if pages is not None:
        pages.add_to(app)
    return app
