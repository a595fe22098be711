"""Child processes of the benchmarks: started with their own environment and log, watched for
their peak resident memory, stopped with SIGTERM as a service manager would."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from pathlib import Path


async def spawn(args: list[str], *, env: dict[str, str], log: Path) -> asyncio.subprocess.Process:
    with log.open("ab") as out:  # the child keeps its own descriptor
        return await asyncio.create_subprocess_exec(
            sys.executable, *args, env={**os.environ, **env}, stdout=out, stderr=out
        )


def peak_rss_mb(pid: int) -> float | None:
    """The kernel's high-water mark of the process's resident memory (VmHWM), in MB."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return None


async def stop(proc: asyncio.subprocess.Process, *, within: float = 30) -> int | None:
    """SIGTERM, as an operator's service manager sends it; SIGKILL if it has not ended in time."""
    if proc.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(signal.SIGTERM)
    try:
        await asyncio.wait_for(proc.wait(), within)
    except TimeoutError:
        proc.kill()
        await proc.wait()
    return proc.returncode
