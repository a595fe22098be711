"""Hostile input: no parser raises, no raw update crashes the transports, every refusal of a
command is a localized message."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import select
from telegram import Bot, Update

from bot.telegram import to_incoming as telegram_incoming
from bot.zalo import to_incoming as zalo_incoming
from handlers.config_grammar import parse_member, parse_schedule, parse_targets, parse_when
from handlers.grammar import Problem, parse_count, parse_link
from handlers.incoming import NAME_CHARS, Deps, Incoming
from handlers.problems import _messages
from handlers.reading import parse_report
from handlers.router import COMMANDS, handle, parse_command
from storage.folding import safe_name
from storage.models import Unit
from tests.conftest import SUPERADMIN
from tests.harness import ChatRoom, Clock, Person
from tests.test_grammar import MATCHER, TODAY

BOT = Bot("123456:TEST-token-for-the-fake-bot-api")
TEXT = st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=400) | st.sampled_from(
    ["", "=", "==", "ho=", "xa=", "nhac=thu", "ngay=99/99", "\u0000", "🙂" * 50]
)


@settings(max_examples=300, deadline=None)
@given(TEXT)
def test_command_parsers_never_raise(text: str) -> None:
    for parse in (parse_link, parse_count, parse_schedule, parse_member):
        parse(text)
    parse_targets(text, MATCHER)
    parse_when(text)
    parse_command(text, {"tcns_test_bot"}, bare=True)


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner,
                                                                max_size=5),
    max_leaves=20,
)  # fmt: skip


def _user(draw: Any) -> dict[str, Any]:
    user: dict[str, Any] = {"id": draw(st.integers(1, 10**10)), "is_bot": draw(st.booleans()),
                            "first_name": draw(st.text(max_size=30))}  # fmt: skip
    if draw(st.booleans()):
        user["last_name"] = draw(st.text(max_size=10))
    if draw(st.booleans()):
        user["username"] = draw(st.from_regex(r"[A-Za-z][A-Za-z0-9_]{4,20}", fullmatch=True))
    return user


def _telegram_update(draw: Any) -> dict[str, Any]:
    kind = draw(st.sampled_from(["private", "group", "supergroup", "channel"]))
    message: dict[str, Any] = {
        "message_id": draw(st.integers(-5, 2**31)),
        "date": draw(st.integers(0, 2**31)),
        "chat": {"id": draw(st.integers(-(10**13), 10**13)), "type": kind},
    }
    if kind != "private" and draw(st.booleans()):
        message["chat"]["title"] = draw(st.text(max_size=30))
    if draw(st.booleans()):
        message["from"] = _user(draw)
    if draw(st.booleans()):
        message["text"] = draw(TEXT)
    if draw(st.booleans()):
        message["reply_to_message"] = {
            "message_id": draw(st.integers(1, 2**31)),
            "date": draw(st.integers(0, 2**31)),
            "chat": message["chat"],
            "from": _user(draw),
        }
    if draw(st.booleans()):
        message["junk"] = draw(JSON)
    key = draw(st.sampled_from(["message", "edited_message", "channel_post"]))
    return {"update_id": draw(st.integers(0, 2**31)), key: message}


def _ptb_reading(update: Update) -> dict[str, Any] | None:
    """What tcns read from python-telegram-bot's own parsing of an update, before it read the
    JSON itself (bot/telegram.py until 2026-12)."""
    message = update.edited_message or update.message
    if message is None or message.text is None or message.from_user is None:
        return None
    if message.from_user.is_bot:
        return None
    replied = message.reply_to_message.from_user if message.reply_to_message else None
    if replied is not None and replied.is_bot:
        replied = None
    return {
        "chat_id": f"tg:{message.chat.id}",
        "chat_kind": "private" if message.chat.type == "private" else "group",
        "chat_title": message.chat.title,
        "sender_id": f"tg:{message.from_user.id}",
        "sender_name": message.from_user.full_name,
        "sender_username": message.from_user.username,
        "text": message.text,
        "sent_at": message.date,
        "message_key": f"tg:{message.chat.id}:{message.message_id}",
        "edited": update.edited_message is not None,
        "update_key": f"tg:update:{update.update_id}",
        "reply_to_id": f"tg:{replied.id}" if replied else None,
        "reply_to_name": replied.full_name if replied else None,
    }


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_raw_telegram_updates_never_crash(data: st.DataObject) -> None:
    raw = _telegram_update(data.draw)
    junk = data.draw(st.booleans())
    if junk:  # one field of the message anything at all
        field = data.draw(st.sampled_from(["message_id", "date", "chat", "from", "text"]))
        for message in raw.values():
            if isinstance(message, dict):
                message[field] = data.draw(JSON)
    msg = telegram_incoming(json.loads(json.dumps(raw)))
    assert msg is None or isinstance(msg, Incoming)
    # Where python-telegram-bot reads the update too, both read the same message.
    try:
        ptb = _ptb_reading(Update.de_json(json.loads(json.dumps(raw)), BOT))
    except (KeyError, TypeError, ValueError, AttributeError, OSError, OverflowError):
        return  # PTB's own limits (a date past what the C library can hold raises OSError)
    if junk and (msg is None or ptb is None):
        return  # PTB lets through some types that are not what Telegram sends; tcns does not
    assert (msg is None) == (ptb is None), (msg, ptb)
    if msg is None or ptb is None:
        return
    for name, value in ptb.items():
        if name in ("sender_name", "reply_to_name", "chat_title") and value:
            value = safe_name(value, limit=NAME_CHARS)  # what tcns keeps of a name
        if name in ("sender_name", "reply_to_name") and not value:
            continue  # no first name: PTB says "", tcns the id or the last name
        assert getattr(msg, name) == value, name


@settings(max_examples=300, deadline=None)
@given(JSON)
def test_raw_zalo_payloads_never_crash(payload: Any) -> None:
    if isinstance(payload, dict):
        for update in (payload, {"event_name": "message.text.received", "message": payload}):
            msg = zalo_incoming(update)
            assert msg is None or isinstance(msg, Incoming)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(command=st.sampled_from(sorted(COMMANDS)), args=TEXT, private=st.booleans())
async def test_every_command_answers_hostile_arguments(
    deps: Deps, command: str, args: str, private: bool
) -> None:
    msg = Incoming(
        platform="tg",
        chat_id="tg:7" if private else "tg:-7",
        chat_kind="private" if private else "group",
        sender_id=SUPERADMIN,
        sender_name="<b>&",
        text=f"/{command} {args}",
        sent_at=datetime(2026, 11, 20, 3, tzinfo=UTC),
        message_key=f"tg:-7:{abs(hash(args))}",
    )
    replies = await handle(deps, msg)
    for reply in replies:
        text = reply.rich.plain()
        assert "Something went wrong" not in text
        assert "Có lỗi xảy ra" not in text


def test_every_grammar_refusal_has_a_message() -> None:
    known = set(_messages())
    for text in ("ho=-1", "ho=abc", "x=1", "ho=1 ho=1", "", "12", "ho=2.5", "ho=999999", "ho"):
        result = parse_report(text, MATCHER, today=TODAY)
        assert isinstance(result, Problem)
        assert result.code in known, result.code


async def test_flood_is_slowed_with_one_word(deps: Deps, clock: Clock) -> None:
    """Over the limit a person is told once and then answered no more for a while; what they
    sent is processed all the same (tests/test_flood.py shows the reports are kept)."""
    from handlers.flood import FloodGate
    from tests.harness import ChatRoom, Person

    deps.flood = FloodGate(limit=3, period=60)
    room = ChatRoom(deps, "tg:-8")
    spammer = Person("tg:666", "Gửi Liên Tục")
    answers = [await room.say(spammer, "/huong_dan") for _ in range(6)]
    assert all("tcns" in a for a in answers[:3])
    assert "quá nhanh" in answers[3]
    assert "vẫn được xử lý" in answers[3]
    assert answers[4:] == ["", ""]  # told once, then quiet
    assert "tcns" in await room.say(Person("tg:667", "Người Khác"), "/huong_dan")
    assert "tcns" in await ChatRoom(deps, "tg:-9").say(spammer, "/huong_dan")  # another chat
    clock.advance(seconds=61)  # by the time the messages are sent, not handled
    again = await room.say(spammer, "/huong_dan")
    assert "tcns" in again
    assert "không có trả lời do bạn gửi quá nhanh: 3" in again


async def test_oversized_message_is_refused(deps: Deps) -> None:
    from tests.harness import ChatRoom, Person

    out = await ChatRoom(deps, "tg:-8").say(Person("tg:5", "A"), "/bao_cao " + "ho=1 " * 2000)
    assert "quá dài" in out


def test_a_date_no_calendar_holds_is_dropped_not_a_crash() -> None:
    """Hypothesis found it: `datetime.fromtimestamp` raises OSError past what the C library
    holds. No platform sends such a date; an update carrying one is not read."""
    message: dict[str, Any] = {
            "message_id": 1, "date": 67_768_036_191_676_800,
            "chat": {"id": 5, "type": "private"},
            "from": {"id": 5, "first_name": "A", "is_bot": False}, "text": "/bao_cao ho=1",
    }  # fmt: skip
    update = {"update_id": 1, "message": message}
    assert telegram_incoming(update) is None
    message["date"] = 1_795_000_000
    assert telegram_incoming(update) is not None


@pytest.mark.parametrize(
    "command",
    [
        "/lien_ket xa=20791 thon=<b>Hà Lam</b> ho=350",
        "/lien_ket xa=20791 thon=🌾🌾 ho=350",
        "/lien_ket xa=20791 thon=???",
    ],
)
async def test_a_village_name_that_is_no_name_is_refused(deps: Deps, command: str) -> None:
    group = ChatRoom(deps, "tg:-8801")
    out = await group.say(Person(SUPERADMIN, "Quản trị"), command)
    assert "không phải là tên" in out, out
    assert "Ví dụ" in out or "/lien_ket" in out
    async with deps.sessions() as s:
        assert (await s.exec(select(Unit).where(Unit.level == "village"))).first() is None
