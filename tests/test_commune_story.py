"""A commune over two months and a quarter's end, every figure it reads checked against the
reports (issue 26, "Must show").

Xã Thăng Bình (20791): six villages from a workbook sent with /nhap (households, two villages
with their own targets, a leader written "Trần Thị Mai" who is "Mai Trần Thị" on the platform,
a members sheet for two villages), three village groups and the commune's group, eleven members,
two villages without a team. From 16 November 2026 to 13 January 2027 members report as they
type (`ho=5 app=2`, "hd 8 hộ, cài app 3", "hôm qua"), one report is withdrawn with /huy and one
corrected by a reply. On a Wednesday, on the Monday the month ends, on the Monday after the
quarter's end and in January, `/tien_do`, `/tong_hop`, `/xep_hang`, the Monday board, the
quarter's evaluation, the dashboard and the workbooks of two weeks, November, December and the
fourth quarter (sent by /xuat, opened as forwarded) are compared with sums made here from the
test's own ledger of what was sent: never from what the bot computed."""

from __future__ import annotations

import io
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

import pytest
from babel.numbers import format_decimal
from openpyxl import Workbook, load_workbook
from openpyxl.worksheet.worksheet import Worksheet
from sqlmodel import select

from bot.pages import dashboard_html
from handlers import dashboard as dashboards
from handlers import i18n
from handlers.incoming import Deps, Reply
from handlers.person_names import display_name
from handlers.weblinks import Pass
from scheduler import jobs
from scheduler.outbox import OutboxSender
from storage.models import Unit
from tests.conftest import SUPERADMIN
from tests.harness import ChatRoom, Clock, Person, shown
from tests.test_export_periods import _level_rows, _table
from tests.test_jobs import Recorder
from tests.test_parent_sums import grade, n, pct

VN = ZoneInfo("Asia/Ho_Chi_Minh")
COMMUNE = "Xã Thăng Bình"
ADMIN = Person(SUPERADMIN, "Trần Văn Quản")


@dataclass(frozen=True, repr=False)
class Village:
    name: str
    households: int
    own: dict[str, int]  # targets the workbook sets for this village (percent)
    chat: str | None = None  # its team's group, when it has one
    listed: tuple[str, ...] = ()  # its members sheet
    leader: str | None = None  # the workbook's "Tổ trưởng"

    def __repr__(self) -> str:
        return self.name


HA_LAM = Village("Thôn Hà Lam", 137, {"app": 60, "cks": 5}, "tg:-7101",
                 ("Nguyễn Thị Lan", "Lê Văn Hùng", "Trần Thị Mai"), "Trần Thị Mai")  # fmt: skip
BINH_AN = Village("Thôn Bình An", 251, {}, "tg:-7102")
PHU_MY = Village("Thôn Phú Mỹ", 199, {"app": 60}, "tg:-7103")
DONG = Village("Thôn Đông", 313, {}, None, ("Phan Văn Bảy", "Hồ Thị Cúc", "Ngô Văn Đức"))
TAY = Village("Thôn Tây", 88, {})  # no team
NAM = Village("Thôn Nam", 175, {})  # no team
VILLAGES = (HA_LAM, BINH_AN, PHU_MY, DONG, TAY, NAM)
TRAINED = {"Lê Văn Hùng", "Hồ Thị Cúc"}  # "Đã tập huấn" on the members sheet


@dataclass(frozen=True, repr=False)
class Member:
    person: Person  # as the platform names them
    village: Village
    shown: str  # as the bot must show them: family name first

    @property
    def id(self) -> str:
        return self.person.id

    def __repr__(self) -> str:
        return self.shown


def member(uid: int, name: str, village: Village, shown: str | None = None) -> Member:
    return Member(Person(f"tg:{uid}", name), village, shown or name)


LAN = member(701, "Nguyễn Thị Lan", HA_LAM)
HUNG = member(702, "Lê Văn Hùng", HA_LAM)
# Telegram's first name "Mai", last name "Trần Thị": named as the transport names her.
MAI = member(703, display_name("Mai", "Trần Thị"), HA_LAM, "Trần Thị Mai")
TUAN = member(704, "Đỗ Văn Tuấn", HA_LAM)  # on no list: on the roster once he reports
HOA = member(711, "Đặng Thị Hoa", BINH_AN)
SON = member(712, "Bùi Văn Sơn", BINH_AN)
TU = member(721, "Võ Văn Tư", PHU_MY)
NAM_ = member(722, "Huỳnh Thị Năm", PHU_MY)

# The indicators of the national plan: households with a target (weight 1 each), counts without.
TARGETED = {"ho": 80, "app": 50, "tt": 50, "cks": 30}
NAMES = {
    "ho": "Hộ được hướng dẫn",
    "app": "Hộ cài ứng dụng công dân",
    "tt": "Hộ có tài khoản thanh toán điện tử",
    "cks": "Hộ có chữ ký số",
    "dvc": "Hồ sơ dịch vụ công trực tuyến",
    "tmdt": "Hộ lên sàn thương mại điện tử",
}
COMMUNE_TARGETS = {"app": 65}  # set by the commune; Hà Lam and Phú Mỹ keep their own 60 %


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=VN)


