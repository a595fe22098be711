"""`tcns import`: a province's villages from one workbook — created, then unchanged, bad rows
named and nothing changed, the imported villages on the commune's board."""

from __future__ import annotations

import asyncio
import csv
import logging
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook
from sqlmodel import col, func, select

from bot.__main__ import main
from handlers.flood import FloodGate
from handlers.incoming import Deps
from storage import db
from storage.folding import village_key
from storage.models import AuditEntry, Membership, Target, Unit
from tests.harness import ChatRoom, Clock, Person

HEADER = ["STT", "Mã xã", "Tên thôn", "SỐ HỘ", "app (%)", "Chữ ký số", "Tổ trưởng"]


@pytest.fixture(autouse=True)
def _keep_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.fixture
def url(monkeypatch: pytest.MonkeyPatch, db_path: Path, tmp_path: Path) -> str:
    monkeypatch.chdir(tmp_path)
    address = f"sqlite+aiosqlite:///{db_path}"
    monkeypatch.setenv("TCNS_DATABASE_URL", address)
    return address


async def _query(url: str, stmt: object) -> list[object]:
    engine = db.create_engine(url)
    async with db.session_factory(engine)() as s:
        rows = list((await s.exec(stmt)).all())  # type: ignore[call-overload]
    await engine.dispose()
    return rows


def _communes(url: str) -> list[Unit]:
    province = asyncio.run(_query(url, select(Unit).where(Unit.level == "province",
                                                          Unit.code == "48")))[0]  # fmt: skip
    assert isinstance(province, Unit)
    found = asyncio.run(_query(url, select(Unit).where(Unit.parent_id == province.id)))
    communes = sorted((u for u in found if isinstance(u, Unit)), key=lambda u: int(u.code))
    return communes[:10]


def _rows(communes: list[Unit]) -> list[list[object]]:
    rows: list[list[object]] = []
    for c, commune in enumerate(communes):
        for v in range(20):
            leader = f"Nguyễn Văn {chr(65 + v)}{c}" if v % 4 == 0 else None
            rows.append([len(rows) + 1, int(commune.code), f"Thôn {v + 1}", 150 + 10 * v,
                         50 + v, None if v % 3 else 30, leader])  # fmt: skip
    return rows


def _workbook(path: Path, rows: list[list[object]]) -> Path:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(HEADER)
    for row in rows:
        sheet.append(row)
    book.save(path)
    return path


