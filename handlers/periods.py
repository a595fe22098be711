"""Weeks and dates in the deployment's time zone. Pure."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo


def local_date(moment: datetime, tz: ZoneInfo) -> date:
    if moment.tzinfo is None:
        raise ValueError("naive datetime")
    return moment.astimezone(tz).date()


def week_key(day: date) -> str:
    """ISO week, "2026-W47": sorts as text in time order."""
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
