"""A commune is the sum of its villages (issue 26): eight villages from a workbook, three of them
with their own 60 % for the citizen app, the others inheriting the commune's 65 %; three teams,
five villages without one; reports over three weeks. Every figure the commune's `/tien_do`,
board, dashboard and workbook show is checked against sums made here from the reports and the
households, village by village with the target in force for each; villages without a team are
listed apart, never ranked, and the teams' rate counts all eight. A Monday's `/tong_hop` (and
the scheduled summary) covers the week that ended, against the week before it."""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from babel.numbers import format_decimal
from openpyxl import load_workbook
from sqlmodel import col, select

from bot.pages import dashboard_html
from handlers import dashboard as dashboards
from handlers import i18n, importing
from handlers.export import workbook
from handlers.incoming import Deps
from handlers.periods import quarter_of
from handlers.weblinks import Pass
from scheduler import jobs
from scheduler.outbox import OutboxSender
from storage import config, db
from storage.models import AuditEntry, Unit
from tests.conftest import SUPERADMIN
from tests.harness import ChatRoom, Clock, Person, shown
from tests.test_jobs import Recorder

VN = ZoneInfo("Asia/Ho_Chi_Minh")
ADMIN = Person(SUPERADMIN, "Trần Văn Quản")
LAN = Person("tg:601", "Nguyễn Thị Lan")
HUNG = Person("tg:602", "Lê Văn Hùng")
MAI = Person("tg:603", "Phạm Thị Mai")
TU = Person("tg:604", "Võ Văn Tư")
OUTSIDER = Person("tg:605", "Đỗ Văn Khách")

# name, households, own targets from the workbook (code -> percent)
VILLAGES: list[tuple[str, int, dict[str, int]]] = [
    ("Thôn Hà Lam", 137, {"app": 60}),
    ("Thôn Bình An", 251, {"cks": 20}),
    ("Thôn Phú Mỹ", 199, {"app": 60}),
    ("Thôn Đông", 313, {}),
    ("Thôn Tây", 88, {"app": 60}),
    ("Thôn Nam", 175, {}),
    ("Thôn Bắc", 403, {}),
    ("Thôn Trung", 222, {}),
]
TEAMED = ("Thôn Hà Lam", "Thôn Bình An", "Thôn Phú Mỹ")
DEFAULTS = {"ho": 80, "app": 50, "tt": 50, "cks": 30}  # the national plan's
NAMES = {
    "ho": "Hộ được hướng dẫn",
    "app": "Hộ cài ứng dụng công dân",
    "tt": "Hộ có tài khoản thanh toán điện tử",
    "cks": "Hộ có chữ ký số",
}
CODES = tuple(NAMES)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=VN)


def n(value: float) -> str:
    return format_decimal(value, format="#,##0.#", locale="vi")


def pct(value: float) -> str:
    return f"{format_decimal(value, format='0.#', locale='vi')}%"


def grade(score: float) -> str:
    for lowest, name in ((90, "xuất sắc"), (80, "tốt"), (65, "khá"), (50, "trung bình")):
        if score >= lowest:
            return name
    return "yếu"


