"""The configuration cache: what an admin changes is what the next answer shows, in this
process and in another one; what a failed update wrote is never kept."""

from __future__ import annotations

from dataclasses import replace

import pytest
from sqlalchemy import text

from handlers.incoming import Deps
from storage import db, reports
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


async def test_a_known_member_reports_in_eight_statements(deps: Deps) -> None:
    room = ChatRoom(deps, "tg:-7003")
    await room.say(ADMIN, "/lien_ket xa=20791 thon=Thôn An Phú ho=200")
    await room.say(LAN, "/bao_cao ho=1")
    await room.say(LAN, "/bao_cao ho=1")
    with statements(deps.sessions.kw["bind"]) as seen:
        assert "Đã ghi" in await room.say(LAN, "/bao_cao ho=2 app=1")
    # The update's key, the configuration's version, the message's report (an edit would find
    # it), the unit's totals, the membership, the report, its values, the totals.
    assert len(seen) <= 8, seen
