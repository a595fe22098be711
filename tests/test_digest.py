"""The commune digest: its rules over plain figures, and the Monday job over six weeks of a
commune's reports, every figure of the message checked against sums made here."""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from handlers.digest import (
    Drop,
    IndicatorWeeks,
    Pace,
    VillageWeeks,
    behind,
    drops,
    findings,
    per_week,
    weeks_left,
)
from handlers.incoming import Deps
from handlers.periods import week_key
from scheduler import jobs
from scheduler.outbox import OutboxSender
from storage.models import Outbox
from tests.conftest import SUPERADMIN
from tests.harness import ChatRoom, Clock, Person
from tests.test_jobs import Recorder

VN = ZoneInfo("Asia/Ho_Chi_Minh")


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=VN)


# --- the rules ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("monday", "last", "weeks"),
    [
        (date(2026, 11, 30), date(2026, 12, 31), 5),  # the last week three days long
        (date(2026, 12, 28), date(2026, 12, 31), 1),
        (date(2026, 10, 5), date(2026, 12, 31), 13),
        (date(2026, 12, 24), date(2026, 12, 31), 2),  # a Thursday's digest: this week and next
        (date(2027, 3, 29), date(2027, 3, 31), 1),
    ],
)
def test_weeks_left_in_the_quarter_count_the_weeks_begun(
    monday: date, last: date, weeks: int
) -> None:
    assert weeks_left(monday, last) == weeks


@pytest.mark.parametrize(
    ("missing", "weeks", "expected"),
    [(62, 5, 13), (60, 5, 12), (1, 5, 1), (64, 5, 13), (10, 1, 10), (7, 0, 7)],
)
def test_the_pace_a_target_needs_is_rounded_up(missing: int, weeks: int, expected: int) -> None:
    assert per_week(missing, weeks) == expected


@pytest.mark.parametrize(
    ("weeks", "dropped"),
    [
        ((6, 6, 6, 6, 3), Drop("ho", 3, 6.0)),  # to half: a drop
        ((6, 6, 6, 6, 4), None),  # two thirds: not
        ((10, 12, 8, 10, 0), Drop("ho", 0, 10.0)),
        ((0, 0, 1, 0, 0), None),  # a quarter a week falling to nothing is not news
        ((1, 1, 1, 1, 0), Drop("ho", 0, 1.0)),
        ((0, 0, 0, 0, 0), None),
        ((0, 0, 0, 0, 9), None),  # a rise
    ],
)
def test_a_drop_is_last_week_at_half_the_four_before_or_less(
    weeks: tuple[int, ...], dropped: Drop | None
) -> None:
    found = drops([IndicatorWeeks("ho", weeks, done=sum(weeks))])
    assert found == ([dropped] if dropped else [])


@pytest.mark.parametrize(
    ("figures", "weakest"),
    [
        # (code, last five weeks, done, needed); five weeks left
        ([("ho", (9, 9, 9, 9, 9), 40, 80)], None),  # 40 missing in 5 weeks is 8 a week: on pace
        ([("ho", (5, 5, 5, 5, 5), 40, 80)], Pace("ho", 40, 8, 5.0)),
        ([("ho", (5, 5, 5, 5, 5), 80, 80)], None),  # reached
        ([("ho", (0, 0, 0, 0, 0), 0, None)], None),  # no target
        (
            [("ho", (10,) * 5, 60, 160), ("app", (6,) * 5, 36, 100), ("tt", (6,) * 5, 36, 100)],
            Pace("app", 64, 13, 6.0),  # 6/13 below 10/20; app before tt when equal
        ),
        (
            [("app", (0,) * 5, 0, 50), ("cks", (0,) * 5, 0, 30)],
            Pace("app", 50, 10, 0.0),  # nothing done in either: the larger need
        ),
    ],
)
def test_behind_names_the_indicator_furthest_from_its_pace(
    figures: list[tuple[str, tuple[int, ...], int, int | None]], weakest: Pace | None
) -> None:
    indicators = [IndicatorWeeks(c, w, done, needed) for c, w, done, needed in figures]
    assert behind(indicators, 5) == weakest


def _village(name: str, **kwargs: object) -> VillageWeeks:
    values: dict[str, object] = {"unit_id": hash(name) % 1000, "name": name, "has_team": True,
                                 "reported": (True, True)}  # fmt: skip
    values.update(kwargs)
    return VillageWeeks(**values)  # type: ignore[arg-type]


