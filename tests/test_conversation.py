"""Talking with the bot (issue 25): a reading offered for one tap, a correction by reply, a
question by reply, a resend — through the router and a real SQLite database. Figures are read
from the database and compared with sums made here."""

from __future__ import annotations

import pytest
from sqlmodel import col, select

from handlers.incoming import Deps, Reply
from storage.models import Indicator, Report, ReportValue
from tests.conftest import SUPERADMIN
from tests.harness import ChatRoom, Clock, Person, shown

ADMIN = Person(SUPERADMIN, "Trần Văn Quản")
LAN = Person("tg:301", "Nguyễn Thị Lan")
HUNG = Person("tg:302", "Lê Văn Hùng")


@pytest.fixture
async def group(deps: Deps) -> ChatRoom:
    room = ChatRoom(deps, "tg:-3001", title="Tổ CNS thôn Hà Lam")
    out = await room.say(ADMIN, "/lien_ket xa=20791 thon=Thôn Hà Lam ho=400")
    assert "Thôn Hà Lam" in out
    return room


async def _live(deps: Deps, person: Person) -> list[dict[str, int]]:
    """Each live report of the person, as code -> value."""
    async with deps.sessions() as s:
        reports = (
            await s.exec(
                select(Report)
                .where(Report.person_id == person.id, col(Report.withdrawn_at).is_(None))
                .order_by(col(Report.id))
            )
        ).all()
        found = []
        for report in reports:
            rows = await s.exec(
                select(Indicator.code, ReportValue.value)
                .join(Indicator, col(Indicator.id) == col(ReportValue.indicator_id))
                .where(ReportValue.report_id == report.id)
            )
            found.append({code: value for code, value in rows.all() if value})
        return found


def _data(replies: list[Reply]) -> list[str]:
    return [b.data for r in replies for row in r.buttons for b in row]


def _offer(replies: list[Reply]) -> str:
    """The data of the ✅ button of an offered reading."""
    found = [d for d in _data(replies) if d.startswith("k")]
    assert found, f"no reading offered: {shown(replies)!r}"
    return found[0]


async def test_one_tap_records_the_reading_once(deps: Deps, group: ChatRoom) -> None:
    # "hd mười lăm hộ": a number in words is read, and offered rather than stored.
    _message_id, replies = await group.send(LAN, "/bao_cao hd mười lăm hộ, app 3")
    assert await _live(deps, LAN) == []
    assert "Chưa ghi gì" in shown(replies)
    data = _offer(replies)
    first = shown(await group.press(LAN, data, message_id=900))
    assert "Đã ghi cho Nguyễn Thị Lan" in first
    assert await _live(deps, LAN) == [{"ho": 15, "app": 3}]
    # Pressed again (a double tap, a slow network): nothing more.
    again = await group.press(LAN, data, message_id=900)
    assert await _live(deps, LAN) == [{"ho": 15, "app": 3}]
    assert any(r.answer is not None and "không ghi thêm" in r.answer.text for r in again)


async def test_someone_else_cannot_press_the_offer(deps: Deps, group: ChatRoom) -> None:
    _id, replies = await group.send(LAN, "/bao_cao hd mười lăm hộ")
    data = _offer(replies)
    refused = await group.press(HUNG, data, message_id=901)
    assert any(r.answer is not None and r.answer.alert for r in refused)
    assert await _live(deps, LAN) == []
    assert await _live(deps, HUNG) == []
    # The author still can.
    await group.press(LAN, data, message_id=901)
    assert await _live(deps, LAN) == [{"ho": 15}]


async def test_zalo_member_confirms_by_typing_ghi(deps: Deps) -> None:
    admin_room = ChatRoom(deps, "tg:-3002", title="Tổ CNS thôn Bình An")
    await admin_room.say(ADMIN, "/lien_ket xa=20791 thon=Thôn Bình An ho=300")
    code = (await admin_room.say(ADMIN, "/ma_tham_gia")).split("/tham_gia ")[1].split()[0]
    zalo = ChatRoom(deps, "zalo:77", kind="private", buttons=False)
    member = Person("zalo:77", "Đặng Thị Hoa")
    assert "Thôn Bình An" in await zalo.say(member, f"/tham_gia {code}")
    out = await zalo.say(member, "hd muoi lam ho")
    assert "trả lời “ghi”" in out
    assert await _live(deps, member) == []
    out = await zalo.say(member, "ghi")
    assert "Đã ghi cho Đặng Thị Hoa" in out
    assert await _live(deps, member) == [{"ho": 15}]


