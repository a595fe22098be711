"""Scheduled posts and replies against a Bot API that enforces Telegram's limits."""

from __future__ import annotations

import asyncio
import bisect
import logging
import os
import signal
import sys
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bench.groups import link_groups
from bot import app
from sandbox.telegram import FakeTelegram
from storage.models import Chat
from tests.factories import settings_for
from tests.harness import Clock
from tests.tg_world import ADMIN_ID, HA_LAM, Talk

log = logging.getLogger(__name__)
ROUND = "2026-11-23T08:00+07:00"  # Monday 08:00: the default leaderboard time


def _env(fake: FakeTelegram, db_path: Path) -> dict[str, str]:
    return {
        **os.environ,
        "TCNS_TELEGRAM_TOKEN": fake.token,
        "TCNS_TELEGRAM_API_URL": fake.url,
        "TCNS_DATABASE_URL": f"sqlite+aiosqlite:///{db_path}",
    }


async def _jobs_run(
    fake: FakeTelegram, db_path: Path, tmp_path: Path
) -> asyncio.subprocess.Process:
    with (tmp_path / "jobs.log").open("ab") as log:  # the child keeps its own descriptor
        return await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "jobs", "run", "leaderboards", "--at", ROUND,
            env=_env(fake, db_path), cwd=tmp_path, stdout=log, stderr=log,
        )  # fmt: skip


async def test_round_to_500_groups_is_paced_without_429(
    fake: FakeTelegram, db_path: Path, tmp_path: Path
) -> None:
    groups = await link_groups(f"sqlite+aiosqlite:///{db_path}", fake, communes=25, per=20)
    proc = await _jobs_run(fake, db_path, tmp_path)
    assert await asyncio.wait_for(proc.wait(), 120) == 0, (tmp_path / "jobs.log").read_text()
    photos = [s for s in fake.sent if s.method == "sendphoto"]
    assert Counter(s.chat_id for s in photos) == Counter(groups)
    assert [e for e in fake.errors] == []
    rate = (len(photos) - 1) / (photos[-1].at - photos[0].at)
    log.info("round of %d boards: %.1f posts/s, %d answers of 429", len(photos), rate, 0)
    # Pacing is a behaviour: never more than Telegram's 30 a second in any second. How close
    # to that ceiling the sender gets is a figure for `python -m bench` (fan-out), not a test.
    times = [p.at for p in photos]
    busiest = max(bisect.bisect_left(times, t + 1.0) - i for i, t in enumerate(times))
    assert busiest <= 30, busiest
    # Each commune's chart is uploaded once (or once per worker racing) and then reused.
    uploads = [s for s in photos if isinstance(s.params.get("photo"), dict)]
    assert len(uploads) <= 25 * 8
    for post in photos[:3]:
        assert post.text is not None
        assert "Bảng xếp hạng" in post.text


async def test_killed_round_resumes_without_doubling(
    fake: FakeTelegram, db_path: Path, tmp_path: Path
) -> None:
    groups = await link_groups(f"sqlite+aiosqlite:///{db_path}", fake, communes=25, per=20)
    proc = await _jobs_run(fake, db_path, tmp_path)
    await fake.wait_sent_kind("sendphoto", 250, within=120)
    proc.send_signal(signal.SIGKILL)
    await proc.wait()
    done_before = sum(1 for s in fake.sent if s.method == "sendphoto")
    again = await _jobs_run(fake, db_path, tmp_path)
    assert await asyncio.wait_for(again.wait(), 120) == 0
    counts = Counter(s.chat_id for s in fake.sent if s.method == "sendphoto")
    assert set(counts) == set(groups)  # every group has its board
    doubled = [chat for chat, n in counts.items() if n > 1]
    # At most what was in doubt when the process died: the sender's 8 workers' messages under
    # way, and on SQLite those sent but not yet written (the sent marks are written together,
    # `SENT_LATER` after the send, by a write that a loaded machine can hold up for a second:
    # at Telegram's 30 a second, 30 more). A round resent whole would double all 500.
    assert len(doubled) <= 8 + 30, doubled
    assert max(counts.values()) <= 2
    assert done_before < 500
    # The new process cannot know what the killed one sent in its last second: Telegram may
    # answer a few of its first posts with 429, which it honours (every board arrived, none
    # thrice). Anything else, or more than its workers had in flight, would be a fault.
    assert all(e[1] == 429 for e in fake.errors), fake.errors
    assert len(fake.errors) <= 16, fake.errors


