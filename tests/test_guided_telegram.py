"""Guided reports through python-telegram-bot against the sandbox Bot API, in a group in
privacy mode: a tap to start, one question at a time (by reply and by button), skip, change,
record once, a restart in the middle, undo; two messages into the group a report, however many
members report at once; and every keyboard the bot sent within the limits."""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

from sqlmodel import func, select

from bot import app
from handlers import guided
from sandbox import markup
from sandbox.telegram import FakeTelegram, Sent
from scheduler import jobs
from scheduler.outbox import OutboxSender
from storage.models import Flow, Report, UnitTotal
from storage.reports import ALL_TIME
from tests.conftest import lift_group_limit
from tests.factories import settings_for
from tests.harness import Clock
from tests.tg_world import ADMIN_ID, HA_LAM, Talk

LAN, HUNG = 101, 102


def text_of(fake: FakeTelegram, message_id: int, chat: int = HA_LAM) -> str:
    """The message's text as it stands now ("" once deleted)."""
    return str((fake.message(chat, message_id) or {}).get("text", ""))


def _markup(sent: Sent) -> dict[str, Any] | None:
    given = sent.params.get("reply_markup")
    return json.loads(given) if isinstance(given, str) else given


def card_in(
    fake: FakeTelegram, chat: int, flow_data: str = "v0", *, owner: str = ""
) -> int | None:
    """The message id of the newest live card (a message with a flow's buttons), of the
    person named `owner` if given."""
    for sent in reversed(fake.sent):
        if sent.chat_id != chat or sent.message_id is None:
            continue
        if owner not in text_of(fake, sent.message_id, chat):
            continue
        if any(guided.action(d) == flow_data for _t, d in fake.buttons(chat, sent.message_id)):
            return sent.message_id
    return None


def newer_card(fake: FakeTelegram, than: int, owner: str, *, chat: int = HA_LAM) -> int | None:
    found = card_in(fake, chat, owner=owner)
    return found if found != than else None


def asks(fake: FakeTelegram, chat: int) -> list[Sent]:
    """The reply requests (ForceReply) still in the chat."""
    return [
        s
        for s in fake.sent
        if s.chat_id == chat
        and s.method == "sendmessage"
        and (_markup(s) or {}).get("force_reply")
        and fake.message(chat, s.message_id or 0) is not None
    ]


def data_of(fake: FakeTelegram, chat: int, message_id: int, action: str) -> str:
    """The data of the button for `action` under the message ("" when there is none)."""
    buttons = fake.buttons(chat, message_id)
    return next((d for _t, d in buttons if guided.action(d) == action), "")


async def press(
    fake: FakeTelegram, chat: int, user: int, message_id: int, data: str
) -> dict[str, Any]:
    """Presses and waits for the answer to the press."""
    query = await fake.user_presses(chat, user, message_id, data)
    await fake.until(lambda: fake.callbacks[query]["answer"] is not None)
    answer: dict[str, Any] = fake.callbacks[query]["answer"]
    return answer


async def totals(running: app.Running) -> dict[str, int]:
    async with running.deps.sessions() as s:
        rows = await s.exec(
            select(UnitTotal).where(UnitTotal.period == ALL_TIME, UnitTotal.unit_id > 0)
        )
        codes = {i.id: i.code for i in await _indicators(s)}
        village = await _village(s)
        return {codes[r.indicator_id]: r.value for r in rows.all() if r.unit_id == village}


async def _indicators(s: Any) -> list[Any]:
    from storage.models import Indicator

    return list((await s.exec(select(Indicator))).all())


async def _village(s: Any) -> int:
    from storage.models import Chat

    chat = await s.get(Chat, f"tg:{HA_LAM}")
    return int(chat.unit_id)


async def flow_state(running: app.Running, owner: int = LAN) -> tuple[int, str]:
    """(question, answers) of the person's open flow, as stored."""
    async with running.deps.sessions() as s:
        flow = (await s.exec(select(Flow).where(Flow.person_id == f"tg:{owner}"))).first()
        assert flow is not None
        return flow.step, flow.answers


async def settled(running: app.Running, owner: int = LAN) -> None:
    """Until the bot has kept the ids of the flow's messages (it does once they are sent)."""
    async with asyncio.timeout(10):
        while True:
            async with running.deps.sessions() as s:
                flow = (await s.exec(select(Flow).where(Flow.person_id == f"tg:{owner}"))).one()
            if (flow.ask_id or "").isdigit() and flow.card_id is not None:
                return
            await asyncio.sleep(0.02)


