"""The quarter's evaluation across a quarter's end: each village's attainment per indicator,
score, grade, rank and change against the quarter before, checked against sums made here from
the reports sent; to every chat, to a leader privately only when she opened the bot."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_EVEN, Decimal
from zoneinfo import ZoneInfo

from sqlmodel import col, select

from handlers.evaluation import render
from handlers.incoming import Deps
from handlers.richtext import Rich
from scheduler import jobs
from scheduler.jobs import quarterly as jobs_quarterly
from scheduler.outbox import OutboxSender
from storage.models import Outbox
from tests.conftest import SUPERADMIN
from tests.harness import ChatRoom, Clock, Person
from tests.test_jobs import Recorder

VN = ZoneInfo("Asia/Ho_Chi_Minh")
SUPER = Person(SUPERADMIN, "Quản trị")
XA = Person("tg:301", "Võ Thị Xã")
LAN = Person("tg:101", "Nguyễn Thị Lan")  # Hà Lam's leader; opened the bot
MAI = Person("tg:201", "Phạm Thị Mai")  # Bình An's leader; never did
TU = Person("tg:401", "Trần Văn Tư")

TARGETS = {"ho": 80, "app": 50, "tt": 50, "cks": 30}
GRADES = ((90, "xuất sắc"), (80, "tốt"), (65, "khá"), (50, "trung bình"), (0, "yếu"))


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=VN)


@dataclass
class Village:
    name: str
    chat: str
    households: int


VILLAGES = {
    "ha_lam": Village("Thôn Hà Lam", "tg:-3001", 100),
    "binh_an": Village("Thôn Bình An", "tg:-3002", 120),
    "phu_my": Village("Thôn Phú Mỹ", "tg:-3004", 80),
}


@dataclass
class Sent:
    village: str
    person: Person
    moment: str
    values: dict[str, int]
    withdrawn: bool = False


SENT = [
    # The third quarter: Bình An ahead, Hà Lam behind, Phú Mỹ not started.
    Sent("ha_lam", LAN, "2026-09-08T09:00", {"ho": 20, "app": 10}),
    Sent("binh_an", MAI, "2026-09-09T09:00", {"ho": 40, "app": 30, "tt": 20, "cks": 10}),
    Sent("binh_an", MAI, "2026-09-30T20:00", {"ho": 6}),  # the quarter's last evening
    # The fourth: Hà Lam overtakes.
    Sent("ha_lam", LAN, "2026-10-13T09:00", {"ho": 30, "app": 20, "tt": 25, "cks": 15}),
    Sent("ha_lam", LAN, "2026-11-17T09:00", {"ho": 25, "app": 15}),
    Sent("binh_an", MAI, "2026-10-14T09:00", {"ho": 10}),
    Sent("phu_my", TU, "2026-11-18T09:00", {"ho": 20, "app": 10}),
    Sent("phu_my", TU, "2026-12-16T09:00", {"ho": 7}, withdrawn=True),  # sent, then /huy
    Sent("binh_an", MAI, "2026-12-22T09:00", {"tt": 5}),
    Sent("ha_lam", LAN, "2026-12-31T20:00", {"ho": 10}),  # the quarter's last evening
    # The new quarter's first morning (the same ISO week as 31/12): not the fourth quarter's.
    Sent("ha_lam", LAN, "2027-01-01T07:00", {"ho": 5, "cks": 9}),
]


def _sum(village: str, code: str, last: date) -> int:
    return sum(
        s.values.get(code, 0)
        for s in SENT
        if s.village == village
        and not s.withdrawn
        and datetime.fromisoformat(s.moment).date() <= last
    )


def _score(village: str, last: date) -> float:
    """PRODUCT.md's score: 100 × Σ min(1, share / target) / 4, equal weights."""
    households = VILLAGES[village].households
    parts = [min(1.0, _sum(village, c, last) / households / (t / 100)) for c, t in TARGETS.items()]
    return 100 * sum(parts) / len(parts)


