"""Members kept tidy: /roi_to, a leader taking someone off the team by reply, and a member who
leaves the Telegram group no longer reminded (the service message, in privacy mode)."""

from __future__ import annotations

import re

from bot import app
from sandbox.telegram import FakeTelegram
from scheduler import jobs
from scheduler.outbox import OutboxSender
from tests.conftest import lift_group_limit
from tests.factories import settings_for
from tests.harness import Clock
from tests.test_jobs import at
from tests.tg_world import ADMIN_ID, BINH_AN, HA_LAM, Talk

LAN, HUNG, ANH = 101, 102, 103


async def test_members_leave_and_are_no_longer_reminded(
    fake: FakeTelegram, database_url: str, clock: Clock
) -> None:
    running = await app.start(settings_for(fake, database_url), schedule=False, clock=clock)
    lift_group_limit(fake, running)
    talk = Talk(fake)
    try:
        await talk.say(HA_LAM, ADMIN_ID, "/lien_ket xa=20791 thon=Thôn Hà Lam ho=200")
        said = {}
        for user in (LAN, HUNG, ANH):
            before = len(fake.messages_to(HA_LAM))
            said[user] = await fake.user_sends(HA_LAM, user, "/bao_cao ho=1")
            await fake.wait_sent(before + 1, chat_id=HA_LAM)
        await talk.say(HA_LAM, ADMIN_ID, "/to_truong", reply_to=said[LAN]["message_id"])
        assert "Lê Văn Hùng" in await talk.say(HA_LAM, LAN, "/danh_sach")

        # Hùng cannot take Ánh off the team; Lan, the leader, can.
        out = await talk.say(HA_LAM, HUNG, "/roi_to", reply_to=said[ANH]["message_id"])
        assert "Chỉ tổ trưởng" in out
        out = await talk.say(HA_LAM, LAN, "/roi_to", reply_to=said[ANH]["message_id"])
        assert "không còn trong tổ của Thôn Hà Lam" in out
        # Hùng leaves the group: said nothing, but no longer a member.
        await fake.user_leaves(HA_LAM, HUNG)
        roster = await talk.say(HA_LAM, LAN, "/danh_sach")
        assert "Lê Văn Hùng" not in roster
        assert "Ánh" not in roster
        assert "1 thành viên" in roster
        # The next week's reminder names nobody who left.
        assert await jobs.run(running.deps, "reminders", at("2026-11-27T16:00")) == 1
        assert running.telegram is not None
        await OutboxSender(running.deps, [running.telegram]).drain()
        reminder = fake.messages_to(HA_LAM)[-1].text or ""
        assert "Nhắc báo cáo" in reminder
        assert "Lê Văn Hùng" not in reminder
        assert "Ánh" not in reminder
        # A member leaves by themselves; the log says who left.
        assert "không còn trong tổ" in await talk.say(HA_LAM, LAN, "/roi_to")
        log = await talk.say(HA_LAM, ADMIN_ID, "/nhat_ky")
        assert "rời tổ: Lê Văn Hùng → –" in log
        assert fake.errors == []
    finally:
        await fake.wake_pollers()
        await running.stop()


async def test_joining_another_team_by_code_moves_the_member(
    fake: FakeTelegram, database_url: str, clock: Clock
) -> None:
    running = await app.start(settings_for(fake, database_url), schedule=False, clock=clock)
    lift_group_limit(fake, running)
    talk = Talk(fake)
    try:
        await talk.say(HA_LAM, ADMIN_ID, "/lien_ket xa=20791 thon=Thôn Hà Lam ho=200")
        await talk.say(BINH_AN, ADMIN_ID, "/lien_ket xa=20791 thon=Thôn Bình An ho=150")
        said = {}
        for user in (LAN, HUNG):
            before = len(fake.messages_to(HA_LAM))
            said[user] = await fake.user_sends(HA_LAM, user, "/bao_cao ho=2")
            await fake.wait_sent(before + 1, chat_id=HA_LAM)
        await talk.say(HA_LAM, ADMIN_ID, "/to_truong", reply_to=said[LAN]["message_id"])
        # Lan, the leader of Hà Lam, has a private chat with the bot: she is told there.
        await talk.say(LAN, LAN, "/start")
        code = re.search(r"/tham_gia (\w+)", await talk.say(BINH_AN, ADMIN_ID, "/ma_tham_gia"))
        assert code is not None

        told_before = len(fake.messages_to(LAN))
        out = await talk.say(HUNG, HUNG, f"/tham_gia {code[1]}")
        assert "Bạn đã tham gia Tổ CNS Thôn Bình An" in out
        assert "Bạn không còn trong tổ của Thôn Hà Lam; các báo cáo ở đó vẫn giữ nguyên." in out
        # Joining again says so and moves nothing.
        assert "Bạn đã ở trong tổ" in await talk.say(HUNG, HUNG, f"/tham_gia {code[1]}")
        assert "Lê Văn Hùng" not in await talk.say(HA_LAM, LAN, "/danh_sach")
        assert "Lê Văn Hùng" in await talk.say(BINH_AN, ADMIN_ID, "/danh_sach")
        # His report stays with Hà Lam.
        assert "4/200" in await talk.say(HA_LAM, LAN, "/tien_do")

        assert running.telegram is not None
        await OutboxSender(running.deps, [running.telegram]).drain()
        await fake.wait_sent(told_before + 1, chat_id=LAN)
        told = fake.messages_to(LAN)[told_before:]
        assert [m.text for m in told] == [
            "🔁 Lê Văn Hùng đã tham gia tổ của Thôn Bình An bằng mã và không còn trong tổ của "
            "Thôn Hà Lam."
        ]
        assert "chuyển sang tổ khác: Lê Văn Hùng → Thôn Bình An" in await talk.say(
            HA_LAM, ADMIN_ID, "/nhat_ky"
        )

        # The leader herself moving: the group is told, and that it has no leader now.
        before = len(fake.messages_to(HA_LAM))
        out = await talk.say(LAN, LAN, f"/tham_gia {code[1]}")
        assert "Thôn Hà Lam chưa có tổ trưởng" in out
        await OutboxSender(running.deps, [running.telegram]).drain()
        await fake.wait_sent(before + 1, chat_id=HA_LAM)
        assert "Nguyễn Thị Lan đã tham gia tổ của Thôn Bình An" in (
            fake.messages_to(HA_LAM)[before].text or ""
        )
        assert fake.errors == []
    finally:
        await fake.wake_pollers()
        await running.stop()
