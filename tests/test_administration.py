"""Administration as communes live it: delegation, inheritance, teams, the audit trail."""

from __future__ import annotations

import re

import pytest
from sqlmodel import select

from handlers.incoming import Deps
from handlers.plans import apply_plan, load_plan, resolve_unit
from storage import db
from storage.models import AdminGrant, Unit
from tests.conftest import SUPERADMIN
from tests.harness import ChatRoom, Person

SUPER = Person(SUPERADMIN, "Trần Văn Quản")
XA = Person("tg:301", "Võ Thị Xã")
LAN = Person("tg:101", "Nguyễn Thị Lan")
HUNG = Person("tg:102", "Lê Văn Hùng")
MAI = Person("tg:201", "Phạm Thị Mai")

DENIED = "⛔"


@pytest.fixture
async def commune(deps: Deps) -> ChatRoom:
    room = ChatRoom(deps, "tg:-2001", title="Ban chỉ đạo xã Thăng Bình")
    assert "Xã Thăng Bình" in await room.say(SUPER, "/lien_ket tinh=Đà Nẵng xa=Thăng Bình")
    return room


async def _villages(deps: Deps) -> list[str]:
    async with deps.sessions() as s:
        return sorted(u.name for u in (await s.exec(select(Unit).where(Unit.level == "village"))))


async def test_commune_admin_by_reply_then_revoked(deps: Deps, commune: ChatRoom) -> None:
    out = await commune.say(SUPER, "/cap_quyen", reply_to=XA)
    assert "Võ Thị Xã đã là quản trị viên của Xã Thăng Bình" in out

    # Inside the commune: links a new village and configures it.
    ha_lam = ChatRoom(deps, "tg:-2002")
    out = await ha_lam.say(XA, "/lien_ket tinh=Đà Nẵng xa=Thăng Bình thon=Thôn Hà Lam ho=200")
    assert "Nhóm này đã được liên kết với Thôn Hà Lam" in out
    assert "hiện có 250 hộ" in await ha_lam.say(XA, "/so_ho 250")
    assert "Chỉ tiêu của Thôn Hà Lam" in await ha_lam.say(XA, "/chi_tieu app=60")
    assert "Lịch của Thôn Hà Lam" in await ha_lam.say(XA, "/lich nhac=thu5 09:00")
    assert "tổ trưởng" in await ha_lam.say(XA, "/to_truong", reply_to=LAN)

    # Outside it: refused, and nothing is created.
    elsewhere = ChatRoom(deps, "tg:-2003")
    assert DENIED in await elsewhere.say(XA, "/lien_ket xa=20242 thon=Tổ 5")
    assert DENIED in await elsewhere.say(XA, "/lien_ket tinh=Đà Nẵng xa=Hải Châu")
    assert await _villages(deps) == ["Thôn Hà Lam"]
    await elsewhere.say(SUPER, "/lien_ket xa=20242 thon=Tổ 5 ho=90")
    for command in ("/so_ho 100", "/chi_tieu app=10", "/lich nhac=cn 08:00", "/ngon_ngu en"):
        assert DENIED in await elsewhere.say(XA, command), command
    # Nor may they take a chat of another commune for their own.
    assert DENIED in await elsewhere.say(XA, "/lien_ket xa=20791 thon=Thôn Hà Lam")

    out = await commune.say(SUPER, "/thu_quyen", reply_to=XA)
    assert "không còn là quản trị viên của Xã Thăng Bình" in out
    for room, command in [
        (ha_lam, "/so_ho 300"),
        (ha_lam, "/chi_tieu app=70"),
        (ha_lam, "/lich nhac=thu6 16:00"),
        (ha_lam, "/to_truong"),
        (ha_lam, "/nhat_ky"),
        (commune, "/cap_quyen"),
        (ChatRoom(deps, "tg:-2004"), "/lien_ket xa=20791 thon=Thôn Mới"),
    ]:
        assert DENIED in await room.say(XA, command, reply_to=HUNG), command
    async with deps.sessions() as s:
        assert (await s.exec(select(AdminGrant))).first() is None
    assert await _villages(deps) == ["Thôn Hà Lam", "Tổ 5"]


async def test_revoke_keeps_rights_from_above(deps: Deps, commune: ChatRoom) -> None:
    ha_lam = ChatRoom(deps, "tg:-2002")
    await ha_lam.say(SUPER, "/lien_ket xa=20791 thon=Thôn Hà Lam")
    await commune.say(SUPER, "/cap_quyen", reply_to=XA)
    await ha_lam.say(SUPER, "/cap_quyen", reply_to=XA)
    out = await ha_lam.say(SUPER, "/thu_quyen", reply_to=XA)
    assert "vẫn giữ quyền được cấp tại Xã Thăng Bình" in out
    assert "hiện có" in await ha_lam.say(XA, "/so_ho 120")


