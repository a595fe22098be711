"""Scheduled jobs through the outbox, with a recording messenger at the platform seam."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from io import BytesIO
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook
from sqlmodel import func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from handlers.chart import board_png
from handlers.export import workbook
from handlers.incoming import Deps, Reply, SendOutcome, SendResult
from handlers.progress import Board
from handlers.richtext import Rich
from handlers.summary import weekly_summary
from scheduler import jobs
from scheduler.jobs import base as jobs_base
from scheduler.jobs import leaderboards as jobs_leaderboards
from scheduler.jobs import quarterly as jobs_quarterly
from scheduler.jobs import summaries as jobs_summaries
from scheduler.outbox import OutboxSender
from storage.models import Chat, Outbox
from tests.conftest import SUPERADMIN
from tests.harness import ChatRoom, Clock, Person

VN = ZoneInfo("Asia/Ho_Chi_Minh")
SUPER = Person(SUPERADMIN, "Quản trị")
LAN = Person("tg:101", "Nguyễn Thị Lan")
HUNG = Person("tg:102", "Lê Văn Hùng")
ANH = Person("tg:103", '<b>Ánh & "Bé"')
MAI = Person("tg:201", "Phạm Thị Mai")
XA = Person("tg:301", "Võ Thị Xã")


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=VN)


@dataclass
class Recorder:
    """A messenger that keeps what it was given; some chats can be made to refuse."""

    posts: list[tuple[str, Reply]] = field(default_factory=list)
    refuse: dict[str, SendResult] = field(default_factory=dict)

    def handles(self, chat_id: str) -> bool:
        return chat_id.startswith("tg:")

    async def ready(self, chat_id: str) -> None:
        return None

    async def deliver(
        self, chat_id: str, reply: Reply, *, reply_to: str | None = None
    ) -> SendResult:
        if chat_id in self.refuse:
            return self.refuse.pop(chat_id)
        self.posts.append((chat_id, reply))
        return SendResult(SendOutcome.SENT)

    def to(self, chat_id: str) -> list[str]:
        return [r.rich.plain() for c, r in self.posts if c == chat_id]


@pytest.fixture
async def teams(deps: Deps) -> dict[str, ChatRoom]:
    rooms = {
        "commune": ChatRoom(deps, "tg:-3003"),
        "ha_lam": ChatRoom(deps, "tg:-3001"),
        "binh_an": ChatRoom(deps, "tg:-3002"),
    }
    await rooms["commune"].say(SUPER, "/lien_ket tinh=Đà Nẵng xa=Thăng Bình")
    await rooms["ha_lam"].say(SUPER, "/lien_ket xa=20791 thon=Thôn Hà Lam ho=100")
    await rooms["binh_an"].say(SUPER, "/lien_ket xa=20791 thon=Thôn Bình An ho=100")
    await rooms["commune"].say(SUPER, "/cap_quyen", reply_to=XA)
    await rooms["ha_lam"].say(SUPER, "/to_truong", reply_to=LAN)
    for person in (HUNG, ANH):
        await rooms["ha_lam"].say(person, "/bao_cao ho=2")
        await rooms["ha_lam"].say(person, "/huy")  # members, with nothing this week
    await rooms["ha_lam"].say(LAN, "/bao_cao ho=10 app=4")
    await rooms["binh_an"].say(MAI, "/bao_cao ho=30 app=20 tt=10 cks=5")
    return rooms


async def _outbox(deps: Deps) -> int:
    async with deps.sessions() as s:
        return (await s.exec(select(func.count()).select_from(Outbox))).one()


async def test_reminders_name_exactly_the_missing(deps: Deps, teams: dict[str, ChatRoom]) -> None:
    assert await jobs.run(deps, "reminders", at("2026-11-20T15:59")) == 0  # not yet Friday 16:00
    assert await jobs.run(deps, "reminders", at("2026-11-20T16:00")) == 1
    recorder = Recorder()
    await OutboxSender(deps, [recorder]).drain()
    [text] = recorder.to("tg:-3001")
    assert "2 thành viên chưa báo cáo tuần này" in text
    assert "Lê Văn Hùng" in text
    assert '<b>Ánh & "Bé"' in text
    assert "Nguyễn Thị Lan" not in text
    assert recorder.to("tg:-3002") == []  # everyone in Bình An reported
    assert recorder.to("tg:-3003") == []  # the commune chat has no team of its own

    # Again, and again the next day (as after a restart): nothing new is queued or sent.
    assert await jobs.run(deps, "reminders", at("2026-11-20T16:30")) == 0
    assert await jobs.run(deps, "reminders", at("2026-11-21T09:00")) == 0
    await OutboxSender(deps, [recorder]).drain()
    assert len(recorder.posts) == 1


async def test_missed_reminder_runs_once_when_back(deps: Deps, teams: dict[str, ChatRoom]) -> None:
    # Down all Friday; back on Saturday morning: the reminder goes, once, for this week.
    assert await jobs.run(deps, "reminders", at("2026-11-21T09:00")) == 1
    assert await jobs.run(deps, "reminders", at("2026-11-21T09:01")) == 0
    # The next week is a new period, in which nobody has reported yet: both teams hear.
    assert await jobs.run(deps, "reminders", at("2026-11-27T16:00")) == 2


async def test_schedule_set_by_commune_moves_the_reminder(
    deps: Deps, teams: dict[str, ChatRoom]
) -> None:
    await teams["commune"].say(SUPER, "/lich nhac=thu5 09:00")
    assert await jobs.run(deps, "reminders", at("2026-11-19T08:59")) == 0
    assert await jobs.run(deps, "reminders", at("2026-11-19T09:00")) == 1


async def test_summary_to_leader_or_back_to_the_team(
    deps: Deps, teams: dict[str, ChatRoom]
) -> None:
    # Hà Lam's, Bình An's (no leader: into its group) and the commune admins' notice of it.
    assert await jobs.run(deps, "summaries", at("2026-11-23T07:30")) == 3
    refusal = SendResult(SendOutcome.GONE, error="Forbidden")
    recorder = Recorder(refuse={"tg:101": refusal, XA.id: refusal})
    await OutboxSender(deps, [recorder]).drain()
    assert recorder.refuse == {"tg:101": refusal, XA.id: refusal}  # neither private chat tried
    [text] = recorder.to("tg:-3001")  # Lan never opened the bot: into the team chat
    assert "Tổng hợp tuần — Thôn Hà Lam, tuần 16/11–22/11/2026" in text
    assert "Đã báo cáo: 1/3 thành viên" in text
    assert "Hộ được hướng dẫn: 10/100 hộ" in text
    assert "Hạng 2/2 trong Xã Thăng Bình" in text
    # Nothing yet for e-payment (0 of 50 needed): the weakest, with a suggestion.
    assert "Yếu nhất: Hộ có tài khoản thanh toán điện tử (còn thiếu 50 hộ)" in text
    assert "Gợi ý: mời ngân hàng" in text
    [other] = recorder.to("tg:-3002")
    assert "Tổng hợp tuần — Thôn Bình An, tuần 16/11–22/11/2026" in other
    [notice] = recorder.to("tg:-3003")  # Võ Thị Xã never opened the bot: the commune's group
    assert "Các thôn của Xã Thăng Bình có tổ chưa có tổ trưởng:" in notice
    assert "• Thôn Bình An" in notice
    assert "Thôn Hà Lam" not in notice
    assert await jobs.run(deps, "summaries", at("2026-11-23T09:00")) == 0
    await OutboxSender(deps, [recorder]).drain()
    assert len(recorder.posts) == 3


async def test_summary_reaches_the_leader_privately(
    deps: Deps, teams: dict[str, ChatRoom]
) -> None:
    await ChatRoom(deps, "tg:101", kind="private").say(LAN, "/start")  # she opened the bot
    await jobs.run(deps, "summaries", at("2026-11-23T07:30"))
    recorder = Recorder()
    await OutboxSender(deps, [recorder]).drain()
    assert len(recorder.to("tg:101")) == 1
    assert recorder.to("tg:-3001") == []


async def test_leaderboards_each_chat_its_scope_with_a_chart(
    deps: Deps, teams: dict[str, ChatRoom]
) -> None:
    assert await jobs.run(deps, "leaderboards", at("2026-11-23T07:59")) == 0
    assert await jobs.run(deps, "leaderboards", at("2026-11-23T08:00")) == 3
    recorder = Recorder()
    await OutboxSender(deps, [recorder]).drain()
    by_chat = {c: r for c, r in recorder.posts}
    ha_lam = by_chat["tg:-3001"].rich.plain()
    assert "Bảng xếp hạng — Xã Thăng Bình" in ha_lam
    assert "👉 2. Thôn Hà Lam" in ha_lam
    assert "👉" not in by_chat["tg:-3003"].rich.plain()
    for reply in by_chat.values():
        assert reply.attachment is not None
        assert reply.attachment.content.startswith(b"\x89PNG\r\n\x1a\n")
    assert await jobs.run(deps, "leaderboards", at("2026-11-23T10:00")) == 0


async def test_quarterly_evaluation_and_admin_workbook(
    deps: Deps, teams: dict[str, ChatRoom]
) -> None:
    await ChatRoom(deps, XA.id, kind="private").say(XA, "/start")  # the admin opened the bot
    assert await jobs.run(deps, "quarterly", at("2026-12-31T23:00")) == 0
    assert await jobs.run(deps, "quarterly", at("2027-01-01T08:00")) == 4
    recorder = Recorder()
    await OutboxSender(deps, [recorder]).drain()
    [evaluation] = recorder.to("tg:-3001")
    assert evaluation.startswith("🏅 Đánh giá quý 4/2026")
    [note] = recorder.to(XA.id)
    assert "tệp Excel của Xã Thăng Bình" in note
    workbook = next(r.attachment for c, r in recorder.posts if c == XA.id)
    assert workbook is not None
    assert workbook.filename == "danh-gia-2026-Q4-20791.xlsx"
    assert await jobs.run(deps, "quarterly", at("2027-01-02T08:00")) == 0


async def test_migrated_group_gets_its_post_under_the_new_id(
    deps: Deps, teams: dict[str, ChatRoom]
) -> None:
    await jobs.run(deps, "leaderboards", at("2026-11-23T08:00"))
    moved = SendResult(SendOutcome.MIGRATED, new_chat_id="tg:-1009990001")
    recorder = Recorder(refuse={"tg:-3002": moved})
    await OutboxSender(deps, [recorder]).drain()
    assert len(recorder.to("tg:-1009990001")) == 1
    async with deps.sessions() as s:
        new = await s.get(Chat, "tg:-1009990001")
        old = await s.get(Chat, "tg:-3002")
        assert new is not None
        assert old is not None
        assert new.unit_id is not None
        assert not old.active
    # The next round goes to the supergroup only.
    await jobs.run(deps, "leaderboards", at("2026-11-30T08:00"))
    await OutboxSender(deps, [recorder]).drain()
    assert len(recorder.to("tg:-1009990001")) == 2
    assert recorder.to("tg:-3002") == []


async def test_a_group_that_removed_the_bot_is_retired(
    deps: Deps, teams: dict[str, ChatRoom]
) -> None:
    await jobs.run(deps, "leaderboards", at("2026-11-23T08:00"))
    gone = SendResult(SendOutcome.GONE, error="Forbidden: bot was kicked from the group chat")
    recorder = Recorder(refuse={"tg:-3002": gone})
    await OutboxSender(deps, [recorder]).drain()
    await jobs.run(deps, "leaderboards", at("2026-11-30T08:00"))
    await OutboxSender(deps, [recorder]).drain()
    assert recorder.to("tg:-3002") == []
    async with deps.sessions() as s:
        row = (await s.exec(select(Outbox).where(Outbox.chat_id == "tg:-3002"))).one()
        assert row.state == "failed"
        assert "kicked" in (row.last_error or "")


async def test_rate_limited_post_waits_and_goes(deps: Deps, teams: dict[str, ChatRoom]) -> None:
    await jobs.run(deps, "leaderboards", at("2026-11-23T08:00"))
    recorder = Recorder(refuse={"tg:-3002": SendResult(SendOutcome.RETRY, retry_after=0.2)})
    stats = await OutboxSender(deps, [recorder]).drain(wait_retries=True)
    assert stats.retried == 1
    assert stats.sent == 3
    assert len(recorder.to("tg:-3002")) == 1
    assert await _outbox(deps) == 3


async def test_rounds_in_small_chunks_post_each_chat_once(
    deps: Deps, teams: dict[str, ChatRoom], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A round is queued a chunk at a time; a commune's chats stay in one chunk (its board is
    worked out once), and what a chunk queued is not queued again."""
    other = ChatRoom(deps, "tg:-3010")
    await other.say(SUPER, "/lien_ket xa=20308 thon=Thôn Một ho=100")
    monkeypatch.setattr(jobs_base, "CHUNK", 1)
    await other.say(LAN, "/bao_cao ho=1")
    await other.say(LAN, "/huy")  # a member with nothing this week
    # Hà Lam's and Bình An's members who have not reported, and Lan in Thôn Một.
    assert await jobs.run(deps, "reminders", at("2026-11-27T16:00")) == 3
    assert await jobs.run(deps, "leaderboards", at("2026-11-23T08:00")) == 4
    assert await jobs.run(deps, "leaderboards", at("2026-11-23T09:00")) == 0
    recorder = Recorder()
    await OutboxSender(deps, [recorder]).drain()
    posts = [c for c, r in recorder.posts if r.attachment is not None]
    assert sorted(posts) == sorted(["tg:-3001", "tg:-3002", "tg:-3003", "tg:-3010"])
    assert "Thôn Hà Lam" not in recorder.to("tg:-3010")[-1]  # its own commune's board


