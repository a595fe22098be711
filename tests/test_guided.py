"""Guided reports without a platform: flows gone silent, reading typed answers."""

from __future__ import annotations

from datetime import date

import pytest
from sqlmodel import select

from handlers import report
from handlers.incoming import Deps, buttons_from_json
from handlers.reading.answer import read_number
from handlers.richtext import Rich
from scheduler import jobs
from storage.models import Flow, Outbox
from tests.harness import ChatRoom, Clock, Person

ADMIN = Person("tg:1", "Quản trị")
LAN = Person("zalo:lan", "Nguyễn Thị Lan")


async def _team(deps: Deps) -> ChatRoom:
    group = ChatRoom(deps, "tg:-4100")
    await group.say(ADMIN, "/lien_ket xa=20791 thon=Thôn Hà Lam ho=200")
    return ChatRoom(deps, "zalo:lan-chat", kind="private", buttons=False)


async def _join(deps: Deps, room: ChatRoom) -> None:
    group = ChatRoom(deps, "tg:-4100")
    code = (await group.say(ADMIN, "/ma_tham_gia")).split("/tham_gia ")[1].split()[0]
    assert "Bạn đã tham gia" in await room.say(LAN, f"/tham_gia {code}")


async def test_a_silent_flow_ends_after_half_an_hour_and_says_so_once(
    deps: Deps, clock: Clock
) -> None:
    room = await _team(deps)
    await _join(deps, room)
    assert "câu 1/4" in await room.say(LAN, "bao cao")
    assert "câu 2/4" in await room.say(LAN, "4")
    clock.advance(minutes=29)
    assert await jobs.close_silent_flows(deps, clock()) == 0
    assert "câu 3/4" in await room.say(LAN, "1")  # an answer restarts the half hour
    clock.advance(minutes=31)
    assert await jobs.close_silent_flows(deps, clock()) == 1
    assert await jobs.close_silent_flows(deps, clock()) == 0  # said once
    async with deps.sessions() as s:
        posts = list((await s.exec(select(Outbox).where(Outbox.job == "guided"))).all())
        flow = (await s.exec(select(Flow))).one()
    assert len(posts) == 1
    assert posts[0].chat_id == "zalo:lan-chat"
    assert "chờ quá 30 phút" in Rich.from_json(posts[0].body).plain()
    assert [[b.data for b in row] for row in buttons_from_json(posts[0].buttons)] == [["go"]]
    assert (flow.outcome, flow.open_key) == ("expired", None)
    # The flow is gone: a number alone is nothing now (it is told what it lacks), and nothing
    # was stored.
    assert "Chưa ghi nhận gì" in await room.say(LAN, "2")
    assert "Hộ được hướng dẫn: 0/200 hộ" in await room.say(LAN, "tien do")


