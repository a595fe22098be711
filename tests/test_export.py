"""The workbook: its shape, its formats, and that LibreOffice opens it."""

from __future__ import annotations

import asyncio
import io
import shutil
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook

from handlers import i18n
from handlers.export import parse_period, quarter_bounds, workbook
from handlers.incoming import Deps
from handlers.plans import resolve_unit
from tests.conftest import SUPERADMIN
from tests.harness import ChatRoom, Clock, Person

VN = ZoneInfo("Asia/Ho_Chi_Minh")


@pytest.mark.parametrize(
    ("text", "first", "last"),
    [
        ("2026-Q4", date(2026, 10, 1), date(2026, 12, 31)),
        ("2026-q1", date(2026, 1, 1), date(2026, 3, 31)),
        ("2026-W47", date(2026, 11, 16), date(2026, 11, 22)),
        ("2026", date(2026, 1, 1), date(2026, 12, 31)),
        (None, date(2026, 10, 1), date(2026, 12, 31)),
    ],
)
def test_periods(text: str | None, first: date, last: date) -> None:
    got_first, got_last, _label = parse_period(text, date(2026, 11, 20))
    assert (got_first, got_last) == (first, last)


def test_periods_as_officials_say_them() -> None:
    today = date(2026, 11, 20)
    for text in ("quý 4", "Quý IV", "Q4", "q4/2026", "2026-Q4"):
        assert parse_period(text, today) == (date(2026, 10, 1), date(2026, 12, 31), "2026-Q4")
    for text in ("tháng 11", "Tháng 11/2026", "T11", "2026-11"):
        assert parse_period(text, today) == (date(2026, 11, 1), date(2026, 11, 30), "2026-11")
    assert parse_period("tháng 2/2028", today)[1] == date(2028, 2, 29)


def test_bad_period() -> None:
    for text in ("2026-Q5", "quý 5", "tháng 13", "2026-W60"):
        with pytest.raises(ValueError, match="period"):
            parse_period(text, date(2026, 11, 20))
    assert quarter_bounds(date(2026, 12, 31)) == (date(2026, 10, 1), date(2026, 12, 31))


async def _book(deps: Deps) -> bytes:
    admin = Person(SUPERADMIN, "Quản trị")
    for n, (name, households, report) in enumerate(
        [("Thôn Hà Lam", 350, "ho=250 app=160 ghi_chu=mưa"), ("Thôn Bình Quý", 412, "ho=30")]
    ):
        room = ChatRoom(deps, f"tg:-70{n}")
        await room.say(admin, f"/lien_ket xa=20791 thon={name} ho={households}")
        await room.say(Person(f"tg:5{n}", '<b>Ánh & "Bé"'), f"/bao_cao {report}")
    async with deps.sessions() as session:
        unit = await resolve_unit(session, "xa:20791")
        with i18n.use("vi"):
            return await workbook(
                session,
                unit=unit,
                first=date(2026, 10, 1),
                last=date(2026, 12, 31),
                tz=VN,
                today=date(2026, 11, 20),
                by="Trần Văn Quản",
            )


