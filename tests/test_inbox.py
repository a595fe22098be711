"""The inbox's lanes: each chat's updates in order, chats served in turn, each update once."""

from __future__ import annotations

from typing import Any

from bot.inbox import Claim, InboxWorker
from handlers.incoming import Deps
from storage import inbox
from storage.db import transaction


async def test_a_backlog_in_one_chat_holds_up_another_chat_by_one_update(deps: Deps) -> None:
    order: list[tuple[str, int]] = []

    async def process(payload: dict[str, Any], claim: Claim | None = None) -> None:
        assert claim is not None
        async with transaction(deps.sessions) as session:
            if await claim(session):
                order.append((payload["chat"], payload["n"]))

    worker = InboxWorker(deps.sessions)
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

    async def process(payload: dict[str, Any], claim: Claim | None = None) -> None:
        seen.append(payload["n"])  # not a command: no transaction, the claim is never asked

    worker = InboxWorker(deps.sessions)
    worker.processors["tg"] = process
    await worker.store([(f"tg:update:{n}", "tg", {"n": n}) for n in range(5)])
    assert await worker.drain() == 5
    assert await worker.drain() == 0
    assert seen == [0, 1, 2, 3, 4]  # one lane without a chat: in order
