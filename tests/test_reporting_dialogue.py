"""The reporting loop as chats live it, through the handlers and a real SQLite database."""

from __future__ import annotations

import pytest
from sqlmodel import col, func, select

from handlers.incoming import Deps
from storage import db
from storage.models import Chat, Report, ReportValue, Unit, UnitTotal
from storage.reports import ALL_TIME
from tests.conftest import SUPERADMIN
from tests.harness import ChatRoom, Clock, Person

ADMIN = Person(SUPERADMIN, "Trần Văn Quản")
LAN = Person("tg:101", "Nguyễn Thị Lan")
HUNG = Person("tg:102", "Lê Văn Hùng")
ANH = Person("tg:103", '<b>Ánh & "Bé"')
MAI = Person("tg:201", "Phạm Thị Mai")


async def _totals(deps: Deps, unit_name: str) -> dict[str, int]:
    """indicator code -> cumulative running total of the named village."""
    from storage.models import Indicator

    async with deps.sessions() as s:
        unit = (await s.exec(select(Unit).where(Unit.name == unit_name))).one()
        rows = await s.exec(
            select(Indicator.code, UnitTotal.value)
            .join(Indicator, col(Indicator.id) == col(UnitTotal.indicator_id))
            .where(UnitTotal.unit_id == unit.id, UnitTotal.period == ALL_TIME)
        )
        return {code: value for code, value in rows.all() if value}


async def _recomputed(deps: Deps) -> dict[tuple[int, int], int]:
    """The same sums recomputed from the reports, village level."""
    async with deps.sessions() as s:
        rows = await s.exec(
            select(Report.unit_id, ReportValue.indicator_id, func.sum(ReportValue.value))
            .join(Report, col(Report.id) == col(ReportValue.report_id))
            .where(col(Report.withdrawn_at).is_(None))
            .group_by(col(Report.unit_id), col(ReportValue.indicator_id))
        )
        return {(u, i): int(v) for u, i, v in rows.all() if v}


async def _running(deps: Deps) -> dict[tuple[int, int], int]:
    async with deps.sessions() as s:
        rows = await s.exec(
            select(UnitTotal)
            .join(Unit, col(Unit.id) == col(UnitTotal.unit_id))
            .where(UnitTotal.period == ALL_TIME, Unit.level == "village")
        )
        return {(r.unit_id, r.indicator_id): r.value for r in rows.all() if r.value}


@pytest.fixture
async def villages(deps: Deps) -> tuple[ChatRoom, ChatRoom]:
    ha_lam = ChatRoom(deps, "tg:-1001", title="Tổ CNS thôn Hà Lam")
    binh_an = ChatRoom(deps, "tg:-1002", title="Tổ CNS thôn Bình An")
    out = await ha_lam.say(ADMIN, "/lien_ket tinh=Đà Nẵng xa=Thăng Bình thon=Thôn Hà Lam ho=200")
    assert "Thôn Hà Lam, Xã Thăng Bình, Thành phố Đà Nẵng" in out
    out = await binh_an.say(ADMIN, "/lien_ket xa=20791 thon=Thôn Bình An ho=150")
    assert "Thôn Bình An" in out
    return ha_lam, binh_an


async def test_link_and_ambiguous_commune(deps: Deps) -> None:
    room = ChatRoom(deps, "tg:-1009")
    out = await room.say(ADMIN, "/lien_ket xa=Thăng Bình thon=Thôn 1")
    assert "xa=16342" in out
    assert "xa=20791" in out
    assert "Thanh Hóa" in out
    assert "Đà Nẵng" in out
    async with deps.sessions() as s:
        assert (await s.exec(select(Unit).where(Unit.level == "village"))).first() is None
    out = await room.say(ADMIN, "/lien_ket tinh=Đà Nẵng xa=Thăng Bình")
    assert "Xã Thăng Bình" in out
    async with deps.sessions() as s:
        chat = await s.get(Chat, "tg:-1009")
        assert chat is not None
        assert chat.unit_id is not None
        unit = await s.get(Unit, chat.unit_id)
        assert unit is not None
        assert unit.code == "20791"


