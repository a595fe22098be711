"""Pages beside the chats: does a commune's dashboard, asked for fifty times a second, slow the
groups' reports? `tcns run` (SQLite on a file) serves 20 village groups of one commune that
report at a steady rate, and its web server the commune's dashboard at 50 requests a second:
once through one leaked link (which its per-link limit answers 429 after a few), once through
50 people's links (each asked once a second, every request a page to build). The reports'
latency (update offered to answer accepted by the sandbox) is measured beside the same report
load without pages.

`python -m bench.pages [SECONDS]` runs it alone.
"""

from __future__ import annotations

import asyncio
import collections
import socket
import statistics
import sys
import tempfile
import time
from collections.abc import Coroutine
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
from sqlmodel import select

from bench.groups import fresh_database, link_groups
from bench.ingest import UNLIMITED, bot_env, settle_rounds
from bench.process import spawn, stop
from handlers.weblinks import grant
from sandbox.telegram import FakeTelegram, Sent
from storage import db
from storage.models import Chat, Unit

GROUPS = 20
TEAM = 8
REPORTS_PER_SECOND = 10
PAGES_PER_SECOND = 50
HOLDER = "tg:424242"  # the links' holder: a superadmin of the run
REPORT = "/bao_cao ho=1 app=1"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _links(url: str, count: int) -> list[str]:
    """`count` admin's links to the commune's dashboard (as `/theo_doi` gives them)."""
    engine = db.create_engine(url)
    try:
        async with db.transaction(db.session_factory(engine)) as session:
            chat = (await session.exec(select(Chat).limit(1))).one()
            village = await session.get(Unit, chat.unit_id)
            assert village is not None  # noqa: S101 (linked)
            assert village.parent_id is not None  # noqa: S101 (a village)
            now = datetime.now(UTC)
            return [
                (
                    await grant(session, kind="dashboard", unit_id=village.parent_id,
                                role="admin", language="vi", now=now, person_id=HOLDER)
                ).token
                for _ in range(count)
            ]  # fmt: skip
    finally:
        await engine.dispose()


