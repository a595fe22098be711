"""The workbook: its shape, its formats, and that LibreOffice opens it."""

from __future__ import annotations

import asyncio
import io
import shutil
from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook

from handlers import i18n
from handlers.export import workbook
from handlers.incoming import Deps
from handlers.periods import parse_period, quarter_bounds, quarter_of
from handlers.plans import resolve_unit
from tests.conftest import SUPERADMIN
from tests.harness import ChatRoom, Person

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
    period = parse_period(text, date(2026, 11, 20))
    assert (period.first, period.last) == (first, last)


def test_periods_as_officials_say_them() -> None:
    today = date(2026, 11, 20)
    for text in ("quý 4", "Quý IV", "Q4", "q4/2026", "2026-Q4"):
        period = parse_period(text, today)
        assert (period.first, period.last, period.key) == (date(2026, 10, 1), date(2026, 12, 31),
                                                           "2026-Q4")  # fmt: skip
    for text in ("tháng 11", "Tháng 11/2026", "T11", "2026-11"):
        period = parse_period(text, today)
        assert (period.first, period.last, period.key) == (date(2026, 11, 1), date(2026, 11, 30),
                                                           "2026-11")  # fmt: skip
    assert parse_period("tháng 2/2028", today).last == date(2028, 2, 29)


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
                period=quarter_of(date(2026, 10, 1)),
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
    assert villages["A2"].value == (
        "Kỳ báo cáo: quý 4/2026 (01/10–31/12/2026), số liệu đến hết ngày 20/11/2026"
    )
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
    assert header[:6] == ["Mã", "Đơn vị", "Số hộ", "Hộ được hướng dẫn: làm trong kỳ",
                          "Hộ được hướng dẫn: lũy kế đến hết 20/11/2026",
                          "Hộ được hướng dẫn: tỷ lệ hộ (lũy kế)"]  # fmt: skip
    assert header[-3:] == ["Điểm", "Xếp loại", "Hạng"]
    assert villages["B7"].value == "Thôn Hà Lam"
    assert villages["F7"].value == pytest.approx(250 / 350)
    assert villages["F7"].number_format == "0.0%"
    assert villages["H7"].value == 280 - 250  # 80 % of 350 households, 250 done
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
    # Weeks as their dates, cut at the quarter's first day and at the day of export (20/11,
    # in the week of 16/11), each cut one saying so; the period's total last.
    weeks = [c.value for c in weekly[6]][3:]
    assert weeks[0] == "01/10–04/10\n(một phần tuần 28/09–04/10)"
    assert weeks[1] == "05/10–11/10"
    assert weeks[-2:] == ["16/11–20/11\n(một phần tuần 16/11–22/11)", "Cả kỳ"]
    assert weekly["A5"].value == "Cột “một phần tuần” chỉ tính những ngày ghi ở đầu cột."


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
            data = await workbook(session, unit=unit, period=quarter_of(date(2026, 10, 1)), tz=VN)
    book = load_workbook(io.BytesIO(data))
    texts = [c for ws in book.worksheets for row in ws.iter_rows() for c in row]
    assert not [c.coordinate for c in texts if c.data_type == "f"]
    values = {c.value for c in texts if isinstance(c.value, str)}
    assert {"mưa to", "=1+1", "+84 912 345 678", "=HYPERLINK(1)", "@người"} <= values
    assert any("$\\frac{1}{0}$" in v for v in values)