def week_of(day: date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


@dataclass
class Commune:
    """What the test itself knows: the households, the targets set, the reports sent."""

    deps: Deps
    clock: Clock
    room: ChatRoom
    rooms: dict[str, ChatRoom]
    commune_target: dict[str, int] = field(default_factory=dict)
    own: dict[str, dict[str, int]] = field(default_factory=dict)
    sent: list[tuple[str, date, dict[str, int]]] = field(default_factory=list)

    async def report(self, village: str, who: Person, line: str) -> None:
        out = await self.rooms[village].say(who, f"/bao_cao {line}")
        assert "Đã ghi" in out, out
        values = {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", line)}
        self.sent.append((village, self.clock.now.astimezone(VN).date(), values))

    def target(self, village: str, code: str) -> int:
        return self.own.get(village, {}).get(code) or self.commune_target.get(code, DEFAULTS[code])

    def done(self, village: str, code: str, *, until: date | None = None) -> int:
        return sum(
            v.get(code, 0)
            for name, day, v in self.sent
            if name == village and (until is None or day <= until)
        )

    def in_week(self, code: str, week: str, villages: tuple[str, ...] | None = None) -> int:
        return sum(
            v.get(code, 0)
            for name, day, v in self.sent
            if week_of(day) == week and (villages is None or name in villages)
        )

    def needed(self, village: str, code: str) -> int:
        households = dict((name, h) for name, h, _own in VILLAGES)[village]
        return (
            households * self.target(village, code) + 99
        ) // 100  # rounded up, village by village

    def sums(self, code: str, *, until: date | None = None) -> tuple[int, int, int, int]:
        """(households, done, households the targets need, households still missing)."""
        households = sum(h for _name, h, _own in VILLAGES)
        done = sum(self.done(name, code, until=until) for name, _h, _o in VILLAGES)
        needed = sum(self.needed(name, code) for name, _h, _o in VILLAGES)
        missing = sum(
            max(0, self.needed(name, code) - self.done(name, code, until=until))
            for name, _h, _o in VILLAGES
        )
        return households, done, needed, missing

    def score(self, village: str, *, until: date | None = None) -> float:
        households = dict((name, h) for name, h, _own in VILLAGES)[village]
        parts = [
            min(
                1.0,
                self.done(village, c, until=until) / households / (self.target(village, c) / 100),
            )
            for c in CODES
        ]
        return 100.0 * sum(parts) / len(parts)

    def commune_score(self) -> float:
        total = sum(h for _name, h, _own in VILLAGES)
        return sum(self.score(name) * h for name, h, _own in VILLAGES) / total

    def line(self, code: str, *, until: date | None = None) -> str:
        """The commune's line of `/tien_do` for a household indicator, from the sums."""
        households, done, needed, missing = self.sums(code, until=until)
        head = f"• {NAMES[code]}: {n(done)}/{n(households)} hộ ({pct(100 * done / households)})"
        share = pct(100 * needed / households)
        if missing:
            return f"{head} — mục tiêu {share} = {n(needed)} hộ, còn thiếu {n(missing)} hộ"
        return f"{head} — đã đạt mục tiêu {share} ✅"


@pytest.fixture
async def commune(deps: Deps, clock: Clock) -> Commune:
    clock.now = at("2026-11-09T08:00")  # Monday of week 46
    room = ChatRoom(deps, "tg:-6000")
    assert "Xã Thăng Bình" in await room.say(ADMIN, "/lien_ket tinh=Đà Nẵng xa=Thăng Bình")
    # The villages from a workbook: households, and three with their own 60 % for the app.
    table: list[list[object]] = [["Mã xã", "Thôn", "Số hộ", "app", "cks"]]
    for name, households, own in VILLAGES:
        table.append([20791, name, households, own.get("app"), own.get("cks")])
    async with db.transaction(deps.sessions) as session:
        indicators = await config.all_indicators(session)
        rows = importing.rows_of(table, indicators).rows
        result = await importing.run(
            session, rows, actor_id=ADMIN.id, scope=None, indicators=indicators
        )
        assert result.ok
    rooms = {}
    for k, name in enumerate(TEAMED):
        rooms[name] = ChatRoom(deps, f"tg:-600{k + 1}")
        out = await rooms[name].say(ADMIN, f"/lien_ket xa=20791 thon={name}")
        assert name in out, out
    state = Commune(deps, clock, room, rooms, own={name: own for name, _h, own in VILLAGES})
    await rooms["Thôn Hà Lam"].say(ADMIN, "/to_truong", reply_to=LAN)
    return state


async def _weeks_of_reports(c: Commune) -> None:
    # Week 46
    c.clock.now = at("2026-11-09T10:00")
    await c.report("Thôn Hà Lam", LAN, "ho=30 app=20")
    await c.report("Thôn Bình An", MAI, "ho=50 app=40 tt=10")
    # Week 47
    c.clock.now = at("2026-11-18T10:00")
    await c.report("Thôn Hà Lam", HUNG, "ho=25 app=30 cks=5")
    await c.report("Thôn Phú Mỹ", TU, "ho=60 app=70")
    await c.report("Thôn Bình An", MAI, "app=25")
    # Week 48: Hà Lam passes its own 60 % for the app (85 of 83 needed), which fills no other
    # village's gap.
    c.clock.now = at("2026-11-25T10:00")
    await c.report("Thôn Hà Lam", LAN, "ho=40 app=35")
    await c.report("Thôn Bình An", MAI, "ho=20")


async def test_a_commune_target_over_villages_with_their_own(commune: Commune) -> None:
    c = commune
    _id, replies = await c.room.send(ADMIN, "/chi_tieu app=65")
    c.commune_target["app"] = 65
    said = shown(replies)
    # Which villages keep their own, and the way to give them this one.
    assert "(app): 65% số hộ — đặt tại đây" in said
    assert "giữ chỉ tiêu riêng: Thôn Hà Lam (60%), Thôn Phú Mỹ (60%), Thôn Tây (60%)" in said
    assert "Thôn Hà Lam, Thôn Phú Mỹ, Thôn Tây vẫn giữ chỉ tiêu riêng" in said
    assert "Thôn Bình An vẫn giữ" not in said  # its own is for cks, not the app
    assert "/chi_tieu app=65 tat_ca" in said
    [button] = [b for r in replies for row in r.buttons for b in row]
    assert button.text.endswith("Áp dụng cho tất cả")
    # /chi_tieu names them too.
    assert "giữ chỉ tiêu riêng: Thôn Hà Lam (60%), Thôn Phú Mỹ (60%), Thôn Tây (60%)" in (
        await c.room.say(ADMIN, "/chi_tieu")
    )

    await _weeks_of_reports(c)
    out = await c.room.say(ADMIN, "/tien_do")
    households = sum(h for _name, h, _own in VILLAGES)
    assert f"Tiến độ của Xã Thăng Bình ({n(households)} hộ)" in out
    for code in CODES:
        assert c.line(code) in out, (code, out)
    assert "4 thôn theo chỉ tiêu khác" in out  # 60 % for the app in three, Bình An's cks
    assert f"Điểm: {n(round(c.commune_score(), 1))} —" in out

    # A member who is not an admin cannot apply it to all; the admin can, in one tap.
    message = _id
    refused = await c.room.press(LAN, button.data, message_id=message)
    assert any(r.answer is not None and r.answer.alert for r in refused)
    pressed = await c.room.press(ADMIN, button.data, message_id=message)
    edited = next(r for r in pressed if r.edit == str(message))
    assert "Thôn Hà Lam, Thôn Phú Mỹ, Thôn Tây không còn giữ chỉ tiêu riêng" in edited.rich.plain()
    c.own = {name: {k: v for k, v in own.items() if k != "app"} for name, own in c.own.items()}
    out = await c.room.say(ADMIN, "/tien_do")
    assert c.line("app") in out, out
    # The flag does the same from a keyboardless chat: Bình An's cks=20 gives way to 30 %.
    out = await c.room.say(ADMIN, "/chi_tieu cks=30 tat_ca")
    assert "Thôn Bình An không còn giữ chỉ tiêu riêng" in out
    c.commune_target["cks"] = 30
    c.own = {name: {} for name in c.own}
    out = await c.room.say(ADMIN, "/tien_do")
    for code in CODES:
        assert c.line(code) in out, (code, out)
    assert "thôn theo chỉ tiêu khác" not in out
    # Each change audited, at the unit it changed.
    async with c.deps.sessions() as s:
        rows = (
            await s.exec(
                select(AuditEntry, Unit)
                .join(Unit, col(Unit.id) == col(AuditEntry.unit_id))
                .where(AuditEntry.action == "target", AuditEntry.after.in_(["app=-", "cks=-"]))  # type: ignore[union-attr]
            )
        ).all()
    assert sorted((u.name, a.before, a.after) for a, u in rows) == [
        ("Thôn Bình An", "cks=20", "cks=-"),
        ("Thôn Hà Lam", "app=60", "app=-"),
        ("Thôn Phú Mỹ", "app=60", "app=-"),
        ("Thôn Tây", "app=60", "app=-"),
    ]


async def test_board_dashboard_and_workbook_add_up_and_leave_teamless_villages_unranked(
    commune: Commune,
) -> None:
    c = commune
    await c.room.say(ADMIN, "/chi_tieu app=65")
    c.commune_target["app"] = 65
    await _weeks_of_reports(c)
    today = date(2026, 11, 25)

    # The board: the three teams ranked by the scores made here; the five others apart.
    board = await c.room.say(ADMIN, "/xep_hang")
    scores = sorted((-round(c.score(v), 6), v) for v in TEAMED)
    lines = [line for line in board.splitlines() if re.match(r"\d+\. ", line)]
    assert lines == [
        f"{rank}. {name} — {n(round(-s, 1))} điểm ({grade(-s)})"
        for rank, (s, name) in enumerate(scores, start=1)
    ]
    teamless = [name for name, _h, _o in VILLAGES if name not in TEAMED]
    for name in teamless:
        assert f"– {name} — chưa có tổ" in board
        assert f"{name} — 0" not in board
    assert board.index("chưa có tổ") > board.index(lines[-1])
    # The Monday board posted to every chat says the same, with its chart.
    assert await jobs.run(c.deps, "leaderboards", at("2026-11-30T08:00")) == 4
    recorder = Recorder()
    await OutboxSender(c.deps, [recorder]).drain()
    [posted] = [r for chat, r in recorder.posts if chat == c.room.chat_id]
    assert posted.attachment is not None
    text = posted.rich.plain()
    assert [line for line in text.splitlines() if re.match(r"\d+\. ", line)] == lines
    assert text.count("— chưa có tổ") == len(teamless)

    # The dashboard: the same sums, the teams' rate out of all eight villages.
    async with c.deps.sessions() as s:
        unit = (await s.exec(select(Unit).where(Unit.code == "20791"))).one()
        granted = Pass(unit.id or 0, "admin", c.clock.now + timedelta(days=1), "vi")
        with i18n.use("vi"):
            d = await dashboards.build(s, unit=unit, granted=granted, today=today)
    reported_w48 = {name for name, day, _v in c.sent if week_of(day) == week_of(today)}
    assert (d.teams.reported, d.teams.expected) == (len(reported_w48), 8)
    reported_w47 = {name for name, day, _v in c.sent if week_of(day) == "2026-W47"}
    assert (d.last_teams.reported, d.last_teams.expected) == (len(reported_w47), 8)
    for item in d.progress.items:
        if item.indicator.code in CODES:
            households, done, needed, missing = c.sums(item.indicator.code)
            assert (d.progress.households, item.done, item.needed, item.missing) == (
                households, done, needed, missing,
            ), item.indicator.code  # fmt: skip
            assert item.target == pytest.approx(100 * needed / households)
    assert [r.unit.name for r in d.board.rows] == [name for _s, name in scores]
    assert sorted(u.name for u in d.board.unteamed) == sorted(teamless)
    html = await dashboard_html(c.deps, unit=unit, granted=granted, today=today, secret=None,
                                offline=True)  # fmt: skip
    assert f"<b>{len(reported_w48)}/8</b>" in html
    assert html.count("chưa có tổ") == len(teamless)

    # The workbook: the commune's row is the sum of the village rows, and of the reports.
    async with c.deps.sessions() as s:
        with i18n.use("vi"):
            content = await workbook(
                s, unit=unit, period=quarter_of(date(2026, 10, 1)), tz=VN, today=today
            )
    book = load_workbook(io.BytesIO(content))
    communes, villages = book["Xã"], book["Thôn"]
    header = [cell.value for cell in communes[6]]
    commune_row = next(r for r in communes.iter_rows(min_row=7, values_only=True)
                       if r[0] == "20791")  # fmt: skip
    village_rows = list(villages.iter_rows(min_row=7, values_only=True))
    assert len(village_rows) == 8

    def total(column: int) -> int:
        return sum(int(str(r[column])) for r in village_rows)

    assert commune_row[2] == total(2) == c.sums("app")[0]
    for code in CODES:
        households, done, needed, missing = c.sums(code)
        # Every report is of this quarter: the cumulative column is what was done.
        done_at = next(
            n for n, h in enumerate(header) if str(h).startswith(f"{NAMES[code]}: lũy kế")
        )
        gap_at = header.index(f"{NAMES[code]}: còn thiếu")
        target_at = header.index(f"{NAMES[code]}: chỉ tiêu")
        assert commune_row[done_at] == total(done_at) == done, code
        assert commune_row[gap_at] == total(gap_at) == missing, code
        assert commune_row[target_at] == pytest.approx(needed / households), code
        by_name = {r[1]: r for r in village_rows}
        for name, _h, _own in VILLAGES:
            assert by_name[name][target_at] == pytest.approx(c.target(name, code) / 100)
            assert by_name[name][gap_at] == max(0, c.needed(name, code) - c.done(name, code))


async def test_a_monday_summary_covers_the_week_that_ended(commune: Commune) -> None:
    c = commune
    await _weeks_of_reports(c)
    await ChatRoom(c.deps, LAN.id, kind="private").say(LAN, "/start")
    # Monday 30 November: the scheduled summary at 07:30, then a report of the new week, then
    # the leader asks for it again.
    # Lan's, and the teams without a leader theirs in their groups.
    assert await jobs.run(c.deps, "summaries", at("2026-11-30T07:30")) >= 1
    recorder = Recorder()
    await OutboxSender(c.deps, [recorder]).drain()
    [scheduled] = recorder.to(LAN.id)
    c.clock.now = at("2026-11-30T09:00")
    await c.report("Thôn Hà Lam", LAN, "ho=4 app=1")
    on_demand = await c.rooms["Thôn Hà Lam"].say(LAN, "/tong_hop")
    ended = date(2026, 11, 29)
    for text in (scheduled, on_demand):
        assert "Tổng hợp tuần — Thôn Hà Lam, tuần 23/11–29/11/2026" in text, text
        assert "Kết quả tuần, và thay đổi so với tuần trước (16/11–22/11)" in text
        assert "Tuần này" not in text
        own = ("Thôn Hà Lam",)
        for code in CODES:
            now, before = c.in_week(code, "2026-W48", own), c.in_week(code, "2026-W47", own)
            if now or before:
                delta = now - before
                moved = f"+{n(delta)}" if delta > 0 else f"−{n(-delta)}" if delta < 0 else "±0"
                assert f"• {NAMES[code]}: {n(now)} ({moved})" in text, (code, text)
        # Progress as it stood at the end of that week: Monday's report is not in it.
        assert "Tiến độ của Thôn Hà Lam (137 hộ) đến hết tuần 23/11–29/11/2026" in text
        done = c.done("Thôn Hà Lam", "ho", until=ended)
        assert f"{NAMES['ho']}: {n(done)}/137 hộ" in text
    # The same on demand as on schedule, whatever came in since.
    assert scheduled == on_demand

    # The commune's: its villages' weeks added, whole week against whole week.
    out = await c.room.say(ADMIN, "/tong_hop")
    assert "Tổng hợp tuần — Xã Thăng Bình, tuần 23/11–29/11/2026" in out
    teams = {name for name, day, _v in c.sent if week_of(day) == "2026-W48"}
    assert f"Tổ đã báo cáo: {len(teams)}/8" in out
    for code in CODES:
        now, before = c.in_week(code, "2026-W48"), c.in_week(code, "2026-W47")
        if now or before:
            delta = now - before
            moved = f"+{n(delta)}" if delta > 0 else f"−{n(-delta)}" if delta < 0 else "±0"
            assert f"• {NAMES[code]}: {n(now)} ({moved})" in out, (code, out)
        assert c.line(code, until=ended).replace("• ", "") in out, (code, out)
