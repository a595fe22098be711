"""Memory: `tcns run` as a process over the national dataset, its scheduler ticking every few
seconds, for a fixed time; its peak resident memory (the kernel's VmHWM) and what the scheduler
queued meanwhile (on the day the benchmark runs, some jobs are due and some are not)."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from bench.process import peak_rss_mb, spawn, stop
from sandbox.telegram import FakeTelegram


async def measure(path: Path, workdir: Path, *, seconds: float) -> dict[str, float]:
    fake = await FakeTelegram(global_per_second=300, group_per_minute=200).start()
    with sqlite3.connect(path) as con:
        for (chat_id,) in con.execute("SELECT id FROM chat WHERE kind = 'group'"):
            fake.add_group(int(chat_id.removeprefix("tg:")), "Tổ CNS")
    env = {
        "TCNS_TELEGRAM_TOKEN": fake.token,
        "TCNS_TELEGRAM_API_URL": fake.url,
        "TCNS_DATABASE_URL": f"sqlite+aiosqlite:///{path}",
        "TCNS_SCHEDULER_TICK": "5",
        "TCNS_SEND_PER_SECOND": "300",
        "TCNS_SEND_PER_GROUP_MINUTE": "200",
        "TCNS_HTTP_PORT": "0",
    }
    proc = await spawn(["-m", "bot", "run"], env=env, log=workdir / "memory.log")
    peak = 0.0
    try:
        for _ in range(int(seconds * 2)):
            await asyncio.sleep(0.5)
            if proc.returncode is not None:
                raise RuntimeError(f"tcns run ended early; see {workdir / 'memory.log'}")
            peak = max(peak, peak_rss_mb(proc.pid) or 0.0)
    finally:
        await stop(proc)
        await fake.stop()
    with sqlite3.connect(path) as con:
        queued = dict(con.execute("SELECT job, count(*) FROM outbox GROUP BY job").fetchall())
    figures = {"seconds run": seconds, "peak RSS (MB)": peak}
    figures["posts queued"] = float(sum(queued.values()))
    figures["posts accepted by the server"] = float(len(fake.sent))
    return figures