def _tenths(value: float) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("0.1"), ROUND_HALF_EVEN)


def _n(value: Decimal | float) -> str:
    return str(value).replace(".", ",")


def _ranks(scores: dict[str, float]) -> dict[str, int]:
    ordered = sorted(scores, key=lambda k: (-round(scores[k], 6), VILLAGES[k].name))
    return {k: ordered.index(k) + 1 for k in ordered}


def _grade(score: float) -> str:
    return next(name for lowest, name in GRADES if score >= lowest)


async def _commune(deps: Deps, clock: Clock) -> None:
    clock.now = at("2026-09-01T08:00")
    commune = ChatRoom(deps, "tg:-3003")
    await commune.say(SUPER, "/lien_ket tinh=Đà Nẵng xa=Thăng Bình")
    rooms = {}
    for key, v in VILLAGES.items():
        rooms[key] = ChatRoom(deps, v.chat)
        await rooms[key].say(SUPER, f"/lien_ket xa=20791 thon={v.name} ho={v.households}")
    await ChatRoom(deps, SUPERADMIN, kind="private").say(
        SUPER, "/lien_ket xa=20791 thon=Thôn Trống ho=50"
    )
    await commune.say(SUPER, "/cap_quyen", reply_to=XA)
    await ChatRoom(deps, XA.id, kind="private").say(XA, "/start")
    await ChatRoom(deps, LAN.id, kind="private").say(LAN, "/start")
    for s in SENT:
        clock.now = at(s.moment)
        line = " ".join(f"{k}={v}" for k, v in s.values.items())
        reply = await rooms[s.village].say(s.person, f"/bao_cao {line}")
        assert reply.startswith(f"✅ Đã ghi cho {s.person.name}"), reply
        if s.withdrawn:
            await rooms[s.village].say(s.person, "/huy")
    await rooms["ha_lam"].say(SUPER, "/to_truong", reply_to=LAN)
    await rooms["binh_an"].say(SUPER, "/to_truong", reply_to=MAI)