def sends(fake: FakeTelegram, chat: int, since: int = 0) -> list[Sent]:
    """The messages the bot sent into the chat (not edits, not deletions) from `since` on in
    the server's log, leaving out the reply requests a member asked for."""
    return [
        s
        for s in fake.sent[since:]
        if s.chat_id == chat
        and s.method == "sendmessage"
        and not (_markup(s) or {}).get("force_reply")
    ]


async def count(running: app.Running, model: Any) -> int:
    async with running.deps.sessions() as s:
        return int((await s.exec(select(func.count()).select_from(model))).one())


async def test_a_guided_report_in_a_group(
    fake: FakeTelegram, database_url: str, clock: Clock
) -> None:
    settings = settings_for(fake, database_url)
    running = await app.start(settings, schedule=False, clock=clock)
    lift_group_limit(fake, running)
    talk = Talk(fake)
    try:
        await talk.say(HA_LAM, ADMIN_ID, "/lien_ket xa=20791 thon=Thôn Hà Lam ho=200")
        # /bao_cao alone: the template, and the button.
        await talk.say(HA_LAM, LAN, "/bao_cao")
        offer = fake.messages_to(HA_LAM)[-1]
        assert offer.message_id is not None
        assert [t for t, _d in fake.buttons(HA_LAM, offer.message_id)] == ["📝 Báo cáo"]

        started = next(n for n, s in enumerate(fake.sent) if s is offer)  # the report's start
        answer = await press(fake, HA_LAM, LAN, offer.message_id, "go")
        assert answer["show_alert"] is False
        card = await fake.until(lambda: card_in(fake, HA_LAM))
        text = text_of(fake, card)
        assert "câu 1/4" in text, text  # the national indicators with a target, in plan order
        assert "Hộ được hướng dẫn hôm nay?" in text
        assert "còn 160 hộ để đạt 80%" in text, text
        assert "“Gõ số”" in text  # how to answer with a number no button offers
        # No reply request until she asks for one: a question costs the group no message.
        assert asks(fake, HA_LAM) == []
        typing = await press(fake, HA_LAM, LAN, card, data_of(fake, HA_LAM, card, "t"))
        assert "Trả lời câu hỏi bên dưới" in typing["text"]
        ask = await fake.until(lambda: next(iter(asks(fake, HA_LAM)), None))
        force = _markup(ask)
        assert force == {
            "force_reply": True,
            "selective": True,
            "input_field_placeholder": force["input_field_placeholder"],  # type: ignore[index]
        }
        assert "Lan" in (ask.text or "")  # aimed at her: mentioned

        # Another member pressing Lan's buttons is refused, and nothing moves.
        refused = await press(fake, HA_LAM, HUNG, card, data_of(fake, HA_LAM, card, "v5"))
        assert refused["show_alert"] is True
        assert "Nguyễn Thị Lan" in refused["text"]
        assert await flow_state(running) == (0, "{}")  # the press was answered and did nothing

        # Question 1 by reply, in words and with courtesy; the bot sees it in privacy mode.
        before = len(fake.sent)
        await fake.user_sends(HA_LAM, LAN, "5 hộ ạ", reply_to=ask.message_id)
        await fake.until(lambda: "câu 2" in text_of(fake, card))
        await fake.until(lambda: fake.message(HA_LAM, ask.message_id or 0) is None)
        assert any(s.method == "deletemessage" for s in fake.sent[before:])
        assert asks(fake, HA_LAM) == []  # the next question is on the card only

        # Question 2 by button.
        await press(fake, HA_LAM, LAN, card, data_of(fake, HA_LAM, card, "v2"))
        await fake.until(lambda: "câu 3" in text_of(fake, card))

        # A restart in the middle: the flow is in the database and goes on.
        await fake.wake_pollers()
        await running.stop()
        running = await app.start(settings, schedule=False, clock=clock)
        lift_group_limit(fake, running)

        # Question 3 skipped, question 4 by reply in words; then the two indicators without a
        # target after "➕ Chỉ số khác": 5 by button, 6 skipped.
        await press(fake, HA_LAM, LAN, card, data_of(fake, HA_LAM, card, "s"))
        await fake.until(lambda: "câu 4" in text_of(fake, card))
        await press(fake, HA_LAM, LAN, card, data_of(fake, HA_LAM, card, "t"))
        ask = await fake.until(
            lambda: next((a for a in asks(fake, HA_LAM) if "chữ ký số" in (a.text or "")), None)
        )
        await fake.user_sends(HA_LAM, LAN, "năm", reply_to=ask.message_id)
        await fake.until(lambda: "Sẽ ghi" in text_of(fake, card))
        assert "Chưa hỏi (ở đây không có chỉ tiêu)" in text_of(fake, card)
        await press(fake, HA_LAM, LAN, card, data_of(fake, HA_LAM, card, "m"))
        await fake.until(lambda: "câu 5/6" in text_of(fake, card))
        await press(fake, HA_LAM, LAN, card, data_of(fake, HA_LAM, card, "v1"))
        await fake.until(lambda: "câu 6" in text_of(fake, card))
        await press(fake, HA_LAM, LAN, card, data_of(fake, HA_LAM, card, "s"))
        await fake.until(lambda: "Sẽ ghi" in text_of(fake, card))
        await fake.until(lambda: not asks(fake, HA_LAM))
        text = text_of(fake, card)
        assert "Hộ được hướng dẫn +5" in text, text
        assert "Hộ cài ứng dụng công dân +2" in text
        assert "Bỏ qua: " in text

        # Change one value: "Sửa", the second indicator, 3.
        await press(fake, HA_LAM, LAN, card, data_of(fake, HA_LAM, card, "e"))
        await fake.until(lambda: data_of(fake, HA_LAM, card, "e1"))
        await press(fake, HA_LAM, LAN, card, data_of(fake, HA_LAM, card, "e1"))
        await fake.until(lambda: card_in(fake, HA_LAM, "v3") == card)
        await press(fake, HA_LAM, LAN, card, data_of(fake, HA_LAM, card, "v3"))
        await fake.until(lambda: "Hộ cài ứng dụng công dân +3" in text_of(fake, card))
        assert await count(running, Report) == 0  # nothing stored before "Ghi"

        # "Ghi" pressed twice (a double tap, both before the bot answered): one report.
        record = data_of(fake, HA_LAM, card, "ok")
        first = await fake.user_presses(HA_LAM, LAN, card, record)
        second = await fake.user_presses(HA_LAM, LAN, card, record)
        await fake.until(lambda: all(fake.callbacks[q]["answer"] for q in (first, second)))
        await fake.until(lambda: "Đã ghi cho" in text_of(fake, card))
        assert await count(running, Report) == 1
        assert await totals(running) == {"ho": 5, "app": 3, "cks": 5, "dvc": 1}
        assert "đã được ghi" in fake.callbacks[second]["answer"]["text"]
        labels = [t for t, _d in fake.buttons(HA_LAM, card)]
        assert labels == ["↩️ Hoàn tác", "📝 Báo cáo"]
        # Into the group, the whole report sent two messages: the offer and the card, edited
        # from the first question to the confirmation; and the two reply requests she asked
        # for, each deleted once answered.
        assert [s.message_id for s in sends(fake, HA_LAM, started)] == [offer.message_id, card]
        requests = [s for s in fake.sent[started:] if (_markup(s) or {}).get("force_reply")]
        assert len(requests) == 2
        assert asks(fake, HA_LAM) == []

        # The same totals a typed report would have made, seen by /tien_do.
        out = await talk.say(HA_LAM, HUNG, "/tien_do")
        assert "Hộ được hướng dẫn: 5/200 hộ" in out

        # Only Lan can undo her report; then "Hoàn tác" withdraws it.
        undo = next(d for t, d in fake.buttons(HA_LAM, card) if "Hoàn tác" in t)
        assert (await press(fake, HA_LAM, HUNG, card, undo))["show_alert"] is True
        assert await totals(running) == {"ho": 5, "app": 3, "cks": 5, "dvc": 1}
        await press(fake, HA_LAM, LAN, card, undo)
        await fake.until(lambda: "Đã hủy" in text_of(fake, card))
        assert await totals(running) == {"ho": 0, "app": 0, "cks": 0, "dvc": 0}

        # Every press was answered, each before anything else the bot did about it.
        assert all(q["answer"] is not None for q in fake.callbacks.values())
        assert fake.errors == []
        async with running.deps.sessions() as s:
            flows = list((await s.exec(select(Flow))).all())
        assert [(f.outcome, f.open_key) for f in flows] == [("recorded", None)]
        assert_keyboards_ok(fake)
    finally:
        await fake.wake_pollers()
        await running.stop()


