"""Wiring: database, reference data, transports and the web server, for `tcns run`."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine

from bot import web as webserver
from bot.inbox import InboxWorker
from bot.metrics import Metrics
from bot.settings import Settings
from bot.telegram import TelegramTransport
from bot.zalo import ZaloTransport
from handlers.incoming import Deps, Messenger
from scheduler.service import SchedulerService
from storage import db
from storage.leader import Leadership
from storage.reference import ensure_reference_data

log = logging.getLogger(__name__)


class ConfigurationError(Exception):
    pass


async def prepare_database(settings: Settings) -> tuple[AsyncEngine, db.SessionFactory]:
    """Migrations, then the reference data a fresh database lacks."""
    engine = db.create_engine(settings.database_url)
    await db.upgrade(engine)
    sessions = db.session_factory(engine)
    async with db.transaction(sessions) as session:
        await ensure_reference_data(session)
    return engine, sessions


@dataclass
class Running:
    engine: AsyncEngine
    deps: Deps
    telegram: TelegramTransport | None
    zalo: ZaloTransport | None
    runner: web.AppRunner
    scheduler: SchedulerService
    inbox: InboxWorker
    inbox_stop: asyncio.Event
    inbox_task: asyncio.Task[None]
    stopped: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def port(self) -> int:
        return int(self.runner.addresses[0][1])

    async def stop(self) -> None:
        self.inbox_stop.set()
        self.inbox.wake.set()
        await self.inbox_task
        await self.scheduler.stop()
        if self.telegram is not None:
            await self.telegram.stop()
        if self.zalo is not None:
            await self.zalo.stop()
        await self.runner.cleanup()
        await self.engine.dispose()
        self.stopped.set()


def check(settings: Settings) -> None:
    if settings.telegram_token is None and settings.zalo_token is None:
        raise ConfigurationError("set TCNS_TELEGRAM_TOKEN (or TCNS_ZALO_TOKEN) to run the bot")
    if settings.webhook_base_url and not settings.webhook_secret:
        raise ConfigurationError("webhook mode needs TCNS_WEBHOOK_SECRET")
    secret = settings.webhook_secret.get_secret_value() if settings.webhook_secret else ""
    if settings.webhook_base_url and settings.zalo_token and not 8 <= len(secret) <= 256:
        raise ConfigurationError("Zalo wants TCNS_WEBHOOK_SECRET of 8 to 256 characters")


def make_deps(
    settings: Settings,
    sessions: db.SessionFactory,
    *,
    clock: Callable[[], datetime] | None = None,
) -> Deps:
    """The handlers' dependencies; `clock` is the business "now" (the system's by default;
    tests and the demo run at dates of their own)."""
    deps = Deps(
        sessions=sessions,
        superadmins=settings.superadmin_ids,
        timezone=settings.timezone,
        default_locale=settings.locale,
    )
    if clock is not None:
        deps.clock = clock
    return deps


async def start(
    settings: Settings,
    *,
    schedule: bool = True,
    clock: Callable[[], datetime] | None = None,
) -> Running:
    check(settings)
    engine, sessions = await prepare_database(settings)
    deps = make_deps(settings, sessions, clock=clock)
    metrics = Metrics()
    deps.observer = metrics
    worker = InboxWorker(sessions)
    telegram = TelegramTransport(settings, deps, worker) if settings.telegram_token else None
    zalo = ZaloTransport(settings, deps, worker) if settings.zalo_token else None
    if telegram is not None:
        worker.processors["tg"] = telegram.process_payload
    if zalo is not None:
        worker.processors["zalo"] = zalo.process
    inbox_stop = asyncio.Event()
    inbox_task = asyncio.create_task(worker.run(inbox_stop))
    secret = settings.webhook_secret.get_secret_value() if settings.webhook_secret else None
    if telegram is not None:
        telegram.metrics = metrics
    if zalo is not None:
        zalo.metrics = metrics
    app = webserver.build(
        sessions=sessions, telegram=telegram, secret=secret, zalo=zalo, metrics=metrics
    )
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, settings.http_host, settings.http_port).start()
    if telegram is not None:
        await telegram.start()
    if zalo is not None:
        await zalo.start()
    messengers: list[Messenger] = [m for m in (telegram, zalo) if m is not None]
    scheduler = SchedulerService(deps, messengers, Leadership(engine))
    scheduler.tick_seconds = settings.scheduler_tick
    if schedule:
        await scheduler.start()
    log.info("tcns: serving on %s:%s", settings.http_host, settings.http_port)
    return Running(
        engine=engine,
        deps=deps,
        telegram=telegram,
        zalo=zalo,
        runner=runner,
        scheduler=scheduler,
        inbox=worker,
        inbox_stop=inbox_stop,
        inbox_task=inbox_task,
    )