@pytest.fixture
async def running(fake: FakeTelegram, db_path: Path, clock: Clock) -> AsyncIterator[app.Running]:
    settings = settings_for(fake, f"sqlite+aiosqlite:///{db_path}")
    started = await app.start(settings, schedule=False, clock=clock)
    yield started
    await fake.wake_pollers()
    await started.stop()


async def test_burst_of_reports_is_coalesced_not_lost(
    fake: FakeTelegram, running: app.Running
) -> None:
    talk = Talk(fake)
    await talk.say(HA_LAM, ADMIN_ID, "/lien_ket xa=20791 thon=Thôn Hà Lam ho=500")
    members = list(range(700, 730))
    for uid in members:
        fake.add_user(uid, f"Thành viên {uid}")
    before = len(fake.messages_to(HA_LAM))
    # Thirty members report within a second, right after a reminder.
    await asyncio.gather(*(fake.user_sends(HA_LAM, uid, "/bao_cao ho=1") for uid in members))
    async with asyncio.timeout(30):
        while True:
            texts = "\n".join(s.text or "" for s in fake.messages_to(HA_LAM)[before:])
            if all(f"Thành viên {uid}" in texts for uid in members):
                break
            await asyncio.sleep(0.1)
    confirmations = fake.messages_to(HA_LAM)[before:]
    log.info("burst: %d reports confirmed in %d messages", len(members), len(confirmations))
    assert len(confirmations) < len(members)  # coalesced
    assert len(fake.messages_to(HA_LAM)) <= 20  # within the group's minute, with the link reply
    assert fake.errors == []


async def test_kicked_and_migrated_groups(fake: FakeTelegram, running: app.Running) -> None:
    from scheduler import jobs
    from scheduler.outbox import OutboxSender
    from tests.test_jobs import at

    talk = Talk(fake)
    await talk.say(HA_LAM, ADMIN_ID, "/lien_ket xa=20791 thon=Thôn Hà Lam ho=100")
    fake.add_group(-1001004, "Tổ CNS thôn Bình An")
    fake.add_group(-1001005, "Tổ CNS thôn Phú Mỹ")
    await talk.say(-1001004, ADMIN_ID, "/lien_ket xa=20791 thon=Thôn Bình An ho=100")
    await talk.say(-1001005, ADMIN_ID, "/lien_ket xa=20791 thon=Thôn Phú Mỹ ho=100")
    fake.kick(-1001004)
    fake.migrate(-1001005, -1001999)
    assert running.telegram is not None
    await jobs.run(running.deps, "leaderboards", at("2026-11-23T08:00"))
    await OutboxSender(running.deps, [running.telegram]).drain(wait_retries=True)
    assert [s.method for s in fake.posts_to(HA_LAM)] == ["sendmessage", "sendphoto"]
    assert [s.method for s in fake.posts_to(-1001999)] == ["sendphoto"]
    async with running.deps.sessions() as s:
        kicked = await s.get(Chat, "tg:-1001004")
        moved = await s.get(Chat, "tg:-1001999")
        assert kicked is not None
        assert not kicked.active
        assert moved is not None
        assert moved.active
    assert ("sendphoto", 403, "Forbidden: bot was kicked from the group chat") in fake.errors


async def test_summary_falls_back_when_the_leader_never_opened_the_bot(
    fake: FakeTelegram, running: app.Running
) -> None:
    from scheduler import jobs
    from scheduler.outbox import OutboxSender
    from tests.test_jobs import at

    talk = Talk(fake)
    await talk.say(HA_LAM, ADMIN_ID, "/lien_ket xa=20791 thon=Thôn Hà Lam ho=100")
    message = await fake.user_sends(HA_LAM, 101, "Chào cả tổ")
    await talk.say(HA_LAM, ADMIN_ID, "/to_truong", reply_to=message["message_id"])
    assert running.telegram is not None
    await jobs.run(running.deps, "summaries", at("2026-11-23T07:30"))
    await OutboxSender(running.deps, [running.telegram]).drain()
    assert fake.messages_to(101) == []
    assert "Tổng hợp tuần — Thôn Hà Lam" in (fake.messages_to(HA_LAM)[-1].text or "")
    # Straight into the team chat: the bot did not first try a chat Telegram would refuse.
    assert not [e for e in fake.errors if e[1] == 403]
    # A leader who has opened the bot gets it privately next week.
    await fake.user_sends(101, 101, "/start")
    await fake.wait_sent(1, chat_id=101)
    await jobs.run(running.deps, "summaries", at("2026-11-30T07:30"))
    await OutboxSender(running.deps, [running.telegram]).drain()
    assert "Tổng hợp tuần — Thôn Hà Lam" in (fake.messages_to(101)[-1].text or "")