def test_findings_keep_villages_without_a_team_out_of_every_alarm() -> None:
    slow = (IndicatorWeeks("ho", (0, 0, 0, 0, 0), 0, 80),)
    villages = [
        _village("Thôn Trống", has_team=False, reported=(False, False), indicators=slow),
        _village("Thôn Im", reported=(False, False), indicators=slow, members=3),
        _village("Thôn Giảm", indicators=(IndicatorWeeks("ho", (8, 8, 8, 8, 1), 33),)),
        _village(
            "Thôn Đủ",
            indicators=(IndicatorWeeks("ho", (8, 8, 8, 8, 8), 80, 80),),
            members=2,
            members_reported=2,
        ),
    ]
    f = findings(villages, weeks=5)
    assert [v.name for v in f.no_team] == ["Thôn Trống"]
    assert [v.name for v in f.silent] == ["Thôn Im"]
    # A silent village's drop is its silence; it is still behind its target's pace.
    assert [(v.name, d) for v, d in f.dropped] == [("Thôn Giảm", [Drop("ho", 1, 8.0)])]
    assert [(v.name, p.code) for v, p in f.behind] == [("Thôn Im", "ho")]
    assert (f.teams, f.members, f.members_missing) == (3, 5, 3)
    assert [v.name for v in f.unreported] == ["Thôn Im"]
    assert f.alarms == 3


def test_silent_villages_longest_silent_first() -> None:
    villages = [
        _village("Thôn B", reported=(False, False), last_report=date(2026, 11, 10)),
        _village("Thôn A", reported=(False, False), last_report=date(2026, 11, 12)),
        _village("Thôn C", reported=(False, False)),
        _village("Thôn D", reported=(True, False)),  # reported the week before last
    ]
    assert [v.name for v in findings(villages, weeks=5).silent] == ["Thôn C", "Thôn B", "Thôn A"]


# --- the job --------------------------------------------------------------------------------

SUPER = Person(SUPERADMIN, "Quản trị")
XA = Person("tg:301", "Võ Thị Xã")
HOA = Person("tg:302", "Lê Thị Hoa")  # an admin who never opened the bot
LAN = Person("tg:101", "Nguyễn Thị Lan")
HUNG = Person("tg:102", "Lê Văn Hùng")
MAI = Person("tg:201", "Phạm Thị Mai")
TU = Person("tg:401", "Trần Văn Tư")
NAM = Person("tg:501", "Đỗ Văn Nam")

CODES = ("ho", "app", "tt", "cks")
NAMES = {
    "ho": "Hộ được hướng dẫn",
    "app": "Hộ cài ứng dụng công dân",
    "tt": "Hộ có tài khoản thanh toán điện tử",
    "cks": "Hộ có chữ ký số",
}
TARGETS = {"ho": 80, "app": 50, "tt": 50, "cks": 30}  # the national plan's
FIRST_MONDAY = date(2026, 10, 19)  # week 43; six finished weeks before Monday 30 November
DIGEST_MONDAY = date(2026, 11, 30)


@dataclass
class Village:
    name: str
    chat: str
    households: int


VILLAGES = {
    "ha_lam": Village("Thôn Hà Lam", "tg:-3001", 100),
    "binh_an": Village("Thôn Bình An", "tg:-3002", 100),
    "phu_my": Village("Thôn Phú Mỹ", "tg:-3004", 100),
    "tan_an": Village("Thôn Tân An", "tg:-3005", 200),
}


@dataclass
class Sent:
    village: str
    person: Person
    day: date
    values: dict[str, int]


def _plan() -> list[Sent]:
    """Six weeks: Hà Lam steady and at its targets, Bình An falls in its last week, Phú Mỹ
    stops after four weeks, Tân An steady but slow; Hùng reports once."""
    sent: list[Sent] = []
    for n in range(6):
        monday = FIRST_MONDAY + timedelta(weeks=n)
        steady = {"ho": 14, "app": 9, "tt": 9, "cks": 5}
        sent.append(Sent("ha_lam", LAN, monday + timedelta(days=1), steady))
        sent.append(
            Sent(
                "binh_an",
                MAI,
                monday + timedelta(days=2),
                {**steady, "ho": 3} if n == 5 else steady,
            )
        )
        if n < 4:
            sent.append(Sent("phu_my", TU, monday + timedelta(days=3), {"ho": 5}))
        sent.append(Sent("tan_an", NAM, monday + timedelta(days=2),
                         {"ho": 10, "app": 6, "tt": 6, "cks": 4}))  # fmt: skip
        if n == 2:
            sent.append(Sent("ha_lam", HUNG, monday + timedelta(days=4), {"ho": 2}))
    # This week's, before the digest: not part of last week's figures.
    sent.append(Sent("tan_an", NAM, DIGEST_MONDAY, {"app": 5}))
    return sent