async def test_second_start_continues_and_typed_report_replaces_the_flow(
    fake: FakeTelegram, database_url: str, clock: Clock
) -> None:
    running = await app.start(settings_for(fake, database_url), schedule=False, clock=clock)
    lift_group_limit(fake, running)
    talk = Talk(fake)
    try:
        await talk.say(HA_LAM, ADMIN_ID, "/lien_ket xa=20791 thon=Thôn Hà Lam ho=200")
        await talk.say(HA_LAM, LAN, "/bao_cao")
        offer = fake.messages_to(HA_LAM)[-1].message_id or 0
        await press(fake, HA_LAM, LAN, offer, "go")
        card = await fake.until(lambda: card_in(fake, HA_LAM))
        await press(fake, HA_LAM, LAN, card, data_of(fake, HA_LAM, card, "v3"))
        await fake.until(lambda: "câu 2" in text_of(fake, card))

        # Another member starts their own from the same button; Lan's second start goes on
        # with hers (a new card at the bottom, the old one without buttons).
        await press(fake, HA_LAM, HUNG, offer, "go")
        answer = await press(fake, HA_LAM, LAN, offer, "go")
        assert "đang dở" in answer["text"] or "vẫn" in answer["text"], answer
        await fake.until(lambda: fake.buttons(HA_LAM, card) == [])
        again = await fake.until(lambda: newer_card(fake, card, "Lan"))
        assert "câu 2" in text_of(fake, again)
        assert await count(running, Flow) == 2
        # The card left behind says where the report went, not its question.
        await fake.until(lambda: "tiếp tục ở tin nhắn bên dưới" in text_of(fake, card))
        assert "câu 2" not in text_of(fake, card)

        # A typed report in the middle ends the flow and is recorded as typed.
        await fake.user_sends(HA_LAM, LAN, "/bao_cao ho=7")
        await fake.until(
            lambda: any("Đã ghi cho" in (m.text or "") for m in fake.messages_to(HA_LAM))
        )
        await fake.until(lambda: fake.buttons(HA_LAM, again) == [])
        assert "Đã đóng báo cáo từng bước" in text_of(fake, again)
        assert await totals(running) == {"ho": 7}
        async with running.deps.sessions() as s:
            outcomes = sorted(str(f.outcome) for f in (await s.exec(select(Flow))).all())
        assert outcomes == ["None", "replaced"]
        assert fake.errors == []
        assert_keyboards_ok(fake)
    finally:
        await fake.wake_pollers()
        await running.stop()


