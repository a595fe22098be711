"""`tcns run` as an operator starts it: a separate process, a fresh database, a Bot API URL."""

from __future__ import annotations

import asyncio
import os
import socket
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from sandbox.telegram import FakeTelegram
from tests.fake_zalo import FakeZalo
from tests.tg_world import ADMIN_ID, HA_LAM, Talk, free_port, populate, stop_process


@pytest.fixture
async def wall_fake() -> AsyncIterator[FakeTelegram]:
    """The Bot API on the real clock: a `tcns run` child cannot share the test's clock, so
    the dates people send at and the child's "today" are both the real ones (and move
    together under faketime)."""
    server = FakeTelegram()
    populate(server)
    await server.start()
    yield server
    await server.stop()


async def test_tcns_run_serves_and_stops_cleanly(wall_fake: FakeTelegram, tmp_path: Path) -> None:
    fake = wall_fake
    zalo = await FakeZalo().start()
    zalo_admin = zalo.add_user("Quản trị Zalo")
    port = free_port()
    env = {
        **os.environ,
        "TCNS_TELEGRAM_TOKEN": fake.token,
        "TCNS_TELEGRAM_API_URL": fake.url,
        "TCNS_ZALO_TOKEN": zalo.token,
        "TCNS_ZALO_API_URL": zalo.url,
        "TCNS_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'fresh.db'}",
        "TCNS_SUPERADMINS": f"tg:{ADMIN_ID},zalo:{zalo_admin.id}",
        "TCNS_HTTP_PORT": str(port),
    }
    log_path = tmp_path / "tcns.log"
    with log_path.open("wb") as log:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "run", env=env, cwd=tmp_path, stdout=log, stderr=log
        )
        try:
            talk = Talk(fake)
            # The first start migrates and loads 3,355 official units before it polls.
            out = await talk.say(
                HA_LAM,
                ADMIN_ID,
                "/lien_ket tinh=Đà Nẵng xa=Thăng Bình thon=Thôn Hà Lam ho=200",
                within=60,
            )
            assert "Thôn Hà Lam, Xã Thăng Bình" in out
            # The scheduler runs on the wall clock here: a Monday's summary may reach the group
            # as well, before or after the answers looked for.
            assert await talk.answer_with(HA_LAM, 101, "/bao_cao ho=12 app=5", "Đã ghi cho")
            assert await talk.answer_with(HA_LAM, 102, "/tien_do", "12/200 hộ (6%)")
            # The same process serves Zalo: the admin finds the village from a private chat.
            await zalo.user_sends(zalo_admin, "lien ket xa=20791 thon=Thôn Hà Lam")
            [answer] = await zalo.wait_texts(zalo_admin, 1, within=15)
            assert "Thôn Hà Lam, Xã Thăng Bình" in answer
            assert "/tham_gia " in answer
        finally:
            code = await stop_process(proc)
    await zalo.stop()
    assert code == 0
    text = log_path.read_text(encoding="utf-8")
    assert "tcns: serving on" in text
    assert fake.token not in text
    assert fake.token.split(":")[1] not in text
    assert zalo.token not in text
    assert fake.errors == []
    assert zalo.errors == []


async def _failed_start(env: dict[str, str], cwd: Path) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "run",
        env={**os.environ, **env}, cwd=cwd,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    out, _err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode is not None
    return proc.returncode, out.decode()


def _one_line(code: int, out: str) -> str:
    assert code != 0
    assert "Traceback" not in out
    assert out.count("\n") == 1, out
    return out.strip()


def _env(db_path: Path, **values: str) -> dict[str, str]:
    return {
        "TCNS_DATABASE_URL": f"sqlite+aiosqlite:///{db_path}",
        "TCNS_HTTP_PORT": str(free_port()),
        **values,
    }


async def test_unreachable_bot_api_is_one_line(db_path: Path, tmp_path: Path) -> None:
    closed = free_port()  # bound and let go: nothing listens there
    env = _env(
        db_path,
        TCNS_TELEGRAM_TOKEN="123456:ABCdefGHIjklMNOpqrSTUvwxYZ",
        TCNS_TELEGRAM_API_URL=f"http://127.0.0.1:{closed}",
    )
    line = _one_line(*await _failed_start(env, tmp_path))
    assert line == (
        f"tcns: cannot reach the Telegram Bot API at http://127.0.0.1:{closed} "
        "(check TCNS_TELEGRAM_API_URL and the network)"
    )


async def test_refused_token_is_one_line(
    wall_fake: FakeTelegram, db_path: Path, tmp_path: Path
) -> None:
    env = _env(
        db_path,
        TCNS_TELEGRAM_TOKEN="123456:NotTheTokenTheServerKnows",
        TCNS_TELEGRAM_API_URL=wall_fake.url,
    )
    line = _one_line(*await _failed_start(env, tmp_path))
    assert line == "tcns: Telegram refused the token (check TCNS_TELEGRAM_TOKEN)"
    zalo = await FakeZalo().start()
    try:
        env = _env(db_path, TCNS_ZALO_TOKEN="1:not-this-one", TCNS_ZALO_API_URL=zalo.url)
        line = _one_line(*await _failed_start(env, tmp_path))
    finally:
        await zalo.stop()
    assert line == "tcns: Zalo refused the token (check TCNS_ZALO_TOKEN)"


async def test_http_port_in_use_is_one_line(
    wall_fake: FakeTelegram, db_path: Path, tmp_path: Path
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = _env(
            db_path,
            TCNS_TELEGRAM_TOKEN=wall_fake.token,
            TCNS_TELEGRAM_API_URL=wall_fake.url,
            TCNS_HTTP_PORT=str(port),
        )
        line = _one_line(*await _failed_start(env, tmp_path))
    assert line == f"tcns: port {port} on 127.0.0.1 is in use (set TCNS_HTTP_PORT)"
    assert wall_fake.calls == []  # it stopped before it asked Telegram anything
