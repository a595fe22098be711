"""The figures the conversation changes (issue 25) — a reading tapped, a correction by reply
that moves a report to last week, "put it back", a resend recorded as new work, /huy — against
sums computed here from the live reports: the running totals of every period kind they keep
(each week, all time) for each village and for their commune, the commune against its
villages, the month, and the line a confirmation shows."""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import date, timedelta

import pytest
from sqlmodel import col, select

from handlers.incoming import Deps, Reply
from handlers.periods import week_key
from storage import reports
from storage.models import Indicator, Report, ReportValue, Unit
from storage.reports import ALL_TIME
from tests.conftest import SUPERADMIN
from tests.harness import ChatRoom, Clock, Person, shown

ADMIN = Person(SUPERADMIN, "Trần Văn Quản")
LAN = Person("tg:401", "Nguyễn Thị Lan")
HUNG = Person("tg:402", "Lê Văn Hùng")
MAI = Person("tg:403", "Phạm Thị Mai")


def _data(replies: list[Reply], prefix: str) -> str:
    found = [
        b.data for r in replies for row in r.buttons for b in row if b.data.startswith(prefix)
    ]
    assert found, shown(replies)
    return found[0]


async def _live(deps: Deps) -> list[tuple[int, date, str, int, int]]:
    """(unit id, date, week, indicator id, value) of every value of every live report."""
    async with deps.sessions() as s:
        rows = await s.exec(
            select(Report, ReportValue)
            .join(ReportValue, col(ReportValue.report_id) == col(Report.id))
            .where(col(Report.withdrawn_at).is_(None))
        )
        return [(r.unit_id, r.report_date, r.week, v.indicator_id, v.value) for r, v in rows.all()]


async def _check(deps: Deps) -> None:
    live = await _live(deps)
    async with deps.sessions() as s:
        units = {u.id: u for u in (await s.exec(select(Unit))).all()}
        villages = [u for u in units.values() if u.level == "village"]
        commune = units[villages[0].parent_id]
        weeks = sorted({w for _u, _d, w, _i, _v in live})
        for unit in [*villages, commune]:
            ids = {u.id for u in units.values() if u.path.startswith(unit.path)}
            expected: dict[str, dict[int, int]] = defaultdict(dict)
            for u, _d, w, i, v in live:
                if u in ids:
                    for period in (w, ALL_TIME):
                        expected[period][i] = expected[period].get(i, 0) + v
            assert unit.id is not None
            kept = await reports.unit_totals(s, unit_id=unit.id, periods=[ALL_TIME, *weeks])
            for period in (ALL_TIME, *weeks):
                got = {i: v for i, v in kept[period].items() if v}
                want = {i: v for i, v in expected[period].items() if v}
                assert got == want, (unit.name, period)
            # The month, as the workbook adds it up from the reports' dates.
            month = [(i, v) for u, d, _w, i, v in live if u in ids and d.month == 11]
            want_month: dict[int, int] = defaultdict(int)
            for i, v in month:
                want_month[i] += v
            summed = await reports.sums_dated_in(
                s, scope=unit, first=date(2026, 11, 1), last=date(2026, 11, 30)
            )
            assert {i: v for i, v in summed.items() if v} == {
                i: v for i, v in want_month.items() if v
            }
        # The commune is the sum of its villages, period by period.
        for period in (ALL_TIME, *weeks):
            parts: dict[int, int] = defaultdict(int)
            for village in villages:
                assert village.id is not None
                for i, v in (await reports.unit_totals(s, unit_id=village.id, periods=[period]))[
                    period
                ].items():
                    parts[i] += v
            assert commune.id is not None
            whole = (await reports.unit_totals(s, unit_id=commune.id, periods=[period]))[period]
            assert {i: v for i, v in whole.items() if v} == {i: v for i, v in parts.items() if v}


