"""Two workers sharing PostgreSQL: each update and each post is handled exactly once."""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import text

from bot.inbox import Claim, InboxWorker, Round
from handlers import router
from handlers.incoming import Deps, Incoming, Reply, SendOutcome, SendResult
from scheduler import jobs
from scheduler.outbox import OutboxSender
from storage import db
from storage.models import Chat
from tests.conftest import SUPERADMIN
from tests.harness import ChatRoom, Person
from tests.test_jobs import at


def _postgres_only(deps: Deps) -> str:
    """The URL of this test's PostgreSQL database (ON_POSTGRES asks the fixture for it)."""
    engine = deps.sessions.kw["bind"]
    assert engine.dialect.name == "postgresql"
    return str(engine.url.render_as_string(hide_password=False))


def _second_worker(deps: Deps, url: str) -> Deps:
    """The same database through a pool of its own, as another process would have."""
    return replace(deps, sessions=db.session_factory(db.create_engine(url)))


ON_POSTGRES = pytest.mark.parametrize("database_url", ["postgres"], indirect=True)


@ON_POSTGRES
async def test_two_inbox_workers_never_double_a_report(deps: Deps) -> None:
    url = _postgres_only(deps)
    other = _second_worker(deps, url)
    room = ChatRoom(deps, "tg:-9001")
    await room.say(Person(SUPERADMIN, "Quản"), "/lien_ket xa=20791 thon=Thôn Hà Lam ho=100000")

    def processor(worker_deps: Deps) -> Any:
        async def process(
            payload: dict[str, Any], claim: Claim | None = None, round_: Round | None = None
        ) -> None:
            await router.handle(
                worker_deps,
                Incoming(
                    platform="tg",
                    chat_id="tg:-9001",
                    chat_kind="group",
                    sender_id=f"tg:{payload['from']}",
                    sender_name="Thành viên",
                    text=f"/bao_cao ho=1 dvc={payload['id']}",  # none the same: no resend
                    sent_at=datetime(2026, 11, 20, 3, tzinfo=UTC),
                    message_key=f"tg:-9001:{payload['id']}",
                    update_key=f"tg:update:{payload['id']}",
                ),
                claim=claim,
                within=round_.session if round_ else None,
            )
            await asyncio.sleep(0.002)  # let the other worker in

        return process

    workers = []
    for worker_deps in (deps, other):
        worker = InboxWorker(worker_deps.sessions)
        worker.processors["tg"] = processor(worker_deps)
        workers.append(worker)
    updates = [(f"tg:update:{n}", "tg", {"id": n, "from": 900 + n % 9}) for n in range(200)]
    await workers[0].store(updates)
    await workers[1].store(updates[:50])  # a redelivery of some of them
    handled = await asyncio.gather(*(w.drain() for w in workers))

    async with deps.sessions() as session:
        reports = (await session.exec(text("SELECT count(*) FROM report"))).one()  # type: ignore[call-overload]
    assert reports[0] == 200
    assert sum(handled) == 200
    assert min(handled) > 0  # both took part
    await other.sessions.kw["bind"].dispose()


class Slow:
    def __init__(self) -> None:
        self.posts: list[str] = []

    def handles(self, chat_id: str) -> bool:
        return True

    async def ready(self, chat_id: str) -> None:
        return None

    async def deliver(
        self, chat_id: str, reply: Reply, *, reply_to: str | None = None
    ) -> SendResult:
        await asyncio.sleep(0.003)
        self.posts.append(chat_id)
        return SendResult(SendOutcome.SENT)


@ON_POSTGRES
async def test_two_senders_post_each_board_once(deps: Deps) -> None:
    url = _postgres_only(deps)
    other = _second_worker(deps, url)
    admin = Person(SUPERADMIN, "Quản")
    for n in range(40):
        await ChatRoom(deps, f"tg:-95{n:02d}").say(
            admin, f"/lien_ket xa=20791 thon=Thôn {n} ho=50"
        )
    assert await jobs.run(deps, "leaderboards", at("2026-11-23T08:00")) == 40
    first, second = Slow(), Slow()
    await asyncio.gather(
        OutboxSender(deps, [first]).drain(), OutboxSender(other, [second]).drain()
    )
    counts = Counter(first.posts + second.posts)
    assert len(counts) == 40
    assert set(counts.values()) == {1}
    assert first.posts
    assert second.posts
    async with deps.sessions() as session:
        assert (await session.get(Chat, "tg:-9500")) is not None
    await other.sessions.kw["bind"].dispose()
