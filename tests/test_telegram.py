"""Real python-telegram-bot, over HTTP, against the local fake Bot API: polling and webhook."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp
import pytest
from pydantic import SecretStr
from sqlmodel import func, select

from bot import app
from bot.telegram import WEBHOOK_PATH
from sandbox.telegram import FakeTelegram
from storage import outbox as outbox_store
from storage.models import Report
from tests.conftest import lift_group_limit
from tests.factories import settings_for
from tests.harness import Clock
from tests.tg_world import ADMIN_ID, BINH_AN, HA_LAM, Talk, free_port

WEBHOOK_SECRET = "s3cret-for-tests_only"


@pytest.fixture
async def polling(
    fake: FakeTelegram, database_url: str, clock: Clock
) -> AsyncIterator[app.Running]:
    running = await app.start(settings_for(fake, database_url), clock=clock)
    yield running
    await fake.wake_pollers()
    await running.stop()


async def _pending(running: app.Running) -> int:
    async with running.deps.sessions() as s:
        return await outbox_store.pending_count(s)


async def _report_count(running: app.Running) -> int:
    async with running.deps.sessions() as s:
        return (await s.exec(select(func.count()).select_from(Report))).one()


async def test_reporting_loop_over_polling(fake: FakeTelegram, polling: app.Running) -> None:
    lift_group_limit(fake, polling)
    talk = Talk(fake)
    out = await talk.say(
        HA_LAM, ADMIN_ID, "/lien_ket tinh=Đà Nẵng xa=Thăng Bình thon=Thôn Hà Lam ho=200"
    )
    assert "Nhóm này đã được liên kết với Thôn Hà Lam, Xã Thăng Bình, Thành phố Đà Nẵng" in out
    out = await talk.say(BINH_AN, ADMIN_ID, "/lien_ket@tcns_test_bot xa=20791 thon=Bình An ho=150")
    assert "Bình An" in out

    # Three shapes, one of them from a member whose name is HTML-looking.
    assert "Đã ghi cho" in await talk.say(HA_LAM, 101, "/bao_cao ho=12 app=5 tt=3 cks=1")
    assert "Đã ghi cho" in await talk.say(HA_LAM, 102, "/bao_cao ho 20, app 10, tt 7")
    out = await talk.say(
        HA_LAM, 103, "/bao_cao\nHộ tuyên truyền: 8\nCài app Smart: 5\nThanh toán: 2"
    )
    assert 'Đã ghi cho <b>Ánh & "Bé"' in out

    # Bad input: its own answer each, nothing counted.
    for text, expected in [
        ("/bao_cao xyz=3", "Không có chỉ tiêu"),
        ("/bao_cao ho=-1", "số âm"),
        ("/bao_cao ho=abc", "cần một con số"),
        ("/bao_cao ho=1 ho=1", "hai lần"),
        ("/bao_cao ghi chú: thôi", "chưa có chỉ tiêu nào"),
        ("/bao_cao ho=1 ngay=01/10/2026", "nằm ngoài"),
        ("/bao_cao ho=500", "vượt quá 200 hộ"),
    ]:
        out = await talk.say(HA_LAM, 102, text)
        assert expected in out, (text, out)
        assert "Chưa ghi nhận gì." in out
    assert await _report_count(polling) == 3

    # An edit replaces the report it carried.
    before = len(fake.messages_to(HA_LAM))
    message = await fake.user_sends(HA_LAM, 101, "/bao_cao ho=10")
    await fake.wait_sent(before + 1, chat_id=HA_LAM)
    out = await talk.edit(HA_LAM, message["message_id"], "/bao_cao ho=4 cks=1")
    assert "Đã sửa cho" in out

    out = await talk.say(HA_LAM, 101, "/huy")
    assert "Đã hủy báo cáo" in out

    out = await talk.say(HA_LAM, 102, "/tien_do")
    assert "Hộ được hướng dẫn: 40/200 hộ (20%)" in out
    assert "mục tiêu 80% = 160 hộ, còn thiếu 120 hộ" in out
    assert "Hộ có chữ ký số: 1/200 hộ (0,5%)" in out

    await talk.say(BINH_AN, 201, "/bao_cao ho=120 app=75 tt=75 cks=45")
    out = await talk.say(HA_LAM, 101, "/xep_hang")
    assert out.splitlines()[1].startswith("1. Bình An — 100,0 điểm")
    assert out.splitlines()[2].startswith("👉 2. Thôn Hà Lam")

    assert "Chỉ quản trị viên" in await talk.say(HA_LAM, 101, "/so_ho 999")
    assert "Chỉ quản trị viên" in await talk.say(HA_LAM, 101, "/lien_ket xa=20791 thon=X")
    out = await talk.say(HA_LAM, ADMIN_ID, "/ngon_ngu en")
    assert out.endswith("This chat now speaks English.")
    assert "Households guided: 40/200 households (20%)" in await talk.say(HA_LAM, 102, "/progress")

    # Nothing the bot sent was refused by the API.
    assert fake.errors == []
    assert {c["command"] for c in fake.commands[None]} >= {"bao_cao", "tien_do", "xep_hang"}
    assert {c["command"] for c in fake.commands["en"]} >= {"report", "progress", "leaderboard"}


async def test_html_is_escaped_and_mentions_link(fake: FakeTelegram, polling: app.Running) -> None:
    talk = Talk(fake)
    await talk.say(HA_LAM, ADMIN_ID, '/lien_ket xa=20791 thon=Thôn Hà & "Lam" ho=100')
    await talk.say(HA_LAM, 103, "/bao_cao ho=1 ghi_chu=<script>alert(1)</script> & co")
    raw = fake.messages_to(HA_LAM)[-1].params["text"]
    assert '&lt;b&gt;Ánh &amp; "Bé"' in raw
    assert '<a href="tg://user?id=103">' in raw
    assert "&lt;script&gt;" in raw
    assert fake.errors == []


async def test_long_board_stays_under_the_limit(fake: FakeTelegram, polling: app.Running) -> None:
    polling.deps.flood.limit = 1000  # forty villages set up by one admin in a second
    talk = Talk(fake)
    names = [f"Thôn {'Rất Dài Tên ' * 8}{n}" for n in range(40)]
    for n, name in enumerate(names):
        fake.add_group(-1002000 - n, name)
        await talk.say(-1002000 - n, ADMIN_ID, f"/lien_ket xa=20791 thon={name} ho=100")
    out = await talk.say(-1002039, ADMIN_ID, "/xep_hang")
    # No village has a team yet: none is ranked, each is listed as having none.
    assert "… và 19 đơn vị khác chưa có tổ" in out
    assert "👉" in out  # the reader's own village, although outside the first 20
    # 41 answers in about a second pass the 30/s ceiling: the 429s are honoured, nothing else.
    assert [e for e in fake.errors if e[1] != 429] == []


async def test_duplicate_delivery_counts_once(fake: FakeTelegram, polling: app.Running) -> None:
    talk = Talk(fake)
    await talk.say(HA_LAM, ADMIN_ID, "/lien_ket xa=20791 thon=Hà Lam ho=100")
    await talk.say(HA_LAM, 101, "/bao_cao ho=5")
    await fake.redeliver_last()
    assert await talk.silent(HA_LAM)
    assert await _report_count(polling) == 1


async def test_rate_limited_reply_is_retried(fake: FakeTelegram, polling: app.Running) -> None:
    # The server is stricter than the bot's pacer expects: its 429 must be honoured.
    fake.group_per_minute = 2
    fake.group_window = 2.0
    talk = Talk(fake)
    await talk.say(HA_LAM, ADMIN_ID, "/lien_ket xa=20791 thon=Hà Lam ho=100")
    await talk.say(HA_LAM, 101, "/tien_do")
    out = await talk.say(HA_LAM, 101, "/tien_do", within=15)
    assert "Tiến độ" in out
    assert any(code == 429 for _m, code, _d in fake.errors)


async def test_webhook_mode(fake: FakeTelegram, database_url: str, clock: Clock) -> None:
    port = free_port()
    running = await app.start(
        settings_for(
            fake,
            database_url,
            http_port=port,
            webhook_base_url=f"http://127.0.0.1:{port}",
            webhook_secret=SecretStr(WEBHOOK_SECRET),
        ),
        clock=clock,
    )
    try:
        assert fake.webhook_url == f"http://127.0.0.1:{port}{WEBHOOK_PATH}"
        talk = Talk(fake)
        await talk.say(HA_LAM, ADMIN_ID, "/lien_ket xa=20791 thon=Hà Lam ho=100")
        assert "Đã ghi cho" in await talk.say(HA_LAM, 101, "/bao_cao ho=5 app=2")
        await fake.redeliver_last()
        assert await talk.silent(HA_LAM)
        assert await _report_count(running) == 1

        async with aiohttp.ClientSession() as http:
            url = f"http://127.0.0.1:{port}{WEBHOOK_PATH}"
            async with http.post(url, json={"update_id": 1}) as r:
                assert r.status == 401
            headers = {"X-Telegram-Bot-Api-Secret-Token": "wrong"}
            async with http.post(url, json={"update_id": 1}, headers=headers) as r:
                assert r.status == 401
            headers = {"X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET}
            async with http.post(url, data=b"{not json", headers=headers) as r:
                assert r.status == 400
            async with http.post(url, json=["x"], headers=headers) as r:
                assert r.status == 400
            async with http.get(f"http://127.0.0.1:{port}/healthz") as r:
                assert r.status == 200
                assert (await r.json())["ok"] is True
            # The scheduler's first tick caught up Monday's boards: once they are out, the
            # gauge says so (waiting for the sender, not for a time).
            async with asyncio.timeout(30):
                while await _pending(running):  # noqa: ASYNC110 (no event in a database)
                    await asyncio.sleep(0.05)
            async with http.get(f"http://127.0.0.1:{port}/metrics") as r:
                assert r.status == 200
                page = await r.text()
            assert "tcns_reports_total 1.0" in page
            assert 'tcns_updates_total{platform="tg"}' in page
            assert 'tcns_sends_total{outcome="sent",platform="tg"}' in page
            assert "tcns_outbox_pending 0.0" in page
            assert "tcns_inbox_lag_seconds" in page
        assert fake.errors == []
    finally:
        await running.stop()


async def test_webhook_mode_needs_a_secret(
    fake: FakeTelegram, database_url: str, clock: Clock
) -> None:
    with pytest.raises(app.ConfigurationError):
        await app.start(
            settings_for(fake, database_url, webhook_base_url="https://bot.example.vn"),
            clock=clock,
        )