async def test_grant_needs_a_reply_and_superadmins_stay(deps: Deps, commune: ChatRoom) -> None:
    assert "trả lời một tin nhắn" in await commune.say(SUPER, "/cap_quyen")
    out = await commune.say(SUPER, "/thu_quyen", reply_to=SUPER)
    assert "quản trị cấp cao" in out


async def test_targets_and_schedule_inherit_until_overridden(
    deps: Deps, commune: ChatRoom
) -> None:
    ha_lam = ChatRoom(deps, "tg:-2002")
    binh_an = ChatRoom(deps, "tg:-2003")
    await ha_lam.say(SUPER, "/lien_ket xa=20791 thon=Thôn Hà Lam ho=100")
    await binh_an.say(SUPER, "/lien_ket xa=20791 thon=Thôn Bình An ho=100")
    await commune.say(SUPER, "/chi_tieu app=60 cks=40")
    await commune.say(SUPER, "/lich nhac=thu5 09:00")

    out = await ha_lam.say(LAN, "/chi_tieu")
    assert "Hộ cài ứng dụng công dân (app): 60% số hộ — kế thừa từ Xã Thăng Bình" in out
    assert "Hộ được hướng dẫn (ho): 80% số hộ — mặc định" in out
    assert "mục tiêu 60% = 60 hộ" in await ha_lam.say(LAN, "/tien_do")
    out = await ha_lam.say(LAN, "/lich")
    assert "Nhắc báo cáo: Thứ Năm 09:00 — kế thừa từ Xã Thăng Bình" in out
    assert "Tổng hợp cho tổ trưởng: Thứ Hai 07:30 — mặc định" in out

    await ha_lam.say(SUPER, "/chi_tieu app=70")
    await ha_lam.say(SUPER, "/lich nhac=thu6 15:00")
    assert "(app): 70% số hộ — đặt tại đây" in await ha_lam.say(LAN, "/chi_tieu")
    assert "Thứ Sáu 15:00 — đặt tại đây" in await ha_lam.say(LAN, "/lich")
    # The sibling still inherits from the commune.
    assert "(app): 60% số hộ — kế thừa từ Xã Thăng Bình" in await binh_an.say(MAI, "/chi_tieu")
    assert "Thứ Năm 09:00 — kế thừa từ Xã Thăng Bình" in await binh_an.say(MAI, "/lich")

    # The override changes the village's score; "mac_dinh" returns to the inherited target.
    await ha_lam.say(LAN, "/bao_cao ho=80 app=60 tt=50 cks=40")
    assert "Điểm: 96,4" in await ha_lam.say(LAN, "/tien_do")  # app 60 of 70 → 6/7
    await ha_lam.say(SUPER, "/chi_tieu app=mac_dinh")
    assert "Điểm: 100,0" in await ha_lam.say(LAN, "/tien_do")
    await ha_lam.say(SUPER, "/lich nhac=mac_dinh")
    assert "Thứ Năm 09:00 — kế thừa từ Xã Thăng Bình" in await ha_lam.say(LAN, "/lich")

    # Refusals say why and change nothing.
    out = await ha_lam.say(SUPER, "/chi_tieu app=150")
    assert "từ 0 đến 100" in out
    out = await ha_lam.say(SUPER, "/lich nhac=thu9 10:00")
    assert "không phải ngày và giờ" in out
    assert "Ví dụ: /lich nhac=thu6 16:00" in out
    assert "(app): 60% số hộ — kế thừa" in await ha_lam.say(LAN, "/chi_tieu")


