"""A 5 KB workbook that claims the whole sheet (A1:XFD1048576) with one cell in its last row,
sent to `tcns import` and, as `/nhap`, to `tcns run` while another group reports: how long
until the refusal, the peak memory of each process (the reading child's included), and how long
the other group's report waited meanwhile (issue 23).

`python -m bench.bomb` runs it alone.
"""

from __future__ import annotations

import asyncio
import io
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

from openpyxl import Workbook

from bench.groups import fresh_database, link_groups
from bench.ingest import UNLIMITED, bot_env, settle_rounds
from bench.process import peak_rss_mb, spawn, stop
from sandbox.telegram import FakeTelegram

ADMIN = 4242


def dimension_bomb() -> bytes:
    """A valid workbook of about 5 KB whose sheet claims A1:XFD1048576, one cell in its last
    row: before issue 23, reading it padded every row to the claimed size."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None  # noqa: S101 (a new workbook has one)
    sheet.append(["Mã xã", "Thôn", "Số hộ"])
    sheet.append([20791, "Thôn Bom", 100])
    packed = io.BytesIO()
    book.save(packed)
    source = zipfile.ZipFile(io.BytesIO(packed.getvalue()))
    xml = source.read("xl/worksheets/sheet1.xml").decode()
    xml = re.sub(r'<dimension ref="[^"]+"\s*/>', '<dimension ref="A1:XFD1048576"/>', xml)
    last = '<row r="1048576"><c r="XFD1048576" t="inlineStr"><is><t>x</t></is></c></row>'
    xml = xml.replace("</sheetData>", last + "</sheetData>")
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            content = xml.encode() if item.filename == "xl/worksheets/sheet1.xml" else None
            target.writestr(item, content or source.read(item.filename))
    return out.getvalue()


# The measuring parent: Linux hands a child the high-water mark of the process it was forked
# from (execve keeps the old memory's peak), so wait4 from a large process such as a long test
# run would report that process's size. A fresh small interpreter forks the command instead.
_MEASURE = """
import os, subprocess, sys
child = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL)
_pid, status, usage = os.wait4(child.pid, 0)
print(os.waitstatus_to_exitcode(status), usage.ru_maxrss)
"""


def run_measured(args: list[str], env: dict[str, str]) -> tuple[int, str, float]:
    """A child's exit code, standard error and peak memory in MB (its own and that of the
    children it waited for: the kernel's rusage of this one child, by wait4, taken by a small
    parent of its own)."""
    done = subprocess.run(  # noqa: S603 (our own command)
        [sys.executable, "-c", _MEASURE, *args], env=env, capture_output=True, check=False
    )
    code, peak_kb = done.stdout.decode().split()
    return int(code), done.stderr.decode(), int(peak_kb) / 1024


async def _cli(workdir: Path, bomb: Path) -> dict[str, float]:
    url = await fresh_database(workdir / "bomb-cli.db")
    started = time.monotonic()
    code, err, peak = await asyncio.to_thread(
        run_measured, [sys.executable, "-m", "bot", "import", str(bomb)],
        {**os.environ, "TCNS_DATABASE_URL": url},
    )  # fmt: skip
    seconds = time.monotonic() - started
    refused = "Tệp quá lớn" in err and code == 1
    return {"refused": float(refused), "whole run (s)": seconds, "peak RSS (MB)": peak}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _chat(workdir: Path, content: bytes) -> dict[str, float]:
    url = await fresh_database(workdir / "bomb-chat.db")
    fake = await FakeTelegram(global_per_second=UNLIMITED, group_per_minute=UNLIMITED).start()
    fake.add_user(ADMIN, "Trần Văn", "Quản", None)
    fake.add_user(ADMIN + 1, "Nguyễn Thị", "Lan", None)
    proc = None
    try:
        groups = await link_groups(url, fake, communes=1, per=2, households=1_000)
        await settle_rounds(url)
        env = {**bot_env(fake, url), "TCNS_HTTP_PORT": str(_free_port()),
               "TCNS_SUPERADMINS": f"tg:{ADMIN}"}  # fmt: skip
        proc = await spawn(["-m", "bot", "run"], env=env, log=workdir / "bomb-run.log")
        before = len(fake.messages_to(ADMIN))
        await fake.user_sends(ADMIN, ADMIN, "/start")
        await fake.wait_sent(before + 1, chat_id=ADMIN, within=60)
        group = groups[0]
        await fake.user_sends(group, ADMIN + 1, "/bao_cao ho=1")  # known before the measure
        await fake.wait_sent(1, chat_id=group, within=30)
        # A private chat gets a message a second: the refusal is not to wait for /start's.
        await asyncio.sleep(1.5)
        before, in_group = len(fake.messages_to(ADMIN)), len(fake.messages_to(group))
        started = time.monotonic()
        await fake.user_sends_document(ADMIN, ADMIN, "tinh.xlsx", content, caption="/nhap")
        await fake.user_sends(group, ADMIN + 1, "/bao_cao ho=2")
        report = asyncio.ensure_future(fake.wait_sent(in_group + 1, chat_id=group, within=60))
        refusal = await fake.wait_sent(before + 1, chat_id=ADMIN, within=60)
        refused_after = time.monotonic() - started
        await report
        reported_after = time.monotonic() - started
        return {
            "refused": float("Tệp quá lớn" in (refusal[-1].text or "")),
            "refusal after (s)": refused_after,
            "other group's report after (s)": reported_after,
            "peak RSS of tcns run (MB)": peak_rss_mb(proc.pid) or float("nan"),
        }
    finally:
        if proc is not None:
            await stop(proc)
        await fake.stop()


async def measure(workdir: Path) -> dict[str, float]:
    content = dimension_bomb()
    bomb = workdir / "tinh.xlsx"
    bomb.write_bytes(content)
    figures = {"file (bytes)": float(len(content))}
    figures.update({f"tcns import: {k}": v for k, v in (await _cli(workdir, bomb)).items()})
    figures.update({f"/nhap: {k}": v for k, v in (await _chat(workdir, content)).items()})
    return figures


def main() -> None:
    figures = asyncio.run(measure(Path(tempfile.mkdtemp(prefix="tcns-bench-"))))
    for name, value in figures.items():
        print(f"{name:<44} {value:10,.2f}")  # noqa: T201 (a benchmark prints)


if __name__ == "__main__":
    main()