async def test_correction_by_reply_changes_that_report(deps: Deps, group: ChatRoom) -> None:
    _id, replies = await group.send(LAN, "/bao_cao ho=6 app=2")
    assert await _live(deps, LAN) == [{"ho": 6, "app": 2}]
    under = tuple(_data(replies))
    assert any(d.startswith("u") for d in under)  # the confirmation's Undo names the report
    _id, fixed = await group.reply_to(LAN, "nhầm, hd 8 hộ ạ", to_bot="500", under=under)
    text = shown(fixed)
    assert "6 → 8" in text
    # The figure named changed; the other stayed; still one report.
    assert await _live(deps, LAN) == [{"ho": 8, "app": 2}]
    # The team's progress adds up to the reports: 8 households guided.
    progress = await group.say(LAN, "/tien_do")
    assert "8/400" in progress
    # "Put it back" restores the figures before the correction.
    back = _offer(fixed)
    await group.press(LAN, back, message_id=502)
    assert await _live(deps, LAN) == [{"ho": 6, "app": 2}]


async def test_a_reply_by_someone_else_does_not_change_the_report(
    deps: Deps, group: ChatRoom
) -> None:
    _id, replies = await group.send(LAN, "/bao_cao ho=6")
    under = tuple(_data(replies))
    await group.reply_to(HUNG, "sửa lại hd 9", to_bot="500", under=under)
    assert await _live(deps, LAN) == [{"ho": 6}]


async def test_question_by_reply_is_answered_with_progress(deps: Deps, group: ChatRoom) -> None:
    await group.say(LAN, "/bao_cao ho=5 app=1")
    await group.say(HUNG, "/bao_cao ho=7")
    out = await group.send_reply(LAN, "bot ơi tuần này thôn mình được bao nhiêu rồi", to_bot="500")
    assert "12/400" in out  # 5 + 7 households guided, from two reports
    assert await _live(deps, LAN) == [{"ho": 5, "app": 1}]


async def test_other_replies_say_what_a_reply_can_do(deps: Deps, group: ChatRoom) -> None:
    out = await group.send_reply(LAN, "cảm ơn bot nhé", to_bot="500")
    assert "Trả lời tin xác nhận" in out


async def test_a_resend_is_asked_before_counting_twice(
    deps: Deps, group: ChatRoom, clock: Clock
) -> None:
    await group.say(LAN, "/bao_cao hd 5 hộ, app 2")
    clock.advance(minutes=4)
    _message_id, replies = await group.send(LAN, "/bao_cao gửi lại do mạng lag: hd 5 hộ, app 2")
    assert "Đã ghi lúc" in shown(replies)
    assert await _live(deps, LAN) == [{"ho": 5, "app": 2}]
    # Without saying so, the same figures the same day are asked about too.
    _id, again = await group.send(LAN, "/bao_cao hd 5 hộ, app 2")
    assert await _live(deps, LAN) == [{"ho": 5, "app": 2}]
    # New work after all: one tap records it as a second report.
    await group.press(LAN, _offer(again), message_id=903)
    assert await _live(deps, LAN) == [{"ho": 5, "app": 2}, {"ho": 5, "app": 2}]


async def test_a_resend_with_other_figures_is_not_taken_for_the_first(
    deps: Deps, group: ChatRoom, clock: Clock
) -> None:
    await group.say(LAN, "/bao_cao ho=8 app=2")
    clock.advance(minutes=3)
    _message_id, replies = await group.send(LAN, "/bao_cao ho=3 gửi lại do mạng lag")
    said = shown(replies)
    assert "không phải số đã ghi" in said, said
    assert "Hộ được hướng dẫn 3" in said
    assert "Hộ được hướng dẫn 8" in said
    assert await _live(deps, LAN) == [{"ho": 8, "app": 2}]  # nothing stored, nothing lost
    await group.press(LAN, _offer(replies), message_id=905)  # new work after all
    assert await _live(deps, LAN) == [{"ho": 8, "app": 2}, {"ho": 3}]