def assert_keyboards_ok(fake: FakeTelegram) -> None:
    """Every markup the bot sent, checked again by the limits the Bot API applies."""
    for sent in fake.sent:
        given = _markup(sent)
        if given is not None:
            markup.check(given)


def test_every_keyboard_the_bot_builds_is_within_the_limits() -> None:
    """The builders at their extremes: a flow id of fifteen digits, a plan of twelve
    indicators with 200-character names, a report id of fifteen digits; rendered for
    Telegram by the bot's own code and checked by the Bot API's limits (callback data of
    1-64 bytes, button texts, row sizes, one action each)."""
    from bot.telegram import reply_markup
    from handlers import guided, report
    from handlers.incoming import Reply
    from handlers.richtext import Rich
    from storage.models import Indicator

    big = 10**15 - 1
    indicators = [
        Indicator(id=n, code=f"chi_tieu_{n}", name_vi="Tên rất dài " * 16, name_en="x" * 200,
                  kind="households")
        for n in range(12)
    ]  # fmt: skip
    flow = Flow(id=big, chat_id="tg:-1", person_id="tg:1", unit_id=1, codes="", step=99)
    view = guided._View(flow, None, indicators, indicators, None)  # type: ignore[arg-type]
    keyboards = [
        guided.start_button(),
        guided._step_buttons(flow),
        guided._confirm_buttons(flow),
        guided._confirm_buttons(flow, can_record=False),
        guided._choose_buttons(view),
        report.after_report(big),
    ]
    for buttons in keyboards:
        rendered = reply_markup(Reply(Rich(), buttons=buttons))
        assert rendered is not None
        markup.check(rendered.to_dict())