async def test_a_chart_or_workbook_that_fails_leaves_the_rest_of_the_round(
    deps: Deps, teams: dict[str, ChatRoom], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Fault injection at the renderers' seam: whatever makes one unit's chart or workbook
    fail, that unit's board still goes as text, and every other post and workbook goes."""
    other = ChatRoom(deps, "tg:-3009")
    await other.say(SUPER, "/lien_ket tinh=Đà Nẵng xa=Hải Châu")
    await other.say(SUPER, "/cap_quyen", reply_to=MAI)
    to_1 = ChatRoom(deps, "tg:-3010")
    await to_1.say(SUPER, "/lien_ket tinh=Đà Nẵng xa=Hải Châu thon=Tổ 1 ho=50")
    await to_1.say(Person("tg:111", "Trần Văn Tám"), "/bao_cao ho=1")  # a team: ranked
    draw, make = board_png, workbook

    def poisoned_chart(bd: Board, *, subtitle: str) -> bytes:
        if bd.scope.code == "20791":
            raise ValueError("a chart that cannot be drawn")
        return draw(bd, subtitle=subtitle)

    async def poisoned_workbook(session: AsyncSession, **kwargs: Any) -> bytes:
        if kwargs["unit"].code == "20791":
            raise ValueError("a workbook that cannot be made")
        return await make(session, **kwargs)

    monkeypatch.setattr(jobs_leaderboards, "board_png", poisoned_chart)
    monkeypatch.setattr(jobs_quarterly, "workbook", poisoned_workbook)
    assert await jobs.run(deps, "leaderboards", at("2026-11-23T08:00")) == 5
    recorder = Recorder()
    await OutboxSender(deps, [recorder]).drain()
    by_chat = {c: r for c, r in recorder.posts}
    assert "Bảng xếp hạng — Xã Thăng Bình" in by_chat["tg:-3001"].rich.plain()
    assert by_chat["tg:-3001"].attachment is None  # the text board, without its chart
    assert by_chat["tg:-3009"].attachment is not None  # the other commune's chart is drawn

    for admin in (XA, MAI):  # both opened the bot, so both can be sent a workbook
        await ChatRoom(deps, admin.id, kind="private").say(admin, "/start")
    assert await jobs.run(deps, "quarterly", at("2027-01-01T08:00")) >= 4
    recorder = Recorder()
    await OutboxSender(deps, [recorder]).drain()
    # Thăng Bình's workbook failed: left out, logged. Mai has Hải Châu's.
    books = [c for c, r in recorder.posts if r.attachment and r.attachment.kind == "document"]
    assert books == [MAI.id]
    assert "tệp Excel của Phường Hải Châu" in recorder.to(MAI.id)[-1]


async def test_a_summary_that_fails_leaves_the_other_teams(
    deps: Deps, teams: dict[str, ChatRoom], monkeypatch: pytest.MonkeyPatch
) -> None:
    await teams["binh_an"].say(SUPER, "/to_truong", reply_to=MAI)
    write = weekly_summary

    async def poisoned(session: AsyncSession, **kwargs: Any) -> Rich:
        if kwargs["unit"].name == "Thôn Hà Lam":
            raise ValueError("a summary that cannot be written")
        return await write(session, **kwargs)

    monkeypatch.setattr(jobs_summaries, "weekly_summary", poisoned)
    assert await jobs.run(deps, "summaries", at("2026-11-23T07:30")) == 1
    recorder = Recorder()
    await OutboxSender(deps, [recorder]).drain()
    [(chat, reply)] = recorder.posts
    assert chat == "tg:-3002"  # Mai never opened the bot: her team's chat
    assert "Tổng hợp tuần — Thôn Bình An" in reply.rich.plain()


async def test_a_poisoned_village_holds_up_no_round(
    deps: Deps, teams: dict[str, ChatRoom]
) -> None:
    """A village titled like TeX, with a member named like a formula and notes with control
    characters and formulas: the leaderboard round and the quarterly round reach every chat (the
    poisoned one too, with its chart), and the workbook holds text, never a formula."""
    poisoned = ChatRoom(deps, "tg:-3009")
    await poisoned.say(SUPER, "/lien_ket xa=20791 thon=Thôn $\\frac{1}{0}$ ho=300")
    await poisoned.say(Person("tg:109", "=HYPERLINK(1)"), "/bao_cao ho=5 ghi_chu=mưa\x01 to\x07")
    await poisoned.say(Person("tg:110", "Tư"), "/bao_cao ho=1 ghi_chu==1+1")
    assert await jobs.run(deps, "leaderboards", at("2026-11-23T08:00")) == 4
    recorder = Recorder()
    await OutboxSender(deps, [recorder]).drain()
    by_chat = {c: r for c, r in recorder.posts}
    assert set(by_chat) == {"tg:-3001", "tg:-3002", "tg:-3003", "tg:-3009"}
    for reply in by_chat.values():
        assert reply.attachment is not None  # the chart was drawn, title and all
    assert "Thôn $\\frac{1}{0}$" in by_chat["tg:-3009"].rich.plain()

    await ChatRoom(deps, XA.id, kind="private").say(XA, "/start")
    assert await jobs.run(deps, "quarterly", at("2027-01-01T08:00")) == 5
    recorder = Recorder()
    await OutboxSender(deps, [recorder]).drain()
    assert {c for c, _r in recorder.posts} >= {"tg:-3001", "tg:-3002", "tg:-3003", "tg:-3009"}
    # Võ Thị Xã opened the bot: the workbook is in her private chat.
    book = next(r.attachment for c, r in recorder.posts if c == XA.id and r.attachment
                and r.attachment.kind == "document")  # fmt: skip
    assert book is not None

    cells = [
        c for ws in load_workbook(BytesIO(book.content)) for row in ws.iter_rows() for c in row
    ]
    assert not [c.coordinate for c in cells if c.data_type == "f"]
    values = {c.value for c in cells if isinstance(c.value, str)}
    assert {"=HYPERLINK(1)", "=1+1", "mưa to"} <= values


async def test_a_summary_says_the_change_and_claims_no_rank_change_in_a_first_week(
    deps: Deps, teams: dict[str, ChatRoom], clock: Clock
) -> None:
    """Week 47 is Hà Lam's first (its first ranked week: no "unchanged" claimed); in week 48 it
    reports 16 against 10 the week before: "16 (+6)", and a rank change or none is said."""
    await ChatRoom(deps, "tg:101", kind="private").say(LAN, "/start")
    await jobs.run(deps, "summaries", at("2026-11-23T07:30"))
    recorder = Recorder()
    await OutboxSender(deps, [recorder]).drain()
    [first] = recorder.to("tg:101")
    assert "• Hộ được hướng dẫn: 10 (+10)" in first
    assert "(tuần đầu được xếp hạng)" in first
    assert "so với tuần trước)" not in first

    clock.now = at("2026-11-25T10:00")
    await teams["ha_lam"].say(LAN, "/bao_cao ho=16 app=1")
    # A Friday schedule: no second summary in a week that already had one, and the next is
    # of the last finished week (48), not of the week still running.
    await teams["ha_lam"].say(SUPER, "/lich tong_hop=thu6 17:00")
    assert await jobs.run(deps, "summaries", at("2026-11-27T17:00")) == 0
    # Hà Lam's; Bình An's (its own Monday time has passed) and its admins' notice, as it has
    # no leader.
    assert await jobs.run(deps, "summaries", at("2026-12-04T17:00")) == 3
    await OutboxSender(deps, [recorder]).drain()
    latest = recorder.to("tg:101")[-1]
    assert "tuần 23/11–29/11/2026" in latest
    assert "• Hộ được hướng dẫn: 16 (+6)" in latest
    assert "• Hộ cài ứng dụng công dân: 1 (−3)" in latest
    assert "so với tuần trước)" in latest  # now it had a rank to change from