def day(text: str) -> date:
    return date.fromisoformat(text)


def monday_of(d: date) -> date:
    return d - timedelta(days=d.weekday())


def score_text(value: float) -> str:
    return format_decimal(value, format="0.0", locale="vi")


def span(first: date, last: date) -> str:
    return f"{first:%d/%m}–{last:%d/%m/%Y}" if first.year == last.year else (
        f"{first:%d/%m/%Y}–{last:%d/%m/%Y}")  # fmt: skip


# --- the ledger: what the test sent, summed by the test --------------------------------------


@dataclass
class Entry:
    village: Village
    who: Member
    day: date  # the day it is dated, not always the day it was sent
    values: dict[str, int]


@dataclass(repr=False)
class Ledger:
    entries: list[Entry] = field(default_factory=list)
    # village name -> the names its roster holds: listed by the workbook, or who spoke there
    roster: dict[str, set[str]] = field(default_factory=dict)

    def sum(
        self,
        code: str,
        village: Village | None = None,
        first: date = date.min,
        last: date = date.max,
    ) -> int:
        return sum(
            e.values.get(code, 0)
            for e in self.entries
            if first <= e.day <= last and village in (None, e.village)
        )

    def target(self, village: Village, code: str) -> int:
        return village.own.get(code) or COMMUNE_TARGETS.get(code) or TARGETED[code]

    def needed(self, village: Village, code: str) -> int:
        return math.ceil(village.households * self.target(village, code) / 100)

    def gap(self, village: Village, code: str, until: date) -> int:
        return max(0, self.needed(village, code) - self.sum(code, village, last=until))

    def score(self, village: Village, until: date) -> float:
        """README: 100 × Σ wᵢ·min(1, cᵢ/tᵢ) / Σ wᵢ, every weight 1."""
        parts = [
            min(1.0, self.sum(c, village, last=until) / village.households
                / (self.target(village, c) / 100))
            for c in TARGETED
        ]  # fmt: skip
        return 100.0 * sum(parts) / len(parts)

    def commune_score(self, until: date) -> float:
        """Its villages' scores weighted by households (teams or not)."""
        return sum(self.score(v, until) * v.households for v in VILLAGES) / sum(
            v.households for v in VILLAGES
        )

    def teamed(self) -> list[Village]:
        return [v for v in VILLAGES if self.roster.get(v.name)]

    def ranks(self, until: date) -> list[tuple[int, Village, float]]:
        """The villages with a team, best first; equal scores share a rank."""
        scored = [(self.score(v, until), v) for v in self.teamed()]
        out = []
        for value, v in sorted(scored, key=lambda s: (-round(s[0], 6), s[1].name)):
            better = sum(1 for other, _v in scored if round(other, 6) > round(value, 6))
            out.append((better + 1, v, value))
        return out

    def reporters(self, first: date, last: date, village: Village | None = None) -> set[str]:
        return {
            e.who.id
            for e in self.entries
            if first <= e.day <= last and village in (None, e.village)
        }

    def members(self, village: Village | None = None) -> int:
        return sum(len(self.roster.get(v.name, ())) for v in VILLAGES if village in (None, v))

    def live(self, first: date, last: date) -> list[Entry]:
        return [e for e in self.entries if first <= e.day <= last]


# --- the commune, as the test drives it -----------------------------------------------------


@dataclass(repr=False)
class Commune:
    deps: Deps
    clock: Clock
    room: ChatRoom  # the commune's group
    rooms: dict[str, ChatRoom]  # the village groups
    ledger: Ledger = field(default_factory=Ledger)

    @property
    def today(self) -> date:
        return self.clock.now.astimezone(VN).date()

    async def say(self, who: Member, text: str) -> tuple[int, list[Reply]]:
        self.ledger.roster.setdefault(who.village.name, set()).add(who.shown)
        return await self.rooms[who.village.name].send(who.person, text)

    async def report(
        self, when: str, who: Member, text: str, values: dict[str, int], dated: str | None = None
    ) -> tuple[Entry, list[Reply]]:
        """`who` sends `text` at `when`; `values` and `dated` are what the test means it to
        say, written into the ledger (never read back from the bot)."""
        self.clock.now = at(when)
        _id, replies = await self.say(who, text)
        said = shown(replies)
        assert "Đã ghi" in said, (text, said)
        entry = Entry(who.village, who, day(dated) if dated else self.today, values)
        assert f"ngày {entry.day:%d/%m}" in said, (text, said)  # the day it counts for
        self.ledger.entries.append(entry)
        return entry, replies

    async def unit(self, village: Village | None) -> Unit:
        found = Unit.code == "20791" if village is None else Unit.name == village.name
        async with self.deps.sessions() as s:
            return (await s.exec(select(Unit).where(found))).one()


def _import_workbook() -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Thôn"
    sheet.append(["Mã xã", "Thôn", "Số hộ", "Tổ trưởng", "app", "cks"])
    for v in VILLAGES:
        sheet.append([20791, v.name, v.households, v.leader, v.own.get("app"), v.own.get("cks")])
    members = book.create_sheet("Thành viên")
    members.append(["Thôn", "Họ và tên", "Điện thoại", "Đoàn thể", "Đã tập huấn"])
    for v in VILLAGES:
        for name in v.listed:
            members.append(
                [v.name, name, None, "Đoàn thanh niên", "có" if name in TRAINED else None]
            )
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