async def _commune(deps: Deps, clock: Clock, sent: list[Sent]) -> None:
    clock.now = at("2026-10-19T08:00")
    commune = ChatRoom(deps, "tg:-3003")
    await commune.say(SUPER, "/lien_ket tinh=Đà Nẵng xa=Thăng Bình")
    for v in VILLAGES.values():
        room = ChatRoom(deps, v.chat)
        await room.say(SUPER, f"/lien_ket xa=20791 thon={v.name} ho={v.households}")
    # A village the commune created and nobody has joined.
    await ChatRoom(deps, SUPERADMIN, kind="private").say(
        SUPER, "/lien_ket xa=20791 thon=Thôn Trống ho=50"
    )
    await commune.say(SUPER, "/cap_quyen", reply_to=XA)
    await commune.say(SUPER, "/cap_quyen", reply_to=HOA)
    await ChatRoom(deps, XA.id, kind="private").say(XA, "/start")
    rooms = {key: ChatRoom(deps, v.chat) for key, v in VILLAGES.items()}
    for s in sent:
        clock.now = datetime.combine(s.day, datetime.min.time(), VN) + timedelta(hours=6)
        line = " ".join(f"{k}={v}" for k, v in s.values.items())
        reply = await rooms[s.village].say(s.person, f"/bao_cao {line}")
        assert reply.startswith(f"✅ Đã ghi cho {s.person.name}"), reply


def _n(value: float) -> str:
    """A number as the bot writes it in Vietnamese (one decimal at most)."""
    text = f"{value:,.1f}".rstrip("0").rstrip(".")
    return text.replace(",", "X").replace(".", ",").replace("X", ".")


async def test_the_monday_digest_names_silent_falling_and_slow_villages(
    deps: Deps, clock: Clock
) -> None:
    sent = _plan()
    await _commune(deps, clock, sent)

    # Sums made here, from what was sent: each village's figure of each indicator each week.
    weekly: dict[tuple[str, str, str], int] = defaultdict(int)
    for s in sent:
        for code, value in s.values.items():
            weekly[(s.village, code, week_key(s.day))] += value
    weeks = [week_key(DIGEST_MONDAY - timedelta(weeks=n)) for n in range(5, 0, -1)]
    last_week = weeks[-1]
    ended = DIGEST_MONDAY - timedelta(days=1)  # the end of last week

    def done(village: str, code: str) -> int:
        return sum(
            v for s in sent if s.village == village and s.day <= ended
            for c, v in s.values.items() if c == code
        )  # fmt: skip

    def needed(village: str, code: str) -> int:
        return math.ceil(VILLAGES[village].households * TARGETS[code] / 100)

    quarter_end = date(2026, 12, 31)
    weeks_left_ = math.ceil(((quarter_end - DIGEST_MONDAY).days + 1) / 7)
    assert weeks_left_ == 5

    assert await jobs.run(deps, "digest", at("2026-11-30T07:29")) == 0
    assert await jobs.run(deps, "digest", at("2026-11-30T07:30")) == 1  # Xã only: Hoa never opened
    recorder = Recorder()
    await OutboxSender(deps, [recorder]).drain()
    [text] = recorder.to(XA.id)
    lines = text.splitlines()

    # Phú Mỹ reported in its first four weeks only: silent, since its last report.
    last_phu_my = max(s.day for s in sent if s.village == "phu_my")
    assert not any(weekly[("phu_my", c, w)] for c in CODES for w in weeks[-2:])

    # Bình An's last week against the four before it.
    before = [weekly[("binh_an", "ho", w)] for w in weeks[:-1]]
    average = sum(before) / 4
    fell = weekly[("binh_an", "ho", last_week)]
    assert fell <= average / 2

    # Behind their pace: the missing households over the weeks left, against the last four.
    def pace_line(village: str, code: str) -> str:
        missing = needed(village, code) - done(village, code)
        recent = sum(weekly[(village, code, w)] for w in weeks[-4:]) / 4
        need = math.ceil(missing / weeks_left_)
        assert recent < need
        return (
            f"• {VILLAGES[village].name} — {NAMES[code]}: cần {need} hộ/tuần "
            f"(còn thiếu {missing} hộ); 4 tuần qua trung bình {_n(recent)} hộ/tuần"
        )

    # Members of last week: Hà Lam's Hùng and Phú Mỹ's Tư did not report; five members.
    members = {"ha_lam": {LAN.id, HUNG.id}, "binh_an": {MAI.id}, "phu_my": {TU.id},
               "tan_an": {NAM.id}}  # fmt: skip
    reported = {(s.village, s.person.id) for s in sent if week_key(s.day) == last_week}
    missing_members = {
        k: len([p for p in m if (k, p) not in reported]) for k, m in members.items()
    }
    total = sum(len(m) for m in members.values())
    assert (sum(missing_members.values()), total) == (2, 5)

    assert lines == [
        "📬 Bản tin tuần — Xã Thăng Bình, tuần 23/11–29/11/2026",
        "🔕 Không báo cáo 2 tuần liền (1):",
        f"• Thôn Phú Mỹ — báo cáo gần nhất {last_phu_my:%d/%m/%Y}",
        "📉 Tuần qua chỉ còn một nửa trung bình bốn tuần trước trở xuống:",
        f"• Thôn Bình An — Hộ được hướng dẫn {fell} (trung bình {_n(average)} mỗi tuần)",
        f"🐢 Chậm so với chỉ tiêu cần đạt đến hết quý 4/2026 (còn {weeks_left_} tuần):",
        # Nothing of app, tt or cks in Phú Mỹ: the larger need first (app's 50 before cks' 30).
        pace_line("phu_my", "app"),
        # Tân An's app and tt are 6 a week against 13: its weakest (ho: 10 against 20).
        pace_line("tan_an", "app"),
        f"👥 Tuần qua: {sum(missing_members.values())}/{total} thành viên chưa báo "
        f"cáo (Thôn Hà Lam {missing_members['ha_lam']}, Thôn Phú Mỹ {missing_members['phu_my']})",
        "🏠 Chưa có tổ (1): Thôn Trống",
    ]
    # Hà Lam is at its targets: nowhere but the members' line; Bình An has kept its pace.
    for code in CODES:
        assert done("ha_lam", code) >= needed("ha_lam", code)

    # Once a week, whenever run again; nothing tried towards the admin who never opened the bot.
    assert await jobs.run(deps, "digest", at("2026-11-30T09:00")) == 0
    assert await jobs.run(deps, "digest", at("2026-12-02T09:00")) == 0
    async with deps.sessions() as session:
        rows = (await session.exec(select(Outbox.chat_id).where(Outbox.job == "digest"))).all()
    assert rows == [XA.id]
    assert await jobs.run(deps, "digest", at("2026-12-07T07:30")) == 1  # the next week's