async def test_running_bot_ticks_and_posts_the_reminder(
    fake: FakeTelegram, running: app.Running, clock: Clock
) -> None:
    from tests.test_jobs import at

    talk = Talk(fake)
    await talk.say(HA_LAM, ADMIN_ID, "/lien_ket xa=20791 thon=Thôn Hà Lam ho=100")
    await talk.say(HA_LAM, 102, "/bao_cao ho=1")
    await talk.say(HA_LAM, 102, "/huy")  # Hùng is a member who has not reported
    clock.now = at("2026-11-20T16:01")  # the same Friday, just after the reminder time
    await running.scheduler.start()  # as `tcns run` does: the first tick comes at once
    sent = await fake.wait_sent(4, chat_id=HA_LAM, within=15)
    assert "Nhắc báo cáo — Thôn Hà Lam" in (sent[-1].text or "")
    assert "Lê Văn Hùng" in (sent[-1].text or "")
    await running.scheduler.tick()  # a later tick in the same week adds nothing
    assert await talk.silent(HA_LAM, 2.5)


async def test_export_command_sends_a_workbook(fake: FakeTelegram, running: app.Running) -> None:
    import io

    from openpyxl import load_workbook

    talk = Talk(fake)
    await talk.say(HA_LAM, ADMIN_ID, "/lien_ket xa=20791 thon=Thôn Hà Lam ho=100")
    await talk.say(HA_LAM, 102, "/bao_cao ho=12 app=5 ghi_chu=mưa")
    assert "Chỉ tổ trưởng hoặc quản trị viên" in await talk.say(HA_LAM, 102, "/xuat")
    await fake.user_sends(HA_LAM, ADMIN_ID, "/xuat 2026-Q4")
    await fake.wait_sent_kind("senddocument", 1)
    [doc] = [s for s in fake.sent if s.method == "senddocument"]
    assert "Thôn Hà Lam: báo cáo và tiến độ, quý 4/2026 (01/10–31/12/2026)" in (doc.text or "")
    assert doc.content is not None
    book = load_workbook(io.BytesIO(doc.content))
    assert book.sheetnames == ["Thôn", "Theo tuần", "Báo cáo"]
    assert book["Thôn"]["B7"].value == "Thôn Hà Lam"  # under the title block
    assert book["Thôn"].freeze_panes == "C7"
    assert "Lê Văn Hùng" in [c.value for c in book["Báo cáo"]["D"]]
    assert "Ví dụ: /xuat tháng 11" in await talk.say(HA_LAM, ADMIN_ID, "/xuat quý 9")


async def test_bot_api_502_is_retried_with_backoff(
    fake: FakeTelegram, running: app.Running
) -> None:
    from scheduler import jobs
    from scheduler.outbox import OutboxSender
    from tests.test_jobs import at

    talk = Talk(fake)
    await talk.say(HA_LAM, ADMIN_ID, "/lien_ket xa=20791 thon=Thôn Hà Lam ho=100")
    assert running.telegram is not None
    # This sender alone: the bot's own would take the board as soon as it is queued.
    running.sender_stop.set()
    await running.sender_task
    await jobs.run(running.deps, "leaderboards", at("2026-11-23T08:00"))
    fake.failures = 2
    started = asyncio.get_running_loop().time()
    stats = await OutboxSender(running.deps, [running.telegram]).drain(wait_retries=True)
    waited = asyncio.get_running_loop().time() - started
    assert stats.sent == 1
    assert stats.retried == 2
    assert waited >= 1.0 + 2.0 - 0.2  # backed off 1 s, then 2 s
    assert [s.method for s in fake.posts_to(HA_LAM)][-1] == "sendphoto"


def test_coalesced_answers_keep_shared_buttons_once_and_drop_personal_ones() -> None:
    """Confirmations waiting for one chat merged into one message keep one Report button and
    lose each report's own undo (which could not say whose it is). Only replies next to each
    other are merged (scheduler/outbox.py): an attachment or an edit between them keeps the
    chat's order."""
    from handlers.incoming import Button, Reply
    from handlers.richtext import Rich
    from scheduler.outbox import coalesce

    def confirmation(n: int) -> Reply:
        row = (Button("↩️ Hoàn tác", f"u{n}", personal=True), Button("📝 Báo cáo", "go"))
        return Reply(Rich().add(f"✅ {n}"), buttons=(row,))

    first = coalesce([confirmation(1), confirmation(2)])
    assert not first.quote
    assert first.rich.plain() == "✅ 1\n\n✅ 2"
    assert [[b.data for b in row] for row in first.buttons] == [["go"]]
    alone = confirmation(3)
    assert coalesce([alone]) == alone  # one answer keeps its own undo
