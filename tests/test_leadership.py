"""Exactly one scheduler ticks among workers sharing PostgreSQL, and another takes over when its
process dies."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
import time

from storage import db
from storage.leader import Leadership

log = logging.getLogger(__name__)

HOLDER = """
import asyncio, sys
from storage import db
from storage.leader import Leadership

async def main():
    leadership = Leadership(db.create_engine(sys.argv[1]))
    print(await leadership.try_acquire(), flush=True)
    await asyncio.sleep(600)

asyncio.run(main())
"""


async def test_one_leader_and_takeover_when_it_dies(postgres_url: str) -> None:
    holder = await asyncio.create_subprocess_exec(
        sys.executable, "-c", HOLDER, postgres_url, stdout=asyncio.subprocess.PIPE
    )
    assert holder.stdout is not None
    assert (await asyncio.wait_for(holder.stdout.readline(), 30)).strip() == b"True"

    engine = db.create_engine(postgres_url)
    other, third = Leadership(engine), Leadership(engine)
    try:
        assert not await other.try_acquire()
        holder.send_signal(signal.SIGKILL)
        await holder.wait()
        killed = time.monotonic()
        async with asyncio.timeout(60):
            while not await other.try_acquire():  # noqa: ASYNC110 (asking the database)
                await asyncio.sleep(0.1)
        took = time.monotonic() - killed
        log.info("scheduler lock taken over %.2f s after SIGKILL", took)
        assert not await third.try_acquire()  # still exactly one
        assert await other.try_acquire()  # and it stays with its holder
    finally:
        await other.release()
        await third.release()
        await engine.dispose()


async def test_sqlite_process_is_always_leader() -> None:
    engine = db.create_engine("sqlite+aiosqlite:///:memory:")
    assert await Leadership(engine).try_acquire()
    await engine.dispose()
