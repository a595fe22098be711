"""The outage notice from memory (bot/outage.py): nobody told before AFTER seconds, each sender
told once an outage, one notice a chat for all who wrote there since the last look (a group takes
20 messages a minute), a press told apart, a new outage telling everyone afresh; and what the
notice says, names escaped."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from bot import render
from bot.outage import Outage
from handlers import router
from handlers.incoming import Incoming
from handlers.richtext import Rich

GROUP = "tg:-100500"
PRIVATE = "tg:77"
SENT = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def _msg(chat: str, person: int, n: int, *, press: bool = False, name: str = "") -> Incoming:
    return Incoming(
        platform="tg",
        chat_id=chat,
        chat_kind="group" if chat == GROUP else "private",
        sender_id=f"tg:{person}",
        sender_name=name or f"Nguyễn Văn {person}",
        text="/bao_cao ho=1",
        sent_at=SENT,
        message_key=f"{chat}:{n}",
        update_key=f"tg:update:{n}",
        press_id=f"press{n}" if press else None,
    )


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


async def _settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_one_notice_a_chat_naming_each_sender_once(monkeypatch: pytest.MonkeyPatch) -> None:
    told: list[list[Incoming]] = []

    async def tell(msgs: list[Incoming]) -> None:
        told.append(msgs)

    clock = Clock()
    outage = Outage(tell, clock=clock)
    monkeypatch.setattr("bot.outage.LOOK", 0.001)  # look often: the clock is ours
    try:
        # Three members of a group, one of them twice; one in a private chat; a press.
        for n, person in enumerate([1, 2, 1, 3]):
            outage.waiting(_msg(GROUP, person, n))
        outage.waiting(_msg(PRIVATE, 77, 10))
        outage.waiting(_msg(GROUP, 4, 11, press=True))
        await asyncio.sleep(0.02)
        assert told == []  # not before AFTER seconds

        clock.now += 3.5
        await asyncio.sleep(0.02)
        by_chat = {(m[0].chat_id, m[0].press_id is not None): m for m in told}
        assert len(told) == 3
        group = by_chat[(GROUP, False)]
        assert [m.sender_id for m in group] == ["tg:1", "tg:2", "tg:3"]  # each once, in order
        assert group[0].message_key == f"{GROUP}:0"  # the first message is the one quoted
        assert [m.sender_id for m in by_chat[(PRIVATE, False)]] == ["tg:77"]
        assert [m.press_id for m in by_chat[(GROUP, True)]] == ["press11"]

        # Still away: a told member writing again is not told again; a new one is.
        told.clear()
        outage.waiting(_msg(GROUP, 2, 12))
        outage.waiting(_msg(GROUP, 5, 13))
        await asyncio.sleep(0.02)
        assert [[m.sender_id for m in msgs] for msgs in told] == [["tg:5"]]

        # Back, then away again: a new outage tells everyone afresh, after AFTER again.
        outage.stored("tg:update:99")
        told.clear()
        outage.waiting(_msg(GROUP, 2, 14))
        await asyncio.sleep(0.02)
        assert told == []
        clock.now += 3.5
        await asyncio.sleep(0.02)
        assert [[m.sender_id for m in msgs] for msgs in told] == [["tg:2"]]

        # A message stored before AFTER needs nobody told.
        outage.stored("tg:update:99")
        told.clear()
        outage.waiting(_msg(GROUP, 6, 15))
        outage.stored("tg:update:15")
        clock.now += 10
        await asyncio.sleep(0.02)
        assert told == []
    finally:
        await outage.close()


def _html(rich: Rich) -> list[str]:
    return render.chunks(rich, limit=render.TELEGRAM_LIMIT, render=render.html_line)


def test_the_notice_names_the_senders_escaped() -> None:
    alone = _html(router.storage_notice("vi").rich)
    assert "Hệ thống đang bận" in alone[0]
    assert "tg://user" not in alone[0]
    several = router.storage_notice(
        "vi", people=[("tg:1", "Trần Thị <b>Mai</b>"), ("tg:2", "Lê Văn Nam")]
    )
    html = _html(several.rich)[0]
    assert '<a href="tg://user?id=1">Trần Thị &lt;b&gt;Mai&lt;/b&gt;</a>' in html
    assert '<a href="tg://user?id=2">Lê Văn Nam</a>' in html
    assert "không cần gửi lại" in html
    english = _html(router.storage_notice("en", people=[("tg:1", "A"), ("tg:2", "B")]).rich)
    assert "do not send it again" in english[0]