async def _set_up(deps: Deps, clock: Clock) -> Commune:
    clock.now = at("2026-11-16T08:00")  # a Monday
    private = ChatRoom(deps, ADMIN.id, kind="private")
    _id, replies = await private.send_document(ADMIN, "xa.xlsx", _import_workbook(),
                                               caption="/nhap")  # fmt: skip
    dry = shown(replies)
    assert "sẽ tạo 6 thôn, sẽ cập nhật 0, 0 không đổi; sẽ thêm 6 thành viên" in dry, dry
    [apply] = [b.data for r in replies for row in r.buttons for b in row]
    done = shown(await private.press(ADMIN, apply, message_id=_id))
    assert "Đã áp dụng: 6 thôn tạo mới, 0 cập nhật, 0 không đổi; 6 thành viên thêm mới" in done
    # Led at once: the leader the file names is on its members' sheet (her row is hers when
    # she takes part, whatever order the platform gives her names).
    assert "Thôn Hà Lam: tổ trưởng Trần Thị Mai, từ danh sách thành viên" in done, done
    assert "Thôn Hà Lam (" not in done  # not among the villages waiting for a leader
    room = ChatRoom(deps, "tg:-7100", title="Xã Thăng Bình")
    assert COMMUNE in await room.say(ADMIN, "/lien_ket tinh=Đà Nẵng xa=Thăng Bình")
    rooms = {}
    for v in VILLAGES:
        if v.chat is not None:
            rooms[v.name] = ChatRoom(deps, v.chat, title=f"Tổ CNS {v.name}")
            assert v.name in await rooms[v.name].say(ADMIN, f"/lien_ket xa=20791 thon={v.name}")
    said = await room.say(ADMIN, "/chi_tieu app=65")
    assert "Thôn Hà Lam (60%), Thôn Phú Mỹ (60%)" in said, said
    c = Commune(deps, clock, room, rooms)
    c.ledger.roster = {v.name: set(v.listed) for v in VILLAGES if v.listed}
    return c


# --- what each view must say, from the ledger -----------------------------------------------


def progress_lines(
    ledger: Ledger, villages: Iterable[Village], until: date, week: tuple[date, date], *,
    at_end: bool
) -> list[str]:  # fmt: skip
    """`/tien_do`'s lines for one village or the commune (its villages added), as they stand
    at `until`; a count's "this week" is `week`'s."""
    villages = list(villages)
    households = sum(v.households for v in villages)
    lines = []
    for code in NAMES:
        done = sum(ledger.sum(code, v, last=until) for v in villages)
        if code not in TARGETED:
            weekly = sum(ledger.sum(code, v, *week) for v in villages)
            tail = f"(trong tuần {n(weekly)})" if at_end else f"(tuần này {n(weekly)})"
            lines.append(f"• {NAMES[code]}: {n(done)} {tail}")
            continue
        needed = sum(ledger.needed(v, code) for v in villages)
        gap = sum(ledger.gap(v, code, until) for v in villages)
        share = (
            pct(ledger.target(villages[0], code))
            if len(villages) == 1
            else pct(100 * needed / households)
        )
        head = f"• {NAMES[code]}: {n(done)}/{n(households)} hộ ({pct(100 * done / households)})"
        if gap:
            lines.append(f"{head} — mục tiêu {share} = {n(needed)} hộ, còn thiếu {n(gap)} hộ")
        else:
            lines.append(f"{head} — đã đạt mục tiêu {share} ✅")
    return lines


def check_progress(out: str, ledger: Ledger, village: Village | None, today: date) -> None:
    villages = VILLAGES if village is None else (village,)
    week = (monday_of(today), monday_of(today) + timedelta(days=6))
    for line in progress_lines(ledger, villages, today, week, at_end=False):
        assert line in out, (line, out)
    score = ledger.score(village, today) if village else ledger.commune_score(today)
    assert f"Điểm: {score_text(score)} — {grade(score)}" in out, (score, out)
    members = ledger.members(village)
    trained = sum(len(ledger.roster.get(v.name, set()) & TRAINED) for v in villages)
    if village is not None:
        assert f"👥 Tổ: {members} thành viên, {trained} người đã tập huấn" in out, out
    else:
        teams = len(ledger.teamed())
        assert (
            f"👥 Thôn có Tổ CNS: {teams}/{len(VILLAGES)} ({pct(100 * teams / len(VILLAGES))})"
            in out
        )
        assert (
            f"🎓 Thành viên đã tập huấn: {trained}/{members} ({pct(100 * trained / members)})"
            in out
        )


def board_lines(ledger: Ledger, until: date) -> list[str]:
    return [
        f"{rank}. {v.name} — {score_text(value)} điểm ({grade(value)})"
        for rank, v, value in ledger.ranks(until)
    ]


