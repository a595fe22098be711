"""The workbook a commune sends upward: one sheet per level of the unit's tree, weekly figures
and the reports themselves, with Vietnamese headers, frozen header rows and number formats."""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.properties import PageSetupProperties
from openpyxl.worksheet.worksheet import Worksheet
from sqlmodel.ext.asyncio.session import AsyncSession

from handlers import scoring
from handlers.context import indicator_name
from handlers.grammar import foreign_digit
from handlers.i18n import _
from handlers.periods import week_key
from handlers.progress import UnitProgress, unit_progress
from handlers.views import grade_name
from storage import config, reports, units
from storage.folding import fold
from storage.models import Indicator, Unit

XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_HEADER = Font(bold=True, color="FFFFFF")
_FILL = PatternFill("solid", fgColor="1F4E78")
_LEVELS = ("province", "district", "commune", "village")


def quarter_bounds(day: date) -> tuple[date, date]:
    first = date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
    after = (
        date(first.year + 1, 1, 1) if first.month == 10 else date(first.year, first.month + 3, 1)
    )
    return first, after - timedelta(days=1)


def quarter_key(day: date) -> str:
    return f"{day.year}-Q{(day.month - 1) // 3 + 1}"


def month_bounds(year: int, month: int) -> tuple[date, date]:
    first = date(year, month, 1)
    after = date(year + 1, 1, 1) if month == 12 else date(year, month + 1, 1)
    return first, after - timedelta(days=1)


# "quý 4", "quy IV", "Q4", "tháng 11", "thang 11/2025", "T11": as an official says a period.
_SPOKEN_QUARTER = re.compile(r"^(?:quy|q)\s*(?P<q>[1-4]|i{1,3}|iv)(?:\s*[/-]\s*(?P<y>\d{4}))?$")
_SPOKEN_MONTH = re.compile(r"^(?:thang|t|month)\s*(?P<m>\d{1,2})(?:\s*[/-]\s*(?P<y>\d{4}))?$")
_ISO_MONTH = re.compile(r"^(?P<y>\d{4})-(?P<m>\d{1,2})$")
_ROMAN = {"i": 1, "ii": 2, "iii": 3, "iv": 4}


FIRST_YEAR, LAST_YEAR = 2000, 2100  # a campaign's years; anything else is a typing slip


def _year(text: str | int) -> int:
    year = int(text)
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise ValueError(f"year {year}")
    return year


def parse_period(text: str | None, today: date) -> tuple[date, date, str]:
    """`2026-Q4`, `Q4`, `quý 4`, `2026-11`, `tháng 11`, `2026-W47`, `2026`, or nothing for the
    current quarter: (first, last, label). A quarter or month without a year is this year's."""
    if not text:
        first, last = quarter_bounds(today)
        return first, last, quarter_key(today)
    if foreign_digit(text) is not None:
        raise ValueError(f"period {text!r}: digits 0-9 only")
    spoken = " ".join(fold(text).split())
    found = _SPOKEN_QUARTER.match(spoken)
    if found:
        n = _ROMAN.get(found["q"]) or int(found["q"])
        in_year = _year(found["y"] or today.year)
        return (*quarter_bounds(date(in_year, 3 * n - 2, 1)), f"{in_year}-Q{n}")
    found = _SPOKEN_MONTH.match(spoken) or _ISO_MONTH.match(spoken)
    if found and 1 <= int(found["m"]) <= 12:
        in_year, month = _year(found["y"] or today.year), int(found["m"])
        return (*month_bounds(in_year, month), f"{in_year}-{month:02d}")
    label = text.strip().upper()
    try:
        if "-Q" in label:
            year, q = label.split("-Q")
            if not 1 <= int(q) <= 4:
                raise ValueError(q)
            return (*quarter_bounds(date(_year(year), 3 * int(q) - 2, 1)), label)
        if "-W" in label:
            year, w = label.split("-W")
            first = date.fromisocalendar(_year(year), int(w), 1)
            return first, first + timedelta(days=6), label
        if label.isascii() and label.isdigit():
            return date(_year(label), 1, 1), date(_year(label), 12, 31), label
    except (ValueError, OverflowError):  # a number no calendar holds is no period either
        pass
    raise ValueError(f"period {text!r}: write 2026-Q4, quý 4, tháng 11, 2026-W47 or 2026")


def level_name(level: str) -> str:
    return {
        "province": _("Provinces"),
        "district": _("Districts"),
        "commune": _("Communes"),
        "village": _("Villages"),
    }.get(level, level)