async def test_a_private_chat_has_the_keyboard_and_the_flow_without_reply_requests(
    fake: FakeTelegram, database_url: str, clock: Clock
) -> None:
    running = await app.start(settings_for(fake, database_url), schedule=False, clock=clock)
    lift_group_limit(fake, running)
    assert running.telegram is not None
    running.telegram.pacer.per_private_second = 1000  # typed at machine speed
    talk = Talk(fake)
    try:
        await talk.say(HA_LAM, ADMIN_ID, "/lien_ket xa=20791 thon=Thôn Hà Lam ho=200")
        code = re.search(r"/tham_gia (\w+)", await talk.say(HA_LAM, ADMIN_ID, "/ma_tham_gia"))
        assert code is not None
        assert "Bạn đã tham gia" in await talk.say(LAN, LAN, f"/tham_gia {code[1]}")
        keys = _markup(fake.messages_to(LAN)[-1])
        assert keys is not None
        assert [[b["text"] for b in row] for row in keys["keyboard"]] == [
            ["📝 Báo cáo", "📊 Tiến độ"],
            ["🏆 Xếp hạng", "❓ Hướng dẫn"],
        ]
        assert keys["is_persistent"] is True

        await fake.user_sends(LAN, LAN, "📝 Báo cáo")  # the key sends its text
        first = await fake.until(lambda: card_in(fake, LAN))
        assert "câu 1/4" in text_of(fake, first, LAN)
        await fake.user_sends(LAN, LAN, "3 hộ")  # typed, no reply needed in a private chat
        second = await fake.until(lambda: newer_card(fake, first, "Lan", chat=LAN))
        assert "câu 2/4" in text_of(fake, second, LAN)
        assert fake.buttons(LAN, first) == []  # the old card kept its text, lost its buttons
        assert asks(fake, LAN) == []
        await press(fake, LAN, LAN, second, data_of(fake, LAN, second, "x"))
        await fake.until(lambda: "Đã hủy báo cáo từng bước" in text_of(fake, second, LAN))
        assert await count(running, Report) == 0

        out = await talk.say(LAN, LAN, "📊 Tiến độ")
        assert "Hộ được hướng dẫn: 0/200 hộ" in out
        assert fake.errors == []
        assert_keyboards_ok(fake)
    finally:
        await fake.wake_pollers()
        await running.stop()


async def test_admin_commands_are_shown_only_to_those_who_hold_rights_there(
    fake: FakeTelegram, database_url: str, clock: Clock
) -> None:
    running = await app.start(settings_for(fake, database_url), schedule=False, clock=clock)
    lift_group_limit(fake, running)
    talk = Talk(fake)

    def menu(user: int, language: str | None = None) -> set[str]:
        return {c["command"] for c in fake.member_commands.get((HA_LAM, user, language), [])}

    try:
        await talk.say(HA_LAM, ADMIN_ID, "/lien_ket xa=20791 thon=Thôn Hà Lam ho=200")
        members = {c["command"] for c in fake.commands[None]}
        assert "bao_cao" in members
        assert "lien_ket" not in members
        await fake.until(lambda: "lien_ket" in menu(ADMIN_ID) and "link" in menu(ADMIN_ID, "en"))

        said = await fake.user_sends(HA_LAM, HUNG, "/bao_cao ho=1")
        await talk.say(HA_LAM, ADMIN_ID, "/cap_quyen", reply_to=said["message_id"])
        await fake.until(lambda: "cap_quyen" in menu(HUNG))
        await talk.say(HA_LAM, ADMIN_ID, "/thu_quyen", reply_to=said["message_id"])
        await fake.until(lambda: not menu(HUNG) and not menu(HUNG, "en"))  # the members' menu

        said = await fake.user_sends(HA_LAM, LAN, "/bao_cao ho=1")
        await talk.say(HA_LAM, ADMIN_ID, "/to_truong", reply_to=said["message_id"])
        await fake.until(lambda: "tong_hop" in menu(LAN))
        assert "lien_ket" not in menu(LAN)

        # Rights given before menus were per person: /huong_dan sets the asker's.
        fake.member_commands.clear()
        await talk.say(HA_LAM, ADMIN_ID, "/huong_dan")
        await fake.until(lambda: "lien_ket" in menu(ADMIN_ID))
        assert fake.errors == []
    finally:
        await fake.wake_pollers()
        await running.stop()


