"""The configuration cache: what an admin changes is what the next answer shows, in this
process and in another one; what a failed update wrote is never kept."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from bot.inbox import Claim, InboxWorker, Round
from handlers import router
from handlers.incoming import Deps, Incoming
from storage import cache, db, inbox, reports, units
from storage.models import Chat, Unit
from tests.conftest import SUPERADMIN
from tests.harness import ChatRoom, Person
from tests.test_query_cost import statements

ADMIN = Person(SUPERADMIN, "Quản trị")
LAN = Person("tg:501", "Nguyễn Thị Lan")


def _other_process(deps: Deps) -> Deps:
    """The same database through an engine (and a cache) of its own, as another process."""
    url = deps.sessions.kw["bind"].url.render_as_string(hide_password=False)
    return replace(deps, sessions=db.session_factory(db.create_engine(url)))


async def test_a_change_in_one_process_is_seen_by_the_next_update_of_another(
    deps: Deps,
) -> None:
    here = ChatRoom(deps, "tg:-7001")
    await here.say(ADMIN, "/lien_ket xa=20791 thon=Thôn Hà Lam ho=200")
    other = _other_process(deps)
    there = ChatRoom(other, "tg:-7001")
    for _ in range(2):  # the other process has it all cached now
        assert "mục tiêu 80%" in await there.say(LAN, "/tien_do")
    assert "Chỉ tiêu của Thôn Hà Lam" in await here.say(ADMIN, "/chi_tieu ho=90")
    assert "mục tiêu 90%" in await there.say(LAN, "/tien_do")
    await here.say(ADMIN, "/so_ho 300")
    assert "Thôn Hà Lam (300 hộ)" in await there.say(LAN, "/tien_do")
    await other.sessions.kw["bind"].dispose()


async def test_what_a_failed_update_wrote_is_not_kept(
    deps: Deps, monkeypatch: pytest.MonkeyPatch
) -> None:
    room = ChatRoom(deps, "tg:-7002")
    await room.say(ADMIN, "/lien_ket xa=20791 thon=Thôn Bình An ho=200")
    real = reports.create

    async def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("the disk is full")

    monkeypatch.setattr(reports, "create", broken)
    newcomer = Person("tg:777", "Người Mới")
    assert "chưa ghi nhận gì" in await room.say(newcomer, "/bao_cao ho=2")
    monkeypatch.setattr(reports, "create", real)
    # Her first message was rolled back, person row and membership with it: the bot must not
    # believe they exist.
    assert "Đã ghi cho Người Mới" in await room.say(newcomer, "/bao_cao ho=2")
    async with deps.sessions() as session:
        found = await session.exec(
            text("SELECT count(*) FROM membership WHERE person_id = 'tg:777'")
        )  # type: ignore[call-overload]
        assert found.one()[0] == 1


async def test_a_known_member_reports_in_nine_statements(deps: Deps) -> None:
    room = ChatRoom(deps, "tg:-7003")
    await room.say(ADMIN, "/lien_ket xa=20791 thon=Thôn An Phú ho=200")
    await room.say(LAN, "/bao_cao ho=1")
    await room.say(LAN, "/bao_cao ho=1")
    with statements(deps.sessions.kw["bind"]) as seen:
        assert "Đã ghi" in await room.say(LAN, "/bao_cao ho=2 app=1")
    # The update's key, the configuration's version, the message's report (an edit would find
    # it), the unit's totals, the member's reports of the day (the same figures sent again are
    # asked about, issue 25), the membership, the report, its values, the totals.
    assert len(seen) <= 9, seen


async def _village_id(deps: Deps, chat_id: str) -> int:
    async with deps.sessions() as session:
        chat = await session.get(Chat, chat_id)
        assert chat is not None
        assert chat.unit_id is not None
        return chat.unit_id


async def test_a_transaction_changing_configuration_never_reads_the_cache(deps: Deps) -> None:
    """Another worker may keep rows it read before this transaction commits: after its own
    change, a transaction reads the database, never those."""
    room = ChatRoom(deps, "tg:-7004")
    await room.say(ADMIN, "/lien_ket xa=20791 thon=Thôn Hà Lam ho=200")
    for _ in range(2):
        await room.say(LAN, "/tien_do")  # the unit is cached
    village = await _village_id(deps, "tg:-7004")
    async with deps.sessions() as mine, mine.begin():
        await cache.refresh(mine)
        unit = await units.get(mine, unit_id=village)
        assert unit is not None
        unit.households = 300
        await mine.flush()  # a change of configuration
        async with deps.sessions() as other, other.begin():  # another worker, meanwhile
            await cache.refresh(other)
            await units.get(other, unit_id=village)
        again = await units.get(mine, unit_id=village)
        assert again is not None
        assert again.households == 300


async def test_reading_a_row_again_keeps_what_this_session_changed(deps: Deps) -> None:
    room = ChatRoom(deps, "tg:-7005")
    await room.say(ADMIN, "/lien_ket xa=20791 thon=Thôn Hà Lam ho=200")
    for _ in range(2):
        await room.say(LAN, "/tien_do")
    village = await _village_id(deps, "tg:-7005")
    async with deps.sessions() as session, session.begin():
        await cache.refresh(session)
        unit = await units.get(session, unit_id=village)
        assert unit is not None
        unit.households = 300
        await units.get(session, unit_id=village)  # ctx.unit() again, before any flush
    async with deps.sessions() as session:
        stored = await session.get(Unit, village)
        assert stored is not None
        assert stored.households == 300


async def test_a_conflict_after_the_claim_is_retried_once_then_answered(
    deps: Deps, monkeypatch: pytest.MonkeyPatch
) -> None:
    room = ChatRoom(deps, "tg:-7006")
    await room.say(ADMIN, "/lien_ket xa=20791 thon=Thôn Hà Lam ho=200")
    calls = 0

    async def conflicting(ctx: object) -> list[object]:
        nonlocal calls
        calls += 1
        raise IntegrityError("INSERT …", {}, Exception("UNIQUE constraint failed"))

    monkeypatch.setitem(router.COMMANDS, "tien_do", conflicting)
    answers: list[str] = []

    async def process(
        payload: dict[str, Any], claim: Claim | None = None, round_: Round | None = None
    ) -> None:
        msg = Incoming(
            platform="tg",
            chat_id="tg:-7006",
            chat_kind="group",
            sender_id=LAN.id,
            sender_name=LAN.name,
            text="/tien_do",
            sent_at=deps.clock(),
            message_key=f"tg:-7006:{payload['n']}",
            update_key=f"tg:update:{payload['n']}",
        )
        answers.extend(
            r.rich.plain()
            for r in await router.handle(
                deps, msg, claim=claim, within=round_.session if round_ else None
            )
        )

    worker = InboxWorker(deps.sessions)
    worker.processors["tg"] = process
    worker.chat_of["tg"] = lambda _payload: "tg:-7006"
    await worker.store([("tg:update:71", "tg", {"n": 71}), ("tg:update:72", "tg", {"n": 72})])
    assert await worker.drain() == 2
    assert calls == 4  # each update: once, and once again
    assert len(answers) == 2
    assert all("chưa ghi nhận gì" in a for a in answers)
    async with deps.sessions() as session:
        assert await inbox.pending_count(session) == 0