def append(ws: Worksheet, row: Sequence[object]) -> None:
    """One row, with every text as text: control characters (a note pasted from elsewhere)
    removed, since the file format cannot hold them, and a text that begins like a formula
    ("=1+1", "+84…", "-", "@") kept as the text it is, never evaluated."""
    values = [ILLEGAL_CHARACTERS_RE.sub("", v) if isinstance(v, str) else v for v in row]
    ws.append(values)
    # The row just written, by its number (`ws.max_row` counts every cell: a big sheet would
    # take a time that grows with the square of its rows).
    # openpyxl keeps no public counter of the rows it appended; this is the one append uses.
    number: int = ws._current_row  # type: ignore[attr-defined]
    for column, value in enumerate(values, start=1):
        if isinstance(value, str):
            ws.cell(row=number, column=column).data_type = "s"


@dataclass(frozen=True)
class Heading:
    """What stands above every sheet's table: whose figures, for when, made when and by whom
    (an official forwards the file as it is)."""

    unit: str
    first: date
    last: date
    made: date
    by: str = ""


TITLE_ROWS = 5  # the title block, and a blank row under it


def _header(ws: Worksheet, titles: Sequence[str], widths: Sequence[int], heading: Heading) -> None:
    append(ws, [heading.unit])
    ws.cell(row=1, column=1).font = Font(bold=True, size=14)
    period = f"{heading.first:%d/%m/%Y} – {heading.last:%d/%m/%Y}"
    append(ws, [_("Period: {period}").format(period=period)])
    append(ws, [_("Exported on {date}").format(date=f"{heading.made:%d/%m/%Y}")])
    append(ws, [_("Prepared by: {name}").format(name=heading.by or "…………………………")])
    append(ws, [])
    append(ws, list(titles))
    header_row = TITLE_ROWS + 1
    for n, (cell, width) in enumerate(zip(ws[header_row], widths, strict=True), start=1):
        cell.font, cell.fill = _HEADER, _FILL
        cell.alignment = Alignment(wrap_text=True, vertical="center")
        ws.column_dimensions[get_column_letter(n)].width = width
    # Tall enough for a wrapped "Hộ có tài khoản thanh toán điện tử: còn thiếu" when printed.
    ws.row_dimensions[header_row].height = 80
    ws.freeze_panes = f"C{header_row + 1}"  # the header and the units' code and name
    ws.print_title_rows = f"{header_row}:{header_row}"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0  # as many pages down as it takes, one page wide
    if ws.sheet_properties.pageSetUpPr is None:
        ws.sheet_properties.pageSetUpPr = PageSetupProperties()
    ws.sheet_properties.pageSetUpPr.fitToPage = True


async def workbook(
    session: AsyncSession,
    *,
    unit: Unit,
    first: date,
    last: date,
    tz: ZoneInfo,
    today: date | None = None,
    by: str = "",
) -> bytes:
    """Figures as they stand (from the running totals), the weeks from `first` to `last` that
    have begun by `today`, and those weeks' reports; each sheet under a title block."""
    today = today or last
    shown_last = min(last, today)
    heading = Heading(unit.name, first, last, today, by)
    indicators = await config.indicators_for(session, unit=unit)
    tree = await units.subtree(session, unit=unit)
    wb = Workbook()
    for sheet in list(wb.worksheets):
        wb.remove(sheet)
    for level in _LEVELS:
        members = [u for u in tree if u.level == level]
        if members:
            ws = wb.create_sheet(level_name(level))
            await _level_sheet(session, ws, members, indicators, week_key(shown_last), heading)
    await _weekly_sheet(
        session, wb.create_sheet(_("Weekly")), tree, indicators, first, shown_last, heading
    )
    await _reports_sheet(
        session, wb.create_sheet(_("Reports")), unit, indicators, first, shown_last, tz, heading
    )
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


