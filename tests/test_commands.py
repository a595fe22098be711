"""The one command table: what the router runs, what /huong_dan lists and what Telegram's menu
shows all come from it."""

from __future__ import annotations

from bot import app
from handlers import commands, router
from handlers.incoming import Deps
from sandbox.telegram import FakeTelegram
from tests.factories import settings_for
from tests.harness import ChatRoom, Clock, Person
from tests.tg_world import HA_LAM, Talk


def test_every_name_runs_its_declared_handler() -> None:
    for command in commands.TABLE:
        for name in command.names:
            runs = router.COMMANDS[name]
            guarded = command.audience != "member" and not command.decides_access
            assert (runs is command.run) != guarded, name
    assert set(router.COMMANDS) == set(commands.BY_NAME)
    assert {"bao_cao", "report", "bc"} == router.EDITABLE


async def test_help_lists_what_the_table_declares_for_each_audience(deps: Deps) -> None:
    room = ChatRoom(deps, "tg:-4001")
    await room.say(Person("tg:1", "Quản trị"), "/lien_ket xa=20791 thon=Thôn Hà Lam ho=100")
    member = await room.say(Person("tg:77", "Lan"), "/huong_dan")
    admin = await room.say(Person("tg:1", "Quản trị"), "/huong_dan")
    for command in commands.listed():
        line = f"/{command.name} (/{command.alias})"
        assert line in admin, line
        assert (line in member) == (command.audience == "member"), line


async def test_the_telegram_menu_is_the_table(
    fake: FakeTelegram, database_url: str, clock: Clock
) -> None:
    running = await app.start(settings_for(fake, database_url), schedule=False, clock=clock)
    try:
        await Talk(fake).say(HA_LAM, 101, "/huong_dan")
        shown = [c["command"] for c in fake.commands[None]]
        assert shown == [c.name for c in commands.listed(("member",))]
        assert [c["command"] for c in fake.commands["en"]] == [
            c.alias for c in commands.listed(("member",))
        ]
        assert all(c["description"] for c in fake.commands[None])
    finally:
        await fake.wake_pollers()
        await running.stop()


async def test_who_may_run_a_command_comes_from_its_declaration(deps: Deps) -> None:
    room = ChatRoom(deps, "tg:-4002")
    admin = Person("tg:1", "Quản trị")
    await room.say(admin, "/lien_ket xa=20791 thon=Thôn Hà Lam ho=100")
    member, leader = Person("tg:77", "Lan"), Person("tg:78", "Tổ Trưởng")
    await room.say(member, "/bao_cao ho=1")
    await room.say(leader, "/bao_cao ho=1")
    await room.say(admin, "/to_truong", reply_to=leader)
    for command in commands.TABLE:
        if command.audience == "member" or command.decides_access:
            continue
        out = await room.say(member, f"/{command.name}")
        assert out.startswith("⛔"), (command.name, out)
        if command.audience == "leader":
            assert "tổ trưởng" in out
            assert not (await room.say(leader, f"/{command.name}")).startswith("⛔"), command.name
        else:
            assert (await room.say(leader, f"/{command.name}")).startswith("⛔"), command.name
        assert not (await room.say(admin, f"/{command.name}")).startswith("⛔"), command.name