async def test_an_answer_to_a_flow_past_its_time_is_told_it_expired(
    deps: Deps, clock: Clock
) -> None:
    room = await _team(deps)
    await _join(deps, room)
    await room.say(LAN, "bao cao")
    clock.advance(minutes=45)  # before the scheduler's sweep came by
    out = await room.say(LAN, "5")
    assert "chờ quá 30 phút" in out
    assert "chưa ghi nhận gì" in out
    assert await jobs.close_silent_flows(deps, clock()) == 0  # already told
    assert "câu 1/4" in await room.say(LAN, "bao cao")  # a new one


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("5", 5),
        ("5 hộ", 5),
        ("5 hộ ạ", 5),
        ("năm", 5),
        ("Năm ạ", 5),
        ("mười hai", 12),
        ("hai mươi lăm", 25),
        ("0", 0),
        ("không", 0),
        ("1.200", 1200),
        ("được 7 hộ rồi ạ", 7),
        ("5 hay 6", None),
        ("-3", None),
        ("3,5", None),
        ("3/5", None),
        ("8:30", None),
        ("nhà ông Ba", None),
        ("", None),
        ("5 hộ, app 2", None),  # more than the one question asked
        ("5 người", None),  # people, not households
        ("3 lượt", None),  # visits
        ("chưa làm được hộ nào", 0),
        ("chưa có ạ", 0),
        ("ko", 0),
        ("none", 0),
        ("2 hộ thôi", 2),
        ("chưa có hộ nào ạ", 0),
        ("ko có ai", 0),
        ("không cài app", None),  # not "none done" of this question
        ("ho=5", None),  # names its indicator: read as a whole report instead
        ("5 hộ hôm qua", None),  # another day: typed, a report can be dated
        ("tên", None),
        ("5k", None),
    ],
)
def test_a_typed_answer_is_one_number_or_none(text: str, value: int | None) -> None:
    from storage.models import Indicator

    indicators = [
        Indicator(id=1, code="ho", name_vi="Hộ được hướng dẫn", name_en="Households guided",
                  kind="households", aliases="ho\nhộ"),
        Indicator(id=2, code="app", name_vi="Hộ cài ứng dụng công dân", name_en="App",
                  kind="households", aliases="app"),
    ]  # fmt: skip
    matcher = report.matcher_for(indicators)
    assert read_number(text, "ho", matcher, today=date(2026, 11, 20)) == value
    assert read_number("five", "ho", matcher, today=date(2026, 11, 20), english=True) == 5


async def test_huy_just_after_a_guided_report_closed_withdraws_nothing(deps: Deps) -> None:
    room = await _team(deps)
    await _join(deps, room)
    assert "Đã ghi cho" in await room.say(LAN, "bao cao ho=4")
    assert "câu 1/4" in await room.say(LAN, "bao cao")
    assert "Đã hủy báo cáo từng bước" in await room.say(LAN, "huy")
    # A second "huy", meant for the guided report just closed: explained, nothing withdrawn.
    out = await room.say(LAN, "hủy")
    assert "Không có báo cáo từng bước nào đang mở" in out
    assert "Hộ được hướng dẫn: 4/200 hộ" in await room.say(LAN, "tien do")
    assert "Đã hủy báo cáo ngày" in await room.say(LAN, "/huy")  # the command still works


async def test_a_group_without_buttons_answers_in_words(deps: Deps) -> None:
    """The console (`tcns chat`) has groups and no buttons: every message comes, and the
    flow's owner answers in words there too; other members' chatter is left alone."""
    group = ChatRoom(deps, "console:-7", buttons=False)
    await group.say(ADMIN, "/lien_ket xa=20791 thon=Thôn Hà Lam ho=200")
    hung = Person("console:2", "Hùng")
    assert "câu 1/4" in await group.say(LAN, "/bao_cao")
    assert await group.say(hung, "5") == ""  # not his flow, and no command
    assert "câu 2/4" in await group.say(LAN, "5")
    assert "Đã hủy báo cáo từng bước" in await group.say(LAN, "huy")