async def _level_sheet(
    session: AsyncSession,
    ws: Worksheet,
    members: Sequence[Unit],
    indicators: Sequence[Indicator],
    week: str,
    heading: Heading,
) -> None:
    titles, widths = [_("Code"), _("Unit"), _("Households")], [12, 34, 11]
    percent_columns: set[int] = set()
    # Outside the f-strings, where the catalogue extractor can see them.
    done_label, target_label, gap_label = _("done"), _("target"), _("gap")
    for ind in indicators:
        name = indicator_name(ind.name_vi, ind.name_en)
        if ind.kind == "households":
            titles += [f"{name}: {done_label}", f"{name}: %", f"{name}: {target_label}",
                       f"{name}: {gap_label}"]  # fmt: skip
            widths += [14, 9, 9, 10]
            percent_columns |= {len(titles) - 2, len(titles) - 1}
        else:
            titles.append(name)
            widths.append(14)
    titles += [_("Score"), _("Grade"), _("Rank")]
    widths += [8, 12, 7]
    _header(ws, titles, widths, heading)
    progress: list[UnitProgress] = [
        await unit_progress(session, unit=u, week=week, indicators=indicators) for u in members
    ]
    ranks = {
        uid: r
        for r, uid in scoring.rank(
            {p.unit.id or 0: p.score for p in progress},
            {p.unit.id or 0: p.unit.name_key for p in progress},
        )
    }
    for p in progress:
        done = {it.indicator.id: it.done for it in p.items}
        # A parent's target and gap are its villages' added up (handlers/parent_sums.py), so
        # the commune's row is the sum of the village rows below it.
        item = {it.indicator.id: it for it in p.items}
        row: list[object] = [p.unit.code, p.unit.name, p.households]
        for ind in indicators:
            value = done.get(ind.id, 0)
            if ind.kind != "households":
                row.append(value)
                continue
            target = item[ind.id].target
            row += [
                value,
                value / p.households if p.households else None,
                target / 100 if target else None,
                item[ind.id].missing,
            ]
        row += [round(p.score, 1), grade_name(p.grade), ranks.get(p.unit.id or 0)]
        append(ws, row)
    for cells in ws.iter_rows(min_row=TITLE_ROWS + 2):
        for cell in cells:
            if cell.column in percent_columns:
                cell.number_format = "0.0%"
            elif isinstance(cell.value, float):
                cell.number_format = "0.0"
            elif isinstance(cell.value, int):
                cell.number_format = "#,##0"


def _weeks(first: date, last: date) -> list[str]:
    weeks: list[str] = []
    day = first
    while day <= last:
        if week_key(day) not in weeks:
            weeks.append(week_key(day))
        day += timedelta(days=1)
    return weeks


async def _weekly_sheet(
    session: AsyncSession,
    ws: Worksheet,
    scope: Sequence[Unit],
    indicators: Sequence[Indicator],
    first: date,
    last: date,
    heading: Heading,
) -> None:
    weeks = _weeks(first, last)
    # Weeks as their dates, as people name them: "16/11–22/11".
    spans = []
    for week in weeks:
        monday = date.fromisocalendar(int(week[:4]), int(week.split("W")[1]), 1)
        spans.append(f"{monday:%d/%m}–{monday + timedelta(days=6):%d/%m}")
    _header(ws, [_("Code"), _("Unit"), _("Indicator"), *spans], [12, 34, 30, *[12] * len(weeks)],
            heading)  # fmt: skip
    ids = [u.id for u in scope if u.id is not None]
    table = await reports.weekly_totals(session, unit_ids=ids, weeks=weeks)
    for u in scope:
        for ind in indicators:
            values = table.get((u.id or 0, ind.id or 0), {})
            if not any(values.values()):
                continue  # a province has thousands of such rows: only what was done
            name = indicator_name(ind.name_vi, ind.name_en)
            append(ws, [u.code, u.name, name, *[values.get(w, 0) for w in weeks]])


async def _reports_sheet(
    session: AsyncSession,
    ws: Worksheet,
    unit: Unit,
    indicators: Sequence[Indicator],
    first: date,
    last: date,
    tz: ZoneInfo,
    heading: Heading,
) -> None:
    names = [indicator_name(i.name_vi, i.name_en) for i in indicators]
    titles = [_("Date"), _("Week"), _("Unit"), _("Member"), *names, _("Note"),
              _("Recorded at")]  # fmt: skip
    _header(ws, titles, [11, 10, 28, 26, *[14] * len(indicators), 30, 17], heading)
    for report, u, person, v in await reports.dated_in(
        session, scope=unit, first=first, last=last
    ):
        at = report.created_at
        append(
            ws,
            [
                report.report_date,
                report.week,
                u.name,
                person.display_name,
                *[v.get(i.id or 0) for i in indicators],
                report.note,
                at.astimezone(tz).replace(tzinfo=None),  # Excel has no time zones: local time
            ],
        )
    for cells in ws.iter_rows(min_row=TITLE_ROWS + 2):
        cells[0].number_format = "DD/MM/YYYY"
        cells[-1].number_format = "DD/MM/YYYY HH:MM"