async def test_team_join_code_roster_and_commune_figures(deps: Deps, commune: ChatRoom) -> None:
    async with db.transaction(deps.sessions) as session:
        label, text, plan = load_plan("quang_nam_3220_2024")
        da_nang = await resolve_unit(session, "tinh:48")
        await apply_plan(session, plan=plan, label=label, text=text, unit=da_nang, actor="t")
    ha_lam = ChatRoom(deps, "tg:-2002")
    await ha_lam.say(SUPER, "/lien_ket xa=20791 thon=Thôn Hà Lam ho=100")
    await ChatRoom(deps, "tg:-2003").say(SUPER, "/lien_ket xa=20791 thon=Thôn Bình An ho=80")
    await ha_lam.say(SUPER, "/to_truong", reply_to=LAN)
    await ha_lam.say(LAN, "/bao_cao ho=3")

    out = await ha_lam.say(LAN, "/ma_tham_gia")
    code = re.search(r"/tham_gia ([A-Z0-9]{8})", out)
    assert code is not None
    assert DENIED in await ha_lam.say(HUNG, "/ma_tham_gia")

    private = ChatRoom(deps, HUNG.id, kind="private")
    # Hùng spoke to the bot in the group: he is on its roster already, and his private chat
    # reports for it; the code changes nothing.
    assert "Bạn đã ở trong tổ của Thôn Hà Lam" in await private.say(
        HUNG, f"/tham_gia {code.group(1).lower()}"
    )
    assert "Đã ghi cho" in await private.say(HUNG, "/bao_cao ho=5")
    assert "Hộ được hướng dẫn: 8/100 hộ" in await ha_lam.say(LAN, "/tien_do")
    # How people write in a private chat: no slash, a colon, the short "bc".
    assert "Đã ghi cho" in await private.say(HUNG, "Báo cáo: hộ 2")
    assert "Đã ghi cho" in await private.say(HUNG, "bc ho=3")
    assert "Đã ghi cho" in await private.say(HUNG, "bao cao cai app 1 cảm ơn ạ")
    assert "Hộ được hướng dẫn: 13/100 hộ" in await ha_lam.say(LAN, "/tien_do")

    # A stranger writing to the bot before joining is told how to join, not how to link.
    stranger = ChatRoom(deps, "tg:909", kind="private")
    for text in ("xin chào", "/bao_cao ho=2", "/tien_do"):
        out = await stranger.say(Person("tg:909", "Người Lạ"), text)
        assert "/tham_gia MÃ" in out, text
        assert "/lien_ket" not in out, text
    out = await stranger.say(Person("tg:909", "Người Lạ"), f"tham gia: {code.group(1)}")
    assert "Bạn đã tham gia" in out

    out = await ha_lam.say(LAN, "/ma_tham_gia moi")
    assert "Mã cũ không còn dùng được." in out
    assert code.group(1) not in out
    mai = ChatRoom(deps, MAI.id, kind="private")
    assert "không hợp lệ" in await mai.say(MAI, f"/tham_gia {code.group(1)}")
    assert "chat riêng" in await ha_lam.say(MAI, f"/tham_gia {code.group(1)}")
    # Speaking in the group put Mai on its roster; she takes herself off again.
    assert "không còn trong tổ" in await ha_lam.say(MAI, "/roi_to")

    out = await ha_lam.say(SUPER, "/thanh_vien to=doan tap_huan=co", reply_to=LAN)
    assert "đoàn thanh niên, đã tập huấn" in out
    out = await ha_lam.say(HUNG, "/danh_sach")
    assert "Nguyễn Thị Lan — tổ trưởng, đoàn thanh niên, đã tập huấn" in out
    assert "Lê Văn Hùng — chưa tập huấn" in out
    assert "Kế hoạch yêu cầu mỗi tổ 4–8 thành viên; tổ này có 3." in out
    assert DENIED in await ha_lam.say(HUNG, "/thanh_vien tap_huan=co", reply_to=HUNG)

    out = await commune.say(SUPER, "/tien_do")
    assert "Thôn có Tổ CNS: 1/2 (50%) — mục tiêu 100%" in out
    assert "Thành viên đã tập huấn: 1/3 (33,3%) — mục tiêu 100%" in out

    out = await commune.say(SUPER, "/nhat_ky")
    for action in ("tổ trưởng", "mã tham gia", "thông tin thành viên", "liên kết nhóm"):
        assert action in out, action
    # People and units by name, and in a commune's log the village each change was made in.
    assert "tổ trưởng (Thôn Hà Lam): – → Nguyễn Thị Lan" in out
    assert "liên kết nhóm (Thôn Hà Lam): – → Thôn Hà Lam" in out
    member = "thông tin thành viên (Thôn Hà Lam): chưa tập huấn → Nguyễn Thị Lan: đoàn thanh"
    assert f"{member} niên, đã tập huấn" in out
    assert not re.search(r"tg:|trained|youth_union", out)
    assert DENIED in await commune.say(LAN, "/nhat_ky")


async def test_zero_households_is_refused_with_an_example(deps: Deps) -> None:
    group = ChatRoom(deps, "tg:-4990")
    await group.say(Person(SUPERADMIN, "Quản trị"), "/lien_ket xa=20791 thon=Thôn Không ho=120")
    out = await group.say(Person(SUPERADMIN, "Quản trị"), "/so_ho 0")
    assert "ít nhất một hộ" in out
    assert "/so_ho 350" in out
    assert "120" in await group.say(Person(SUPERADMIN, "Quản trị"), "/tien_do")  # kept
