"""Villages kept tidy: a name that finds its village, rename, merge (totals and the commune's
ranking unchanged in sum), remove an empty one; all in the audit log."""

from __future__ import annotations

import re

from sqlmodel import select

from handlers.incoming import Deps
from storage.models import Report, Unit, UnitTotal
from storage.reports import ALL_TIME
from tests.harness import ChatRoom, Person

SUPER = Person("tg:1", "Quản trị")
LAN, HUNG, MAI = Person("tg:11", "Lan"), Person("tg:12", "Hùng"), Person("tg:13", "Mai")


async def _all_time(deps: Deps, unit_id: int) -> dict[int, int]:
    async with deps.sessions() as s:
        rows = await s.exec(
            select(UnitTotal).where(UnitTotal.unit_id == unit_id, UnitTotal.period == ALL_TIME)
        )
        return {r.indicator_id: r.value for r in rows.all()}


async def _unit(deps: Deps, name: str) -> Unit | None:
    async with deps.sessions() as s:
        return (await s.exec(select(Unit).where(Unit.name == name))).first()


async def test_rename_merge_and_remove(deps: Deps) -> None:
    commune = ChatRoom(deps, "tg:-6000")
    await commune.say(SUPER, "/lien_ket tinh=Đà Nẵng xa=Thăng Bình")
    phu_my = ChatRoom(deps, "tg:-6001")
    out = await phu_my.say(SUPER, "/lien_ket xa=20791 thon=Thôn Phú Mỹ ho=300")
    assert "Đã tạo Thôn Phú Mỹ" in out
    # A second group of the same village, typed without accents or "Thôn": found, not made.
    again = ChatRoom(deps, "tg:-6002")
    assert "Đã tạo" not in await again.say(SUPER, "/lien_ket xa=20791 thon=phu my")
    # A near miss asks instead of making a second village; by its code it links.
    near = ChatRoom(deps, "tg:-6009")
    out = await near.say(SUPER, "/lien_ket xa=20791 thon=Phu Mi")
    assert "Có phải là:" in out
    assert "Thôn Phú Mỹ — /lien_ket xa=20791 thon=20791-" in out
    assert "/lien_ket xa=20791 thon=Phu Mi moi=co" in out
    code_line = re.search(r"thon=(20791-\d+)", out)
    assert code_line is not None
    assert "liên kết với Thôn Phú Mỹ" in await near.say(
        SUPER, f"/lien_ket xa=20791 thon={code_line[1]}"
    )
    # A real duplicate, made under another name, with reports of its own.
    dup = ChatRoom(deps, "tg:-6003")
    out = await dup.say(SUPER, "/lien_ket xa=20791 thon=Phú Mỹ 2 ho=100 moi=co")
    dup_code = re.search(r"mã (20791-\d+)", out)
    assert dup_code is not None
    other = ChatRoom(deps, "tg:-6004")
    await other.say(SUPER, "/lien_ket xa=20791 thon=Thôn Hà Lam ho=200")
    await phu_my.say(LAN, "/bao_cao ho=10 app=4")
    await dup.say(HUNG, "/bao_cao ho=5 app=1")
    await dup.say(LAN, "/bao_cao ho=2")  # Lan reports in both: one membership after
    await other.say(MAI, "/bao_cao ho=50")
    village = await _unit(deps, "Thôn Phú Mỹ")
    duplicate = await _unit(deps, "Phú Mỹ 2")
    thang_binh = await _unit(deps, "Xã Thăng Bình")
    assert village
    assert duplicate
    assert thang_binh
    assert village.id
    assert duplicate.id
    assert thang_binh.id is not None
    commune_before = await _all_time(deps, thang_binh.id)
    sum_before = {
        k: (await _all_time(deps, village.id)).get(k, 0) + v
        for k, v in (await _all_time(deps, duplicate.id)).items()
    }
    board_before = await commune.say(SUPER, "/xep_hang")

    # Rename: refused onto a sibling's name, done otherwise.
    assert "/gop" in await dup.say(SUPER, "/doi_ten thôn phú mỹ")
    assert "Thôn Phú Mỹ 2 Mới" not in await dup.say(LAN, "/doi_ten Thôn Phú Mỹ 2 Mới")  # no rights
    assert "nay mang tên" in await dup.say(SUPER, "/doi_ten Thôn Phú Mỹ Hai")

    # Remove: refused for a village with reports, with the advice to merge.
    out = await commune.say(SUPER, f"/xoa_thon {dup_code[1]}")
    assert "không thể xóa" in out
    assert f"/gop {dup_code[1]}" in out

    # Merge the duplicate into Thôn Phú Mỹ from Phú Mỹ's chat.
    out = await phu_my.say(SUPER, f"/gop {dup_code[1]}")
    assert "Thôn Phú Mỹ Hai nay thuộc Thôn Phú Mỹ: 2 báo cáo" in out
    assert await _unit(deps, "Thôn Phú Mỹ Hai") is None
    assert await _all_time(deps, village.id) == sum_before
    assert await _all_time(deps, thang_binh.id) == commune_before  # the commune's unchanged
    async with deps.sessions() as s:
        moved = (await s.exec(select(Report).where(Report.unit_id == village.id))).all()
    assert len(moved) == 3
    # The duplicate's chat now reports for Thôn Phú Mỹ; Lan is one member, not two.
    assert "Thôn Phú Mỹ" in await dup.say(HUNG, "/tien_do")
    roster = await phu_my.say(HUNG, "/danh_sach")
    assert roster.count("Lan") == 1
    assert "Hùng" in roster
    board_after = await commune.say(SUPER, "/xep_hang")
    assert "Hai" not in board_after
    assert len(board_after.splitlines()) == len(board_before.splitlines()) - 1

    # Remove an empty village.
    empty = ChatRoom(deps, "tg:-6005")
    out = await empty.say(SUPER, "/lien_ket xa=20791 thon=Thôn Trống ho=10")
    empty_code = re.search(r"mã (20791-\d+)", out)
    assert empty_code is not None
    assert "Đã xóa Thôn Trống" in await commune.say(SUPER, f"/xoa_thon {empty_code[1]}")
    assert await _unit(deps, "Thôn Trống") is None
    assert "chưa được liên kết" in await empty.say(HUNG, "/tien_do")
    # The highest code gone, the next village still gets a code never given before.
    again = ChatRoom(deps, "tg:-6006")
    out = await again.say(SUPER, "/lien_ket xa=20791 thon=Thôn Mới Lập ho=10")
    new_code = re.search(r"mã (20791-\d+)", out)
    assert new_code is not None
    assert int(new_code[1].split("-")[1]) > int(empty_code[1].split("-")[1])

    log = await commune.say(SUPER, "/nhat_ky")
    assert "đổi tên (Thôn Phú Mỹ): Phú Mỹ 2 → Thôn Phú Mỹ Hai" in log
    assert f"gộp thôn (Thôn Phú Mỹ): Thôn Phú Mỹ Hai ({dup_code[1]}) → Thôn Phú Mỹ" in log
    assert f"xóa thôn: Thôn Trống ({empty_code[1]}) → –" in log