async def test_the_quarters_evaluation_adds_up_and_reaches_leaders_as_they_can_be_reached(
    deps: Deps, clock: Clock
) -> None:
    await _commune(deps, clock)
    last, before = date(2026, 12, 31), date(2026, 9, 30)
    assert await jobs.run(deps, "quarterly", at("2026-12-31T23:00")) == 0
    # Four linked chats, Lan privately, Xã's workbook; nothing towards Mai.
    assert await jobs.run(deps, "quarterly", at("2027-01-01T08:00")) == 6
    recorder = Recorder()
    await OutboxSender(deps, [recorder]).drain()
    async with deps.sessions() as session:
        rows = (
            await session.exec(
                select(Outbox.chat_id).where(
                    col(Outbox.job).in_(("quarterly", jobs_quarterly.WORKBOOKS))
                )
            )
        ).all()
    assert MAI.id not in rows
    assert sorted(rows) == sorted(["tg:-3001", "tg:-3002", "tg:-3003", "tg:-3004", LAN.id, XA.id])

    # Independent sums: each village's score now and at the end of the quarter before.
    now = {k: _score(k, last) for k in VILLAGES}
    then = {k: _score(k, before) for k in ("ha_lam", "binh_an")}  # Phú Mỹ had no report then
    rank_now, rank_then = _ranks(now), _ranks(then)
    assert rank_now["ha_lam"] == 1
    assert rank_then["ha_lam"] == 2  # Hà Lam overtook Bình An

    def row_lines(key: str, own: bool) -> list[str]:
        v = VILLAGES[key]
        head = f"{rank_now[key]}. {v.name} — {_n(_tenths(now[key]))} điểm ({_grade(now[key])})"
        lines = [f"👉 {head}" if own else head]
        if key in then:
            delta = _tenths(now[key]) - _tenths(then[key])
            sign = "+" if delta > 0 else ("−" if delta < 0 else "±")
            lines.append(
                f"    quý trước {_n(_tenths(then[key]))} điểm ({sign}{_n(abs(delta))}), "
                f"hạng {rank_then[key]} → {rank_now[key]}"
            )
        else:
            lines.append("    quý này mới được xếp hạng")
        parts = []
        for code, target in TARGETS.items():
            done = _sum(key, code, last)
            needed = math.ceil(v.households * target / 100)
            percent = _tenths(100 * done / needed)
            shown = str(int(percent)) if percent == percent.to_integral() else _n(percent)
            parts.append(f"{code} {shown}%")
        lines.append("    " + " · ".join(parts))
        return lines

    def expected(own: str | None) -> list[str]:
        out = [
            "🏅 Đánh giá quý 4/2026 — Xã Thăng Bình (01/10–31/12/2026)",
            "Tỷ lệ đạt chỉ tiêu đến hết 31/12/2026 (số hộ đã làm ÷ số hộ chỉ tiêu yêu cầu): "
            "ho = Hộ được hướng dẫn, app = Hộ cài ứng dụng công dân, "
            "tt = Hộ có tài khoản thanh toán điện tử, cks = Hộ có chữ ký số",
        ]
        for key in sorted(VILLAGES, key=lambda k: rank_now[k]):
            out += row_lines(key, key == own)
        out.append("🏠 Chưa có tổ (1): Thôn Trống")
        return out

    for key, v in VILLAGES.items():
        [text] = recorder.to(v.chat)
        assert text.splitlines() == expected(key), text
    [commune] = recorder.to("tg:-3003")
    assert commune.splitlines() == expected(None)
    [private] = recorder.to(LAN.id)
    assert private.splitlines() == expected("ha_lam")
    # With the evaluation, its chart.
    chart = next(r.attachment for c, r in recorder.posts if c == "tg:-3001")
    assert chart is not None
    assert chart.content.startswith(b"\x89PNG")
    [note] = recorder.to(XA.id)
    assert note == "📊 Đánh giá quý 4/2026: tệp Excel của Xã Thăng Bình"

    # A restart, a week's catch-up: nothing again.
    assert await jobs.run(deps, "quarterly", at("2027-01-03T08:00")) == 0


async def test_a_long_commune_is_cut_to_the_top_and_the_readers_own_village(
    deps: Deps, clock: Clock
) -> None:
    """Twenty-five villages with a team: ten rows and the reader's own, within a message."""
    from handlers import evaluation, i18n
    from storage import units

    clock.now = at("2026-10-05T08:00")
    await ChatRoom(deps, "tg:-3003").say(SUPER, "/lien_ket tinh=Đà Nẵng xa=Thăng Bình")
    for n in range(25):
        room = ChatRoom(deps, f"tg:-40{n:02d}")
        await room.say(SUPER, f"/lien_ket xa=20791 thon=Thôn Số {n + 1} ho=100")
        await room.say(Person(f"tg:9{n:02d}", f"Người {n}"), f"/bao_cao ho={n + 1}")
    async with deps.sessions() as session:
        [commune] = await units.by_code(session, level="commune", code="20791")
        ev = await evaluation.evaluate(session, scope=commune, first=date(2026, 10, 1),
                                       last=date(2026, 12, 31))  # fmt: skip
        own = next(r for r in ev.rows if r.unit.name == "Thôn Số 1")  # the last
        with i18n.use("vi"):
            text = render(ev, own_unit_id=own.unit.id).plain()
    lines = text.splitlines()
    assert lines[2] == "Quý đầu tiên có báo cáo: chưa có quý trước để so sánh."
    assert lines[3].startswith("1. Thôn Số 25 — ")
    assert "👉 25. Thôn Số 1 — " in text
    assert "… và 14 đơn vị khác" in text
    assert len(text) < 4096
    assert isinstance(render(ev, own_unit_id=None), Rich)
