"""The `tcns` command."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys

from pydantic import ValidationError

from bot import app, logs
from bot.settings import Settings
from storage import db

log = logging.getLogger("tcns")


async def _run(settings: Settings) -> None:
    running = await app.start(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    log.info("tcns: stopping")
    await running.stop()


async def _upgrade(settings: Settings) -> None:
    engine, _sessions = await app.prepare_database(settings)
    await engine.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tcns", description="Bot for community digital teams")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("run", help="run the bot (long polling, or webhooks with a base URL)")
    dbp = sub.add_parser("db", help="database maintenance")
    dbsub = dbp.add_subparsers(dest="db_command", required=True)
    dbsub.add_parser("upgrade", help="apply migrations and load reference data")
    args = parser.parse_args(argv)

    try:
        settings = Settings()
    except ValidationError as exc:
        print(f"tcns: bad settings:\n{exc}", file=sys.stderr)  # noqa: T201 (CLI output)
        return 2
    logs.configure(settings)
    try:
        if args.command == "run":
            asyncio.run(_run(settings))
        elif args.command == "db":
            asyncio.run(_upgrade(settings))
            print(f"tcns: database at {db.redacted_url(settings.database_url)} is up to date")  # noqa: T201
    except app.ConfigurationError as exc:
        print(f"tcns: {exc}", file=sys.stderr)  # noqa: T201 (CLI output)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
