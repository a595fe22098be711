"""Dashboard: how long the web dashboard of a commune (20 villages, 10,000 reports with their
running totals) and of one of its villages takes to be served, over HTTP from the bot's own
aiohttp server (bot/pages.py) with its link and its holder's rights checked, on SQLite. Goal:
under 200 ms.

`python -m bench.dashboard [RUNS]` runs it alone.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import aiohttp
from aiohttp import web
from sqlmodel import func, select

from bench.groups import fresh_database
from bench.national import WEEK_END, Shape, build
from bot.page_guard import PageGuard
from bot.pages import Pages
from handlers.incoming import Deps
from handlers.weblinks import ROLES, grant
from storage import db
from storage.models import Unit

SHAPE = Shape(villages_per_commune=20, members=160, reports=10_000, communes=1)


async def measure(workdir: Path, *, runs: int = 30) -> dict[str, float]:
    path = workdir / "dashboard.db"
    await fresh_database(path)
    await asyncio.to_thread(build, path, SHAPE)
    engine = db.create_engine(f"sqlite+aiosqlite:///{path}")
    sessions = db.session_factory(engine)
    now = datetime(
        WEEK_END.year, WEEK_END.month, WEEK_END.day, 10, tzinfo=ZoneInfo("Asia/Ho_Chi_Minh")
    )
    # The links' holder: a superadmin, whose rights every request finds still held.
    holder = "bench:admin"
    deps = Deps(sessions=sessions, superadmins=frozenset({holder}), clock=lambda: now)
    async with db.transaction(sessions) as session:
        village = (await session.exec(select(Unit).where(Unit.level == "village").limit(1))).one()
        commune = (await session.exec(select(Unit).where(Unit.id == village.parent_id))).one()
        villages = (
            await session.exec(
                select(func.count()).select_from(Unit).where(Unit.parent_id == commune.id)
            )
        ).one()
        assert commune.id is not None  # noqa: S101 (stored)
        assert village.id is not None  # noqa: S101 (stored)
        tokens = {
            name: (
                await grant(session, kind="dashboard", unit_id=unit_id, role=role,
                            language="vi", now=now, person_id=holder)
            ).token
            for name, unit_id, role in (
                ("commune", commune.id, ROLES[2]), ("village", village.id, ROLES[1])
            )
        }  # fmt: skip
    application = web.Application()
    # One link asked for over and over: as fast as it can be served, not as a person would.
    guard = PageGuard(burst=runs + 1, per_second=1000)
    Pages(deps, bot_token=None, guard=guard).add_to(application)
    runner = web.AppRunner(application, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    figures: dict[str, float] = {"villages": float(villages), "reports": float(SHAPE.reports)}
    try:
        async with aiohttp.ClientSession() as http:
            for name, token in tokens.items():
                url = f"http://127.0.0.1:{port}/web/d/{token}"
                samples: list[float] = []
                size = 0
                for n in range(runs + 1):
                    started = time.perf_counter()
                    async with http.get(url) as response:
                        body = await response.read()
                        if response.status != 200:
                            raise RuntimeError(f"{name} dashboard: HTTP {response.status}")
                    if n:  # the first request warms the caches up
                        samples.append((time.perf_counter() - started) * 1000)
                    size = len(body)
                figures[f"{name} p50 (ms)"] = statistics.median(samples)
                figures[f"{name} p95 (ms)"] = statistics.quantiles(
                    samples, n=20, method="inclusive"
                )[18]
                figures[f"{name} max (ms)"] = max(samples)
                figures[f"{name} page (KB)"] = size / 1024
    finally:
        await runner.cleanup()
        await engine.dispose()
        path.unlink(missing_ok=True)
    return figures


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 30
    figures = asyncio.run(measure(Path(tempfile.mkdtemp(prefix="tcns-bench-")), runs=runs))
    for name, value in figures.items():
        print(f"{name:<24} {value:10,.2f}")  # noqa: T201 (a benchmark prints)


if __name__ == "__main__":
    main()