def check_board(out: str, ledger: Ledger, until: date) -> None:
    lines = [
        line.removeprefix("👉 ") for line in out.splitlines() if re.match(r"(👉 )?\d+\. ", line)
    ]
    assert lines == board_lines(ledger, until), out
    apart = [v.name for v in VILLAGES if v not in ledger.teamed()]
    assert apart, "the story has villages without a team"
    for name in apart:
        assert re.search(rf"(– |👉 ){name} — chưa có tổ", out), (name, out)
        assert f"{name} — 0" not in out


def check_summary(out: str, ledger: Ledger, village: Village | None, monday: date) -> None:
    """`/tong_hop` on or after `monday`: the week that ended the day before it, against the
    week before that, and progress as it stood at that week's end."""
    first, last = monday - timedelta(days=7), monday - timedelta(days=1)
    before = (first - timedelta(days=7), first - timedelta(days=1))
    name = village.name if village else COMMUNE
    assert f"Tổng hợp tuần — {name}, tuần {span(first, last)}" in out, out
    assert f"thay đổi so với tuần trước ({before[0]:%d/%m}–{before[1]:%d/%m})" in out, out
    week_part = out.split("\n\n", 1)[0]  # before the progress at the week's end
    for code in NAMES:
        now, then = ledger.sum(code, village, first, last), ledger.sum(code, village, *before)
        if now or then:
            delta = now - then
            moved = f"+{n(delta)}" if delta > 0 else f"−{n(-delta)}" if delta < 0 else "±0"
            assert f"• {NAMES[code]}: {n(now)} ({moved})" in week_part, (code, out)
        else:
            assert f"• {NAMES[code]}:" not in week_part, (code, out)
    villages = VILLAGES if village is None else (village,)
    for line in progress_lines(ledger, villages, last, (first, last), at_end=True):
        assert line in out, (line, out)
    reported = ledger.reporters(first, last, village)
    assert f"Đã báo cáo: {len(reported)}/{ledger.members(village)} thành viên" in out, out
    if village is None:
        teams = {e.village.name for e in ledger.live(first, last)}
        assert f"Tổ đã báo cáo: {len(teams)}/{len(VILLAGES)}" in out, out
    else:
        names = {e.who.shown for e in ledger.live(first, last) if e.village == village}
        missing = sorted(ledger.roster[village.name] - names)
        if missing:
            said = out.split("Chưa báo cáo: ", 1)[1].splitlines()[0]
            assert sorted(said.split(", ")) == missing, out
        rank = next(r for r, v, _s in ledger.ranks(last) if v == village)
        assert f"Hạng {rank}/{len(ledger.teamed())} trong {COMMUNE}" in out, out


def check_evaluation(text: str, ledger: Ledger, last: date) -> None:
    """The quarter's evaluation as a chat reads it: each village with a team ranked by its
    score at the quarter's end, each target's share reached; the others named apart."""
    lines = [line.removeprefix("👉 ") for line in text.splitlines()]
    assert lines[0] == f"🏅 Đánh giá quý 4/2026 — {COMMUNE} (01/10–31/12/2026)", text
    expected = []
    for rank, v, value in ledger.ranks(last):
        expected.append(f"{rank}. {v.name} — {score_text(value)} điểm ({grade(value)})")
        shares = [
            f"{code} {pct(100 * ledger.sum(code, v, last=last) / ledger.needed(v, code))}"
            for code in TARGETED
        ]
        expected.append("    " + " · ".join(shares))
    assert [line for line in lines if re.match(r"\d+\. |    ", line)] == expected, text
    apart = sorted(v.name for v in VILLAGES if v not in ledger.teamed())
    named = text.split(f"🏠 Chưa có tổ ({len(apart)}): ", 1)[1].splitlines()[0]
    assert sorted(named.split(", ")) == apart, text


