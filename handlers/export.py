"""The workbook a commune sends upward: one sheet per level of the unit's tree, weekly figures
and the reports themselves, with Vietnamese headers, frozen header rows and number formats."""

from __future__ import annotations

import io
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
from handlers.i18n import _
from handlers.parent_sums import Part, add_up
from handlers.period_figures import PeriodFigures, Standing, period_figures, standings
from handlers.periods import Period, short_span, span_text, week_start

# Where the dashboard and the quarterly job have found them.
from handlers.periods import quarter_bounds as quarter_bounds
from handlers.periods import quarter_key as quarter_key
from handlers.progress import own_targets, target_for
from handlers.views import grade_name
from storage import config, reports, units
from storage.models import Indicator, Unit

XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_HEADER = Font(bold=True, color="FFFFFF")
_FILL = PatternFill("solid", fgColor="1F4E78")
_LEVELS = ("province", "district", "commune", "village")


def period_name(period: Period) -> str:
    """A period as an official names it: "tháng 11/2026", "tuần 23/11–29/11/2026"."""
    first = period.first
    if period.kind == "week":
        return _("week {dates}").format(dates=span_text(first, period.last))
    if period.kind == "month":
        return _("month {month}/{year}").format(month=first.month, year=first.year)
    if period.kind == "quarter":
        return _("quarter {quarter}/{year}").format(
            quarter=(first.month - 1) // 3 + 1, year=first.year
        )
    if period.kind == "year":
        return _("year {year}").format(year=first.year)
    return _("the whole campaign")


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
    """What stands above every sheet's table: whose figures, for which period and up to which
    day, made when and by whom (an official forwards the file as it is)."""

    unit: str
    period: Period
    until: date
    made: date
    by: str = ""


TITLE_ROWS = 5  # the title block, and a row under it for the sheet's note


def period_title(period: Period, until: date | None = None) -> str:
    """ "tháng 11/2026 (01/11–30/11/2026)"; with `until` before the end, up to which day."""
    named = period_name(period)
    if period.kind != "week":
        named = f"{named} ({span_text(period.first, period.last)})"
    if until is not None and until < period.last:
        named = _("{period}, figures up to {date}").format(period=named, date=f"{until:%d/%m/%Y}")
    return named


def _header(
    ws: Worksheet,
    titles: Sequence[str],
    widths: Sequence[int],
    heading: Heading,
    note: str = "",
) -> None:
    append(ws, [heading.unit])
    ws.cell(row=1, column=1).font = Font(bold=True, size=14)
    append(ws, [_("Period: {period}").format(period=period_title(heading.period, heading.until))])
    append(ws, [_("Exported on {date}").format(date=f"{heading.made:%d/%m/%Y}")])
    append(ws, [_("Prepared by: {name}").format(name=heading.by or "…………………………")])
    append(ws, [note] if note else [])
    if note:
        ws.cell(row=TITLE_ROWS, column=1).font = Font(italic=True)
    append(ws, list(titles))
    header_row = TITLE_ROWS + 1
    for n, (cell, width) in enumerate(zip(ws[header_row], widths, strict=True), start=1):
        cell.font, cell.fill = _HEADER, _FILL
        cell.alignment = Alignment(wrap_text=True, vertical="center")
        ws.column_dimensions[get_column_letter(n)].width = width
    # Tall enough for a wrapped "Hộ có tài khoản thanh toán điện tử: lũy kế đến hết 30/11/2026"
    # when printed.
    ws.row_dimensions[header_row].height = 96
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
    period: Period,
    tz: ZoneInfo,
    today: date | None = None,
    by: str = "",
) -> bytes:
    """The period and nothing else: each unit's figures done in it and cumulative at its end
    (or at `today`, while it runs), its weeks up to then, and its reports; each sheet under a
    title block that names the period by its dates."""
    today = today or period.last
    indicators = await config.indicators_for(session, unit=unit)
    tree = await units.subtree(session, unit=unit)
    figures = await period_figures(
        session, scope=unit, period=period, today=today, indicators=indicators
    )
    heading = Heading(unit.name, figures.period, figures.until, today, by)
    standing = await standings(session, tree=tree, indicators=indicators, figures=figures)
    # As the board counts them: a village with a team, and every unit above one.
    teamed = await config.teamed_villages(session, scope=unit)
    with_team = {i for v in tree if v.id in teamed for i in units.path_ids(v)}
    wb = Workbook()
    for sheet in list(wb.worksheets):
        wb.remove(sheet)
    for level in _LEVELS:
        members = [u for u in tree if u.level == level]
        if members:
            ws = wb.create_sheet(level_name(level))
            await _level_sheet(
                session, ws, members, tree, indicators, figures, standing, heading, with_team
            )
    _weekly_sheet(wb.create_sheet(_("Weekly")), tree, indicators, figures, heading)
    await _reports_sheet(
        session, wb.create_sheet(_("Reports")), unit, indicators, figures, tz, heading
    )
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