async def test_a_resend_of_what_never_arrived_is_recorded(deps: Deps, group: ChatRoom) -> None:
    out = await group.say(LAN, "/bao_cao gửi lại vì mạng lag: hd 4 hộ")
    assert "Đã ghi cho" in out
    assert await _live(deps, LAN) == [{"ho": 4}]


async def test_sua_lai_without_reply_changes_the_last_report_after_a_tap(
    deps: Deps, group: ChatRoom
) -> None:
    await group.say(LAN, "/bao_cao ho=6 app=2")
    _message_id, replies = await group.send(LAN, "/bao_cao sửa lại: app 3")
    assert "2 → 3" in shown(replies)
    assert await _live(deps, LAN) == [{"ho": 6, "app": 2}]
    await group.press(LAN, _offer(replies), message_id=904)
    assert await _live(deps, LAN) == [{"ho": 6, "app": 3}]


async def test_unknown_campaign_is_named_and_nothing_stored(deps: Deps, group: ChatRoom) -> None:
    out = await group.say(LAN, "/bao_cao Gia đình số: 3 hộ đạt")
    assert await _live(deps, LAN) == []
    assert "Gia đình số" in out


async def test_private_report_without_a_command_word(deps: Deps, group: ChatRoom) -> None:
    code = (await group.say(ADMIN, "/ma_tham_gia")).split("/tham_gia ")[1].split()[0]
    private = ChatRoom(deps, LAN.id, kind="private")
    await private.say(LAN, f"/tham_gia {code}")
    out = await private.say(LAN, "hd 5 app 2")
    assert "Đã ghi cho" in out
    assert await _live(deps, LAN) == [{"ho": 5, "app": 2}]
    out = await private.say(LAN, "tôi báo cáo hôm nay đi được 3 hộ")
    assert await _live(deps, LAN) == [{"ho": 5, "app": 2}, {"ho": 3}]


async def test_several_readings_each_a_button(deps: Deps, group: ChatRoom) -> None:
    # "cài app thanh toán 3": the citizen app or e-payment? Both offered; the tap decides.
    _id, replies = await group.send(LAN, "/bao_cao cài app thanh toán 3")
    assert await _live(deps, LAN) == []
    choices = [d for d in _data(replies) if d.startswith("k")]
    assert len(choices) == 2
    labels = [b.text for r in replies for row in r.buttons for b in row if b.data in choices]
    assert any("thanh toán" in label for label in labels)
    chosen = next(d for d, label in zip(choices, labels, strict=True) if "thanh toán" in label)
    await group.press(LAN, chosen, message_id=905)
    assert await _live(deps, LAN) == [{"tt": 3}]
    # The other reading is gone with the offer: nothing more is stored by it.
    other = next(d for d in choices if d != chosen)
    await group.press(LAN, other, message_id=905)
    assert await _live(deps, LAN) == [{"tt": 3}]


async def test_two_readers_that_disagree_store_nothing_and_offer_both(
    deps: Deps, group: ChatRoom, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The careful reader is sure of one reading, the reading by structure of another: neither
    # is stored; both are offered, and the tap decides.
    from handlers.reading import loose, reader

    def other(text: str, matcher: object, *, today: object) -> loose.Loose:
        return loose.Loose({"ho": 9}, None, sure=True)

    monkeypatch.setattr(reader, "read_loose", other)
    _id, replies = await group.send(LAN, "/bao_cao Hướng dẫn 9 hộ, cài app 3 hộ")
    assert await _live(deps, LAN) == []
    choices = [d for d in _data(replies) if d.startswith("k")]
    assert len(choices) == 2
    await group.press(LAN, choices[0], message_id=906)
    assert await _live(deps, LAN) == [{"ho": 9, "app": 3}]
