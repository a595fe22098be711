"""Members kept tidy: /roi_to, a leader taking someone off the team by reply, and a member who
leaves the Telegram group no longer reminded (the service message, in privacy mode)."""

from __future__ import annotations

from bot import app
from sandbox.telegram import FakeTelegram
from scheduler import jobs
from scheduler.outbox import OutboxSender
from tests.conftest import lift_group_limit
from tests.factories import settings_for
from tests.harness import Clock
from tests.test_jobs import at
from tests.tg_world import ADMIN_ID, HA_LAM, Talk

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
