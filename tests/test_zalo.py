"""Zalo beside Telegram: one team, two platforms, one set of totals."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator

import aiohttp
import pytest
from pydantic import SecretStr
from sqlalchemy import text

import bot.zalo
from bot import app
from bot.settings import Settings
from bot.transport import Transport
from bot.zalo import to_incoming
from sandbox.telegram import FakeTelegram
from scheduler import jobs
from scheduler.outbox import OutboxSender
from tests.fake_zalo import FakeZalo, ZaloUser
from tests.harness import Clock
from tests.test_jobs import at
from tests.tg_world import ADMIN_ID, HA_LAM, Talk, free_port


@pytest.fixture
async def zfake(clock: Clock) -> AsyncIterator[FakeZalo]:
    server = FakeZalo(clock=lambda: clock().timestamp())
    await server.start()
    yield server
    await server.stop()


def _settings(fake: FakeTelegram, zfake: FakeZalo, database_url: str, admin: ZaloUser,
              **extra: object) -> Settings:  # fmt: skip
    values: dict[str, object] = {
        "telegram_token": SecretStr(fake.token),
        "telegram_api_url": fake.url,
        "zalo_token": SecretStr(zfake.token),
        "zalo_api_url": zfake.url,
        "database_url": database_url,
        "superadmins": f"tg:{ADMIN_ID},zalo:{admin.id}",
        "http_port": free_port(),
        **extra,
    }
    return Settings(_env_file=None, **values)  # type: ignore[arg-type]  # loosely typed values


@pytest.fixture
async def both(
    fake: FakeTelegram,
    zfake: FakeZalo,
    database_url: str,
    clock: Clock,
    monkeypatch: pytest.MonkeyPatch,
) -> AsyncIterator[tuple[app.Running, ZaloUser]]:
    monkeypatch.setattr(bot.zalo, "POLL_TIMEOUT", 1)  # idle polls within the test's time
    admin = zfake.add_user("Trần Thị Quản")
    running = await app.start(
        _settings(fake, zfake, database_url, admin), schedule=False, clock=clock
    )
    assert running.zalo is not None
    RUNNING.append(running.zalo)
    yield running, admin
    RUNNING.remove(running.zalo)
    await fake.wake_pollers()
    await running.stop()


# The running bots' Zalo drivers, so that `zsay` reads an answer that came as several messages
# whole, not its first message only.
RUNNING: list[Transport] = []


async def zsay(zfake: FakeZalo, user: ZaloUser, text: str) -> str:
    before = len(zfake.texts_to(user))
    await zfake.user_sends(user, text)
    await zfake.wait_texts(user, before + 1)
    for transport in RUNNING:
        await transport.replies_sent(f"zalo:{user.chat_id}")
    return "\n".join(zfake.texts_to(user)[before:])


async def test_one_team_on_both_platforms(
    fake: FakeTelegram, zfake: FakeZalo, both: tuple[app.Running, ZaloUser]
) -> None:
    _running, admin = both
    talk = Talk(fake)
    await talk.say(
        HA_LAM, ADMIN_ID, "/lien_ket tinh=Đà Nẵng xa=Thăng Bình thon=Thôn Hà Lam ho=200"
    )
    await talk.say(HA_LAM, 101, "/bao_cao ho=12")

    # A Zalo admin finds the same village from a private chat and gets its join line.
    out = await zsay(zfake, admin, "/lien_ket xa=20791 thon=Thôn Hà Lam")
    code = re.search(r"/tham_gia ([A-Z0-9]{8})", out)
    assert code is not None

    lan = zfake.add_user("Nguyễn Thị Lan (Zalo)")
    assert "Bạn đã tham gia Tổ CNS Thôn Hà Lam" in await zsay(zfake, lan, f"tham gia {code[1]}")
    out = await zsay(zfake, lan, "báo cáo ho=5 app=2")  # no slash, with accents
    assert "Đã ghi cho Nguyễn Thị Lan (Zalo)" in out
    # The Telegram group's 12 and this 5.
    assert "Hộ được hướng dẫn: 17/200 hộ" in await zsay(zfake, lan, "tien do")
    out = await zsay(zfake, lan, "/bao_cao ho=abc")
    assert "cần một con số" in out
    assert "Ví dụ: /bao_cao" in out
    assert "Hộ được hướng dẫn: 17/200 hộ" in await talk.say(HA_LAM, 102, "/tien_do")
    assert "Không hiểu tin nhắn" in await zsay(zfake, lan, "chào bot")
    assert "Zalo không nhận được tệp" in await zsay(zfake, admin, "xuat")

    # A sticker is no command; idle polls (408) pass and the bot still answers.
    await zfake.user_sends(lan, "", event="message.sticker.received")
    async with asyncio.timeout(10):
        while zfake.idle_polls < 1:  # noqa: ASYNC110 (polling a counter the fake keeps)
            await asyncio.sleep(0.2)
    assert "Hộ được hướng dẫn: 17/200" in await zsay(zfake, lan, "tien do")
    assert zfake.errors == []
    assert fake.errors == []


async def _member_of_binh_an(zfake: FakeZalo, admin: ZaloUser, name: str) -> ZaloUser:
    """Thôn Bình An (90 households) linked by the Zalo admin, and a member joined by its code."""
    out = await zsay(zfake, admin, "/lien_ket xa=20791 thon=Thôn Bình An ho=90")
    code = re.search(r"/tham_gia ([A-Z0-9]{8})", out)
    assert code is not None
    member = zfake.add_user(name)
    await zsay(zfake, member, f"/tham_gia {code[1]}")
    return member


async def test_redelivered_zalo_message_counts_once(
    fake: FakeTelegram, zfake: FakeZalo, both: tuple[app.Running, ZaloUser]
) -> None:
    _running, admin = both
    mai = await _member_of_binh_an(zfake, admin, "Phạm Thị Mai")
    update = await zfake.user_sends(mai, "/bao_cao ho=4")
    await zfake.wait_texts(mai, 2)
    await zfake.redeliver(update)
    assert "Hộ được hướng dẫn: 4/90 hộ" in await zsay(zfake, mai, "/tien_do")


async def test_reminders_and_boards_reach_zalo_members_privately(
    fake: FakeTelegram, zfake: FakeZalo, both: tuple[app.Running, ZaloUser], clock: Clock
) -> None:
    running, admin = both
    talk = Talk(fake)
    await talk.say(HA_LAM, ADMIN_ID, "/lien_ket xa=20791 thon=Thôn Hà Lam ho=200")
    out = await zsay(zfake, admin, "/lien_ket xa=20791 thon=Thôn Hà Lam")
    code = re.search(r"/tham_gia ([A-Z0-9]{8})", out)
    assert code is not None
    done, missing = zfake.add_user("Đã Báo Cáo"), zfake.add_user("Chưa Báo Cáo")
    for user in (done, missing):
        await zsay(zfake, user, f"/tham_gia {code[1]}")
    await zsay(zfake, done, "/bao_cao ho=3")
    await talk.say(HA_LAM, 101, "/bao_cao ho=1")
    before = {u.id: len(zfake.texts_to(u)) for u in (done, missing, admin)}

    clock.now = at("2026-11-20T16:00")  # the same Friday, reminder time
    await jobs.run(running.deps, "reminders", clock())
    messengers = [m for m in (running.telegram, running.zalo) if m is not None]
    await OutboxSender(running.deps, messengers).drain()
    reminded = zfake.texts_to(missing)[before[missing.id] :]
    assert len(reminded) == 1
    assert "Tuần này bạn chưa báo cáo" in reminded[0]
    assert zfake.texts_to(done)[before[done.id] :] == []
    assert zfake.texts_to(admin)[before[admin.id] :] == []
    group = fake.messages_to(HA_LAM)[-1].text or ""
    assert "Chưa Báo Cáo" in group
    assert "Đã Báo Cáo" not in group

    await jobs.run(running.deps, "leaderboards", at("2026-11-23T08:00"))
    await OutboxSender(running.deps, messengers).drain()
    assert "Bảng xếp hạng — Xã Thăng Bình" in zfake.texts_to(missing)[-1]
    assert zfake.errors == []


async def test_long_answers_are_split_under_2000(
    fake: FakeTelegram, zfake: FakeZalo, both: tuple[app.Running, ZaloUser]
) -> None:
    running, admin = both
    assert running.zalo is not None
    running.zalo.pacer.per_private_second = 100  # about splitting, not pacing: 22 quick commands
    running.deps.flood.limit = 1000
    code = None
    for n in range(22):
        out = await zsay(zfake, admin, f"/lien_ket xa=20791 thon=Thôn {'Rất Dài Tên Gọi ' * 5}{n}")
        code = code or re.search(r"/tham_gia ([A-Z0-9]{8})", out)
    assert code is not None
    await zsay(zfake, admin, f"/tham_gia {code[1]}")
    before = len(zfake.texts_to(admin))
    await zfake.user_sends(admin, "/xep_hang")
    texts = await zfake.wait_texts(admin, before + 2)
    assert all(len(t) <= 2000 for t in texts)
    # The admin's village has a team (the admin joined it): ranked; the 21 others have none,
    # and are listed apart, the first 20 by name.
    assert "👉 1. Thôn" in "\n".join(texts[before:])
    assert "… và 1 đơn vị khác chưa có tổ" in "\n".join(texts[before:])
    assert zfake.errors == []


async def test_zalo_webhook(
    fake: FakeTelegram, zfake: FakeZalo, database_url: str, clock: Clock
) -> None:
    admin = zfake.add_user("Quản trị Zalo")
    port = free_port()
    secret = "zalo-webhook-secret"
    running = await app.start(
        _settings(fake, zfake, database_url, admin, http_port=port,
                  webhook_base_url=f"http://127.0.0.1:{port}",
                  webhook_secret=SecretStr(secret)),
        schedule=False,
        clock=clock,
    )  # fmt: skip
    try:
        assert zfake.webhook_url == f"http://127.0.0.1:{port}/zalo/webhook"
        assert zfake.webhook_secret == secret
        assert "Xã Thăng Bình" in await zsay(zfake, admin, "/lien_ket xa=20791")
        url = f"http://127.0.0.1:{port}/zalo/webhook"
        async with aiohttp.ClientSession() as http:
            async with http.post(url, json={"event_name": "x"}) as r:
                assert r.status == 401
            headers = {"X-Bot-Api-Secret-Token": "wrong-secret"}
            async with http.post(url, json={"event_name": "x"}, headers=headers) as r:
                assert r.status == 401
            headers = {"X-Bot-Api-Secret-Token": secret}
            async with http.post(url, data=b"{", headers=headers) as r:
                assert r.status == 400
        assert zfake.errors == []
    finally:
        await running.stop()


def test_update_parsing_accepts_first_name_and_skips_other_events() -> None:
    update = {
        "event_name": "message.text.received",
        "message": {
            "message_id": "ab12",
            "date": 1763622000000,
            "chat": {"id": "c0ffee", "chat_type": "PRIVATE"},
            "from": {"id": "beef", "is_bot": False, "first_name": "Lan"},
            "text": "báo cáo ho=1",
        },
    }
    msg = to_incoming(update)
    assert msg is not None
    assert (msg.chat_id, msg.sender_id, msg.sender_name) == ("zalo:c0ffee", "zalo:beef", "Lan")
    assert msg.update_key == "zalo:message:ab12"
    assert to_incoming({"event_name": "message.image.received", "message": {}}) is None
    assert to_incoming({"event_name": "message.text.received"}) is None


async def _reports(running: app.Running) -> int:
    async with running.deps.sessions() as session:
        found = await session.exec(text("SELECT count(*) FROM report"))  # type: ignore[call-overload]
        return int(found.one()[0])


async def test_a_zalo_flood_holds_up_no_telegram_group(
    fake: FakeTelegram, zfake: FakeZalo, both: tuple[app.Running, ZaloUser]
) -> None:
    """Three Zalo members send a thousand reports between them; meanwhile a Telegram group
    asks /tien_do and is answered within 2 s, and every report is stored once. (Their answers,
    paced at one a second into each private chat, wait in their own queues.)"""
    running, admin = both
    talk = Talk(fake)
    await talk.say(HA_LAM, ADMIN_ID, "/lien_ket xa=20791 thon=Thôn Hà Lam ho=100000")
    out = await zsay(zfake, admin, "/lien_ket xa=20791 thon=Thôn Hà Lam")
    code = re.search(r"/tham_gia ([A-Z0-9]{8})", out)
    assert code is not None
    senders = [zfake.add_user(f"Thành viên Zalo {n}") for n in range(3)]
    for user in senders:
        await zsay(zfake, user, f"/tham_gia {code[1]}")
    for n in range(1000):
        await zfake.user_sends(senders[n % 3], f"/bao_cao ho=1 dvc={n + 1}")
    async with asyncio.timeout(60):
        while await _reports(running) < 100:  # noqa: ASYNC110 (the flood is being worked off)
            await asyncio.sleep(0.05)
    assert await _reports(running) < 900
    out = await talk.say(HA_LAM, 101, "/tien_do", within=2)
    assert "Tiến độ" in out
    async with asyncio.timeout(120):
        while await _reports(running) < 1000:  # noqa: ASYNC110 (a count in the database)
            await asyncio.sleep(0.2)
    await asyncio.sleep(0.5)
    assert await _reports(running) == 1000
    assert "Hộ được hướng dẫn: 1.000/100.000 hộ" in await talk.say(HA_LAM, 101, "/tien_do")
    assert zfake.errors == []
    assert fake.errors == []


async def test_a_guided_report_on_zalo_in_plain_text(
    fake: FakeTelegram, zfake: FakeZalo, both: tuple[app.Running, ZaloUser], clock: Clock
) -> None:
    """Zalo has no buttons: the same flow as numbered questions, answered in words."""
    running, admin = both
    assert running.zalo is not None
    running.zalo.pacer.per_private_second = 1000  # a dialogue typed at machine speed
    out = await zsay(zfake, admin, "/lien_ket xa=20791 thon=Thôn Phú Mỹ ho=300")
    code = re.search(r"/tham_gia ([A-Z0-9]{8})", out)
    assert code is not None
    lan = zfake.add_user("Nguyễn Thị Lan")
    await zsay(zfake, lan, f"/tham_gia {code[1]}")

    out = await zsay(zfake, lan, "bao cao")  # no accents, no slash, nothing after it
    assert "câu 1/4" in out
    assert "Hộ được hướng dẫn hôm nay?" in out
    assert "còn 240 hộ để đạt 80%" in out
    assert "Gửi một số, 0 nếu không có, hoặc 'bo qua'" in out
    assert "/bao_cao ho=12" in out  # the typed shortcut, for next time
    assert "câu 2/4" in await zsay(zfake, lan, "5 hộ ạ")
    out = await zsay(zfake, lan, "nhà ông Ba")  # no answer: said so, asked again
    assert "Chưa hiểu câu trả lời; chưa ghi nhận gì." in out
    assert "ví dụ 5" in out
    assert "câu 3/4" in await zsay(zfake, lan, "hai mươi")
    assert "câu 4/4" in await zsay(zfake, lan, "Bỏ qua ạ")
    out = await zsay(zfake, lan, "năm")
    assert "Chưa hỏi (ở đây không có chỉ tiêu)" in out
    assert "Gửi 'them' để trả lời các chỉ số chưa hỏi." in out
    assert "câu 5/6" in await zsay(zfake, lan, "thêm")
    assert "câu 6/6" in await zsay(zfake, lan, "0")
    out = await zsay(zfake, lan, "bo qua")
    assert "Sẽ ghi cho Nguyễn Thị Lan (Thôn Phú Mỹ)" in out
    assert "Gửi 'ghi' (hoặc 'dung') để ghi" in out

    # "sua": a numbered list; "2" picks the second, then its new value.
    out = await zsay(zfake, lan, "sua")
    assert "2. Hộ cài ứng dụng công dân: 20" in out
    assert "câu 2/6" in await zsay(zfake, lan, "2")
    out = await zsay(zfake, lan, "3")
    assert "Hộ cài ứng dụng công dân +3" in out
    out = await zsay(zfake, lan, "đúng rồi ạ")
    assert "Đã ghi cho Nguyễn Thị Lan" in out
    assert "Hộ được hướng dẫn: 5/300 hộ" in await zsay(zfake, lan, "tien do")

    clock.advance(minutes=1)  # a person's pace, under the flood guard's 20 a minute
    # "huy" in a flow stops the flow (and does not withdraw the report just made).
    assert "câu 1/4" in await zsay(zfake, lan, "/bao_cao")
    assert "Đã hủy báo cáo từng bước" in await zsay(zfake, lan, "huy")
    assert "Hộ được hướng dẫn: 5/300 hộ" in await zsay(zfake, lan, "tien do")
    # "huy" again, just after: meant for the guided report, so it withdraws nothing; the
    # command with its slash (or "huy" later on) still withdraws the last report.
    assert "Không có báo cáo từng bước nào đang mở" in await zsay(zfake, lan, "huy")
    assert "Đã hủy báo cáo ngày" in await zsay(zfake, lan, "/huy")
    assert "Hộ được hướng dẫn: 0/300 hộ" in await zsay(zfake, lan, "tien do")
    assert zfake.errors == []


async def test_zalo_members_get_the_leaderboard_chart_by_address(
    fake: FakeTelegram,
    zfake: FakeZalo,
    database_url: str,
    clock: Clock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With a public (https) TCNS_PUBLIC_URL, the chart goes by sendPhoto with an unguessable,
    expiring address of the bot's own server; the board's text is its caption."""
    monkeypatch.setattr(bot.zalo, "POLL_TIMEOUT", 1)
    admin = zfake.add_user("Trần Thị Quản")
    public = "https://tcns.example.vn"
    running = await app.start(
        _settings(fake, zfake, database_url, admin, public_url=public), schedule=False,
        clock=clock,
    )  # fmt: skip
    assert running.zalo is not None
    RUNNING.append(running.zalo)
    try:
        await Talk(fake).say(HA_LAM, ADMIN_ID, "/lien_ket xa=20791 thon=Thôn Hà Lam ho=200")
        linked = await zsay(zfake, admin, "/lien_ket xa=20791 thon=Thôn Hà Lam")
        code = re.search(r"/tham_gia ([A-Z0-9]{8})", linked)
        assert code is not None
        member = zfake.add_user("Lê Thị Zalo")
        await zsay(zfake, member, f"/tham_gia {code[1]}")
        await zsay(zfake, member, "/bao_cao ho=3")
        await jobs.run(running.deps, "leaderboards", at("2026-11-23T08:00"))
        messengers = [m for m in (running.telegram, running.zalo) if m is not None]
        await OutboxSender(running.deps, messengers).drain()
        [(_chat, url, caption)] = [p for p in zfake.photos if p[0] == member.chat_id]
        assert url.startswith(f"{public}/web/c/")
        assert url.endswith(".png")
        assert "Bảng xếp hạng — Xã Thăng Bình" in caption
        local = url.replace(public, f"http://127.0.0.1:{running.port}")
        async with aiohttp.ClientSession() as http:
            async with http.get(local) as response:
                assert response.status == 200
                assert response.content_type == "image/png"
                assert (await response.read()).startswith(b"\x89PNG")
            async with http.get(local.replace("/web/c/", "/web/c/0")) as response:
                assert response.status == 403
            clock.advance(days=8)
            async with http.get(local) as response:
                assert response.status == 403  # the address expires
        assert zfake.errors == []
    finally:
        RUNNING.remove(running.zalo)
        await fake.wake_pollers()
        await running.stop()


async def test_several_readings_on_zalo_are_lines_to_send_back(
    fake: FakeTelegram, zfake: FakeZalo, both: tuple[app.Running, ZaloUser]
) -> None:
    # Zalo has no buttons: a message read several ways lists each reading as a line; nothing is
    # stored until the member sends the one they meant.
    _running, admin = both
    hoa = await _member_of_binh_an(zfake, admin, "Lê Thị Hoa")
    out = await zsay(zfake, hoa, "sáng nay 5 hộ, chiều thêm 3 hộ nữa")
    assert "Chưa ghi gì: gửi lại đúng dòng bạn muốn ghi." in out
    lines = re.findall(r"^👉 (/bao_cao .+)$", out, re.MULTILINE)
    assert "/bao_cao ho=8" in lines, out
    assert "bấm" not in out  # nothing to press
    assert "Hộ được hướng dẫn: 0/90" in await zsay(zfake, hoa, "tien do")
    assert "Đã ghi" in await zsay(zfake, hoa, "/bao_cao ho=8")
    assert "Hộ được hướng dẫn: 8/90" in await zsay(zfake, hoa, "tien do")
    assert zfake.errors == []
