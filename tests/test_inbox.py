"""The inbox's lanes: each chat's updates in order, chats served in turn, each update once."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.exc import OperationalError
from sqlmodel import func, select

from bot.inbox import Claim, InboxWorker, Processor, Round
from handlers import router
from handlers.context import Ctx
from handlers.incoming import Deps, Incoming, Reply
from handlers.router import StorageUnavailable
from storage import inbox, reports
from storage.db import transaction
from storage.models import Report
from tests.conftest import SUPERADMIN
from tests.harness import ChatRoom, Person
from tests.test_outage import Outage

ADMIN = Person(SUPERADMIN, "Quản trị")


async def test_a_backlog_in_one_chat_holds_up_another_chat_by_one_update(deps: Deps) -> None:
    order: list[tuple[str, int]] = []

    async def process(
        payload: dict[str, Any], claim: Claim | None = None, round_: Round | None = None
    ) -> None:
        assert claim is not None
        if round_ is not None:  # one transaction for the round's updates
            if await claim(round_.session):
                order.append((payload["chat"], payload["n"]))
            return
        async with transaction(deps.sessions) as session:
            if await claim(session):
                order.append((payload["chat"], payload["n"]))

    worker = InboxWorker(deps.sessions, rounds=True)
    worker.processors["tg"] = process
    worker.chat_of["tg"] = lambda payload: payload["chat"]
    flood = [(f"tg:update:{n}", "tg", {"chat": f"tg:{n % 3}", "n": n}) for n in range(300)]
    await worker.store(flood)
    await worker.store([("tg:update:question", "tg", {"chat": "tg:-100", "n": 0})])
    assert await worker.drain() == 301

    # The group's one update was in the first round, among one update of each flooding chat.
    assert order.index(("tg:-100", 0)) < 4
    for chat in ("tg:0", "tg:1", "tg:2"):
        mine = [n for c, n in order if c == chat]
        assert mine == sorted(mine)
        assert len(mine) == 100
    async with deps.sessions() as session:
        assert await inbox.pending_count(session) == 0
    # Stored again (a redelivery): nothing new, nothing processed twice.
    assert await worker.store(flood[:10]) == 0
    assert await worker.drain() == 0
    assert len(order) == 301


async def test_an_update_without_effects_is_done_all_the_same(deps: Deps) -> None:
    seen: list[int] = []

    async def process(
        payload: dict[str, Any], claim: Claim | None = None, round_: Round | None = None
    ) -> None:
        seen.append(payload["n"])  # not a command: no transaction, the claim is never asked

    worker = InboxWorker(deps.sessions)
    worker.processors["tg"] = process
    await worker.store([(f"tg:update:{n}", "tg", {"n": n}) for n in range(5)])
    assert await worker.drain() == 5
    assert await worker.drain() == 0
    assert seen == [0, 1, 2, 3, 4]  # one lane without a chat: in order


def _reporting(deps: Deps, answered: list[tuple[int, str]]) -> Processor:
    """What a transport does with an update: through the router, in the round when there is
    one, and the answer only once its transaction has committed."""

    async def process(
        payload: dict[str, Any], claim: Claim | None = None, round_: Round | None = None
    ) -> None:
        msg = Incoming(
            platform="tg",
            chat_id=payload["chat"],
            chat_kind="group",
            sender_id=f"tg:{payload['from']}",
            sender_name="Thành viên",
            text=payload["text"],
            sent_at=deps.clock(),
            message_key=f"{payload['chat']}:{payload['n']}",
            update_key=f"tg:update:{payload['n']}",
        )
        if round_ is None:
            replies = await router.handle(deps, msg, claim=claim)
        else:  # as bot/transport.py does
            joined = replace(deps, observer=round_.observing(deps.observer))
            replies = await router.handle(joined, msg, claim=claim, within=round_.session)

        def answer() -> None:
            answered.append((payload["n"], "\n".join(r.rich.plain() for r in replies)))

        if round_ is None:
            answer()
        else:
            round_.after.append(answer)

    return process


async def _villages(deps: Deps, count: int) -> list[str]:
    chats = [f"tg:-92{n:02d}" for n in range(count)]
    for n, chat in enumerate(chats):
        said = await ChatRoom(deps, chat).say(ADMIN, f"/lien_ket xa=20791 thon=Thôn Số {n} ho=500")
        assert f"Thôn Số {n}" in said
    return chats


async def _run(deps: Deps, updates: list[tuple[str, str]]) -> tuple[list[tuple[int, str]], int]:
    """(chat, text) updates stored and worked off by one worker: the answers, and how many
    transactions committed meanwhile."""
    answered: list[tuple[int, str]] = []
    worker = InboxWorker(deps.sessions, rounds=True)
    worker.processors["tg"] = _reporting(deps, answered)
    worker.chat_of["tg"] = lambda payload: payload["chat"]
    await worker.store(
        [
            (f"tg:update:{n}", "tg", {"chat": chat, "text": text, "n": n, "from": 900 + n})
            for n, (chat, text) in enumerate(updates)
        ]
    )
    commits = 0

    def committed(*_args: Any) -> None:
        nonlocal commits
        commits += 1

    engine = deps.sessions.kw["bind"].sync_engine
    event.listen(engine, "commit", committed)
    try:
        assert await worker.drain() == len(updates)
    finally:
        event.remove(engine, "commit", committed)
    return sorted(answered), commits


async def _reports(deps: Deps) -> int:
    async with deps.sessions() as session:
        return int((await session.exec(select(func.count()).select_from(Report))).one())


async def test_a_round_of_reports_is_one_transaction(deps: Deps) -> None:
    chats = await _villages(deps, 3)
    answered, commits = await _run(
        deps, [(c, f"/bao_cao ho=1 dvc={k + 1}") for k, c in enumerate(chats * 2)]
    )
    assert commits == 2  # two rounds: each chat's first report, then each one's second
    assert [n for n, _a in answered] == list(range(6))  # each answered once
    assert all("Đã ghi" in a for _n, a in answered), answered
    assert await _reports(deps) == 6


async def test_one_failing_update_costs_only_itself(
    deps: Deps, monkeypatch: pytest.MonkeyPatch
) -> None:
    chats = await _villages(deps, 3)

    async def broken(ctx: Ctx) -> list[Reply]:
        await ctx.unit()
        raise RuntimeError("a fault in one command")

    monkeypatch.setitem(router.COMMANDS, "tien_do", broken)
    updates = [(chats[0], "/bao_cao ho=1"), (chats[1], "/tien_do"), (chats[2], "/bao_cao ho=2")]
    answered, _commits = await _run(deps, updates)
    # The round was rolled back whole and done again one at a time: the reports once each,
    # the fault answered as one, nothing answered twice.
    assert [n for n, _a in answered] == [0, 1, 2]
    assert "Đã ghi" in answered[0][1]
    assert "chưa ghi nhận gì" in answered[1][1]
    assert "Đã ghi" in answered[2][1]
    assert await _reports(deps) == 2


async def test_a_command_declared_alone_ends_the_round(deps: Deps) -> None:
    chats = await _villages(deps, 4)
    texts = ["/bao_cao ho=1", "/xuat", "/bao_cao ho=1 dvc=1", "/bao_cao ho=1 dvc=2"]
    answered, commits = await _run(deps, list(zip(chats, texts, strict=True)))
    assert commits == 3  # the first report; /xuat on its own; the last two together
    assert len(answered) == 4
    assert await _reports(deps) == 3


class Counting:
    def __init__(self) -> None:
        self.events: list[tuple[str, str]] = []

    def count(self, event: str, label: str = "") -> None:
        self.events.append((event, label))


async def test_a_round_the_database_breaks_off_is_done_again_and_counted_once(
    deps: Deps, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    chats = await _villages(deps, 3)
    real = reports.create
    calls = 0

    async def flaky(*args: Any, **kwargs: Any) -> int:
        nonlocal calls
        calls += 1
        if calls == 2:  # the round's second report: the connection drops
            raise OperationalError("INSERT INTO report …", {}, ConnectionResetError("reset"))
        return await real(*args, **kwargs)

    monkeypatch.setattr(reports, "create", flaky)
    counted = Counting()
    deps.observer = counted
    answered, commits = await _run(deps, [(c, "/bao_cao ho=1") for c in chats])
    assert "a round of 3 failed" in caplog.text
    assert commits == 3  # the round undone; then one transaction each
    assert [n for n, _a in answered] == [0, 1, 2]
    assert all("Đã ghi" in a for _n, a in answered), answered
    assert await _reports(deps) == 3
    assert counted.events.count(("report", "")) == 3  # not 4: the undone round counted nothing
    assert counted.events.count(("update", "tg")) == 3


async def test_a_round_waits_while_the_database_is_away(
    deps: Deps, monkeypatch: pytest.MonkeyPatch
) -> None:
    chats = await _villages(deps, 3)
    answered: list[tuple[int, str]] = []
    worker = InboxWorker(deps.sessions, rounds=True)
    worker.chat_of["tg"] = lambda payload: payload["chat"]
    await worker.store(
        [
            (
                f"tg:update:{n}",
                "tg",
                {"chat": c, "text": f"/bao_cao ho=1 dvc={n + 1}", "n": n, "from": 9},
            )
            for n, c in enumerate(chats * 2)
        ]
    )
    outage = Outage(deps.sessions)
    away = replace(deps, sessions=outage)  # type: ignore[arg-type]  # a stand-in factory
    worker.sessions = outage  # type: ignore[assignment]
    worker.processors["tg"] = _reporting(away, answered)
    real_heads = inbox.heads

    async def heads_then_outage(*args: Any, **kwargs: Any) -> Any:
        rows = await real_heads(*args, **kwargs)
        outage.down = True  # gone between taking the round's heads and processing them
        return rows

    monkeypatch.setattr(inbox, "heads", heads_then_outage)
    with pytest.raises(StorageUnavailable):
        await worker.drain()
    monkeypatch.undo()
    assert answered == []
    outage.down = False
    assert await worker.drain() == 6
    assert [n for n, _a in sorted(answered)] == list(range(6))
    assert await _reports(deps) == 6
