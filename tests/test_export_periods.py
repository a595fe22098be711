"""A period's workbook holds that period and nothing else, and its sheets agree.

One commune, five villages, reports sent day by day from mid-November 2026 to 10 January 2027
(a month's end and a quarter's end crossed, some reports dated the day before they were sent,
one withdrawn). The workbooks of weeks, months, quarters and the campaign are opened and every
figure of every indicator is compared with sums made here from the list of what was sent:
- the reports sheet, added up per village, is the village's "done in the period";
- the villages add up to the commune, in the period and cumulatively;
- the weeks add up to the period, and a whole week holds that week's reports;
- the cumulative columns hold every report dated up to the period's end, none after it.
"""

from __future__ import annotations

import io
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook
from openpyxl.worksheet.worksheet import Worksheet

from handlers import i18n
from handlers.export import workbook
from handlers.incoming import Deps
from handlers.periods import Period, parse_period
from handlers.plans import resolve_unit
from tests.conftest import SUPERADMIN
from tests.harness import ChatRoom, Clock, Person

VN = ZoneInfo("Asia/Ho_Chi_Minh")
COMMUNE = "Xã Thăng Bình"
VILLAGES = {  # name: households
    "Thôn Hà Lam": 320,
    "Thôn Bình Quý": 410,
    "Thôn Phú Mỹ": 260,
    "Thôn An Lợi": 190,
    "Thôn Trung Đông": 150,  # linked, never reports: a row of zeros, not a missing row
}
INDICATORS = {  # code: the name its columns carry
    "ho": "Hộ được hướng dẫn",
    "app": "Hộ cài ứng dụng công dân",
    "tt": "Hộ có tài khoản thanh toán điện tử",
    "cks": "Hộ có chữ ký số",
    "dvc": "Hồ sơ dịch vụ công trực tuyến",
    "tmdt": "Hộ lên sàn thương mại điện tử",
}
TODAY = date(2027, 1, 10)  # the day of export: after every report


@dataclass(frozen=True)
class Sent:
    village: str
    day: date  # the day the report is dated, which is not always the day it was sent
    values: dict[str, int]
    note: str = ""


class Story:
    """What was sent, to sum from: never read back from the bot."""

    def __init__(self) -> None:
        self.sent: list[Sent] = []

    def total(self, code: str, first: date, last: date, village: str | None = None) -> int:
        return sum(
            s.values.get(code, 0)
            for s in self.sent
            if first <= s.day <= last and (village is None or s.village == village)
        )


def _local(day: date, hour: int) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=VN).astimezone(UTC)


async def _tell(deps: Deps, clock: Clock) -> Story:
    story = Story()
    admin = Person(SUPERADMIN, "Quản trị")
    rooms: dict[str, ChatRoom] = {}
    for n, (name, households) in enumerate(VILLAGES.items()):
        rooms[name] = ChatRoom(deps, f"tg:-72{n}")
        await rooms[name].say(admin, f"/lien_ket xa=20791 thon={name} ho={households}")
    rng = random.Random(26)
    reporting = list(VILLAGES)[:4]
    day = date(2026, 11, 16)
    while day <= TODAY:
        for village in rng.sample(reporting, rng.randint(0, 3)):
            codes = rng.sample(list(INDICATORS), rng.randint(1, 4))
            values = {code: rng.randint(1, 12) for code in codes}
            dated = day
            text = "/bao_cao " + " ".join(f"{c}={v}" for c, v in values.items())
            if rng.random() < 0.2 and day.weekday() != 0:
                # Sent the next morning about yesterday: counted on the day it is dated.
                dated = day - timedelta(days=1)
                text += f" ngay={dated:%d/%m/%Y}"
            clock.now = _local(day, rng.randint(7, 20))
            who = Person(f"tg:8{list(VILLAGES).index(village)}{rng.randint(0, 1)}", "Lê Thị Hoa")
            answer = await rooms[village].say(who, text)
            assert "Đã ghi" in answer, (text, answer)
            story.sent.append(Sent(village, dated, values))
        if day == date(2026, 12, 1):  # sent and withdrawn at once: in no sheet of any period
            clock.now = _local(day, 21)
            who = Person("tg:809", "Lê Thị Hoa")
            assert "Đã ghi" in await rooms["Thôn Hà Lam"].say(who, "/bao_cao ho=99")
            assert "Đã hủy" in await rooms["Thôn Hà Lam"].say(who, "/huy")
        day += timedelta(days=1)
    return story