async def test_not_found_and_plain_member_denied(deps: Deps) -> None:
    room = ChatRoom(deps, "tg:-1010")
    assert "Không tìm thấy" in await room.say(ADMIN, "/lien_ket xa=Không Có Xã Này")
    assert "Chỉ quản trị viên" in await room.say(LAN, "/lien_ket xa=20791 thon=Thôn 9")
    assert "Chỉ quản trị viên" in await room.say(LAN, "/so_ho 300")
    assert "Chỉ quản trị viên" in await room.say(LAN, "/ngon_ngu en")
    async with deps.sessions() as s:
        assert (await s.exec(select(Unit).where(Unit.level == "village"))).first() is None


async def test_unlinked_chat_says_how_to_link(deps: Deps) -> None:
    room = ChatRoom(deps, "tg:-1011")
    out = await room.say(LAN, "/bao_cao ho=3")
    assert "chưa được liên kết" in out
    assert "/lien_ket" in out


async def test_three_shapes_progress_and_board(
    deps: Deps, villages: tuple[ChatRoom, ChatRoom]
) -> None:
    ha_lam, binh_an = villages
    out = await ha_lam.say(LAN, "/bao_cao ho=12 app=5 tt=3 cks=1")
    assert "Đã ghi cho Nguyễn Thị Lan (Thôn Hà Lam, ngày 20/11)" in out
    assert len(out.splitlines()) <= 3  # brief in a group: the whole progress is in /tien_do
    assert "Hộ có chữ ký số: 1/200 hộ, còn 59 hộ để đạt 30%" in out  # the furthest behind
    out = await ha_lam.say(HUNG, "/bao_cao ho 20, app 10, tt 7")
    out = await ha_lam.say(
        ANH, "/bao_cao\nHộ tuyên truyền: 8\nCài app Smart: 5\nThanh toán: 2\nghi chú: mưa to"
    )
    assert '<b>Ánh & "Bé"' in out
    assert "mưa to" in out
    assert await _totals(deps, "Thôn Hà Lam") == {"ho": 40, "app": 20, "tt": 12, "cks": 1}

    out = await ha_lam.say(LAN, "/tien_do")
    # 40 of 200 guided = 20 %; target 80 % = 160 households, 120 missing.
    assert "Hộ được hướng dẫn: 40/200 hộ (20%)" in out
    assert "mục tiêu 80% = 160 hộ, còn thiếu 120 hộ" in out
    assert "Hộ cài ứng dụng công dân: 20/200 hộ (10%)" in out
    assert "mục tiêu 50% = 100 hộ, còn thiếu 80 hộ" in out
    assert "Hộ có chữ ký số: 1/200 hộ (0,5%)" in out

    await binh_an.say(MAI, "/bao_cao ho=120 app=75 tt=75 cks=45")
    out = await binh_an.say(MAI, "/xep_hang")
    lines = out.splitlines()
    assert lines[0] == "🏆 Bảng xếp hạng — Xã Thăng Bình"
    # Bình An: every target reached -> 100; Hà Lam: 25 % of each goal on average.
    assert lines[1].startswith("👉 1. Thôn Bình An — 100,0 điểm (xuất sắc)")
    assert lines[2].startswith("2. Thôn Hà Lam")
    assert await _running(deps) == await _recomputed(deps)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("/bao_cao xyz=3", "Không có chỉ tiêu “xyz”"),
        ("/bao_cao ho=-3", "không được là số âm"),
        ("/bao_cao ho=abc", "cần một con số"),
        ("/bao_cao ho=2.5", "phải là số nguyên"),
        ("/bao_cao ho=1 ho=2", "xuất hiện hai lần"),
        ("/bao_cao ghi chú: chỉ ghi chú", "chưa có chỉ tiêu nào"),
        ("/bao_cao ho=1 ngay=01/11/2026", "nằm ngoài tuần này và tuần trước"),
        ("/bao_cao ho=1 ngay=25/11", "Ngày 25/11/2026 chưa đến"),
        ("/bao_cao ho=1 ngày mai", "Ngày 21/11/2026 chưa đến"),
        ("/bao_cao ho=190", "vượt quá 200 hộ"),
    ],
)
async def test_each_rejection_changes_nothing(
    deps: Deps, villages: tuple[ChatRoom, ChatRoom], text: str, expected: str
) -> None:
    ha_lam, _ = villages
    await ha_lam.say(LAN, "/bao_cao ho=12 app=5")
    before = await _totals(deps, "Thôn Hà Lam")
    out = await ha_lam.say(HUNG, text)
    assert expected in out
    assert "Ví dụ: /bao_cao" in out
    assert "Chưa ghi nhận gì." in out
    assert await _totals(deps, "Thôn Hà Lam") == before
    async with deps.sessions() as s:
        assert (await s.exec(select(func.count()).select_from(Report))).one() == 1