async def test_the_digest_follows_the_communes_schedule_and_gathers_an_admins_communes(
    deps: Deps, clock: Clock
) -> None:
    """/lich ban_tin= moves it for the commune's admins; an admin of two communes gets one post
    with both, when the first of her grants' times comes."""
    await _commune(deps, clock, _plan())
    commune = ChatRoom(deps, "tg:-3003")
    schedule = await commune.say(SUPER, "/lich ban_tin=thu3 09:00")
    assert "Bản tin tuần của xã cho quản trị viên: Thứ Ba 09:00" in schedule
    assert await jobs.run(deps, "digest", at("2026-11-30T07:30")) == 0
    assert await jobs.run(deps, "digest", at("2026-12-01T08:59")) == 0
    assert await jobs.run(deps, "digest", at("2026-12-01T09:00")) == 1

    other = ChatRoom(deps, "tg:-3009")
    await other.say(SUPER, "/lien_ket tinh=Đà Nẵng xa=Hải Châu")
    await ChatRoom(deps, SUPERADMIN, kind="private").say(
        SUPER, "/lien_ket tinh=Đà Nẵng xa=Hải Châu thon=Tổ 1 ho=50"
    )
    await other.say(SUPER, "/cap_quyen", reply_to=XA)
    # Her grant on Hải Châu keeps Monday 07:30: the next week's digest goes then, with both.
    assert await jobs.run(deps, "digest", at("2026-12-07T07:30")) == 1
    recorder = Recorder()
    await OutboxSender(deps, [recorder]).drain()
    text = recorder.to(XA.id)[-1]
    assert text.startswith("📬 Bản tin tuần các xã bạn quản lý — tuần 30/11–06/12/2026")
    lines = text.splitlines()
    assert "🏘️ Xã Thăng Bình" in lines  # villages to look at
    # Hải Châu's one village has no team: nothing to look at there.
    assert lines[-1] == "✅ 1 xã: không có thôn nào im lặng, giảm sút hay chậm tiến độ"
    # A village's chat shows no digest time: the digest is the commune's.
    assert "Bản tin" not in await ChatRoom(deps, "tg:-3001").say(SUPER, "/lich")