async def _open(deps: Deps, period: Period, today: date = TODAY) -> dict[str, Worksheet]:
    async with deps.sessions() as session:
        unit = await resolve_unit(session, "xa:20791")
        with i18n.use("vi"):
            content = await workbook(
                session, unit=unit, period=period, tz=VN, today=today, by="Trần Văn Quản"
            )
    book = load_workbook(io.BytesIO(content))
    return {ws.title: ws for ws in book.worksheets}


def _table(ws: Worksheet) -> tuple[list[str], list[tuple[object, ...]]]:
    rows = list(ws.iter_rows(min_row=6, values_only=True))
    return [str(v) for v in rows[0]], [r for r in rows[1:] if any(v is not None for v in r)]


def _level_rows(ws: Worksheet) -> dict[str, dict[str, object]]:
    header, rows = _table(ws)
    return {str(r[1]): dict(zip(header, r, strict=True)) for r in rows}


def _cases() -> Iterator[tuple[str, str]]:
    yield from [
        ("2026-W47", "week"),  # a whole week in November
        ("tuần 02/12/2026", "week"),  # 30/11–06/12: the week across the month's end
        ("2026-W53", "week"),  # 28/12–03/01: across the quarter's and the year's end
        ("tháng 11/2026", "month"),
        ("tháng 12/2026", "month"),
        ("quý 4/2026", "quarter"),
        ("quý 1/2027", "quarter"),  # still running on the day of export
        ("2026", "year"),
        ("tất cả", "campaign"),
    ]


async def test_every_sheet_of_every_period_adds_up(deps: Deps, clock: Clock) -> None:
    story = await _tell(deps, clock)
    seen_kinds = set()
    for text, kind in _cases():
        period = parse_period(text, TODAY)
        assert period.kind == kind, text
        seen_kinds.add(kind)
        sheets = await _open(deps, period)
        first = period.first if kind != "campaign" else min(s.day for s in story.sent)
        until = min(period.last, TODAY)
        end = f"{until:%d/%m/%Y}"
        context = (text, first, until)
        # Nothing vacuous: reports inside the period, and (for a finished one) after it.
        assert any(first <= s.day <= until for s in story.sent), context
        assert until == TODAY or any(s.day > until for s in story.sent), context

        # The title names the period by its dates, and no sheet holds an ISO week code.
        title = str(sheets["Thôn"]["A2"].value)
        assert title.startswith("Kỳ báo cáo: "), title
        assert f"{period.first:%d/%m}" in title or kind == "campaign", title
        for ws in sheets.values():
            for row in ws.iter_rows(values_only=True):
                assert not any(isinstance(v, str) and "-W" in v for v in row), (text, row)

        villages = _level_rows(sheets["Thôn"])
        commune = _level_rows(sheets["Xã"])[COMMUNE]
        assert set(villages) == set(VILLAGES), context
        reports_header, report_rows = _table(sheets["Báo cáo"])
        weekly_header, weekly_rows = _table(sheets["Theo tuần"])
        spans = weekly_header[3:-1]
        assert weekly_header[-1] == "Cả kỳ"
        # The weeks of the period, cut at its ends; each heading says the days it counts.
        mondays = [first - timedelta(days=first.weekday()) + timedelta(weeks=n)
                   for n in range(len(spans))]  # fmt: skip
        assert mondays[-1] <= until < mondays[-1] + timedelta(days=7), context
        for code, name in INDICATORS.items():
            done_title = f"{name}: làm trong kỳ"
            so_far_title = f"{name}: lũy kế đến hết {end}"
            listed_at = reports_header.index(name)
            for village in VILLAGES:
                in_period = story.total(code, first, until, village)
                so_far = story.total(code, date.min, until, village)
                figures = villages[village]
                # (a) the reports sheet, added up, is the village's figure for the period
                listed = sum(int(str(r[listed_at] or 0)) for r in report_rows if r[2] == village)
                assert listed == in_period == figures[done_title], (context, code, village)
                # (d) cumulative: every report dated up to the end, none after it
                assert figures[so_far_title] == so_far, (context, code, village)
                # (c) the weeks add up to the period; a whole week holds its own reports
                weeks = next(
                    (r[3:] for r in weekly_rows if r[1] == village and r[2] == name),
                    (0,) * (len(spans) + 1),
                )
                assert weeks[-1] == in_period, (context, code, village)
                assert sum(int(str(v)) for v in weeks[:-1]) == in_period, (context, code, village)
                for n, monday in enumerate(mondays):
                    cut = (max(monday, first), min(monday + timedelta(days=6), until))
                    whole = cut == (monday, monday + timedelta(days=6))
                    assert ("một phần tuần" not in spans[n]) == whole, (context, spans[n])
                    assert spans[n].startswith(f"{cut[0]:%d/%m}"), (context, spans[n])
                    expected = story.total(code, *cut, village)
                    assert weeks[n] == expected, (context, code, village, spans[n])
            # (b) the villages add up to the commune, in the period and cumulatively
            for title_, first_day in ((done_title, first), (so_far_title, date.min)):
                expected = story.total(code, first_day, until)
                assert sum(int(str(r[title_])) for r in villages.values()) == expected, context
                assert commune[title_] == expected, (context, title_)
            commune_weeks = next(
                (r[3:] for r in weekly_rows if r[1] == COMMUNE and r[2] == name), (0,)
            )
            assert commune_weeks[-1] == story.total(code, first, until), context
    assert seen_kinds == {"week", "month", "quarter", "year", "campaign"}