async def test_workbook_shape(deps: Deps) -> None:
    book = load_workbook(io.BytesIO(await _book(deps)))
    assert book.sheetnames == ["Xã", "Thôn", "Theo tuần", "Báo cáo"]
    villages = book["Thôn"]
    # A title block to forward as it is: whose, which period, when, by whom.
    assert villages["A1"].value == "Xã Thăng Bình"
    assert villages["A1"].font.b
    assert villages["A2"].value == "Kỳ báo cáo: 01/10/2026 – 31/12/2026"
    assert villages["A3"].value == "Ngày xuất: 20/11/2026"
    assert villages["A4"].value == "Người lập biểu: Trần Văn Quản"
    assert villages.freeze_panes == "C7"
    # Printed landscape, one page wide, the header on every page.
    assert villages.page_setup.orientation == "landscape"
    assert villages.page_setup.fitToWidth == 1
    assert villages.page_setup.fitToHeight == 0
    fit = villages.sheet_properties.pageSetUpPr
    assert fit is not None
    assert fit.fitToPage is True
    assert villages.print_title_rows == "$6:$6"
    header = [c.value for c in villages[6]]
    assert header[:5] == ["Mã", "Đơn vị", "Số hộ", "Hộ được hướng dẫn: đã làm",
                          "Hộ được hướng dẫn: %"]  # fmt: skip
    assert header[-3:] == ["Điểm", "Xếp loại", "Hạng"]
    assert villages["B7"].value == "Thôn Hà Lam"
    assert villages["E7"].value == pytest.approx(250 / 350)
    assert villages["E7"].number_format == "0.0%"
    assert villages["G7"].value == 280 - 250  # 80 % of 350 households, 250 done
    assert villages.cell(row=7, column=len(header)).value == 1  # rank
    assert villages.cell(row=8, column=len(header)).value == 2
    reports = book["Báo cáo"]
    assert [reports.cell(row=7, column=n).value for n in (3, 4)] == ["Thôn Hà Lam",
                                                                     '<b>Ánh & "Bé"']  # fmt: skip
    assert reports["A7"].number_format == "DD/MM/YYYY"
    # Indicators by name, not by code.
    assert reports.cell(row=6, column=5).value == "Hộ được hướng dẫn"
    weekly = book["Theo tuần"]
    assert weekly.max_row == 6 + 3 + 2  # commune ×2 indicators, Hà Lam ×2, Bình Quý ×1
    # Weeks as their dates, none after the day of export (20/11, in the week of 16/11).
    weeks = [c.value for c in weekly[6]][3:]
    assert weeks[0] == "28/09–04/10"
    assert weeks[-1] == "16/11–22/11"


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice is not installed")
async def test_libreoffice_converts_it(deps: Deps, tmp_path: Path) -> None:
    path = tmp_path / "tcns.xlsx"
    path.write_bytes(await _book(deps))
    proc = await asyncio.create_subprocess_exec(
        "soffice", "--headless", f"-env:UserInstallation=file://{tmp_path}/lo",
        "--convert-to", "pdf", "--outdir", str(tmp_path), str(path),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    output, _ = await asyncio.wait_for(proc.communicate(), 120)
    assert proc.returncode == 0, output
    assert (tmp_path / "tcns.pdf").stat().st_size > 1000


async def test_poisoned_names_and_notes_stay_text(deps: Deps) -> None:
    """A village named like TeX, a note with control characters and a formula-looking note: the
    workbook opens, and every one of them is a plain text cell, none a formula."""
    admin = Person(SUPERADMIN, "Quản trị")
    room = ChatRoom(deps, "tg:-790")
    await room.say(admin, "/lien_ket xa=20791 thon=Thôn $\\frac{1}{0}$ ho=300")
    await room.say(Person("tg:791", "=HYPERLINK(1)"), "/bao_cao ho=2 ghi_chu=mưa\x01 to\x07")
    await room.say(Person("tg:792", "@người"), "/bao_cao ho=3 ghi_chu==1+1")
    await room.say(Person("tg:793", "-Lan"), "/bao_cao ho=1 ghi_chu=+84 912 345 678")
    async with deps.sessions() as session:
        unit = await resolve_unit(session, "xa:20791")
        with i18n.use("vi"):
            data = await workbook(
                session, unit=unit, first=date(2026, 10, 1), last=date(2026, 12, 31), tz=VN
            )
    book = load_workbook(io.BytesIO(data))
    texts = [c for ws in book.worksheets for row in ws.iter_rows() for c in row]
    assert not [c.coordinate for c in texts if c.data_type == "f"]
    values = {c.value for c in texts if isinstance(c.value, str)}
    assert {"mưa to", "=1+1", "+84 912 345 678", "=HYPERLINK(1)", "@người"} <= values
    assert any("$\\frac{1}{0}$" in v for v in values)


async def test_every_figure_adds_up_for_every_period_kind(deps: Deps, clock: Clock) -> None:
    """Reports on many days in three villages, summed here from the list of what was sent: for
    a week, a month, a quarter and a year, the weekly sheet holds each village's households
    guided week by week and the reports sheet each report of the period; the level sheets the
    figures as they stand; and every commune figure is the sum of its villages'."""
    import random

    rng = random.Random(24)
    admin = Person(SUPERADMIN, "Quản trị")
    names = ["Thôn Hà Lam", "Thôn Bình Quý", "Thôn Phú Mỹ"]
    rooms = []
    for n, name in enumerate(names):
        room = ChatRoom(deps, f"tg:-71{n}")
        await room.say(admin, f"/lien_ket xa=20791 thon={name} ho=5000")
        rooms.append(room)
    sent: list[tuple[str, date, int]] = []  # village, local day, households
    start = datetime(2026, 9, 20, 3, 0, tzinfo=UTC)
    for step in range(60):
        clock.now = start + timedelta(days=step * 1.3, hours=rng.randint(0, 10))
        village = rng.randrange(len(names))
        value = rng.randint(1, 40)
        answer = await rooms[village].say(Person(f"tg:6{village}{step % 3}", "Lê Văn Tư"),
                                          f"/bao_cao ho={value}")  # fmt: skip
        assert "Đã ghi" in answer, answer
        sent.append((names[village], clock.now.astimezone(VN).date(), value))
    today = clock.now.astimezone(VN).date()
    commune = "Xã Thăng Bình"

    def summed(name: str, first: date, last: date) -> int:
        return sum(v for n, day, v in sent if n == name and first <= day <= last)

    for text in ("2026-W45", "2026-11", "2026-Q4", "2026"):
        first, last, _label = parse_period(text, today)
        async with deps.sessions() as session:
            unit = await resolve_unit(session, "xa:20791")
            with i18n.use("vi"):
                content = await workbook(session, unit=unit, first=first, last=last, tz=VN,
                                         today=today, by="Trần Văn Quản")  # fmt: skip
        book = load_workbook(io.BytesIO(content))
        # The level sheets: as they stand today.
        done: dict[object, object] = {}
        for sheet in ("Xã", "Thôn"):
            rows = list(book[sheet].iter_rows(min_row=6, values_only=True))
            column = rows[0].index("Hộ được hướng dẫn: đã làm")
            done |= {row[1]: row[column] or 0 for row in rows[1:] if row[1]}
        standing = {name: summed(name, date.min, today) for name in names}
        assert {name: done[name] for name in names} == standing, text
        assert done[commune] == sum(standing.values()), text
        # The weekly sheet: each week of the period, each village and the commune.
        rows = list(book["Theo tuần"].iter_rows(min_row=6, values_only=True))
        spans = rows[0][3:]
        guided = {row[1]: row[3:] for row in rows[1:] if row[2] == "Hộ được hướng dẫn"}
        for n, span in enumerate(spans):
            monday = first - timedelta(days=first.weekday()) + timedelta(weeks=n)
            assert str(span).startswith(f"{monday:%d/%m}–"), (text, span)
            week = {name: summed(name, monday, monday + timedelta(days=6)) for name in names}
            got = {name: (guided[name][n] if name in guided else 0) for name in names}
            assert got == week, (text, span)
            assert guided.get(commune, (0,) * len(spans))[n] == sum(week.values()), (text, span)
        # The reports sheet: every report of the period, once.
        rows = list(book["Báo cáo"].iter_rows(min_row=6, values_only=True))
        column = rows[0].index("Hộ được hướng dẫn")
        listed = sum(int(str(row[column] or 0)) for row in rows[1:] if row[2] in names)
        assert listed == sum(summed(name, first, min(last, today)) for name in names), text
