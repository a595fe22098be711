"""Ingest: reports a second end to end — the sandbox Bot API, `tcns run` (python-telegram-bot,
inbox, handlers, SQLite on a file, the reply sent) — against a bare python-telegram-bot echo bot
on the same server under the same load.

The load is closed: each of `groups` village groups has one report in flight at a time, sent by
its team's eight members in turn (each well under the 20 commands a minute a person is allowed),
and the next leaves when the bot's answer reaches the server. Latency is from the update being
offered to the bot to the answer being accepted. Both bots run as their own processes; the
server and the load run here. Sending limits are lifted on both sides: this measures the bot,
not Telegram's quotas.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlmodel import update

from bench.groups import drop_postgres, fresh_database, fresh_postgres, link_groups
from bench.process import spawn, stop
from bot import app
from bot.settings import Settings
from sandbox.telegram import FakeTelegram, Sent
from scheduler import jobs
from storage import db
from storage.models import Outbox

UNLIMITED = 1_000_000
TEAM = 8  # members of each village team, taking turns (each sends a few a minute at most)
REPORT = "/bao_cao ho=2 app=1 tt=1"


@dataclass(frozen=True)
class Load:
    groups: int
    per_group: int  # measured round trips per group, after one warm-up each


@dataclass
class Figures:
    reports: int
    seconds: float
    latencies: list[float]
    cpu_seconds: float  # the bot process's CPU time over the measured part

    @property
    def cpu_ms(self) -> float:
        """The bot's CPU per report (or echoed message): what the rate is bound by here."""
        return self.cpu_seconds * 1000 / self.reports

    @property
    def rate(self) -> float:
        return self.reports / self.seconds

    def percentile(self, p: int) -> float:
        return statistics.quantiles(self.latencies, n=100, method="inclusive")[p - 1] * 1000


