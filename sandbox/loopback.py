"""The part every local fake server shares: listening on 127.0.0.1 and stopping promptly."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Self

from aiohttp import web


class LoopbackServer:
    port: int
    _runner: web.AppRunner | None
    _pusher: asyncio.Task[None] | None  # webhook delivery, when a webhook is set

    def routes(self, app: web.Application) -> None:
        raise NotImplementedError

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> Self:
        app = web.Application()
        self.routes(app)
        # Stopping must not wait for a long poll nobody will read any more.
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self.port = int(self._runner.addresses[0][1])
        return self

    async def stop(self) -> None:
        if self._pusher is not None:
            self._pusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._pusher
        if self._runner is not None:
            await self._runner.cleanup()