async def check_dashboard(c: Commune, village: Village | None) -> None:
    """The dashboard's data (what the page lays out) and its page, for the commune's admin or
    a village's leader, today."""
    ledger, today = c.ledger, c.today
    unit = await c.unit(village)
    role: Literal["admin", "leader"] = "admin" if village is None else "leader"
    granted = Pass(unit.id or 0, role, c.clock.now + timedelta(hours=6), "vi")
    async with c.deps.sessions() as s:
        with i18n.use("vi"):
            d = await dashboards.build(s, unit=unit, granted=granted, today=today)
    villages = VILLAGES if village is None else (village,)
    households = sum(v.households for v in villages)
    this = (monday_of(today), today)
    last = (this[0] - timedelta(days=7), this[0] - timedelta(days=1))
    # Reporting rates: teams out of every village, members out of the rosters.
    if village is None:
        for rate, (first, end) in ((d.teams, this), (d.last_teams, last)):
            teams = {e.village.name for e in ledger.live(first, end)}
            assert (rate.reported, rate.expected) == (len(teams), len(VILLAGES)), (first, rate)
    for rate, (first, end) in ((d.members, this), (d.last_members, last)):
        reported = ledger.reporters(first, end, village)
        assert (rate.reported, rate.expected) == (len(reported), ledger.members(village))
    # Progress: the same figures as /tien_do.
    assert d.progress.households == households
    for item in d.progress.items:
        code = item.indicator.code
        done = sum(ledger.sum(code, v) for v in villages)
        assert item.done == done, code
        assert item.this_week == sum(ledger.sum(code, v, *this) for v in villages), code
        if code in TARGETED:
            needed = sum(ledger.needed(v, code) for v in villages)
            gap = sum(ledger.gap(v, code, today) for v in villages)
            assert (item.needed, item.missing) == (needed, gap), code
            assert item.target == (
                ledger.target(villages[0], code) if village else 100 * needed / households
            ), code
    score = ledger.score(village, today) if village else ledger.commune_score(today)
    assert round(d.progress.score, 6) == round(score, 6)
    # The board, and the villages without a team apart.
    assert [(r.rank, r.unit.name) for r in d.board.rows] == [
        (rank, v.name) for rank, v, _s in ledger.ranks(today)
    ]
    assert sorted(u.name for u in d.board.unteamed) == sorted(
        v.name for v in VILLAGES if v not in ledger.teamed()
    )
    # The weeks since the first report: what each added, and the share at each week's end.
    mondays = [
        monday_of(today) - timedelta(weeks=k) for k in range(len(d.trend.labels) - 1, -1, -1)
    ]
    assert d.trend.labels == [f"{m:%d/%m}" for m in mondays]
    first_report = min(e.day for e in ledger.entries if village in (None, e.village))
    assert mondays[0] == monday_of(first_report), (mondays[0], first_report)
    for (name, values), code in zip(d.trend.added, NAMES, strict=True):
        assert name == NAMES[code]
        expected = [
            sum(ledger.sum(code, v, m, m + timedelta(days=6)) for v in villages) for m in mondays
        ]
        assert values == expected, (code, values, expected)
    for series in d.trend.series:
        ends = [
            100 * sum(ledger.sum(series.code, v, last=m + timedelta(days=6)) for v in villages)
            / households
            for m in mondays
        ]  # fmt: skip
        assert [round(x, 6) for x in series.values] == [round(x, 6) for x in ends], series.code
    # The quarter so far, by the reports' dates.
    quarter = date(today.year, 3 * ((today.month - 1) // 3) + 1, 1)
    assert dict(d.quarter.added) == {
        NAMES[code]: sum(ledger.sum(code, v, quarter, today) for v in villages) for code in NAMES
    }
    # The page shows what the data holds.
    html = await dashboard_html(c.deps, unit=unit, granted=granted, today=today, secret=None,
                                offline=True)  # fmt: skip
    members = ledger.reporters(*this, village)
    assert f"<b>{len(members)}/{ledger.members(village)}</b>" in html
    if village is None:
        teams = {e.village.name for e in ledger.live(*this)}
        assert f"<b>{len(teams)}/{len(VILLAGES)}</b>" in html
        assert html.count("chưa có tổ") == len(VILLAGES) - len(ledger.teamed())
    assert f"<b>{score_text(score)}</b>" in html
    if village is not None:
        names = {e.who.shown for e in ledger.live(*this) if e.village == village}
        missing = sorted(ledger.roster[village.name] - names)
        assert sorted(d.missing or []) == missing


async def check_workbook(
    c: Commune, asked: str, named: str | None, first: date, last: date,
    village: Village | None = None,
) -> None:  # fmt: skip
    """`/xuat <asked>` in the commune's group (by its admin) or a village's (by its leader):
    the period `first`–`last` (`named` so, a week by its dates), and nothing else, in every
    sheet."""
    room, who, by = (c.room, ADMIN, ADMIN.name) if village is None else (
        c.rooms[village.name], MAI.person, MAI.shown)  # fmt: skip
    _id, replies = await room.send(who, f"/xuat {asked}")
    [reply] = [r for r in replies if r.attachment is not None]
    assert reply.attachment is not None
    book = load_workbook(io.BytesIO(reply.attachment.content))
    sheets: dict[str, Worksheet] = {ws.title: ws for ws in book.worksheets}
    period = f"tuần {span(first, last)}" if named is None else f"{named} ({span(first, last)})"
    until = min(last, c.today)
    if until < last:
        period += f", số liệu đến hết ngày {until:%d/%m/%Y}"
    for ws in sheets.values():
        assert (ws["A2"].value, ws["A4"].value) == (f"Kỳ báo cáo: {period}",
                                                    f"Người lập biểu: {by}")  # fmt: skip
    villages = VILLAGES if village is None else (village,)
    context = (asked, first, until)
    _check_level_sheets(sheets, c.ledger, villages, first, until, context)
    _check_weekly_sheet(sheets["Theo tuần"], c.ledger, villages, first, until, context)
    _check_reports_sheet(sheets["Báo cáo"], c.ledger, villages, first, until, context)


def _check_level_sheets(
    sheets: dict[str, Worksheet], ledger: Ledger, villages: tuple[Village, ...], first: date,
    until: date, context: object,
) -> None:  # fmt: skip
    """Each village's figures done in the period and cumulative at its end, its target and
    gap, score, grade and rank; a commune's row the sum of its villages' rows."""
    end = f"{until:%d/%m/%Y}"
    rows = _level_rows(sheets["Thôn"])
    assert set(rows) == {v.name for v in villages}, context
    ranks = {v.name: r for r, v, _s in ledger.ranks(until)}
    for v in villages:
        row = rows[v.name]
        assert row["Số hộ"] == v.households
        for code, name in NAMES.items():
            so_far = ledger.sum(code, v, last=until)
            assert row[f"{name}: làm trong kỳ"] == ledger.sum(code, v, first, until), (
                context, v, code)  # fmt: skip
            assert row[f"{name}: lũy kế đến hết {end}"] == so_far, (context, v, code)
            if code in TARGETED:
                assert row[f"{name}: tỷ lệ hộ (lũy kế)"] == pytest.approx(so_far / v.households)
                assert row[f"{name}: chỉ tiêu"] == ledger.target(v, code) / 100, (context, code)
                assert row[f"{name}: còn thiếu"] == ledger.gap(v, code, until), (context, code)
        if v in ledger.teamed():
            score = ledger.score(v, until)
            assert (row["Điểm"], row["Xếp loại"]) == (round(score, 1), grade(score)), context
        else:  # as on the board: neither scored nor ranked
            assert (row["Điểm"], row["Xếp loại"]) == (None, "chưa có tổ"), (context, v)
        if len(villages) > 1:
            assert row["Hạng"] == ranks.get(v.name), (context, v, row["Hạng"])
    if len(villages) == 1:
        return
    commune = _level_rows(sheets["Xã"])[COMMUNE]
    households = sum(v.households for v in VILLAGES)
    assert commune["Số hộ"] == households
    for column in commune:
        if column.endswith(("làm trong kỳ", f"lũy kế đến hết {end}", "còn thiếu")):
            added = sum(int(str(r[column])) for r in rows.values())
            assert commune[column] == added, (context, column)
    for code, name in NAMES.items():
        so_far = ledger.sum(code, last=until)
        assert commune[f"{name}: làm trong kỳ"] == ledger.sum(code, None, first, until)
        assert commune[f"{name}: lũy kế đến hết {end}"] == so_far, (context, code)
        if code in TARGETED:
            needed = sum(ledger.needed(v, code) for v in VILLAGES)
            gap = sum(ledger.gap(v, code, until) for v in VILLAGES)
            assert commune[f"{name}: tỷ lệ hộ (lũy kế)"] == pytest.approx(so_far / households)
            assert commune[f"{name}: chỉ tiêu"] == pytest.approx(needed / households), code
            assert commune[f"{name}: còn thiếu"] == gap, (context, code)
    assert commune["Điểm"] == round(ledger.commune_score(until), 1), context


def _check_weekly_sheet(
    ws: Worksheet, ledger: Ledger, villages: tuple[Village, ...], first: date, until: date,
    context: object,
) -> None:  # fmt: skip
    """The weeks, cut at the period's ends, add up to it; each holds its own days' reports."""
    header, rows = _table(ws)
    assert header[-1] == "Cả kỳ"
    spans = header[3:-1]
    mondays = [monday_of(first) + timedelta(weeks=k) for k in range(len(spans))]
    assert mondays[-1] <= until < mondays[-1] + timedelta(days=7), context
    units: list[tuple[str, tuple[Village, ...]]] = [(v.name, (v,)) for v in villages]
    if len(villages) > 1:
        units.append((COMMUNE, villages))
    for unit_name, parts in units:
        for code, name in NAMES.items():
            values = next(
                (r[3:] for r in rows if r[1] == unit_name and r[2] == name),
                (0,) * (len(spans) + 1),
            )
            in_period = sum(ledger.sum(code, v, first, until) for v in parts)
            assert values[-1] == in_period == sum(int(str(x)) for x in values[:-1]), (
                context, unit_name, code)  # fmt: skip
            for k, monday in enumerate(mondays):
                cut = (max(monday, first), min(monday + timedelta(days=6), until))
                expected = sum(ledger.sum(code, v, *cut) for v in parts)
                assert values[k] == expected, (context, unit_name, code, spans[k])


def _check_reports_sheet(
    ws: Worksheet, ledger: Ledger, villages: tuple[Village, ...], first: date, until: date,
    context: object,
) -> None:  # fmt: skip
    """The period's live reports, by whom, adding up to the villages' figures."""
    header, rows = _table(ws)
    live = [e for e in ledger.live(first, until) if e.village in villages]
    assert sorted((str(r[2]), str(r[3])) for r in rows) == sorted(
        (e.village.name, e.who.shown) for e in live
    ), context
    for code, name in NAMES.items():
        at_column = header.index(name)
        for v in villages:
            listed = sum(int(str(r[at_column] or 0)) for r in rows if r[2] == v.name)
            assert listed == ledger.sum(code, v, first, until), (context, code, v)


# --- the story ------------------------------------------------------------------------------


# What members send: (sent at, who, what they type, what it means, the day it is dated when
# that is not the day it is sent).
Sent = tuple[str, Member, str, dict[str, int], str | None]

NOVEMBER: list[Sent] = [
    ("2026-11-16T10:00", LAN, "/bao_cao ho=12 app=5", {"ho": 12, "app": 5}, None),
    ("2026-11-17T09:30", HOA, "/bao_cao hd 8 hộ, cài app 3", {"ho": 8, "app": 3}, None),
    ("2026-11-18T15:00", TU, "/bao_cao ho=20 app=9 tt=2", {"ho": 20, "app": 9, "tt": 2}, None),
    # Mai's first report: the listed row (the leader's) is hers, her names the other way.
    ("2026-11-19T08:00", MAI, "/bao_cao ho=6 cks=4", {"ho": 6, "cks": 4}, None),
    ("2026-11-20T17:00", SON, "/bao_cao ho=10 tt=4 dvc=3", {"ho": 10, "tt": 4, "dvc": 3}, None),
    ("2026-11-21T07:00", TUAN, "/bao_cao ho 5 app 2 hôm qua", {"ho": 5, "app": 2}, "2026-11-20"),
    ("2026-11-23T07:30", LAN, "/bao_cao hôm qua ho 4", {"ho": 4}, "2026-11-22"),  # last week's
    ("2026-11-23T11:00", NAM_, "/bao_cao ho=15 app=7", {"ho": 15, "app": 7}, None),
    ("2026-11-24T16:00", HOA, "/bao_cao ho=9 app=4 cks=1", {"ho": 9, "app": 4, "cks": 1}, None),
    ("2026-11-25T09:00", HUNG, "/bao_cao ho=7 app=3", {"ho": 7, "app": 3}, None),
]

MONTH_END: list[Sent] = [
    ("2026-11-26T14:00", MAI, "/bao_cao ho=10 app=6 tt=3 cks=4",
     {"ho": 10, "app": 6, "tt": 3, "cks": 4}, None),  # Hà Lam passes its own 5 % for cks
    ("2026-11-28T10:00", SON, "/bao_cao dvc=2 ho=3", {"dvc": 2, "ho": 3}, None),
    ("2026-11-30T07:00", TU, "/bao_cao hôm qua ho=5 app=1", {"ho": 5, "app": 1}, "2026-11-29"),
]  # fmt: skip

DECEMBER: list[Sent] = [
    ("2026-12-01T08:00", HUNG, "/bao_cao hôm qua ho=3", {"ho": 3}, "2026-11-30"),  # November's
    ("2026-12-02T15:00", HOA, "/bao_cao ho=11 app=5 tt=2", {"ho": 11, "app": 5, "tt": 2}, None),
    ("2026-12-04T16:30", NAM_, "/bao_cao ho=9 cks=3", {"ho": 9, "cks": 3}, None),
    ("2026-12-08T09:00", TUAN, "/bao_cao hd 6 hộ, cài app 4", {"ho": 6, "app": 4}, None),
    ("2026-12-09T10:00", TU, "/bao_cao ho=12 app=8 dvc=4", {"ho": 12, "app": 8, "dvc": 4}, None),
    ("2026-12-11T14:00", SON, "/bao_cao ho=7 tt=5", {"ho": 7, "tt": 5}, None),
    ("2026-12-15T08:30", MAI, "/bao_cao ho=9 app=7 tt=2", {"ho": 9, "app": 7, "tt": 2}, None),
    ("2026-12-16T11:00", HOA, "/bao_cao ho=14 app=6 cks=2", {"ho": 14, "app": 6, "cks": 2}, None),
    ("2026-12-18T17:00", NAM_, "/bao_cao ho=10 app=6", {"ho": 10, "app": 6}, None),
    ("2026-12-22T09:00", LAN, "/bao_cao ho=8 app=5 tmdt=1", {"ho": 8, "app": 5, "tmdt": 1}, None),
    ("2026-12-23T15:00", TU, "/bao_cao ho=11 app=9", {"ho": 11, "app": 9}, None),
    ("2026-12-24T10:00", SON, "/bao_cao hôm qua ho=6 app=3", {"ho": 6, "app": 3}, "2026-12-23"),
    # The week of the quarter's and the year's end.
    ("2026-12-29T09:00", MAI, "/bao_cao ho=8 app=5", {"ho": 8, "app": 5}, None),
    ("2026-12-31T16:00", HOA, "/bao_cao ho=6 tt=3", {"ho": 6, "tt": 3}, None),
    ("2027-01-01T07:40", TU, "/bao_cao hôm qua ho=4 app=2", {"ho": 4, "app": 2}, "2026-12-31"),
]

NEW_YEAR: list[Sent] = [
    ("2027-01-02T10:00", LAN, "/bao_cao ho=5 app=3", {"ho": 5, "app": 3}, None),
    ("2027-01-04T07:45", SON, "/bao_cao hôm qua app=2", {"app": 2}, "2027-01-03"),
]

JANUARY: list[Sent] = [
    ("2027-01-06T09:00", HUNG, "/bao_cao ho=4 app=2", {"ho": 4, "app": 2}, None),
    ("2027-01-07T15:00", NAM_, "/bao_cao ho=7 dvc=1", {"ho": 7, "dvc": 1}, None),
    ("2027-01-11T10:00", HOA, "/bao_cao ho=5", {"ho": 5}, None),
]


async def _send(c: Commune, reports: list[Sent]) -> None:
    for when, who, text, values, dated in reports:
        await c.report(when, who, text, values, dated)


async def _withdrawn_and_corrected(c: Commune) -> None:
    """Wednesday 25/11: Hùng sends one by mistake and withdraws it; Tư corrects a figure by
    replying to the bot's confirmation."""
    c.clock.now = at("2026-11-25T09:05")
    assert "Đã ghi" in shown((await c.say(HUNG, "/bao_cao ho=30 app=30"))[1])
    assert "Đã hủy" in shown((await c.say(HUNG, "/huy"))[1])
    entry, replies = await c.report("2026-11-25T10:00", TU, "/bao_cao ho=6 app=2",
                                    {"ho": 6, "app": 2})  # fmt: skip
    under = tuple(b.data for r in replies for row in r.buttons for b in row)
    c.clock.now = at("2026-11-25T10:03")
    _id, fixed = await c.rooms[PHU_MY.name].reply_to(
        TU.person, "nhầm, hd 8 hộ ạ", to_bot="9001", under=under
    )
    assert "6 → 8" in shown(fixed), shown(fixed)
    entry.values["ho"] = 8


async def _check_now(c: Commune) -> None:
    """`/tien_do` of a village and the commune, `/xep_hang`, the dashboards: as of today."""
    today = c.today
    check_progress(await c.rooms[HA_LAM.name].say(MAI.person, "/tien_do"), c.ledger, HA_LAM,
                   today)  # fmt: skip
    check_progress(await c.room.say(ADMIN, "/tien_do"), c.ledger, None, today)
    check_board(await c.room.say(ADMIN, "/xep_hang"), c.ledger, today)
    check_board(await c.rooms[BINH_AN.name].say(HOA.person, "/xep_hang"), c.ledger, today)
    await check_dashboard(c, None)
    await check_dashboard(c, HA_LAM)


async def test_a_commune_over_two_months_and_a_quarter_end(deps: Deps, clock: Clock) -> None:
    c = await _set_up(deps, clock)
    await _send(c, NOVEMBER)
    await _withdrawn_and_corrected(c)

    # A Wednesday afternoon: the week so far.
    c.clock.now = at("2026-11-25T15:00")
    await _check_now(c)

    # Monday 30/11, November's last day: the board at 08:00; the summaries, whatever came in
    # since, cover 23/11–29/11 against 16/11–22/11 (Mai's is a leader's: she leads Hà Lam).
    await _send(c, MONTH_END)
    c.clock.now = at("2026-11-30T08:00")
    assert await jobs.run(c.deps, "leaderboards", c.clock.now) >= 1
    recorder = Recorder()
    await OutboxSender(c.deps, [recorder]).drain()
    [posted] = recorder.to(c.room.chat_id)
    check_board(posted, c.ledger, c.today)
    await c.report("2026-11-30T09:00", LAN, "/bao_cao ho=6 app=4", {"ho": 6, "app": 4})
    check_summary(await c.room.say(ADMIN, "/tong_hop"), c.ledger, None, c.today)
    check_summary(await c.rooms[HA_LAM.name].say(MAI.person, "/tong_hop"), c.ledger, HA_LAM,
                  c.today)  # fmt: skip
    await _check_now(c)
    await check_workbook(c, "tuần 23/11", None, day("2026-11-23"), day("2026-11-29"))

    # The quarter's evaluation, on its first morning, to every chat.
    await _send(c, DECEMBER)
    assert await jobs.run(c.deps, "quarterly", at("2027-01-01T08:00")) >= 4
    recorder = Recorder()
    await OutboxSender(c.deps, [recorder]).drain()
    for chat in (c.room, c.rooms[BINH_AN.name]):
        [evaluation] = recorder.to(chat.chat_id)
        check_evaluation(evaluation, c.ledger, day("2026-12-31"))

    # Monday 04/01/2027, after the quarter's end: the week across it, against the one before.
    await _send(c, NEW_YEAR)
    c.clock.now = at("2027-01-04T10:00")
    check_summary(await c.room.say(ADMIN, "/tong_hop"), c.ledger, None, c.today)
    check_summary(await c.rooms[PHU_MY.name].say(ADMIN, "/tong_hop"), c.ledger, PHU_MY,
                  c.today)  # fmt: skip
    await _check_now(c)

    # Mid-January: the workbooks of a week, November, December and the fourth quarter hold
    # those and nothing else, whatever came in since.
    await _send(c, JANUARY)
    c.clock.now = at("2027-01-13T09:00")
    await _check_now(c)
    await check_workbook(c, "tháng 11", "tháng 11/2026", day("2026-11-01"), day("2026-11-30"))
    await check_workbook(c, "tháng 12", "tháng 12/2026", day("2026-12-01"), day("2026-12-31"))
    await check_workbook(c, "quý 4", "quý 4/2026", day("2026-10-01"), day("2026-12-31"))
    await check_workbook(c, "tuần 28/12", None, day("2026-12-28"), day("2027-01-03"))
    await check_workbook(c, "tháng 12", "tháng 12/2026", day("2026-12-01"), day("2026-12-31"),
                         HA_LAM)  # fmt: skip