async def test_words_a_volunteer_uses_in_the_middle_of_a_guided_report(deps: Deps) -> None:
    room = await _team(deps)
    await _join(deps, room)
    assert "Đã ghi cho" in await room.say(LAN, "bao cao ho=4")
    # "dừng" stops (though it folds to "dung", right), at a question and at the end.
    assert "câu 1/4" in await room.say(LAN, "bao cao")
    assert "Đã hủy báo cáo từng bước" in await room.say(LAN, "Dừng lại ạ")
    assert "câu 1/4" in await room.say(LAN, "bao cao")
    out = await room.say(LAN, "ho=5 app=2")  # a whole report as the answer
    assert "câu 3/4" in out
    for _question in range(2):
        out = await room.say(LAN, "bo qua")
    assert "Sẽ ghi cho" in out
    assert "Đã hủy báo cáo từng bước" in await room.say(LAN, "dừng")
    assert "Hộ được hướng dẫn: 4/200 hộ" in await room.say(LAN, "tien do")

    # More households than the village has left: refused at the question, asked again.
    assert "câu 1/4" in await room.say(LAN, "bao cao")
    out = await room.say(LAN, "500")
    assert "nhiều nhất là 196" in out
    assert "câu 2/4" in await room.say(LAN, "6")
    # "sửa 1" at the end goes straight to that value; "vâng" records.
    for _question in range(3):
        out = await room.say(LAN, "0")
    assert "Sẽ ghi cho" in out
    assert "câu 1/4" in await room.say(LAN, "sửa 1")
    assert "Hộ được hướng dẫn +7" in await room.say(LAN, "7")
    assert "Đã ghi cho" in await room.say(LAN, "vâng")
    assert "Hộ được hướng dẫn: 11/200 hộ" in await room.say(LAN, "tien do")

    # /huy while a guided report is open cancels that one, and keeps what was recorded.
    assert "câu 1/4" in await room.say(LAN, "bao cao")
    out = await room.say(LAN, "/huy")
    assert "Đã hủy báo cáo từng bước" in out
    assert "gửi /huy lần nữa" in out
    assert "Hộ được hướng dẫn: 11/200 hộ" in await room.say(LAN, "tien do")

    # A typed report in the middle says the guided one is closed.
    assert "câu 1/4" in await room.say(LAN, "bao cao")
    out = await room.say(LAN, "bao cao ho=1")
    assert "Đã đóng báo cáo từng bước" in out
    assert "Đã ghi cho" in out


async def test_a_reply_to_someone_elses_question_is_told_whose_it_is(
    deps: Deps, clock: Clock
) -> None:
    group = ChatRoom(deps, "tg:-4200")
    await group.say(ADMIN, "/lien_ket xa=20791 thon=Thôn Hà Lam ho=200")
    lan, hung = Person("tg:11", "Lan"), Person("tg:12", "Hùng")
    await group.say(lan, "/bao_cao ho=1")
    chat = "tg:-4200"
    # Lan's flow, started by the button; its card is message 900 (as if Telegram said so).
    from storage import flows
    from storage.db import transaction

    async with transaction(deps.sessions) as session:
        unit_id = await _unit(deps, chat)
        flow = await flows.start(
            session, chat_id=chat, person_id=lan.id, unit_id=unit_id, codes=["ho"], now=clock()
        )
        flow.card_id, flow.ask_id = "900", "901"
    out = await group.send_reply(hung, "3", to_bot="901")
    assert "Câu hỏi này dành cho Lan" in out
    assert "chưa ghi nhận gì" in out
    # Some other bot message: the number is told what it lacks, and nothing is stored.
    assert "Chưa ghi nhận gì" in await group.send_reply(hung, "3", to_bot="555")


async def _unit(deps: Deps, chat: str) -> int:
    from storage.models import Chat

    async with deps.sessions() as s:
        found = await s.get(Chat, chat)
        assert found is not None
        assert found.unit_id is not None
        return found.unit_id


async def test_an_edited_answer_is_said_not_to_count(deps: Deps) -> None:
    room = await _team(deps)
    await _join(deps, room)
    await room.say(LAN, "bao cao")
    message_id, _replies = await room.send(LAN, "50")
    out = await room.edit(LAN, message_id, "5")
    assert "Sửa tin nhắn không làm đổi câu trả lời đã nhận" in out
    out = await room.say(LAN, "sua")  # not at the end yet: no answer, asked again
    assert "Chưa hiểu câu trả lời" in out