async def test_over_households_says_current_and_count(
    deps: Deps, villages: tuple[ChatRoom, ChatRoom]
) -> None:
    ha_lam, _ = villages
    await ha_lam.say(LAN, "/bao_cao ho=150")
    out = await ha_lam.say(HUNG, "/bao_cao ho=60")
    assert "đã ghi nhận 150 hộ" in out
    assert "200 hộ" in out
    assert "tối đa 50 hộ" in out
    assert "Các chỉ tiêu" not in out


async def test_unknown_key_lists_known_ones(
    deps: Deps, villages: tuple[ChatRoom, ChatRoom]
) -> None:
    ha_lam, _ = villages
    out = await ha_lam.say(LAN, "/bao_cao banh_mi=3")
    assert "Các chỉ tiêu: ho, app, tt, cks, dvc, tmdt" in out


async def test_edit_replaces_and_redelivery_counts_once(
    deps: Deps, villages: tuple[ChatRoom, ChatRoom]
) -> None:
    ha_lam, _ = villages
    message_id, _ = await ha_lam.send(LAN, "/bao_cao ho=12 app=5")
    assert await ha_lam.redeliver(LAN, message_id) == ""
    assert await _totals(deps, "Thôn Hà Lam") == {"ho": 12, "app": 5}
    out = await ha_lam.edit(LAN, message_id, "/bao_cao ho=15 tt=2")
    assert "Đã sửa cho Nguyễn Thị Lan" in out
    assert await _totals(deps, "Thôn Hà Lam") == {"ho": 15, "tt": 2}
    # A broken edit is refused and the stored report stays as it was.
    out = await ha_lam.edit(LAN, message_id, "/bao_cao ho=abc")
    assert "cần một con số" in out
    assert await _totals(deps, "Thôn Hà Lam") == {"ho": 15, "tt": 2}
    assert await _running(deps) == await _recomputed(deps)


async def test_undo_withdraws_last_report_of_the_week(
    deps: Deps, villages: tuple[ChatRoom, ChatRoom], clock: Clock
) -> None:
    ha_lam, _ = villages
    await ha_lam.say(LAN, "/bao_cao ho=10")
    await ha_lam.say(LAN, "/bao_cao ho=4 app=1")
    await ha_lam.say(HUNG, "/bao_cao ho=7")
    out = await ha_lam.say(LAN, "/huy")
    assert "Đã hủy báo cáo ngày 20/11 của Nguyễn Thị Lan" in out
    assert await _totals(deps, "Thôn Hà Lam") == {"ho": 17}
    await ha_lam.say(LAN, "/huy")
    assert await _totals(deps, "Thôn Hà Lam") == {"ho": 7}
    assert "chưa có báo cáo nào để hủy" in await ha_lam.say(LAN, "/huy")
    # Two weeks on, Hùng's report is out of the window a report may be dated in: it stays.
    clock.advance(days=10)  # Monday 30/11: week 47 is last week, still his to withdraw
    await ha_lam.say(HUNG, "/bao_cao ho=1")
    await ha_lam.say(HUNG, "/huy")  # the one of today
    clock.advance(days=7)  # Monday 07/12: week 47 is two weeks back
    assert "chưa có báo cáo nào để hủy" in await ha_lam.say(HUNG, "/undo")
    assert await _totals(deps, "Thôn Hà Lam") == {"ho": 7}
    assert await _running(deps) == await _recomputed(deps)


