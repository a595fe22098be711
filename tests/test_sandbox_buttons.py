"""The sandbox Bot API's buttons, through python-telegram-bot: inline keyboards and their
limits, a person pressing a button, answering the press once and in time, editing and deleting
the bot's own messages, ForceReply and reply keyboards."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from telegram import (
    Bot,
    ForceReply,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
)
from telegram.error import BadRequest

import bot.telegram  # noqa: F401 (PTB's durations as tcns runs it)
from bot.aiohttp_request import AiohttpRequest
from sandbox.telegram import FakeTelegram

GROUP = -1009876543210
LAN, MAI = 501, 502


class Clock:
    def __init__(self) -> None:
        self.now = 1_790_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def world() -> AsyncIterator[tuple[FakeTelegram, Bot, Clock]]:
    clock = Clock()
    fake = await FakeTelegram(clock=clock).start()  # privacy mode, as bots have by default
    fake.add_group(GROUP, "Tổ CNS thôn Phú Mỹ")
    fake.add_user(LAN, "Lan")
    fake.add_user(MAI, "Mai")
    bot = Bot(
        fake.token,
        base_url=f"{fake.url}/bot",
        request=AiohttpRequest(connection_pool_size=4),
        get_updates_request=AiohttpRequest(connection_pool_size=1),
    )
    async with bot:
        yield fake, bot, clock
    await fake.stop()


def _keyboard(*rows: list[tuple[str, str]]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(text, callback_data=data) for text, data in row] for row in rows]
    )


async def test_a_press_reaches_the_bot_and_is_answered_once(
    world: tuple[FakeTelegram, Bot, Clock],
) -> None:
    fake, bot, _clock = world
    sent = await bot.send_message(
        GROUP, "Hộ được hướng dẫn hôm nay?", reply_markup=_keyboard([("1", "f:1"), ("2", "f:2")])
    )
    assert sent.reply_markup is not None  # Telegram returns an inline keyboard with the message
    query_id = await fake.user_presses(GROUP, LAN, sent.message_id, "f:2")
    updates = await bot.get_updates(timeout=0)
    press = updates[-1].callback_query
    assert press is not None  # a bot in privacy mode gets button presses all the same
    assert press.data == "f:2"
    assert press.from_user.id == LAN
    assert press.message is not None
    assert press.message.message_id == sent.message_id
    assert await bot.answer_callback_query(press.id, text="Đã nhận")
    assert fake.callbacks[query_id]["answer"] == {"text": "Đã nhận", "show_alert": False}
    with pytest.raises(BadRequest, match=r"(?i)query is too old"):
        await bot.answer_callback_query(press.id)  # a query is answered once
    with pytest.raises(ValueError, match="no button"):
        await fake.user_presses(GROUP, LAN, sent.message_id, "f:9")


async def test_a_press_answered_late_is_refused(world: tuple[FakeTelegram, Bot, Clock]) -> None:
    fake, bot, clock = world
    sent = await bot.send_message(GROUP, "Ghi?", reply_markup=_keyboard([("Ghi", "ok")]))
    query_id = await fake.user_presses(GROUP, MAI, sent.message_id, "ok")
    clock.now += 16
    with pytest.raises(BadRequest, match=r"(?i)query is too old"):
        await bot.answer_callback_query(query_id)


async def test_the_bot_edits_and_deletes_its_own_messages(
    world: tuple[FakeTelegram, Bot, Clock],
) -> None:
    fake, bot, _clock = world
    sent = await bot.send_message(GROUP, "Bước 1", reply_markup=_keyboard([("Bỏ qua", "s")]))
    edited = await bot.edit_message_text(
        "Bước 2", chat_id=GROUP, message_id=sent.message_id, reply_markup=_keyboard([("3", "3")])
    )
    assert not isinstance(edited, bool)
    assert edited.text == "Bước 2"
    with pytest.raises(BadRequest, match=r"(?i)message is not modified"):
        await bot.edit_message_text(
            "Bước 2",
            chat_id=GROUP,
            message_id=sent.message_id,
            reply_markup=_keyboard([("3", "3")]),
        )
    collapsed = await bot.edit_message_reply_markup(chat_id=GROUP, message_id=sent.message_id)
    assert not isinstance(collapsed, bool)
    assert collapsed.reply_markup is None
    with pytest.raises(ValueError, match="no button"):
        await fake.user_presses(GROUP, LAN, sent.message_id, "3")  # the buttons are gone
    member = await fake.user_sends(GROUP, LAN, "/bao_cao ho=1")
    with pytest.raises(BadRequest, match=r"(?i)can.t be edited"):
        await bot.edit_message_text("x", chat_id=GROUP, message_id=member["message_id"])
    assert await bot.delete_message(GROUP, sent.message_id)
    with pytest.raises(BadRequest, match=r"(?i)not found"):
        await bot.delete_message(GROUP, sent.message_id)
    assert [s.method for s in fake.posts_to(GROUP)][-3:] == [
        "editmessagetext",
        "editmessagereplymarkup",
        "deletemessage",
    ]


@pytest.mark.parametrize(
    ("markup", "refusal"),
    [
        (_keyboard([("Ghi", "x" * 65)]), "BUTTON_DATA_INVALID"),
        (_keyboard([("Ghi", "ổ" * 22)]), "BUTTON_DATA_INVALID"),  # 66 bytes in UTF-8
        (_keyboard([(str(n), str(n)) for n in range(9)]), "reply markup is too long"),
        (_keyboard(*[[(f"{r}{c}", f"{r}{c}") for c in range(8)] for r in range(13)]), "too long"),
        (InlineKeyboardMarkup([[InlineKeyboardButton("Chỉ chữ")]]), "Text buttons are unallowed"),
        (_keyboard([(" ", "blank")]), "BUTTON_TEXT_INVALID"),
        (ForceReply(input_field_placeholder="x" * 65), "placeholder"),
        (ReplyKeyboardMarkup([[KeyboardButton("")]]), "BUTTON_TEXT_INVALID"),
    ],
)
async def test_markup_beyond_the_limits_is_refused(
    world: tuple[FakeTelegram, Bot, Clock], markup: object, refusal: str
) -> None:
    fake, bot, _clock = world
    with pytest.raises(BadRequest, match=rf"(?i){refusal}"):
        await bot.send_message(GROUP, "Hộ được hướng dẫn?", reply_markup=markup)  # type: ignore[arg-type]
    assert fake.posts_to(GROUP) == []


async def test_force_reply_and_reply_keyboards_within_the_limits_are_taken(
    world: tuple[FakeTelegram, Bot, Clock],
) -> None:
    fake, bot, _clock = world
    prompt = await bot.send_message(
        GROUP,
        "Hộ được hướng dẫn hôm nay?",
        reply_markup=ForceReply(selective=True, input_field_placeholder="ví dụ: 5"),
    )
    assert prompt.reply_markup is None  # only inline keyboards come back with the message
    fake.add_user(LAN, "Lan")
    # The answer is a reply to the bot's prompt: a bot in privacy mode sees it.
    await fake.user_sends(GROUP, LAN, "5", reply_to=prompt.message_id)
    updates = await bot.get_updates(timeout=0)
    assert updates[-1].message is not None
    assert updates[-1].message.text == "5"
    keyboard = ReplyKeyboardMarkup(
        [["📝 Báo cáo", "📊 Tiến độ"], ["🏆 Xếp hạng", "❓ Hướng dẫn"]], is_persistent=True
    )
    fake.users[LAN].started = True
    assert await bot.send_message(LAN, "Chọn một việc:", reply_markup=keyboard)
