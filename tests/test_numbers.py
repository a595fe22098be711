"""Every figure a person reads is written the same way: grouped by thousands in the chat's
language (1.420 in Vietnamese, 1,420 in English), in answers, refusals, the log and the posts."""

from __future__ import annotations

import re

from handlers.incoming import Deps
from scheduler import jobs
from scheduler.outbox import OutboxSender
from tests.harness import ChatRoom, Clock
from tests.test_jobs import HUNG, LAN, SUPER, XA, Recorder, at

# Four digits or more not grouped, outside dates (25/11/2026), codes (20791-1) and commands.
UNGROUPED = re.compile(r"(?<![\d.,:=-])\d{4,}(?![\d-])")
YEARS = re.compile(r"\b\d{1,2}/(?:\d{1,2}/)?20\d\d\b")  # 25/11/2026, quý 4/2026
COMMAND = re.compile(r"(?<!\S)/[a-z_]+(?: \S*=\S*| \d+)*")


def ungrouped(text: str) -> list[str]:
    prose = YEARS.sub("", COMMAND.sub("", text))  # commands as they are typed; dates
    return UNGROUPED.findall(prose)


def test_the_check_finds_what_it_looks_for() -> None:
    assert ungrouped("Hộ được hướng dẫn +1420, 1.420/12600 hộ") == ["1420", "12600"]
    assert ungrouped("Ví dụ: /so_ho 12600 — tuần 48 (23/11–29/11/2026), mã 20791-1") == []


async def test_figures_are_grouped_everywhere(deps: Deps, clock: Clock) -> None:
    clock.now = at("2026-11-18T10:00")
    commune = ChatRoom(deps, "tg:-3003")
    ha_lam = ChatRoom(deps, "tg:-3001")
    binh_an = ChatRoom(deps, "tg:-3002")
    said: list[str] = []

    async def say(room: ChatRoom, who: object, text: str, **kw: object) -> str:
        answer = await room.say(who, text, **kw)  # type: ignore[arg-type]
        said.append(answer)
        return answer

    await say(commune, SUPER, "/lien_ket tinh=Đà Nẵng xa=Thăng Bình")
    await say(ha_lam, SUPER, "/lien_ket xa=20791 thon=Thôn Hà Lam ho=12500")
    await say(binh_an, SUPER, "/lien_ket xa=20791 thon=Thôn Bình An ho=8000")
    assert "12.600 hộ" in await say(ha_lam, SUPER, "/so_ho 12600")
    await say(ha_lam, SUPER, "/to_truong", reply_to=LAN)
    await ChatRoom(deps, "tg:101", kind="private").say(LAN, "/start")
    out = await say(ha_lam, LAN, "/bao_cao ho=1420 app=1200 tt=1005 cks=2000")
    assert "Hộ được hướng dẫn +1.420, Hộ cài ứng dụng công dân +1.200" in out
    await say(ha_lam, HUNG, "/bao_cao ho=1100")
    await say(binh_an, XA, "/bao_cao ho=3100 app=2500")
    out = await say(ha_lam, HUNG, "/bao_cao ho=10500")
    assert "đã ghi nhận 2.520 hộ; thêm 10.500 sẽ vượt quá 12.600 hộ" in out
    assert "tối đa 10.080 hộ" in out
    out = await say(ha_lam, SUPER, "/so_ho 2000")
    assert "2.000 hộ ít hơn 2.520 hộ đã ghi" in out
    clock.now = at("2026-11-25T10:00")
    await say(ha_lam, LAN, "/bao_cao ho=2420 app=1300")
    for room, who, command in (
        (ha_lam, LAN, "/tien_do"),
        (ha_lam, LAN, "/xep_hang"),
        (commune, SUPER, "/tien_do"),
        (ha_lam, LAN, "/danh_sach"),
    ):
        await say(room, who, command)
    assert "số hộ: 12.500 → 12.600" in await say(ha_lam, SUPER, "/nhat_ky")
    assert "Hộ được hướng dẫn −2.420" in await say(ha_lam, LAN, "/huy")
    await say(ha_lam, LAN, "/bao_cao ho=2420 app=1300")
    await say(binh_an, SUPER, "/ngon_ngu en")
    assert "Households guided +1,000" in await say(binh_an, XA, "/bao_cao ho=1000")
    assert "4,100/8,000" in await say(binh_an, XA, "/tien_do")

    recorder = Recorder()
    for job, when in (
        ("reminders", "2026-11-27T16:00"),
        ("summaries", "2026-11-30T07:30"),
        ("leaderboards", "2026-11-30T08:00"),
    ):
        assert await jobs.run(deps, job, at(when)) > 0, job
    await OutboxSender(deps, [recorder]).drain()
    [summary] = recorder.to("tg:101")
    assert "• Hộ được hướng dẫn: 2.420 (−100)" in summary
    said += [reply.rich.plain() for _chat, reply in recorder.posts]
    assert [(text, ungrouped(text)) for text in said if ungrouped(text)] == []