async def test_undo_right_after_a_back_dated_report(
    deps: Deps, villages: tuple[ChatRoom, ChatRoom], clock: Clock
) -> None:
    """/huy takes back the last report sent, whichever week it is dated in (this one or the
    previous one)."""
    ha_lam, _ = villages
    await ha_lam.say(LAN, "/bao_cao ho=5")  # Friday 20/11, week 47
    clock.advance(days=3)  # Monday 23/11, week 48
    await ha_lam.say(LAN, "/bao_cao ho=2")
    await ha_lam.say(LAN, "/bao_cao ho=3 ngay=20/11")  # forgotten on Friday, sent now
    out = await ha_lam.say(LAN, "/huy")
    assert "Đã hủy báo cáo ngày 20/11 của Nguyễn Thị Lan" in out
    assert await _totals(deps, "Thôn Hà Lam") == {"ho": 7}
    async with deps.sessions() as s:
        rows = (await s.exec(select(Report).order_by(col(Report.id)))).all()
        assert [(r.week, r.withdrawn_at is None) for r in rows] == [
            ("2026-W47", True),
            ("2026-W48", True),
            ("2026-W47", False),
        ]
    out = await ha_lam.say(LAN, "/huy")  # then the one of today
    assert "Đã hủy báo cáo ngày 23/11" in out
    out = await ha_lam.say(LAN, "/huy")  # then Friday's, still in last week
    assert "Đã hủy báo cáo ngày 20/11" in out
    assert "chưa có báo cáo nào để hủy" in await ha_lam.say(LAN, "/huy")
    assert await _totals(deps, "Thôn Hà Lam") == {}
    assert await _running(deps) == await _recomputed(deps)


async def test_dated_report_counts_in_its_week(
    deps: Deps, villages: tuple[ChatRoom, ChatRoom]
) -> None:
    ha_lam, _ = villages
    await ha_lam.say(LAN, "/bao_cao ho=5 ngay=12/11")  # Thursday of the previous ISO week
    async with deps.sessions() as s:
        report = (await s.exec(select(Report))).one()
        assert report.week == "2026-W46"
    out = await ha_lam.say(LAN, "/toi")
    assert "12/11" in out
    assert "Tổng cộng: Hộ được hướng dẫn 5" in out


async def test_template_for_bare_report(deps: Deps, villages: tuple[ChatRoom, ChatRoom]) -> None:
    ha_lam, _ = villages
    out = await ha_lam.say(LAN, "/bao_cao")
    assert "/bao_cao ho=0 app=0 tt=0 cks=0 dvc=0 tmdt=0 ghi_chu=" in out
    async with deps.sessions() as s:
        assert (await s.exec(select(func.count()).select_from(Report))).one() == 0


async def test_households_and_language(deps: Deps, villages: tuple[ChatRoom, ChatRoom]) -> None:
    ha_lam, _ = villages
    await ha_lam.say(LAN, "/bao_cao ho=120")
    out = await ha_lam.say(ADMIN, "/so_ho 100")
    assert "ít hơn 120 hộ đã ghi nhận" in out
    assert "Thôn Hà Lam hiện có 250 hộ" in await ha_lam.say(ADMIN, "/so_ho 250")
    assert "This chat now speaks English." in await ha_lam.say(ADMIN, "/ngon_ngu en")
    out = await ha_lam.say(LAN, "/progress")
    assert "Households guided: 120/250 households (48%)" in out
    out = await ha_lam.say(LAN, "/report ho=abc")
    assert "needs a number" in out
    assert "Nothing was recorded." in out
    assert "tiếng Việt" in await ha_lam.say(ADMIN, "/language vi")


async def test_commands_addressed_to_other_bots_are_ignored(
    deps: Deps, villages: tuple[ChatRoom, ChatRoom]
) -> None:
    ha_lam, _ = villages
    assert await ha_lam.say(LAN, "/bao_cao@other_bot ho=3") == ""
    assert "Đã ghi" in await ha_lam.say(LAN, "/bao_cao@tcns_test_bot ho=3")
    assert await ha_lam.say(LAN, "/lenh_la") == ""
    assert "Không có lệnh này" in await ha_lam.say(LAN, "/lenh_la@tcns_test_bot")


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("/baocao ho=5", "/bao_cao ho=5"),
        ("/bao cao ho=5", "/bao_cao ho=5"),
        ("/bao_ca ho=5", "/bao_cao ho=5"),
        ("/tiendo", "/tien_do"),
        ("/BaoCao@tcns_test_bot ho=5", "/bao_cao ho=5"),
    ],
)
async def test_command_typos_in_a_group_get_the_corrected_line(
    deps: Deps, villages: tuple[ChatRoom, ChatRoom], text: str, line: str
) -> None:
    ha_lam, _ = villages
    out = await ha_lam.say(LAN, text)
    assert "Có phải bạn muốn gửi lệnh này?" in out
    assert line in out.splitlines()
    assert await _totals(deps, "Thôn Hà Lam") == {}
    assert await ha_lam.say(LAN, "/bao_ca@other_bot ho=5") == ""


