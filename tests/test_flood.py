"""Flood control holds back answers, never messages: see handlers/flood.py for the rule."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlmodel import func, select

from bot.inbox import Claim, InboxWorker, Round
from handlers import router
from handlers.flood import FloodGate
from handlers.incoming import Deps, Incoming, Reply
from storage.models import Report
from tests.conftest import SUPERADMIN
from tests.harness import ChatRoom, Clock, Person

ADMIN = Person(SUPERADMIN, "Trần Văn Quản")
LAN = Person("tg:101", "Nguyễn Thị Lan")


async def _reports(deps: Deps) -> int:
    async with deps.sessions() as s:
        return int((await s.exec(select(func.count()).select_from(Report))).one())


async def _village(deps: Deps) -> ChatRoom:
    room = ChatRoom(deps, "tg:-1001", title="Tổ CNS thôn Hà Lam")
    assert "Thôn Hà Lam" in await room.say(ADMIN, "/lien_ket xa=20791 thon=Thôn Hà Lam ho=200")
    return room


async def test_a_burst_of_reports_is_all_recorded(deps: Deps, clock: Clock) -> None:
    """A leader pastes thirty reports in one go: thirty reports, twenty answers and one
    notice, and the chat is not buried."""
    room = await _village(deps)
    deps.flood = FloodGate()  # the real limit: twenty a minute
    # Each with its own count of filings: the same figures again would be asked about.
    answers = [await room.say(LAN, f"/bao_cao ho=1 dvc={n}") for n in range(1, 31)]
    assert await _reports(deps) == 30
    assert all("Hộ được hướng dẫn +1" in a for a in answers[:20])
    assert "quá nhanh" in answers[20]
    assert "+1" not in answers[20]
    assert answers[21:] == [""] * 9
    # A minute on, the next answer says how many went without one.
    clock.advance(seconds=61)
    out = await room.say(LAN, "/toi")
    assert "Tổng cộng: Hộ được hướng dẫn 30" in out
    assert "gửi quá nhanh: 10" in out


def _payload(n: int, sent: float) -> dict[str, Any]:
    return {"n": n, "sent": sent}


async def _backlog(deps: Deps, clock: Clock, spacing: float) -> list[list[Reply]]:
    """Forty messages of one person in one chat, sent `spacing` seconds apart before `clock`'s
    now, stored in the inbox (the bot was down) and worked off in one go."""
    sent_from = clock() - timedelta(seconds=40 * spacing)
    answers: list[list[Reply]] = []

    async def process(
        payload: dict[str, Any], claim: Claim | None = None, round_: Round | None = None
    ) -> None:
        msg = Incoming(
            platform="tg",
            chat_id="tg:-1001",
            chat_kind="group",
            sender_id=LAN.id,
            sender_name=LAN.name,
            text=f"/bao_cao ho=1 dvc={payload['n'] + 1}",  # no two the same: no resend
            sent_at=sent_from + timedelta(seconds=payload["sent"]),
            message_key=f"tg:-1001:{1000 + payload['n']}",
            update_key=f"tg:update:{5000 + payload['n']}",
        )
        answers.append(
            await router.handle(deps, msg, claim=claim, within=round_.session if round_ else None)
        )

    worker = InboxWorker(deps.sessions)
    worker.processors["tg"] = process
    await worker.store(
        [(f"tg:update:{5000 + n}", "tg", _payload(n, n * spacing)) for n in range(40)]
    )
    assert await worker.drain() == 40
    return answers


async def test_a_backlog_after_downtime_is_not_a_flood(deps: Deps, clock: Clock) -> None:
    await _village(deps)
    deps.flood = FloodGate()
    answers = await _backlog(deps, clock, spacing=15.0)  # ten minutes of sending, four a minute
    assert await _reports(deps) == 40
    texts = ["\n".join(r.rich.plain() for r in replies) for replies in answers]
    assert all("Hộ được hướng dẫn +1" in t for t in texts), texts
    assert not any("quá nhanh" in t for t in texts)


async def test_the_same_backlog_sent_within_a_minute_is_slowed(deps: Deps, clock: Clock) -> None:
    await _village(deps)
    deps.flood = FloodGate()
    answers = await _backlog(deps, clock, spacing=1.0)
    assert await _reports(deps) == 40  # all recorded all the same
    texts = ["\n".join(r.rich.plain() for r in replies) for replies in answers]
    assert sum("Hộ được hướng dẫn +1" in t for t in texts) == 20
    assert sum("quá nhanh" in t for t in texts) == 1


async def test_an_admin_linking_thirty_groups_in_a_minute_is_answered(
    deps: Deps, clock: Clock
) -> None:
    deps.flood = FloodGate()
    for n in range(30):
        room = ChatRoom(deps, f"tg:-2{n:03d}", title=f"Tổ CNS thôn Số {n}")
        out = await room.say(ADMIN, f"/lien_ket xa=20791 thon=Thôn Số {n} ho=100")
        assert f"Thôn Số {n}, Xã Thăng Bình" in out, out
        clock.advance(seconds=2)


def test_a_message_handled_again_is_counted_once(clock: Clock) -> None:
    """The inbox retries an update while the database is away: it keeps its verdict and does
    not fill the window with itself."""
    gate = FloodGate(limit=3)
    first = [
        gate.check(person="tg:1", chat="tg:-1", sent_at=clock(), message_key=f"k{n}")
        for n in range(2)
    ]
    for _retry in range(10):
        again = gate.check(person="tg:1", chat="tg:-1", sent_at=clock(), message_key="k1")
        assert again == first[1]
    third = gate.check(person="tg:1", chat="tg:-1", sent_at=clock(), message_key="k2")
    assert third.answer
    fourth = gate.check(person="tg:1", chat="tg:-1", sent_at=clock(), message_key="k3")
    assert not fourth.answer
    assert fourth.notice
    assert fourth.wait == 60.0
