"""Weeks, months, quarters and the campaign: periods as values, in the deployment's time zone.
Pure.

A `Period` knows its days. What it holds is counted two ways, and every file and view names
which: what was *done in the period* (the reports dated inside it) and what was *cumulative at
its end* (every report dated up to its last day). `handlers.period_figures` reads both.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from handlers.grammar import foreign_digit
from storage.folding import fold

PeriodKind = Literal["week", "month", "quarter", "year", "campaign"]

FIRST_YEAR, LAST_YEAR = 2000, 2100  # a campaign's years; anything else is a typing slip


def local_date(moment: datetime, tz: ZoneInfo) -> date:
    if moment.tzinfo is None:
        raise ValueError("naive datetime")
    return moment.astimezone(tz).date()


def week_key(day: date) -> str:
    """ISO week, "2026-W47": sorts as text in time order. For storage and file names; people
    read a week as its dates (`span_text`)."""
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())


def report_window(today: date) -> tuple[date, date]:
    """A report may be dated from the Monday of last week up to today."""
    return week_start(today) - timedelta(days=7), today


def in_window(day: date, today: date) -> bool:
    first, last = report_window(today)
    return first <= day <= last


def span_text(first: date, last: date) -> str:
    """Days as people write them: "23/11–29/11/2026", "28/12/2026–03/01/2027", "30/11/2026"."""
    if first == last:
        return f"{first:%d/%m/%Y}"
    if first.year == last.year:
        return f"{first:%d/%m}–{last:%d/%m/%Y}"
    return f"{first:%d/%m/%Y}–{last:%d/%m/%Y}"


def short_span(first: date, last: date) -> str:
    """A week's column heading, the year being the sheet's: "23/11–29/11", "30/11"."""
    return f"{first:%d/%m}" if first == last else f"{first:%d/%m}–{last:%d/%m}"


@dataclass(frozen=True)
class WeekPart:
    """One week's days inside a period: the whole week, or the part of a week the period's
    first or last day cuts (a month's weeks rarely fit it)."""

    monday: date
    first: date
    last: date

    @property
    def sunday(self) -> date:
        return self.monday + timedelta(days=6)

    @property
    def whole(self) -> bool:
        return self.first == self.monday and self.last == self.sunday


@dataclass(frozen=True)
class Period:
    kind: PeriodKind
    first: date
    last: date

    @property
    def key(self) -> str:
        """Machine-readable, for file names: 2026-W48, 2026-11, 2026-Q4, 2026, all."""
        if self.kind == "week":
            return week_key(self.first)
        if self.kind == "month":
            return f"{self.first.year}-{self.first.month:02d}"
        if self.kind == "quarter":
            return quarter_key(self.first)
        if self.kind == "year":
            return str(self.first.year)
        return "all"

    def until(self, today: date) -> date:
        """The last day whose reports the period can hold yet: its end, or today if sooner
        (no report is dated in the future)."""
        return min(self.last, today)

    def starting(self, first: date) -> Period:
        """The campaign, from its first report."""
        return replace(self, first=min(first, self.last))

    def weeks(self, today: date) -> list[WeekPart]:
        """The weeks from the first day to `until(today)`, the first and last cut to them: the
        parts add up to the period."""
        last = self.until(today)
        parts: list[WeekPart] = []
        monday = week_start(self.first)
        while monday <= last:
            parts.append(
                WeekPart(monday, max(monday, self.first), min(monday + timedelta(days=6), last))
            )
            monday += timedelta(days=7)
        return parts


def week_of(day: date) -> Period:
    monday = week_start(day)
    return Period("week", monday, monday + timedelta(days=6))


def month_of(year: int, month: int) -> Period:
    first = date(year, month, 1)
    after = date(year + 1, 1, 1) if month == 12 else date(year, month + 1, 1)
    return Period("month", first, after - timedelta(days=1))


def quarter_of(day: date) -> Period:
    first = date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
    after = (
        date(first.year + 1, 1, 1) if first.month == 10 else date(first.year, first.month + 3, 1)
    )
    return Period("quarter", first, after - timedelta(days=1))


def year_of(year: int) -> Period:
    return Period("year", date(year, 1, 1), date(year, 12, 31))


def campaign(today: date) -> Period:
    """From the first report (`Period.starting`) to today."""
    return Period("campaign", date(FIRST_YEAR, 1, 1), today)


def quarter_bounds(day: date) -> tuple[date, date]:
    q = quarter_of(day)
    return q.first, q.last


def quarter_key(day: date) -> str:
    return f"{day.year}-Q{(day.month - 1) // 3 + 1}"


def month_bounds(year: int, month: int) -> tuple[date, date]:
    m = month_of(year, month)
    return m.first, m.last


# As an official says a period: "quý 4", "quy IV", "Q4", "tháng 11", "thang 11/2025", "T11",
# "tuần 23/11", "tuần 48", "tất cả".
_SPOKEN_QUARTER = re.compile(r"^(?:quy|q)\s*(?P<q>[1-4]|i{1,3}|iv)(?:\s*[/-]\s*(?P<y>\d{4}))?$")
_SPOKEN_MONTH = re.compile(r"^(?:thang|t|month)\s*(?P<m>\d{1,2})(?:\s*[/-]\s*(?P<y>\d{4}))?$")
_SPOKEN_WEEK_DAY = re.compile(
    r"^(?:tuan|week)\s*(?P<d>\d{1,2})\s*[/.-]\s*(?P<m>\d{1,2})(?:\s*[/.-]\s*(?P<y>\d{4}))?$"
)
_SPOKEN_WEEK = re.compile(r"^(?:tuan|week)\s*(?P<w>\d{1,2})(?:\s*[/-]\s*(?P<y>\d{4}))?$")
_ISO_MONTH = re.compile(r"^(?P<y>\d{4})-(?P<m>\d{1,2})$")
_MONTH_YEAR = re.compile(r"^(?P<m>\d{1,2})\s*[/-]\s*(?P<y>\d{4})$")  # "11/2026"
# "tháng này", "quý trước", "tuần này", "tháng rồi": the period in hand or the one before.
_RELATIVE = re.compile(
    r"^(?P<kind>tuan|thang|quy|week|month|quarter)\s+"
    r"(?P<which>nay|hien tai|truoc|roi|vua roi|vua qua|qua|this|last|previous)$"
)
_CAMPAIGN = {"all", "tat ca", "toan bo", "tu dau", "ca chien dich", "campaign"}
_ROMAN = {"i": 1, "ii": 2, "iii": 3, "iv": 4}

# The forms `parse_period` reads, as the command's answer, `tcns export --help` and the README
# list them.
PERIOD_FORMS = (
    "quý 4, tháng 11, tuần 23/11, tháng này, tuần trước, quý trước, 11/2026, 2026-Q4, 2026-11, "
    "2026-W48, 2026, tất cả"
)


def _year(text: str | int) -> int:
    year = int(text)
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise ValueError(f"year {year}")
    return year


def parse_period(text: str | None, today: date) -> Period:
    """One of PERIOD_FORMS, or nothing for the current quarter. A quarter, month or week
    without a year is this year's, or last year's when that one is nearer (in January, "quý 4"
    and "tháng 11" are those that just ended); "tuần 23/11" is the week holding that day."""
    if not text:
        return quarter_of(today)
    if foreign_digit(text) is not None:
        raise ValueError(f"period {text!r}: digits 0-9 only")
    spoken = " ".join(fold(text).split())
    try:
        return _spoken(spoken, today) or _coded(text.strip().upper())
    except (ValueError, OverflowError):  # a number no calendar holds is no period either
        pass
    raise ValueError(f"period {text!r}: write one of {PERIOD_FORMS}")


def _spoken(spoken: str, today: date) -> Period | None:
    if spoken in _CAMPAIGN:
        return campaign(today)
    found = _RELATIVE.match(spoken)
    if found:
        kind = {"week": "tuan", "month": "thang", "quarter": "quy"}.get(
            found["kind"], found["kind"]
        )
        now = found["which"] in ("nay", "hien tai", "this")
        if kind == "tuan":
            return week_of(today if now else today - timedelta(days=7))
        if kind == "thang":
            first = today.replace(day=1)
            day = first if now else first - timedelta(days=1)
            return month_of(day.year, day.month)
        current = quarter_of(today)
        return current if now else quarter_of(current.first - timedelta(days=1))
    found = _SPOKEN_QUARTER.match(spoken)
    if found:
        n = _ROMAN.get(found["q"]) or int(found["q"])
        return _nearest(found["y"], today, lambda y: quarter_of(date(y, 3 * n - 2, 1)))
    found = _SPOKEN_MONTH.match(spoken) or _ISO_MONTH.match(spoken) or _MONTH_YEAR.match(spoken)
    if found and 1 <= int(found["m"]) <= 12:
        month = int(found["m"])
        return _nearest(found["y"], today, lambda y: month_of(y, month))
    found = _SPOKEN_WEEK_DAY.match(spoken)
    if found:
        d, m = int(found["d"]), int(found["m"])
        return _nearest(found["y"], today, lambda y: week_of(date(y, m, d)))
    found = _SPOKEN_WEEK.match(spoken)
    if found:
        w = int(found["w"])
        return _nearest(found["y"], today, lambda y: week_of(date.fromisocalendar(y, w, 1)))
    return None


def _nearest(year: str | None, today: date, make: Callable[[int], Period]) -> Period:
    """The period of the year written. Without one, this year's; but when this year's is still
    to come and last year's ended nearer to today, last year's: in January "quý 4" is the
    quarter that just ended, not one nine months ahead."""
    if year is not None:
        return make(_year(year))
    try:
        this = make(today.year)
    except ValueError:  # "tuần 53" in a year of 52 weeks, "29/2" outside a leap year
        return make(today.year - 1)
    if this.first <= today:
        return this
    try:
        before = make(today.year - 1)
    except ValueError:
        return this
    return before if today - before.last < this.first - today else this


def _coded(label: str) -> Period:
    if "-Q" in label:
        year, q = label.split("-Q")
        if not 1 <= int(q) <= 4:
            raise ValueError(q)
        return quarter_of(date(_year(year), 3 * int(q) - 2, 1))
    if "-W" in label:
        year, w = label.split("-W")
        return week_of(date.fromisocalendar(_year(year), int(w), 1))
    if label.isascii() and label.isdigit():
        return year_of(_year(label))
    raise ValueError(label)