async def test_invisible_characters_are_read_through(
    deps: Deps, villages: tuple[ChatRoom, ChatRoom]
) -> None:
    ha_lam, _ = villages
    assert "Đã ghi" in await ha_lam.say(LAN, "/bao_cao\u200b ho=3\ufeff")
    assert "Đã ghi" in await ha_lam.say(HUNG, "\u2060/bao_cao app=\u200b2")
    assert await _totals(deps, "Thôn Hà Lam") == {"ho": 3, "app": 2}


async def test_village_size_and_negations_store_nothing_wrong(
    deps: Deps, villages: tuple[ChatRoom, ChatRoom]
) -> None:
    ha_lam, _ = villages
    out = await ha_lam.say(LAN, "/bao_cao Tổng số hộ: 350")
    assert "/so_ho 350" in out
    out = await ha_lam.say(LAN, "/bao_cao hướng dẫn 8 hộ nhưng 3 hộ chưa cài app")
    assert "/bao_cao ho=8" in out.splitlines()
    assert await _totals(deps, "Thôn Hà Lam") == {}
    out = await ha_lam.say(LAN, "/bao_cao ho=15, chưa cài app 10")
    assert "Không tính (chưa làm): “chưa cài app 10”" in out
    assert await _totals(deps, "Thôn Hà Lam") == {"ho": 15}


async def test_commune_chat_progress_sums_villages(
    deps: Deps, villages: tuple[ChatRoom, ChatRoom]
) -> None:
    ha_lam, binh_an = villages
    await ha_lam.say(LAN, "/bao_cao ho=20")
    await binh_an.say(MAI, "/bao_cao ho=30")
    commune = ChatRoom(deps, "tg:-1003")
    await commune.say(ADMIN, "/lien_ket tinh=Đà Nẵng xa=Thăng Bình")
    out = await commune.say(ADMIN, "/tien_do")
    assert "Xã Thăng Bình (350 hộ)" in out
    assert "Hộ được hướng dẫn: 50/350 hộ" in out
    out = await commune.say(ADMIN, "/xep_hang")
    assert "1. Thôn Bình An" in out
    assert "2. Thôn Hà Lam" in out


async def test_failure_rolls_back_and_answers(
    deps: Deps, villages: tuple[ChatRoom, ChatRoom], monkeypatch: pytest.MonkeyPatch
) -> None:
    ha_lam, _ = villages

    async def broken(*_a: object, **_k: object) -> None:
        raise RuntimeError("disk on fire")

    from storage import reports

    monkeypatch.setattr(reports, "_add_to_totals", broken)
    out = await ha_lam.say(LAN, "/bao_cao ho=3")
    assert "Có lỗi xảy ra; chưa ghi nhận gì" in out
    async with deps.sessions() as s:
        assert (await s.exec(select(func.count()).select_from(Report))).one() == 0


async def test_engine_sessions_are_independent(deps: Deps) -> None:
    async with db.transaction(deps.sessions) as s:
        assert (await s.exec(select(func.count()).select_from(Unit))).one() == 34 + 3321


async def test_help_shows_what_this_person_may_use(
    deps: Deps, villages: tuple[ChatRoom, ChatRoom]
) -> None:
    ha_lam, _ = villages
    member_view = await ha_lam.say(LAN, "/huong_dan")
    assert "Nhóm này báo cáo cho Thôn Hà Lam." in member_view
    assert "/bao_cao (/report)" in member_view
    assert "/lien_ket" not in member_view.split("Các lệnh")[1]
    admin_view = await ha_lam.say(ADMIN, "/help")
    assert "/lien_ket (/link)" in admin_view
    private = ChatRoom(deps, LAN.id, kind="private")
    assert "tcns" in await private.say(LAN, "/start")
    assert "Không có lệnh này" in await private.say(LAN, "/khong_co")


async def test_link_in_private_chat_prepares_the_unit_without_binding(deps: Deps) -> None:
    private = ChatRoom(deps, ADMIN.id, kind="private")
    out = await private.say(ADMIN, "/lien_ket xa=20791 thon=Thôn Mới ho=90")
    assert "Đã tạo Thôn Mới" in out
    assert "Thành viên tham gia bằng lệnh:" in out
    assert "/tham_gia " in out
    async with deps.sessions() as s:
        chat = await s.get(Chat, ADMIN.id)
        assert chat is not None
        assert chat.unit_id is None
        village = (await s.exec(select(Unit).where(Unit.name == "Thôn Mới"))).one()
        assert village.households == 90