async def test_taps_and_replies_that_could_go_wrong(
    fake: FakeTelegram, database_url: str, clock: Clock
) -> None:
    """A double tap on a figure answers one question; a reply whose question's id the bot
    does not have yet still answers; a misspelt command sent as a reply to the bot is still
    corrected; a flow left alone for half an hour is closed, its question deleted and its
    card saying so, once, with the button to start again."""
    running = await app.start(settings_for(fake, database_url), schedule=False, clock=clock)
    lift_group_limit(fake, running)
    talk = Talk(fake)
    try:
        await talk.say(HA_LAM, ADMIN_ID, "/lien_ket xa=20791 thon=Thôn Hà Lam ho=200")
        await talk.say(HA_LAM, LAN, "/bao_cao")
        offer = fake.messages_to(HA_LAM)[-1].message_id or 0
        await press(fake, HA_LAM, LAN, offer, "go")
        card = await fake.until(lambda: card_in(fake, HA_LAM))

        # Two taps on "2" before the card changed: question 1 answered, question 2 not.
        two = data_of(fake, HA_LAM, card, "v2")
        first = await fake.user_presses(HA_LAM, LAN, card, two)
        second = await fake.user_presses(HA_LAM, LAN, card, two)
        await fake.until(lambda: all(fake.callbacks[q]["answer"] for q in (first, second)))
        await fake.until(lambda: "câu 2" in text_of(fake, card))
        assert await flow_state(running) == (1, '{"ho": 2}')
        assert "Đã nhận" in fake.callbacks[second]["answer"]["text"]

        # A reply that is no answer: the question asked again in place of the last one, not
        # one more message in the group.
        await press(fake, HA_LAM, LAN, card, data_of(fake, HA_LAM, card, "t"))
        await fake.until(lambda: any("cài ứng dụng" in (a.text or "") for a in asks(fake, HA_LAM)))
        await settled(running)
        question = asks(fake, HA_LAM)[-1]
        await fake.user_sends(HA_LAM, LAN, "nhà ông Ba", reply_to=question.message_id)
        again = await fake.until(
            lambda: next((a for a in asks(fake, HA_LAM) if "Chưa hiểu" in (a.text or "")), None)
        )
        assert "cài ứng dụng" in (again.text or "")
        assert fake.message(HA_LAM, question.message_id or 0) is None
        assert len(asks(fake, HA_LAM)) == 1

        # The bot lost the ids of its messages (a failed write): a reply to its card answers.
        await settled(running)
        async with running.deps.sessions() as s:
            flow = (await s.exec(select(Flow))).one()
            flow.ask_id = flow.card_id = None
            s.add(flow)
            await s.commit()
        await fake.user_sends(HA_LAM, LAN, "3 hộ ạ", reply_to=card)
        await fake.until(
            lambda: "câu 3" in text_of(fake, card) or bool(newer_card(fake, card, "Lan"))
        )
        assert await flow_state(running) == (2, '{"app": 3, "ho": 2}')
        # (The question asked again above stays: its id was lost with the card's.)
        assert len(asks(fake, HA_LAM)) == 1
        # A reply request for question 3, on the card sent after the lost write.
        third = await fake.until(lambda: newer_card(fake, card, "Lan"))
        await press(fake, HA_LAM, LAN, third, data_of(fake, HA_LAM, third, "t"))
        await fake.until(lambda: any("thanh toán" in (a.text or "") for a in asks(fake, HA_LAM)))
        await settled(running)

        # "/bao-cao ho=2" as a reply to the bot: corrected, as it is when it is no reply.
        await fake.user_sends(HA_LAM, HUNG, "/bao-cao ho=2", reply_to=offer)
        await fake.until(
            lambda: any("/bao_cao ho=2" in (m.text or "") for m in fake.messages_to(HA_LAM))
        )
        assert await count(running, Report) == 0

        # Half an hour of silence: closed, said once on the card, the question gone.
        before = len(sends(fake, HA_LAM))
        clock.advance(minutes=31)
        assert await jobs.close_silent_flows(running.deps, clock()) == 1
        assert await jobs.close_silent_flows(running.deps, clock()) == 0
        assert running.telegram is not None
        await OutboxSender(running.deps, [running.telegram]).drain()
        # The question the flow knows is deleted; the one whose id was lost stays.
        await fake.until(
            lambda: all("thanh toán" not in (a.text or "") for a in asks(fake, HA_LAM))
        )
        assert len(asks(fake, HA_LAM)) == 1
        # The card sent after the lost write is the one the flow knows: it becomes the notice,
        # with the button to start again. (The first card keeps its keys, its id forgotten; a
        # tap there is answered as stale.)
        await fake.until(lambda: "chờ quá 30 phút" in text_of(fake, third))
        assert "câu 3" not in text_of(fake, third)
        assert [d for _t, d in fake.buttons(HA_LAM, third)] == ["go"]
        assert len(sends(fake, HA_LAM)) == before  # told on the card, not in a new message
        assert await totals(running) == {}
        assert fake.errors == []
        assert_keyboards_ok(fake)
    finally:
        await fake.wake_pollers()
        await running.stop()