async def test_a_report_after_the_end_is_not_in_the_period(deps: Deps, clock: Clock) -> None:
    """Dated 01/12 (sent that day, and another sent on 02/12 about 01/12): neither is in
    November's workbook, in any sheet or any cumulative figure; both are in December's."""
    admin = Person(SUPERADMIN, "Quản trị")
    room = ChatRoom(deps, "tg:-730")
    await room.say(admin, "/lien_ket xa=20791 thon=Thôn Hà Lam ho=300")
    lan = Person("tg:731", "Phạm Thị Lan")
    clock.now = _local(date(2026, 11, 30), 20)
    assert "Đã ghi" in await room.say(lan, "/bao_cao ho=7 ghi_chu=cuối tháng")
    clock.now = _local(date(2026, 12, 1), 9)
    assert "Đã ghi" in await room.say(lan, "/bao_cao ho=200 ghi_chu=sau kỳ")
    clock.now = _local(date(2026, 12, 2), 9)
    assert "Đã ghi" in await room.say(lan, "/bao_cao ho=40 ngay=01/12/2026 ghi_chu=sau kỳ 2")
    november = await _open(deps, parse_period("tháng 11/2026", TODAY), today=date(2026, 12, 2))
    cells = [v for ws in november.values() for row in ws.iter_rows(values_only=True) for v in row]
    assert "sau kỳ" not in cells
    assert "sau kỳ 2" not in cells
    assert "cuối tháng" in cells
    assert 200 not in cells
    assert 240 not in cells
    village = _level_rows(november["Thôn"])["Thôn Hà Lam"]
    assert village["Hộ được hướng dẫn: làm trong kỳ"] == 7
    assert village["Hộ được hướng dẫn: lũy kế đến hết 30/11/2026"] == 7
    assert november["Thôn"]["A2"].value == "Kỳ báo cáo: tháng 11/2026 (01/11–30/11/2026)"
    header, _rows = _table(november["Theo tuần"])
    # 30/11 is a Monday: the last week of November is one day of it, and says so.
    assert header[-2] == "30/11\n(một phần tuần 30/11–06/12)"
    december = await _open(deps, parse_period("tháng 12", date(2026, 12, 2)), date(2026, 12, 2))
    village = _level_rows(december["Thôn"])["Thôn Hà Lam"]
    assert village["Hộ được hướng dẫn: làm trong kỳ"] == 240
    assert village["Hộ được hướng dẫn: lũy kế đến hết 02/12/2026"] == 247
    assert str(december["Thôn"]["A2"].value).endswith("số liệu đến hết ngày 02/12/2026")


