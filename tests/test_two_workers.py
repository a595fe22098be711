"""Two `tcns run` processes behind one webhook URL, sharing PostgreSQL: one stream of reports,
none doubled; the scheduler's process killed, the other takes the ticking over."""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
import signal
import sys
import time
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from sandbox.telegram import FakeTelegram
from tests.test_durability import _counts
from tests.tg_world import ADMIN_ID, HA_LAM, Talk, free_port, stop_process

log = logging.getLogger(__name__)
LEADER_LINE = "this process runs the scheduler"


async def _balancer(ports: list[int]) -> tuple[web.AppRunner, int]:
    """Round robin to the workers; a worker that does not answer is skipped."""
    turn = itertools.cycle(range(len(ports)))
    session = aiohttp.ClientSession()

    async def forward(request: web.Request) -> web.Response:
        body, headers = (
            await request.read(),
            {k: v for k, v in request.headers.items() if k.lower().startswith("x-")},
        )
        for _ in ports:
            port = ports[next(turn)]
            try:
                async with session.post(
                    f"http://127.0.0.1:{port}{request.path}", data=body,
                    headers={**headers, "Content-Type": "application/json"},
                ) as r:  # fmt: skip
                    return web.Response(status=r.status, body=await r.read())
            except aiohttp.ClientError:
                continue
        return web.Response(status=502)

    async def close(_app: web.Application) -> None:
        await session.close()

    app = web.Application()
    app.router.add_post("/{path:.*}", forward)
    app.on_cleanup.append(close)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner, port


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
async def test_two_workers_one_stream(
    fake: FakeTelegram, database_url: str, tmp_path: Path
) -> None:
    fake.group_per_minute = 10_000
    members = list(range(850, 880))
    for uid in members:
        fake.add_user(uid, f"Thành viên {uid}")
    ports = [free_port(), free_port()]
    balancer, lb_port = await _balancer(ports)
    procs: list[asyncio.subprocess.Process] = []
    logs = [tmp_path / "a.log", tmp_path / "b.log"]
    for port, log_path in zip(ports, logs, strict=True):
        env = {
            **os.environ,
            "TCNS_TELEGRAM_TOKEN": fake.token,
            "TCNS_TELEGRAM_API_URL": fake.url,
            "TCNS_DATABASE_URL": database_url,
            "TCNS_SUPERADMINS": f"tg:{ADMIN_ID}",
            "TCNS_HTTP_PORT": str(port),
            "TCNS_WEBHOOK_BASE_URL": f"http://127.0.0.1:{lb_port}",
            "TCNS_WEBHOOK_SECRET": "two-workers-secret",
            "TCNS_SCHEDULER_TICK": "1",
        }
        with log_path.open("ab") as out:
            procs.append(
                await asyncio.create_subprocess_exec(
                    sys.executable,
                    "-m",
                    "bot",
                    "run",
                    env=env,
                    cwd=tmp_path,
                    stdout=out,
                    stderr=out,
                )
            )
    try:
        talk = Talk(fake)
        await talk.say(
            HA_LAM, ADMIN_ID, "/lien_ket xa=20791 thon=Thôn Hà Lam ho=100000", within=60
        )
        for n in range(100):
            text = f"/bao_cao ho=1 dvc={n + 1}"  # no two the same: none is a resend
            await fake.user_sends(HA_LAM, members[n % len(members)], text)
        async with asyncio.timeout(60):
            while (await _counts(database_url))[0] < 100:  # noqa: ASYNC110 (other processes write)
                await asyncio.sleep(0.2)
        await asyncio.sleep(1.5)
        assert await _counts(database_url) == (100, 100)
        texts = [p.read_text(encoding="utf-8") for p in logs]
        assert all("telegram: started" in t for t in texts)

        async with asyncio.timeout(30):
            while not any(LEADER_LINE in p.read_text(encoding="utf-8") for p in logs):  # noqa: ASYNC110
                await asyncio.sleep(0.2)
        leader = next(
            i for i, p in enumerate(logs) if LEADER_LINE in p.read_text(encoding="utf-8")
        )
        other = 1 - leader
        assert LEADER_LINE not in logs[other].read_text(encoding="utf-8")  # exactly one ticks
        procs[leader].send_signal(signal.SIGKILL)
        await procs[leader].wait()
        killed = time.monotonic()
        async with asyncio.timeout(60):
            while LEADER_LINE not in logs[other].read_text(encoding="utf-8"):  # noqa: ASYNC110
                await asyncio.sleep(0.1)
        took = time.monotonic() - killed
        log.info("two workers: 100 reports stored once; ticking moved %.1f s after SIGKILL "
                 "(tick 1 s)", took)  # fmt: skip
        assert took < 60
    finally:
        await asyncio.gather(*(stop_process(proc) for proc in procs))
        await balancer.cleanup()