def _cpu_seconds(pid: int) -> float:
    """User and system CPU time of a process so far (Linux: /proc/PID/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _drive(fake: FakeTelegram, groups: list[int], load: Load, pid: int) -> Figures:
    loop = asyncio.get_running_loop()
    waiting: dict[int, asyncio.Future[float]] = {}

    def answered(sent: Sent) -> None:
        # The answer to the report (the echo, or tcns's confirmation), not a scheduled post.
        if sent.method != "sendmessage" or not (
            sent.text == REPORT or "Đã ghi" in (sent.text or "")
        ):
            return
        future = waiting.pop(sent.chat_id or 0, None)
        if future is not None and not future.done():
            future.set_result(sent.at)

    fake.on_sent = answered
    latencies: list[float] = []
    teams = {
        chat: [10_000_000 + n * TEAM + k for k in range(TEAM)] for n, chat in enumerate(groups)
    }
    for members in teams.values():
        for user in members:
            fake.add_user(user, "Thành viên", str(user))
    turns = {chat: 0 for chat in groups}

    async def one_group(chat: int, rounds: int, record: bool) -> None:
        for _ in range(rounds):
            user = teams[chat][turns[chat] % TEAM]  # the team's members take turns
            turns[chat] += 1
            future: asyncio.Future[float] = loop.create_future()
            waiting[chat] = future
            offered = time.monotonic()
            await fake.user_sends(chat, user, REPORT)
            accepted = await asyncio.wait_for(future, 60)
            if record:
                latencies.append(accepted - offered)

    # Warm-up: every member has reported once.
    await asyncio.gather(*(one_group(chat, TEAM, False) for chat in groups))
    started, cpu = time.monotonic(), _cpu_seconds(pid)
    await asyncio.gather(*(one_group(chat, load.per_group, True) for chat in groups))
    seconds = time.monotonic() - started
    return Figures(len(latencies), seconds, latencies, _cpu_seconds(pid) - cpu)


def bot_env(fake: FakeTelegram, url: str, *, workers: int = 1) -> dict[str, str]:
    """The environment of a `tcns run` child against the sandbox, sending limits lifted."""
    return {
        "TCNS_TELEGRAM_TOKEN": fake.token,
        "TCNS_TELEGRAM_API_URL": fake.url,
        "TCNS_DATABASE_URL": url,
        "TCNS_SEND_PER_SECOND": str(UNLIMITED),
        "TCNS_SEND_PER_GROUP_MINUTE": str(UNLIMITED),
        "TCNS_HTTP_PORT": "0",
        "TCNS_WORKERS": str(workers),
    }


def _server() -> FakeTelegram:
    return FakeTelegram(global_per_second=UNLIMITED, group_per_minute=UNLIMITED)


async def _echo(load: Load, workdir: Path, *, aiohttp: bool = False) -> Figures:
    fake = await _server().start()
    groups = [-1005000000000 - n for n in range(load.groups)]
    for chat in groups:
        fake.add_group(chat, "Echo")
    args = ["-m", "bench.echo_bot", fake.url, fake.token] + (["--aiohttp"] if aiohttp else [])
    proc = await spawn(args, env={},
                       log=workdir / "echo.log")  # fmt: skip
    try:
        return await _drive(fake, groups, load, proc.pid)
    finally:
        await stop(proc)
        await fake.stop()


async def _tcns(load: Load, workdir: Path, *, url: str | None = None, workers: int = 1) -> Figures:
    """tcns on a fresh SQLite file, or on the database at `url` with `workers` workers."""
    url = url or await fresh_database(workdir / "ingest.db")
    fake = await _server().start()
    # Households enough that no report of the run is refused as more than the village has.
    groups = await link_groups(
        url, fake, communes=1 + load.groups // 20, per=20, households=1_000_000
    )
    groups = groups[: load.groups]
    await settle_rounds(url)
    env = bot_env(fake, url, workers=workers)
    proc = await spawn(["-m", "bot", "run"], env=env, log=workdir / "tcns-run.log")
    try:
        figures = await _drive(fake, groups, load, proc.pid)
    finally:
        await stop(proc)
        await fake.stop()
    refused = [e for e in fake.errors]
    if refused:
        raise RuntimeError(f"the server refused {len(refused)} sends: {refused[:3]}")
    return figures


async def settle_rounds(url: str) -> None:
    """The week's scheduled posts already out, as on a bot that has been running: otherwise
    `tcns run` would start by catching up a leaderboard round in the middle of the load."""
    engine = db.create_engine(url)
    sessions = db.session_factory(engine)
    deps = app.make_deps(Settings(_env_file=None, database_url=url), sessions)
    await jobs.run_due(deps, datetime.now(UTC))
    async with db.transaction(sessions) as session:
        await session.exec(update(Outbox).values(state="sent"))
    await engine.dispose()


async def measure_postgres(
    load: Load, workdir: Path, base_url: str, workers: tuple[int, ...] = (1, 2, 4)
) -> dict[str, float]:
    """tcns on PostgreSQL with 1, 2 and 4 workers in one process, a fresh database each."""
    figures: dict[str, float] = {}
    for n in workers:
        name = f"tcns_bench_ingest_{n}"
        url = await fresh_postgres(base_url, name)
        try:
            run = await _tcns(load, workdir, url=url, workers=n)
        finally:
            await drop_postgres(base_url, name)
        figures[f"{n} worker{'s' if n > 1 else ''} (reports/s)"] = run.rate
        figures[f"{n} worker{'s' if n > 1 else ''} p50 (ms)"] = run.percentile(50)
        figures[f"{n} worker{'s' if n > 1 else ''} CPU (ms/report)"] = run.cpu_ms
    return figures


def _median(runs: list[Figures]) -> Figures:
    return sorted(runs, key=lambda f: f.rate)[(len(runs) - 1) // 2]


async def measure(load: Load, workdir: Path, *, trials: int = 3) -> dict[str, float]:
    """Echo and tcns in turn, `trials` times (this machine's speed drifts by half from one
    minute to the next: each pair is measured side by side); the median trial of each, and the
    ratio of the medians with the lowest and highest ratio of a pair. Beside them, for what the
    ratio owes to the transport: the same echo bot on tcns's aiohttp requests."""
    pairs = []
    lean = []
    for _ in range(trials):
        pairs.append((await _echo(load, workdir), await _tcns(load, workdir)))
        lean.append(await _echo(load, workdir, aiohttp=True))
    echo = _median([e for e, _t in pairs])
    tcns = _median([t for _e, t in pairs])
    ratios = [t.rate / e.rate for e, t in pairs]
    echo_lean = _median(lean)
    return {
        "reports": float(tcns.reports),
        "trials": float(trials),
        "echo bot (msg/s)": echo.rate,
        "echo p50 (ms)": echo.percentile(50),
        "echo p99 (ms)": echo.percentile(99),
        "echo CPU (ms/msg)": echo.cpu_ms,
        "tcns (reports/s)": tcns.rate,
        "tcns p50 (ms)": tcns.percentile(50),
        "tcns p99 (ms)": tcns.percentile(99),
        "tcns CPU (ms/report)": tcns.cpu_ms,
        "tcns ÷ echo": tcns.rate / echo.rate,
        "lowest pair ratio": min(ratios),
        "highest pair ratio": max(ratios),
        "echo on aiohttp (msg/s)": echo_lean.rate,
        "echo on aiohttp CPU (ms/msg)": echo_lean.cpu_ms,
        "tcns ÷ echo on aiohttp": tcns.rate / echo_lean.rate,
    }