async def test_indicators_without_a_target_wait_for_more_at_the_end(deps: Deps) -> None:
    """The four indicators with a target are asked; the two without (filings, e-commerce) are
    offered at the confirmation, and answered after 'thêm'."""
    room = await _team(deps)
    await _join(deps, room)
    assert "câu 1/4" in await room.say(LAN, "bao cao")
    for answer in ("3", "2", "1"):
        out = await room.say(LAN, answer)
    assert "Hộ có chữ ký số hôm nay?" in out
    out = await room.say(LAN, "0")
    assert "Sẽ ghi cho" in out
    assert "Chưa hỏi (ở đây không có chỉ tiêu): Hồ sơ dịch vụ công trực tuyến" in out
    out = await room.say(LAN, "thêm")
    assert "câu 5/6" in out
    assert "Hồ sơ dịch vụ công trực tuyến hôm nay?" in out
    assert "câu 6/6" in await room.say(LAN, "4")
    out = await room.say(LAN, "bo qua")
    assert "Sẽ ghi cho" in out
    assert "Chưa hỏi" not in out
    out = await room.say(LAN, "ok")
    assert "Đã ghi cho" in out
    progress = await room.say(LAN, "tien do")
    assert "Hộ được hướng dẫn: 3/200 hộ" in progress
    assert "Hồ sơ dịch vụ công trực tuyến: 4" in progress
    # A figure without a target typed as an answer is taken with the others.
    assert "câu 1/4" in await room.say(LAN, "bao cao")
    out = await room.say(LAN, "ho=1 dvc=2")
    assert "câu 2/5" in out
    assert "Hồ sơ dịch vụ công trực tuyến: 2" in out


async def test_what_must_not_answer_a_question(deps: Deps) -> None:
    room = await _team(deps)
    await _join(deps, room)
    assert "câu 1/4" in await room.say(LAN, "bao cao")
    assert "câu 2/4" in await room.say(LAN, "4")
    # "5 hộ" for the second question names the first ("hộ" is its word): not taken, and the
    # first answer is not overwritten.
    assert "Chưa hiểu" in await room.say(LAN, "tuyên truyền 5 hộ")
    assert "Chưa hiểu" in await room.say(LAN, "anh Huy")  # a name, not "huy"
    out = await room.say(LAN, "ho=4 app=2 ghi chú: bà Năm chưa cài")  # a note would be lost
    assert "Chưa hiểu" in out
    out = await room.say(LAN, "app=2 tt=1")  # two figures: both taken
    assert "câu 4/4" in out
    assert "✔️ Hộ được hướng dẫn: 4; Hộ cài ứng dụng công dân: 2; Hộ có tài khoản" in out
    # A refused typed report keeps the guided one.
    assert "Chưa ghi nhận gì" in await room.say(LAN, "/bao_cao ho=999")
    assert "câu 4/4" in await room.say(LAN, "/bao_cao")
    assert "Đã hủy báo cáo từng bước" in await room.say(LAN, "Đừng!")
    assert "câu 1/4" in await room.say(LAN, "bao cao")
    assert "Đã hủy báo cáo từng bước" in await room.say(LAN, "thôi không")


async def test_a_reply_to_another_bot_message_does_not_answer_the_confirmation(
    deps: Deps, clock: Clock
) -> None:
    """In a group, once a flow waits for "Ghi", the owner's "Dạ" to a reminder is no answer."""
    from storage import flows
    from storage.db import transaction

    group = ChatRoom(deps, "tg:-4300")
    await group.say(ADMIN, "/lien_ket xa=20791 thon=Thôn Hà Lam ho=200")
    lan = Person("tg:11", "Lan")
    await group.say(lan, "/bao_cao ho=1")
    unit_id = await _unit(deps, "tg:-4300")
    async with transaction(deps.sessions) as session:
        flow = await flows.start(
            session, chat_id="tg:-4300", person_id=lan.id, unit_id=unit_id, codes=["ho"],
            now=clock(),
        )  # fmt: skip
        flows.set_answer(flow, "ho", 3, now=clock())
        flow.mode, flow.step, flow.card_id, flow.ask_id = "confirm", 1, "900", None
    assert await group.send_reply(lan, "Dạ", to_bot="777") == ""  # the reminder
    assert "Đã ghi cho" in await group.send_reply(lan, "Dạ", to_bot="900")  # the card
