"""Wiring: database, reference data, transports and the web server, for `tcns run`."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

import aiohttp
from aiohttp import web
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine
from telegram.error import InvalidToken, NetworkError, TelegramError

from bot import web as webserver
from bot.inbox import InboxWorker
from bot.metrics import Metrics
from bot.pages import Pages
from bot.settings import Settings
from bot.telegram import TelegramPlatform
from bot.transport import Transport
from bot.zalo import ZaloError, ZaloPlatform
from handlers.incoming import Deps, Messenger
from scheduler.outbox import OutboxSender
from scheduler.service import SchedulerService
from storage import db
from storage.dialect import is_postgres
from storage.leader import Leadership
from storage.reference import ensure_reference_data

log = logging.getLogger(__name__)


class ConfigurationError(Exception):
    pass


class StartupError(Exception):
    """The bot cannot start as set up; the message is one line for the operator."""


def _reason(exc: BaseException) -> str:
    """The first line of an error, for a one-line message."""
    text = str(getattr(exc, "orig", None) or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _listen_problem(settings: Settings, exc: OSError) -> str:
    where = f"port {settings.http_port} on {settings.http_host}"
    if exc.errno == errno.EADDRINUSE:
        return f"{where} is in use (set TCNS_HTTP_PORT)"
    if exc.errno == errno.EACCES:
        return f"{where} needs privileges this user lacks (set TCNS_HTTP_PORT above 1023)"
    return (
        f"cannot listen on {where}: {exc.strerror or _reason(exc)} "
        "(check TCNS_HTTP_HOST and TCNS_HTTP_PORT)"
    )


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
    telegram: Transport | None
    zalo: Transport | None
    runner: web.AppRunner
    scheduler: SchedulerService
    inbox: InboxWorker
    inbox_stop: asyncio.Event
    inbox_task: asyncio.Task[None]
    sender: OutboxSender
    sender_stop: asyncio.Event
    sender_task: asyncio.Task[None]
    stopped: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def port(self) -> int:
        return int(self.runner.addresses[0][1])

    async def stop(self) -> None:
        self.inbox_stop.set()
        self.inbox.wake.set()
        await self.inbox_task
        await self.scheduler.stop()
        self.sender_stop.set()
        await self.sender_task
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


def transports(
    settings: Settings,
    deps: Deps,
    *,
    inbox: InboxWorker | None = None,
    metrics: Metrics | None = None,
) -> tuple[Transport | None, Transport | None]:
    """Telegram's and Zalo's drivers, for the platforms that have a token."""
    secret = settings.webhook_secret.get_secret_value() if settings.webhook_secret else None

    def driven(platform: TelegramPlatform | ZaloPlatform) -> Transport:
        return Transport(
            platform,
            deps,
            inbox=inbox,
            webhook_url=settings.webhook_base_url,
            secret=secret,
            metrics=metrics,
        )

    return (
        driven(TelegramPlatform(settings)) if settings.telegram_token else None,
        driven(ZaloPlatform(settings)) if settings.zalo_token else None,
    )


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
        public_url=settings.web_url,
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
    """Everything `tcns run` serves. What the operator can fix (a port in use, an API out of
    reach, a refused token, a database away) raises StartupError with one line saying which
    setting to look at, after undoing what had started."""
    check(settings)
    try:
        engine, sessions = await prepare_database(settings)
    except (OSError, SQLAlchemyError) as exc:
        raise StartupError(
            f"cannot open the database at {db.redacted_url(settings.database_url)}: "
            f"{_reason(exc)} (check TCNS_DATABASE_URL)"
        ) from exc
    async with contextlib.AsyncExitStack() as undo:
        undo.push_async_callback(engine.dispose)
        deps = make_deps(settings, sessions, clock=clock)
        metrics = Metrics()
        deps.observer = metrics
        worker = InboxWorker(sessions, workers=settings.workers, rounds=not is_postgres(engine))
        telegram, zalo = transports(settings, deps, inbox=worker, metrics=metrics)
        inbox_stop = asyncio.Event()
        inbox_task = asyncio.create_task(worker.run(inbox_stop))

        async def stop_inbox() -> None:
            inbox_stop.set()
            worker.wake.set()
            await inbox_task

        undo.push_async_callback(stop_inbox)
        token = settings.telegram_token.get_secret_value() if settings.telegram_token else None
        app = webserver.build(
            sessions=sessions,
            transports=[t for t in (telegram, zalo) if t is not None],
            metrics=metrics,
            pages=Pages(deps, bot_token=token, telegram=telegram),
        )
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        undo.push_async_callback(runner.cleanup)
        try:
            await web.TCPSite(runner, settings.http_host, settings.http_port).start()
        except OSError as exc:
            raise StartupError(_listen_problem(settings, exc)) from exc
        if telegram is not None:
            undo.push_async_callback(telegram.stop)
            try:
                await telegram.start()
            except InvalidToken as exc:
                raise StartupError(
                    "Telegram refused the token (check TCNS_TELEGRAM_TOKEN)"
                ) from exc
            except NetworkError as exc:  # TimedOut too
                raise StartupError(
                    f"cannot reach the Telegram Bot API at {settings.telegram_api_url} "
                    "(check TCNS_TELEGRAM_API_URL and the network)"
                ) from exc
            except TelegramError as exc:
                hint = "TCNS_WEBHOOK_BASE_URL" if telegram.webhook else "TCNS_TELEGRAM_API_URL"
                raise StartupError(
                    f"the Telegram Bot API refused to start the bot: {_reason(exc)} (check {hint})"
                ) from exc
        if zalo is not None:
            undo.push_async_callback(zalo.stop)
            try:
                await zalo.start()
            except ZaloError as exc:
                if exc.status in (401, 403) or exc.code in (401, 403):
                    raise StartupError("Zalo refused the token (check TCNS_ZALO_TOKEN)") from exc
                hint = "TCNS_WEBHOOK_BASE_URL" if zalo.webhook else "TCNS_ZALO_API_URL"
                raise StartupError(
                    f"the Zalo Bot API refused to start the bot: {_reason(exc)} (check {hint})"
                ) from exc
            except (aiohttp.ClientError, TimeoutError) as exc:
                raise StartupError(
                    f"cannot reach the Zalo Bot API at {settings.zalo_api_url} "
                    "(check TCNS_ZALO_API_URL and the network)"
                ) from exc
        messengers: list[Messenger] = [m for m in (telegram, zalo) if m is not None]
        # The one sender of the process: replies, notices and scheduled posts alike.
        # A commit that writes into the outbox tells it which chats (storage.outbox.watch).
        sender = OutboxSender(deps, messengers)
        for transport in (telegram, zalo):
            if transport is not None:
                transport.sender = sender
        sender_stop = asyncio.Event()
        sender_task = asyncio.create_task(sender.run(sender_stop))

        async def stop_sender() -> None:
            sender_stop.set()
            await sender_task

        undo.push_async_callback(stop_sender)
        scheduler = SchedulerService(deps, sender, Leadership(engine))
        scheduler.tick_seconds = settings.scheduler_tick
        if schedule:
            await scheduler.start()
        undo.pop_all()  # started: from here on Running.stop undoes it
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
        sender=sender,
        sender_stop=sender_stop,
        sender_task=sender_task,
    )