class Reports:
    """Reports sent at a steady rate, round the groups and their members; each one's latency
    from being offered to its confirmation being accepted."""

    def __init__(self, fake: FakeTelegram, groups: list[int]) -> None:
        self.fake = fake
        self.groups = groups
        self.offered: dict[int, collections.deque[float]] = collections.defaultdict(
            collections.deque
        )
        self.latencies: list[float] = []
        self.recording = False
        fake.on_sent = self._answered
        for n in range(len(groups)):
            for k in range(TEAM):
                fake.add_user(self._member(n, k), "Thành viên", f"{n}-{k}")

    @staticmethod
    def _member(group: int, k: int) -> int:
        return 20_000_000 + group * TEAM + k

    def _answered(self, sent: Sent) -> None:
        if sent.method != "sendmessage":
            return
        waiting = self.offered.get(sent.chat_id or 0)
        # Confirmations waiting for the same chat leave as one message: one "Đã ghi" each.
        for _confirmation in range((sent.text or "").count("Đã ghi")):
            if not waiting:
                return
            offered = waiting.popleft()
            if self.recording:
                self.latencies.append(sent.at - offered)

    async def run(self, seconds: float) -> None:
        turn = 0
        started = time.monotonic()
        sending: set[asyncio.Task[object]] = set()
        while time.monotonic() - started < seconds:
            n = turn % len(self.groups)
            chat = self.groups[n]
            self.offered[chat].append(time.monotonic())
            user = self._member(n, (turn // len(self.groups)) % TEAM)
            task = asyncio.ensure_future(self.fake.user_sends(chat, user, REPORT))
            sending.add(task)
            task.add_done_callback(sending.discard)
            turn += 1
            await asyncio.sleep(1 / REPORTS_PER_SECOND)
        await asyncio.gather(*sending)
        deadline = time.monotonic() + 30
        # The last answers: polled, as the sandbox's callback only counts them.
        while any(self.offered.values()) and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.05)


async def _pages(
    http: aiohttp.ClientSession, base: str, links: list[str], seconds: float
) -> dict[int, int]:
    """PAGES_PER_SECOND requests a second, open loop, the links in turn; answers by status."""
    statuses: collections.Counter[int] = collections.Counter()

    async def one(token: str) -> None:
        try:
            async with http.get(f"{base}/web/d/{token}") as response:
                await response.read()
                statuses[response.status] += 1
        except aiohttp.ClientError:
            statuses[0] += 1

    started = time.monotonic()
    tasks = []
    n = 0
    while time.monotonic() - started < seconds:
        tasks.append(asyncio.ensure_future(one(links[n % len(links)])))
        n += 1
        await asyncio.sleep(1 / PAGES_PER_SECOND)
    await asyncio.gather(*tasks)
    return dict(statuses)


def _p(latencies: list[float], q: int) -> float:
    if len(latencies) < 2:
        return latencies[0] * 1000 if latencies else float("nan")
    return statistics.quantiles(latencies, n=100, method="inclusive")[q - 1] * 1000


async def measure(workdir: Path, *, seconds: float = 30) -> dict[str, float]:
    url = await fresh_database(workdir / "pages.db")
    fake = await FakeTelegram(global_per_second=UNLIMITED, group_per_minute=UNLIMITED).start()
    figures: dict[str, float] = {}
    proc = None
    try:
        groups = await link_groups(url, fake, communes=1, per=GROUPS, households=1_000_000)
        await settle_rounds(url)
        links = await _links(url, PAGES_PER_SECOND)
        port = _free_port()
        env = {**bot_env(fake, url), "TCNS_HTTP_PORT": str(port), "TCNS_SUPERADMINS": HOLDER}
        proc = await spawn(["-m", "bot", "run"], env=env, log=workdir / "tcns-run.log")
        base = f"http://127.0.0.1:{port}"
        async with aiohttp.ClientSession() as http:
            await _until_up(http, base)
            reports = Reports(fake, groups)
            await reports.run(3)  # warm-up: every group and member known
            for name, pages in (("no pages", None), ("one leaked link", links[:1]),
                                ("50 people's links", links)):  # fmt: skip
                reports.latencies = []
                reports.recording = True
                load: list[Coroutine[object, object, object]] = [reports.run(seconds)]
                if pages is not None:
                    load.append(_pages(http, base, pages, seconds))
                done = await asyncio.gather(*load)
                reports.recording = False
                figures[f"{name}: reports p50 (ms)"] = _p(reports.latencies, 50)
                figures[f"{name}: reports p95 (ms)"] = _p(reports.latencies, 95)
                figures[f"{name}: reports answered"] = float(len(reports.latencies))
                if pages is not None:
                    statuses = done[1]
                    assert isinstance(statuses, dict)  # noqa: S101 (the pages' counter)
                    figures[f"{name}: pages 200"] = float(statuses.get(200, 0))
                    figures[f"{name}: pages 429"] = float(statuses.get(429, 0))
    finally:
        if proc is not None:
            await stop(proc)
        await fake.stop()
    return figures


async def _until_up(http: aiohttp.ClientSession, base: str) -> None:
    deadline = datetime.now(UTC) + timedelta(seconds=60)
    while datetime.now(UTC) < deadline:
        try:
            async with http.get(f"{base}/healthz") as response:
                if response.status == 200:
                    return
        except aiohttp.ClientError:
            pass
        await asyncio.sleep(0.2)
    raise RuntimeError("tcns run did not come up")


def main() -> None:
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 30.0
    figures = asyncio.run(measure(Path(tempfile.mkdtemp(prefix="tcns-bench-")), seconds=seconds))
    for name, value in figures.items():
        print(f"{name:<40} {value:10,.1f}")  # noqa: T201 (a benchmark prints)


if __name__ == "__main__":
    main()