async def _all_time(deps: Deps, unit_name: str, name_vi: str) -> int:
    """The indicator's all-time figure in the village, summed from its live reports."""
    async with deps.sessions() as s:
        unit = (await s.exec(select(Unit).where(Unit.name == unit_name))).one()
        ids = {
            ind.id
            for ind in (await s.exec(select(Indicator).where(Indicator.name_vi == name_vi))).all()
        }
    return sum(v for u, _d, _w, i, v in await _live(deps) if u == unit.id and i in ids)


async def _focus_adds_up(deps: Deps, unit_name: str, confirmation: str) -> None:
    """The confirmation's second line ("📊 Hộ cài ứng dụng công dân: 4/400 hộ …") shows the
    sum of the village's reports for the indicator it names."""
    m = re.search(r"📊 (.+?): ([\d.]+)/", confirmation)
    assert m is not None, confirmation
    assert int(m[2].replace(".", "")) == await _all_time(deps, unit_name, m[1])


@pytest.fixture
async def rooms(deps: Deps) -> tuple[ChatRoom, ChatRoom]:
    ha_lam = ChatRoom(deps, "tg:-4401", title="Tổ CNS thôn Hà Lam")
    binh_an = ChatRoom(deps, "tg:-4402", title="Tổ CNS thôn Bình An")
    assert "Hà Lam" in await ha_lam.say(ADMIN, "/lien_ket xa=20791 thon=Thôn Hà Lam ho=400")
    assert "Bình An" in await binh_an.say(ADMIN, "/lien_ket xa=20791 thon=Thôn Bình An ho=300")
    return ha_lam, binh_an


async def test_conversation_keeps_every_total_equal_to_its_reports(
    deps: Deps, rooms: tuple[ChatRoom, ChatRoom], clock: Clock
) -> None:
    ha_lam, binh_an = rooms
    # Typed and sure; the confirmation's line for the indicator is the sum of the reports.
    out = await ha_lam.say(LAN, "/bao_cao hnay e di dc 9 nha, 4 nha cai vneid r")
    await _focus_adds_up(deps, "Thôn Hà Lam", out)
    await binh_an.say(MAI, "/bao_cao ho=7 app=2")
    await _check(deps)
    # Offered, then tapped.
    _id, offered = await ha_lam.send(HUNG, "/bao_cao hd mười lăm hộ, app 3")
    tapped = shown(await ha_lam.press(HUNG, _data(offered, "k"), message_id=950))
    await _focus_adds_up(deps, "Thôn Hà Lam", tapped)
    await _check(deps)
    # A correction by reply that also moves the report to last week.
    _id, typed = await ha_lam.send(LAN, "/bao_cao ho=6 app=2")
    under = tuple(b.data for r in typed for row in r.buttons for b in row)
    last_week = (clock().date() - timedelta(days=7)).strftime("%d/%m")
    _id, fixed = await ha_lam.reply_to(
        LAN, f"nhầm, ngày {last_week}: hd 8 hộ", to_bot="960", under=under
    )
    assert re.search(r"6 → 8", shown(fixed))
    weeks = {w for _u, _d, w, _i, _v in await _live(deps)}
    assert week_key(clock().date() - timedelta(days=7)) in weeks
    await _check(deps)
    # Put back: the figures and the day before the correction.
    await ha_lam.press(LAN, _data(fixed, "k"), message_id=961)
    weeks = {w for _u, _d, w, _i, _v in await _live(deps)}
    assert week_key(clock().date() - timedelta(days=7)) not in weeks  # back on its own day
    await _check(deps)
    # The same figures again, recorded as new work after all; then one withdrawn.
    _id, twin = await binh_an.send(MAI, "/bao_cao ho=7 app=2")
    await binh_an.press(MAI, _data(twin, "k"), message_id=962)
    await _check(deps)
    await binh_an.say(MAI, "/huy")
    await _check(deps)
    assert await _all_time(deps, "Thôn Bình An", "Hộ được hướng dẫn") == 7