@pytest.mark.parametrize(
    ("text", "kind", "first", "last", "key"),
    [
        ("tuần 23/11", "week", date(2026, 11, 23), date(2026, 11, 29), "2026-W48"),
        ("Tuần 48", "week", date(2026, 11, 23), date(2026, 11, 29), "2026-W48"),
        ("2026-W53", "week", date(2026, 12, 28), date(2027, 1, 3), "2026-W53"),
        ("tháng 12", "month", date(2026, 12, 1), date(2026, 12, 31), "2026-12"),
        ("quý IV", "quarter", date(2026, 10, 1), date(2026, 12, 31), "2026-Q4"),
        ("2026", "year", date(2026, 1, 1), date(2026, 12, 31), "2026"),
        ("Tất cả", "campaign", date(2000, 1, 1), date(2026, 11, 20), "all"),
    ],
)
def test_period_forms(text: str, kind: str, first: date, last: date, key: str) -> None:
    period = parse_period(text, date(2026, 11, 20))
    assert (period.kind, period.first, period.last, period.key) == (kind, first, last, key)


@pytest.mark.parametrize(
    ("text", "first", "last"),
    [
        ("quý 4", date(2026, 10, 1), date(2026, 12, 31)),
        ("tháng 11", date(2026, 11, 1), date(2026, 11, 30)),
        ("tháng 1", date(2027, 1, 1), date(2027, 1, 31)),
        ("quý 1", date(2027, 1, 1), date(2027, 3, 31)),
        ("tuần 28/12", date(2026, 12, 28), date(2027, 1, 3)),
        ("tuần 53", date(2026, 12, 28), date(2027, 1, 3)),  # 2027 has 52 ISO weeks
        ("tuần 1", date(2027, 1, 4), date(2027, 1, 10)),
        ("quý 4/2027", date(2027, 10, 1), date(2027, 12, 31)),  # a year written is kept
        ("tháng 2", date(2027, 2, 1), date(2027, 2, 28)),  # next month: nearer than last year's
    ],
)
def test_in_january_a_period_without_a_year_is_the_one_just_ended(
    text: str, first: date, last: date
) -> None:
    period = parse_period(text, date(2027, 1, 13))
    assert (period.first, period.last) == (first, last)


def test_weeks_cut_at_the_ends_add_up_to_the_period() -> None:
    november = parse_period("tháng 11/2026", date(2027, 1, 10))
    parts = november.weeks(date(2027, 1, 10))
    assert (parts[0].first, parts[0].last, parts[0].whole) == (
        date(2026, 11, 1), date(2026, 11, 1), False
    )  # fmt: skip
    assert all(p.whole for p in parts[1:-1])
    assert (parts[-1].first, parts[-1].last) == (date(2026, 11, 30), date(2026, 11, 30))
    assert sum((p.last - p.first).days + 1 for p in parts) == 30
    # While the period runs, its weeks stop at today.
    running = november.weeks(date(2026, 11, 18))
    assert (running[-1].first, running[-1].last) == (date(2026, 11, 16), date(2026, 11, 18))


@pytest.mark.parametrize(
    ("text", "first", "last"),
    [
        ("tháng này", date(2026, 12, 1), date(2026, 12, 31)),
        ("thang truoc", date(2026, 11, 1), date(2026, 11, 30)),
        ("tháng rồi", date(2026, 11, 1), date(2026, 11, 30)),
        ("quý này", date(2026, 10, 1), date(2026, 12, 31)),
        ("quý trước", date(2026, 7, 1), date(2026, 9, 30)),
        ("tuần này", date(2026, 12, 7), date(2026, 12, 13)),
        ("tuần trước", date(2026, 11, 30), date(2026, 12, 6)),
        ("11/2026", date(2026, 11, 1), date(2026, 11, 30)),
    ],
)
def test_everyday_words_for_a_period(text: str, first: date, last: date) -> None:
    """As an official asks for it, on Monday 7 December 2026."""
    period = parse_period(text, date(2026, 12, 7))
    assert (period.first, period.last) == (first, last)


def test_the_period_before_crosses_the_year() -> None:
    january = date(2027, 1, 4)
    assert parse_period("tháng trước", january).first == date(2026, 12, 1)
    assert parse_period("quý trước", january).first == date(2026, 10, 1)
    assert parse_period("tuần trước", january).first == date(2026, 12, 28)
