"""What one report costs inside tcns, without any platform: SQL statements, transactions and
milliseconds per report through `router.handle`, on a fresh SQLite file (or PostgreSQL URL).

    python -m bench.cost [--reports N] [--profile FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import event

from bench.groups import fresh_database, link_groups
from bot import app
from bot.settings import Settings
from handlers import router
from handlers.incoming import Incoming
from sandbox.telegram import FakeTelegram
from storage import db

REPORT = "/bao_cao ho=2 app=1 tt=1"


@dataclass
class Cost:
    reports: int
    statements: int
    transactions: int
    seconds: float

    def figures(self) -> dict[str, float]:
        return {
            "SQL statements per report": self.statements / self.reports,
            "transactions per report": self.transactions / self.reports,
            "ms per report (handlers)": self.seconds * 1000 / self.reports,
        }


async def measure(url: str, *, reports: int, groups: int = 16, profile: str | None = None) -> Cost:
    fake = FakeTelegram()  # only its group registry: nothing is served
    chats = await link_groups(url, fake, communes=1 + groups // 20, per=20, households=1_000_000)
    chats = chats[:groups]
    settings = Settings(_env_file=None, database_url=url)
    engine = db.create_engine(url)
    sessions = db.session_factory(engine)

    def clock() -> datetime:
        return datetime(2026, 11, 18, 9, tzinfo=UTC)  # a Wednesday morning

    deps = app.make_deps(settings, sessions, clock=clock)
    counted = {"statements": 0, "transactions": 0}

    def statement(*_args: Any) -> None:
        counted["statements"] += 1

    def begin(*_args: Any) -> None:
        counted["transactions"] += 1

    sync = engine.sync_engine
    n = 0

    async def one() -> None:
        nonlocal n
        n += 1
        chat = chats[n % len(chats)]
        await router.handle(
            deps,
            Incoming(
                platform="tg",
                chat_id=f"tg:{chat}",
                chat_kind="group",
                sender_id=f"tg:{10_000_000 + n}",
                sender_name=f"Thành viên {n}",
                text=REPORT,
                sent_at=clock(),
                message_key=f"tg:{chat}:{n}",
                update_key=f"tg:update:{n}",
            ),
        )

    for _ in range(len(chats)):  # warm-up: every chat seen once
        await one()
    event.listen(sync, "before_cursor_execute", statement)
    event.listen(sync, "begin", begin)
    profiler = cProfile.Profile() if profile else None
    started = time.perf_counter()
    if profiler:
        profiler.enable()
    for _ in range(reports):
        await one()
    if profiler:
        profiler.disable()
        profiler.dump_stats(str(profile))
    seconds = time.perf_counter() - started
    await engine.dispose()
    return Cost(reports, counted["statements"], counted["transactions"], seconds)


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.cost")
    parser.add_argument("--reports", type=int, default=500)
    parser.add_argument("--database-url")
    parser.add_argument("--profile")
    args = parser.parse_args()

    async def run() -> Cost:
        url = args.database_url or await fresh_database(
            Path(tempfile.mkdtemp(prefix="tcns-cost-")) / "cost.db"
        )
        return await measure(url, reports=args.reports, profile=args.profile)

    cost = asyncio.run(run())
    for name, value in cost.figures().items():
        print(f"{name:<30} {value:10.2f}")  # noqa: T201 (a benchmark prints)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
