"""`tcns run` as an operator starts it: a separate process, a fresh database, a Bot API URL."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from sandbox.telegram import FakeTelegram
from tests.fake_zalo import FakeZalo
from tests.tg_world import ADMIN_ID, HA_LAM, Talk, free_port, stop_process


async def test_tcns_run_serves_and_stops_cleanly(fake: FakeTelegram, tmp_path: Path) -> None:
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
            assert "Đã ghi cho" in await talk.say(HA_LAM, 101, "/bao_cao ho=12 app=5")
            assert "12/200 hộ (6%)" in await talk.say(HA_LAM, 102, "/tien_do")
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