async def test_eight_members_reporting_at_once_send_two_messages_each(
    fake: FakeTelegram, database_url: str, clock: Clock
) -> None:
    """Eight members of one group tap through guided reports at once, each step of each
    report interleaved with the others': every report sends the group two messages (its offer
    and its card, edited from the first question to the recorded confirmation), so the eight
    fit in Telegram's 20 messages a minute into a group, which the sandbox enforces here."""
    running = await app.start(settings_for(fake, database_url), schedule=False, clock=clock)
    assert running.telegram is not None
    running.telegram.pacer.per_group_minute = 10_000  # the bot's own pace: the sandbox's counts
    running.deps.flood.limit = 10_000
    talk = Talk(fake)
    team = {300 + k: f"TV{k:02d}" for k in range(1, 9)}
    for user, name in team.items():
        fake.add_user(user, "Thành viên", name)
    try:
        await talk.say(HA_LAM, ADMIN_ID, "/lien_ket xa=20791 thon=Thôn Hà Lam ho=200")
        started = len(fake.sent)
        for user in team:  # the offers one by one (sent at once, the bot may merge them)
            await talk.say(HA_LAM, user, "/bao_cao")
        offers = [s.message_id or 0 for s in sends(fake, HA_LAM, started)]
        assert len(offers) == len(team)
        assert all(fake.buttons(HA_LAM, offer) == [("📝 Báo cáo", "go")] for offer in offers)
        starts = [
            await fake.user_presses(HA_LAM, user, offer, "go")
            for user, offer in zip(team, offers, strict=True)
        ]
        await fake.until(lambda: all(fake.callbacks[q]["answer"] for q in starts))

        def cards_now() -> dict[int, int] | None:
            found = {user: card_in(fake, HA_LAM, owner=name) for user, name in team.items()}
            return {u: c for u, c in found.items() if c} if all(found.values()) else None

        cards = await fake.until(cards_now)
        assert len(set(cards.values())) == len(team)

        async def round_(action: str, shows: str) -> None:
            """Each member presses `action` on their card, all before any edit lands."""
            queries = [
                await fake.user_presses(HA_LAM, user, card, data_of(fake, HA_LAM, card, action))
                for user, card in cards.items()
            ]
            await fake.until(lambda: all(fake.callbacks[q]["answer"] for q in queries))
            await fake.until(lambda: all(shows in text_of(fake, c) for c in cards.values()))

        for question in range(2, 5):
            await round_("v1", f"câu {question}/4")
        await round_("v1", "Sẽ ghi cho")
        await round_("ok", "Đã ghi cho")

        assert await count(running, Report) == len(team)
        figures = await totals(running)
        assert len(figures) == 4  # the indicators with a target
        assert set(figures.values()) == {len(team)}
        sent = sends(fake, HA_LAM, started)
        assert len(sent) == 2 * len(team)  # two messages a report
        assert {s.message_id for s in sent} == set(offers) | set(cards.values())
        assert all(fake.buttons(HA_LAM, c)[0][0] == "↩️ Hoàn tác" for c in cards.values())
        assert asks(fake, HA_LAM) == []  # no reply request: nobody asked to type
        assert fake.errors == []  # no 429: within the group's 20 a minute
        assert all(q["answer"] is not None for q in fake.callbacks.values())
    finally:
        await fake.wake_pollers()
        await running.stop()