async def _level_sheet(
    session: AsyncSession,
    ws: Worksheet,
    members: Sequence[Unit],
    tree: Sequence[Unit],
    indicators: Sequence[Indicator],
    figures: PeriodFigures,
    standing: dict[int, Standing],
    heading: Heading,
    with_team: set[int],
) -> None:
    """One row per unit: for each indicator, what was done in the period beside the
    cumulative figure at its end, each headed with what it counts. A unit without a team is
    said to have none, neither scored nor ranked (as on the board)."""
    titles, widths = [_("Code"), _("Unit"), _("Households")], [12, 34, 11]
    percent_columns: set[int] = set()
    end = f"{figures.until:%d/%m/%Y}"
    # Outside the f-strings, where the catalogue extractor can see them.
    in_period = _("done in the period")
    cumulative = _("cumulative to the end of {date}").format(date=end)
    share, target_label, gap_label = _("share of households (cumulative)"), _("target"), _("gap")
    for ind in indicators:
        name = indicator_name(ind.name_vi, ind.name_en)
        if ind.kind == "households":
            titles += [f"{name}: {in_period}", f"{name}: {cumulative}", f"{name}: {share}",
                       f"{name}: {target_label}", f"{name}: {gap_label}"]  # fmt: skip
            widths += [13, 14, 10, 9, 10]
            percent_columns |= {len(titles) - 2, len(titles) - 1}
        else:
            titles += [f"{name}: {in_period}", f"{name}: {cumulative}"]
            widths += [13, 14]
    titles += [_("Score"), _("Grade"), _("Rank")]
    widths += [8, 12, 7]
    note = _(
        "Cumulative figures, shares, gaps, scores, grades and ranks count every report dated up "
        "to {date}."
    ).format(date=end)
    _header(ws, titles, widths, heading, note)
    ranks = {
        uid: r
        for r, uid in scoring.rank(
            {u.id or 0: standing[u.id or 0].score for u in members if u.id in with_team},
            {u.id or 0: u.name_key for u in members},
        )
    }
    # A unit's target and gap are its villages' added up, each with the target in force for it
    # (handlers/parent_sums.py): the commune's row is the sum of the village rows.
    villages = [v for v in tree if v.level == "village"]
    ids = sorted({i for u in [*members, *villages] for i in units.path_ids(u)})
    own = await own_targets(session, unit_ids=ids)
    under = {
        u.id or 0: [v for v in villages if (u.id or 0) in units.path_ids(v)] or [u]
        for u in members
    }
    for u in members:
        uid = u.id or 0
        at = standing[uid]
        done, total = figures.done_in(uid), figures.cumulative_at_end(uid)
        row: list[object] = [u.code, u.name, at.households]
        for ind in indicators:
            in_it, so_far = done.get(ind.id or 0, 0), total.get(ind.id or 0, 0)
            row += [in_it, so_far]
            if ind.kind != "households":
                continue
            parts = [
                Part(
                    v.households,
                    figures.cumulative_at_end(v.id or 0).get(ind.id or 0, 0),
                    target_for(v, ind, own)[0],
                )
                for v in under[uid]
            ]
            summed = add_up(ind.kind, parts)
            # A village's own target as set; a parent's from its villages' sums.
            target = parts[0].target if u.level == "village" else summed.share
            row += [
                so_far / at.households if at.households else None,
                target / 100 if target else None,
                summed.missing,
            ]
        if uid in with_team:
            row += [round(at.score, 1), grade_name(at.grade), ranks.get(uid)]
        else:
            row += [None, _("no team yet"), None]
        append(ws, row)
    for cells in ws.iter_rows(min_row=TITLE_ROWS + 2):
        for cell in cells:
            if cell.column in percent_columns:
                cell.number_format = "0.0%"
            elif isinstance(cell.value, float):
                cell.number_format = "0.0"
            elif isinstance(cell.value, int):
                cell.number_format = "#,##0"


def _weekly_sheet(
    ws: Worksheet,
    scope: Sequence[Unit],
    indicators: Sequence[Indicator],
    figures: PeriodFigures,
    heading: Heading,
) -> None:
    """Each unit's done in the period, week by week, and the period's total. A week the
    period's first or last day (or the day of export) cuts is its days inside, headed with
    those days: the weeks add up to the period, as an official adds them."""
    spans = []
    for part in figures.weeks:
        span = short_span(part.first, part.last)
        if not part.whole:
            span += "\n" + _("(part of the week {dates})").format(
                dates=short_span(part.monday, part.sunday)
            )
        spans.append(span)
    cut = any(not part.whole for part in figures.weeks)
    note = _("A part of a week counts only the days its heading names.")
    _header(
        ws,
        [_("Code"), _("Unit"), _("Indicator"), *spans, _("Whole period")],
        [12, 34, 30, *[12] * len(spans), 12],
        heading,
        note if cut else "",
    )
    for u in scope:
        weekly, done = figures.weekly(u.id or 0), figures.done_in(u.id or 0)
        for ind in indicators:
            total = done.get(ind.id or 0, 0)
            values = [part.get(ind.id or 0, 0) for part in weekly]
            if not total and not any(values):
                continue  # a province has thousands of such rows: only what was done
            name = indicator_name(ind.name_vi, ind.name_en)
            append(ws, [u.code, u.name, name, *values, total])


async def _reports_sheet(
    session: AsyncSession,
    ws: Worksheet,
    unit: Unit,
    indicators: Sequence[Indicator],
    figures: PeriodFigures,
    tz: ZoneInfo,
    heading: Heading,
) -> None:
    names = [indicator_name(i.name_vi, i.name_en) for i in indicators]
    titles = [_("Date"), _("Week"), _("Unit"), _("Member"), *names, _("Note"),
              _("Recorded at")]  # fmt: skip
    _header(ws, titles, [11, 12, 28, 26, *[14] * len(indicators), 30, 17], heading)
    for report, u, person, v in await reports.dated_in(
        session, scope=unit, first=figures.period.first, last=figures.until
    ):
        at = report.created_at
        monday = week_start(report.report_date)
        append(
            ws,
            [
                report.report_date,
                short_span(monday, monday + timedelta(days=6)),
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