def test_a_province_from_one_workbook(
    url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    communes = _communes(url)
    rows = _rows(communes)
    good = _workbook(tmp_path / "ha_noi.xlsx", rows)

    # A dry run first: every row would be created, nothing is.
    assert main(["import", str(good), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "200 dòng: sẽ tạo 200 thôn, sẽ cập nhật 0, 0 không đổi; 0 lỗi." in out
    assert f"Dòng 2: sẽ tạo Thôn 1, {communes[0].name} — số hộ 150; chỉ tiêu" in out
    assert "đã tạo" not in out
    assert "Chạy thử: chưa thay đổi gì." in out
    assert "Cột không đọc: STT" in out
    assert asyncio.run(_query(url, select(func.count()).select_from(Unit).where(
        Unit.level == "village")))[0] == 0  # fmt: skip

    assert main(["import", str(good)]) == 0
    out = capsys.readouterr().out
    assert "Đã áp dụng: 200 thôn tạo mới, 0 cập nhật, 0 không đổi." in out
    assert "sẽ tạo" not in out
    first = communes[0]
    assert f"Dòng 2: đã tạo Thôn 1, {first.name} — số hộ 150; chỉ tiêu" in out
    villages = asyncio.run(_query(url, select(Unit).where(Unit.level == "village")))
    assert len(villages) == 200
    by_name = {(v.parent_id, v.name): v for v in villages if isinstance(v, Unit)}
    v20 = by_name[(first.id, "Thôn 20")]
    assert v20.households == 340
    assert by_name[(first.id, "Thôn 1")].leader_name == "Nguyễn Văn A0"
    targets = asyncio.run(_query(url, select(Target).where(Target.unit_id == v20.id)))
    assert sorted(t.percent for t in targets if isinstance(t, Target)) == [69]
    entries = asyncio.run(_query(url, select(func.count()).select_from(AuditEntry)))[0]
    assert isinstance(entries, int)
    assert entries >= 200 * 3  # each village: created, households, its target(s)

    # The same file again changes nothing.
    assert main(["import", str(good)]) == 0
    out = capsys.readouterr().out
    assert "Đã áp dụng: 0 thôn tạo mới, 0 cập nhật, 200 không đổi." in out
    again = asyncio.run(_query(url, select(func.count()).select_from(AuditEntry)))[0]
    assert again == entries

    # A copy with five bad rows: exactly those named, nothing changed, exit 1.
    bad = [list(r) for r in rows]
    bad[3][1] = 99999  # spreadsheet row 5: no such commune
    bad[10][3] = -4  # row 12: negative households
    bad[20][3] = None  # row 22: no household count
    bad[30] = list(bad[29])  # row 32: the same village as row 31
    bad[40][4] = 140  # row 42: a target above 100
    bad[50][3] = 999  # row 52: a change that would apply, were the file clean
    broken = _workbook(tmp_path / "broken.xlsx", bad)
    assert main(["import", str(broken), "--dry-run"]) == 1
    out = capsys.readouterr().out
    errors = [
        line for line in out.splitlines() if re.match(r"Dòng \d+: (?!đã|sẽ|không đổi)", line)
    ]
    assert [int(line.split()[1].rstrip(":")) for line in errors] == [5, 12, 22, 32, 42]
    assert "không có xã nào mã 99999" in out
    assert "“-4” không phải số nguyên từ 0 trở lên" in out
    assert "thiếu số hộ" in out
    assert "trùng thôn với dòng 31" in out
    assert "không phải phần trăm từ 0 đến 100" in out
    assert "5 lỗi" in out
    assert "Chưa thay đổi gì: sửa các dòng trên rồi nhập lại." in out
    assert main(["import", str(broken)]) == 1  # not even without --dry-run
    capsys.readouterr()
    v = asyncio.run(_query(url, select(Unit).where(col(Unit.id) == by_name[
        (communes[2].id, "Thôn 13")].id)))[0]  # fmt: skip
    assert isinstance(v, Unit)
    assert v.households == 270  # row 52's 999 was not applied

    # The commune's board lists its imported villages.
    engine = db.create_engine(url)
    deps = Deps(sessions=db.session_factory(engine), superadmins=frozenset({"tg:1"}),
                clock=Clock(datetime(2026, 11, 20, 3, 0, tzinfo=UTC)),
                flood=FloodGate(limit=100_000))  # fmt: skip

    async def board() -> str:
        room = ChatRoom(deps, "tg:-5001")
        admin = Person("tg:1", "Quản trị")
        await room.say(admin, f"/lien_ket xa={first.code}")
        out = await room.say(admin, "/xep_hang")
        await engine.dispose()
        return out

    out = asyncio.run(board())
    assert "Thôn 1" in out
    assert "Thôn 20" in out or "… và" in out


def test_csv_by_names_and_the_template(
    url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "thon.csv"
    with path.open("w", encoding="utf-8-sig", newline="") as f:
        writer = csv.writer(f, delimiter=";")
        writer.writerow(["Tỉnh", "Xã", "Thôn", "Số hộ"])
        writer.writerow(["Đà Nẵng", "Thăng Bình", "Phú Mỹ", "1.200"])
        writer.writerow(["", "Thăng Bình", "Hà Lam", "300"])  # which Thăng Bình?
        writer.writerow(["Đà Nẵng", "Thăng Bình", "Thôn Phú Mỹ", "1200"])  # the same village
    assert main(["import", str(path)]) == 1
    out = capsys.readouterr().out
    assert "Dòng 3: “Thăng Bình” là tên của nhiều xã" in out
    assert "Dòng 4: trùng thôn với dòng 2" in out

    out_file = tmp_path / "mau.xlsx"
    assert main(["import", "--template", str(out_file), "--province", "48"]) == 0
    assert "communes of Thành phố Đà Nẵng" in capsys.readouterr().out
    sheet = load_workbook(out_file).active
    assert sheet is not None
    values = list(sheet.iter_rows(values_only=True))
    assert values[0][:5] == ("Mã xã", "Xã", "Tỉnh", "Thôn", "Số hộ")
    assert len(values) > 50  # the example row and each of Đà Nẵng's communes
    # The template itself imports as nothing: its example row is left out (and said so), its
    # communes' rows without a village are no rows.
    assert main(["import", str(out_file), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "Không có gì để nhập" in out
    assert "Dòng 2 là dòng ví dụ của mẫu: bỏ qua." in out
    assert "“Thành viên”, dòng 2 là dòng ví dụ của mẫu: bỏ qua." in out
    assert "lỗi" not in out


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Thôn Phú Mỹ", "phu my"),
        ("Ấp 3", "3"),
        ("Bản Na Hang", "na hang"),
        ("Khối phố 2", "khoi pho 2"),
        ("Tổ dân phố 7", "7"),
    ],
)
def test_village_names_meet_without_accents_case_or_kind(a: str, b: str) -> None:
    assert village_key(a) == village_key(b)


def test_the_leader_the_workbook_names_leads_once_they_take_part(
    url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "one.csv"
    path.write_text("Mã xã,Thôn,Số hộ,Tổ trưởng\n20791,Thôn Phú Mỹ,300,Nguyễn Thị Lan\n",
                    encoding="utf-8")  # fmt: skip
    assert main(["import", str(path)]) == 0
    assert "tổ trưởng Nguyễn Thị Lan (chờ người này tham gia)" in capsys.readouterr().out

    async def dialogue() -> tuple[str, str]:
        engine = db.create_engine(url)
        deps = Deps(sessions=db.session_factory(engine), superadmins=frozenset({"tg:1"}),
                    flood=FloodGate(limit=100_000))  # fmt: skip
        group = ChatRoom(deps, "tg:-5002")
        linked = await group.say(Person("tg:1", "Quản trị"), "/lien_ket xa=20791 thon=phu my")
        assert "Đã tạo" not in linked  # "Thôn Phú Mỹ" of the workbook, not a second one
        await group.say(Person("tg:5", "Trần Văn Hùng"), "/bao_cao ho=1")  # not her
        await group.say(Person("tg:6", "nguyen thi lan"), "/bao_cao ho=2")  # her
        roster = await group.say(Person("tg:5", "Trần Văn Hùng"), "/danh_sach")
        log = await group.say(Person("tg:1", "Quản trị"), "/nhat_ky")
        await engine.dispose()
        return roster, log

    roster, log = asyncio.run(dialogue())
    assert "nguyen thi lan — tổ trưởng" in roster
    assert "Trần Văn Hùng — tổ trưởng" not in roster
    assert "tổ trưởng" in log


def _book(path: Path, sheets: dict[str, list[list[object]]]) -> Path:
    book = Workbook()
    first = book.active
    assert first is not None
    book.remove(first)
    for title, rows in sheets.items():
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append(row)
    book.save(path)
    return path


MEMBERS_HEADER: list[object] = [
    "STT",
    "Thôn",
    "Họ và tên",
    "Điện thoại",
    "Đoàn thể",
    "Đã tập huấn",
]


def test_the_members_sheet_fills_the_rosters_once(
    url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    villages: list[list[object]] = [
        ["Mã xã", "Thôn", "Số hộ"],
        [20791, "Thôn Phú Mỹ", 300],
        [20791, "Hà Lam", 200],
    ]
    members: list[list[object]] = [
        list(MEMBERS_HEADER),
        [1, "Phú Mỹ", "Trần Thị Mai", "0912345678", "Đoàn thanh niên", "có"],
        [2, "Phú Mỹ", "Lê Văn Tám", None, "Hội Nông dân", None],
        [3, "Thôn Hà Lam", "Ngô Thị Bảy", 913222333, "Trưởng thôn", "không"],
    ]
    good = _book(tmp_path / "to.xlsx", {"Thôn": villages, "Thành viên": members})
    assert main(["import", str(good), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "5 dòng: sẽ tạo 2 thôn, sẽ cập nhật 0, 0 không đổi; sẽ thêm 3 thành viên" in out
    assert "“Thành viên”, dòng 3: sẽ thêm Lê Văn Tám vào tổ Thôn Phú Mỹ — “Hội Nông dân” " \
        "được ghi là “khác”" in out  # fmt: skip
    assert "Cột không đọc: Thành viên: STT" in out
    assert asyncio.run(_query(url, select(func.count()).select_from(Membership)))[0] == 0

    assert main(["import", str(good)]) == 0
    out = capsys.readouterr().out
    assert "Đã áp dụng: 2 thôn tạo mới, 0 cập nhật, 0 không đổi; 3 thành viên thêm mới" in out
    assert "“Thành viên”, dòng 4: đã thêm Ngô Thị Bảy vào tổ Hà Lam" in out
    listed = asyncio.run(_query(url, select(Membership)))
    assert sorted(m.phone or "" for m in listed if isinstance(m, Membership)) == [
        "", "0912345678", "0913222333"]  # fmt: skip

    # Again, a trained flag changed and the names written the other way round, without
    # accents: the same three people, one of them updated.
    members[1][2], members[1][5] = "Mai Tran Thi", "có"
    members[3][5] = "rồi"
    again = _book(tmp_path / "to2.xlsx", {"Thôn": villages, "Thành viên": members})
    assert main(["import", str(again)]) == 0
    out = capsys.readouterr().out
    assert "0 thôn tạo mới, 0 cập nhật, 2 không đổi; 0 thành viên thêm mới, 1 cập nhật, " \
        "2 không đổi." in out  # fmt: skip
    assert "đã cập nhật Ngô Thị Bảy (Hà Lam) — đã tập huấn" in out
    assert asyncio.run(_query(url, select(func.count()).select_from(Membership)))[0] == 3

    # A list of members alone (its first sheet), with mistakes: each named, nothing changed.
    bad = _book(tmp_path / "bad.xlsx", {"Danh sách": [
        ["Mã thôn", "Thôn", "Họ và tên", "Điện thoại", "Đã tập huấn"],
        ["20791-1", None, "Đỗ Văn Chín", "12345", None],
        [None, "Thôn Không Có", "Đỗ Văn Mười", None, None],
        ["20791-2", None, "Đỗ Thị Một", None, "chắc vậy"],
        ["20791-2", None, "Phan Văn Hai", None, None],
        ["20791-2", None, "phan van hai", None, None],
        ["99999-1", None, "Hồ Văn Ba", None, None],
        [None, "Phú Mỹ", "", "0912000000", None],
    ]})  # fmt: skip
    assert main(["import", str(bad)]) == 1
    out = capsys.readouterr().out
    errors = [line for line in out.splitlines()
              if line.startswith("“Thành viên”, dòng") and "sẽ thêm" not in line]  # fmt: skip
    assert [line.split(":")[0] for line in errors] == [
        f"“Thành viên”, dòng {n}" for n in (2, 3, 4, 6, 7, 8)]  # fmt: skip
    assert "“12345” không phải số điện thoại" in out
    assert "không tìm thấy thôn “Thôn Không Có”" in out
    assert "“chắc vậy” ở cột “Đã tập huấn”" in out
    assert "trùng người với dòng 5" in out
    assert "không có thôn nào mã 99999-1" in out
    assert "thiếu họ và tên" in out
    assert "Chưa thay đổi gì" in out
    assert asyncio.run(_query(url, select(func.count()).select_from(Membership)))[0] == 3

    # Mai herself turns up in the village's group, named the other way round: the listed row is
    # hers, not a fourth member.
    async def dialogue() -> str:
        engine = db.create_engine(url)
        deps = Deps(sessions=db.session_factory(engine), superadmins=frozenset({"tg:1"}),
                    clock=Clock(datetime(2026, 11, 20, 3, 0, tzinfo=UTC)),
                    flood=FloodGate(limit=100_000))  # fmt: skip
        group = ChatRoom(deps, "tg:-5003")
        await group.say(Person("tg:1", "Quản trị"), "/lien_ket xa=20791 thon=phu my")
        assert "Đã ghi cho" in await group.say(Person("tg:7", "Mai Trần Thị"), "/bao_cao ho=2")
        roster = await group.say(Person("tg:7", "Mai Trần Thị"), "/danh_sach")
        summary = await group.say(Person("tg:1", "Quản trị"), "/tong_hop")
        await engine.dispose()
        return roster + "\n" + summary

    out = asyncio.run(dialogue())
    assert "2 thành viên" in out
    assert "Mai Trần Thị — đoàn thanh niên, đã tập huấn" in out
    # Of two, whichever week the summary covers; the one who never reported named.
    assert re.search(r"Đã báo cáo: [01]/2 thành viên", out)
    assert "Lê Văn Tám" in out.split("Chưa báo cáo: ", 1)[1].splitlines()[0]


def test_a_leader_on_the_members_sheet_leads_at_once(
    url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The villages' sheet names the leader, the members' sheet lists her (her name the other
    way round): she is the team's leader at the first import, and the same file again changes
    nothing."""
    villages: list[list[object]] = [
        ["Mã xã", "Thôn", "Số hộ", "Tổ trưởng"],
        [20791, "Thôn Phú Mỹ", 300, "Nguyễn Thị Lan"],
    ]
    members: list[list[object]] = [
        list(MEMBERS_HEADER),
        [1, "Phú Mỹ", "Lan Nguyễn Thị", None, "Đoàn thanh niên", "có"],
        [2, "Phú Mỹ", "Lê Văn Tám", None, "Hội Nông dân", None],
    ]
    book = _book(tmp_path / "to.xlsx", {"Thôn": villages, "Thành viên": members})
    assert main(["import", str(book)]) == 0
    out = capsys.readouterr().out
    assert "tổ trưởng Nguyễn Thị Lan, từ danh sách thành viên" in out, out
    leaders = asyncio.run(_query(url, select(Membership).where(Membership.role == "leader")))
    assert len(leaders) == 1
    assert main(["import", str(book)]) == 0
    out = capsys.readouterr().out
    assert "0 thôn tạo mới, 0 cập nhật, 1 không đổi; 0 thành viên thêm mới, 0 cập nhật, " \
        "2 không đổi." in out  # fmt: skip
