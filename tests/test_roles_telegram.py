"""Every configuration command against every role, through python-telegram-bot and the local
Bot API server. The table is the specification: change a rule, change its row."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot import app
from sandbox.telegram import FakeTelegram
from tests.conftest import lift_group_limit
from tests.factories import settings_for
from tests.harness import Clock
from tests.tg_world import ADMIN_ID, BINH_AN, HA_LAM, Talk

COMMUNE = -1001003
UNIT_ADMIN, PARENT_ADMIN, SIBLING_ADMIN = 401, 402, 403
LEADER, MEMBER, OWNER, STRANGER, SUBJECT = 101, 102, 404, 405, 406

ROLES = {
    "superadmin": ADMIN_ID,
    "admin of the unit": UNIT_ADMIN,
    "admin of its parent": PARENT_ADMIN,
    "admin of a sibling": SIBLING_ADMIN,
    "leader": LEADER,
    "member": MEMBER,
    "Telegram group owner": OWNER,
    "stranger": STRANGER,
}
ADMINS = {"superadmin", "admin of the unit", "admin of its parent"}

# command, whose message it replies to (None: not a reply), roles allowed
COMMANDS: list[tuple[str, int | None, set[str]]] = [
    ("/lien_ket xa=20791 thon=Thôn Hà Lam", None, ADMINS),
    ("/so_ho 300", None, ADMINS),
    ("/chi_tieu app=60", None, ADMINS),
    ("/lich nhac=thu6 16:00", None, ADMINS),
    ("/ngon_ngu vi", None, ADMINS),
    ("/to_truong", LEADER, ADMINS),
    ("/cap_quyen", SUBJECT, ADMINS),
    ("/thu_quyen", SUBJECT, ADMINS),
    ("/thanh_vien tap_huan=co", MEMBER, ADMINS),
    ("/nhat_ky", None, ADMINS),
    ("/ma_tham_gia", None, ADMINS | {"leader"}),
]


@pytest.fixture
async def world(
    fake: FakeTelegram, database_url: str, clock: Clock
) -> AsyncIterator[tuple[Talk, dict[int, int]]]:
    fake.add_group(HA_LAM, "Tổ CNS thôn Hà Lam", owner=OWNER)
    fake.add_group(COMMUNE, "Ban chỉ đạo xã Thăng Bình")
    for uid, name in [
        (UNIT_ADMIN, "Admin Thôn"),
        (PARENT_ADMIN, "Admin Xã"),
        (SIBLING_ADMIN, "Admin Bình An"),
        (OWNER, "Chủ Nhóm"),
        (STRANGER, "Người Lạ"),
        (SUBJECT, "Người Được Cấp"),
    ]:
        fake.add_user(uid, name)
    settings = settings_for(fake, database_url)
    running = await app.start(settings, clock=clock)
    lift_group_limit(fake, running)  # this test is about rights, not pacing
    talk = Talk(fake)
    await talk.say(COMMUNE, ADMIN_ID, "/lien_ket tinh=Đà Nẵng xa=Thăng Bình")
    await talk.say(HA_LAM, ADMIN_ID, "/lien_ket xa=20791 thon=Thôn Hà Lam ho=200")
    await talk.say(BINH_AN, ADMIN_ID, "/lien_ket xa=20791 thon=Thôn Bình An ho=150")
    # Messages that commands reply to (the bot does not see them: privacy mode).
    said: dict[int, int] = {}
    for uid, chat in [
        (UNIT_ADMIN, HA_LAM),
        (PARENT_ADMIN, COMMUNE),
        (SIBLING_ADMIN, BINH_AN),
        (LEADER, HA_LAM),
        (MEMBER, HA_LAM),
        (SUBJECT, HA_LAM),
    ]:
        said[uid] = (await fake.user_sends(chat, uid, "Xin chào cả tổ"))["message_id"]
    await talk.say(HA_LAM, ADMIN_ID, "/cap_quyen", reply_to=said[UNIT_ADMIN])
    await talk.say(COMMUNE, ADMIN_ID, "/cap_quyen", reply_to=said[PARENT_ADMIN])
    await talk.say(BINH_AN, ADMIN_ID, "/cap_quyen", reply_to=said[SIBLING_ADMIN])
    await talk.say(HA_LAM, ADMIN_ID, "/to_truong", reply_to=said[LEADER])
    await talk.say(HA_LAM, MEMBER, "/bao_cao ho=1")
    # Moved here from the commune and sibling chats so that replies work in the village chat.
    for uid in (PARENT_ADMIN, SIBLING_ADMIN):
        said[uid] = (await fake.user_sends(HA_LAM, uid, "Chào"))["message_id"]
    yield talk, said
    await fake.wake_pollers()
    await running.stop()


@pytest.mark.parametrize(
    ("command", "replies_to", "allowed"), COMMANDS, ids=[c[0] for c in COMMANDS]
)
async def test_rights(
    world: tuple[Talk, dict[int, int]],
    fake: FakeTelegram,
    command: str,
    replies_to: int | None,
    allowed: set[str],
) -> None:
    talk, said = world
    wrong: list[str] = []
    for role, uid in ROLES.items():
        reply_to = said[replies_to] if replies_to is not None else None
        out = await talk.say(HA_LAM, uid, command, reply_to=reply_to)
        got = "deny" if out.startswith("⛔") else "allow"
        expected = "allow" if role in allowed else "deny"
        if got != expected:
            wrong.append(f"{role}: expected {expected}, got {got}: {out[:80]!r}")
    assert wrong == [], "\n".join(wrong)
    assert fake.errors == []
