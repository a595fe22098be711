"""The web side over HTTP, against `tcns run` and the sandbox: dashboard links by role, refused
when forged, altered or expired; the same figures as the chat; the workbook for admins only;
the report form's initData checked before anything is accepted; Mini App buttons only where
Telegram allows them; charts to Zalo by address."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import aiohttp
import pytest
from openpyxl import load_workbook

from bot import app
from handlers.initdata import sign
from sandbox.telegram import FakeTelegram
from scheduler.outbox import OutboxSender
from tests.conftest import lift_group_limit
from tests.factories import settings_for
from tests.harness import Clock
from tests.tg_world import ADMIN_ID, BINH_AN, HA_LAM, Talk

LAN, HUNG, ANH, MAI = 101, 102, 103, 201
COMMUNE = -1001003


@dataclass
class Site:
    running: app.Running
    talk: Talk
    fake: FakeTelegram
    http: aiohttp.ClientSession

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.running.port}"

    async def link(self, chat: int, user: int) -> str:
        out = await self.talk.say(chat, user, "/theo_doi")
        found = re.search(r"https?://\S+/web/d/\S+", out)
        assert found is not None, out
        return found[0]

    async def private_link(self, chat: int, user: int) -> str:
        """A leader's or admin's link asked for in a group: it goes to their private chat."""
        # Counted before asking: the running bot's own outbox sender may deliver the link
        # before the reply to the group is read.
        before = len(self.fake.messages_to(user))
        out = await self.talk.say(chat, user, "/theo_doi")
        assert "đã được gửi vào chat riêng" in out, out
        assert "/web/d/" not in out
        assert self.running.telegram is not None
        await OutboxSender(self.running.deps, [self.running.telegram]).drain()
        sent = await self.fake.wait_sent(before + 1, chat_id=user)
        found = re.search(r"https?://\S+/web/d/\S+", sent[-1].text or "")
        assert found is not None, sent[-1].text
        return found[0]

    async def get(self, url: str) -> tuple[int, str, Any]:
        async with self.http.get(url) as response:
            return response.status, await response.text(), response.headers

    async def post(self, path: str, data: dict[str, str]) -> tuple[int, str]:
        async with self.http.post(self.base + path, data=data) as response:
            return response.status, await response.text()


async def world(fake: FakeTelegram, database_url: str, clock: Clock, **extra: object) -> Site:
    fake.add_group(COMMUNE, "Ban chỉ đạo xã Thăng Bình")
    running = await app.start(
        settings_for(fake, database_url, **extra), schedule=False, clock=clock
    )
    lift_group_limit(fake, running)
    talk = Talk(fake)
    await talk.say(COMMUNE, ADMIN_ID, "/lien_ket tinh=Đà Nẵng xa=Thăng Bình")
    await talk.say(HA_LAM, ADMIN_ID, "/lien_ket xa=20791 thon=Thôn Hà Lam ho=200")
    await talk.say(BINH_AN, ADMIN_ID, "/lien_ket xa=20791 thon=Thôn Bình An ho=150")
    said = {}
    for user, text in ((LAN, "/bao_cao ho=12 app=7 tt=3"), (HUNG, "/bao_cao ho=4 app=1")):
        before = len(fake.messages_to(HA_LAM))
        said[user] = await fake.user_sends(HA_LAM, user, text)
        await fake.wait_sent(before + 1, chat_id=HA_LAM)
    await talk.say(HA_LAM, ANH, "/bao_cao ho=2")
    await talk.say(HA_LAM, ANH, "/huy")  # a member with nothing this week
    await talk.say(HA_LAM, ADMIN_ID, "/to_truong", reply_to=said[LAN]["message_id"])
    await talk.say(HA_LAM, HUNG, "/roi_to")
    await talk.say(HA_LAM, HUNG, "/bao_cao ho=1")  # back in the team by reporting
    before = len(fake.messages_to(BINH_AN))
    mai = await fake.user_sends(BINH_AN, MAI, "/bao_cao ho=30 app=20 cks=5")
    await fake.wait_sent(before + 1, chat_id=BINH_AN)
    await talk.say(BINH_AN, ADMIN_ID, "/to_truong", reply_to=mai["message_id"])
    # The leader and the admin have private chats with the bot (Lan's reports for Hà Lam).
    code = re.search(r"/tham_gia (\w+)", await talk.say(HA_LAM, LAN, "/ma_tham_gia"))
    assert code is not None
    await talk.say(LAN, LAN, f"/tham_gia {code[1]}")
    await talk.say(ADMIN_ID, ADMIN_ID, "/start")
    return Site(running, talk, fake, aiohttp.ClientSession())


@contextlib.asynccontextmanager
async def opened(
    fake: FakeTelegram, database_url: str, clock: Clock, **extra: object
) -> AsyncIterator[Site]:
    """`world`, stopped again afterwards."""
    made = await world(fake, database_url, clock, **extra)
    try:
        yield made
    finally:
        await made.http.close()
        await fake.wake_pollers()
        await made.running.stop()


@pytest.fixture
async def site(fake: FakeTelegram, database_url: str, clock: Clock) -> AsyncIterator[Site]:
    async with opened(fake, database_url, clock) as made:
        yield made


def tampered(url: str) -> list[str]:
    """The same link with its token changed: a character, shorter, longer, another case, and
    another token's shape altogether (the old signed form included)."""
    head, token = url.rsplit("/", 1)
    swapped = token[:-1] + ("B" if token[-1] == "A" else "A")
    return [
        f"{head}/{swapped}",
        f"{head}/{token[:-1]}",
        f"{head}/{token}A",
        f"{head}/{token.swapcase()}",
        f"{head}/1.a.9999999999.vi.{token}",
        f"{head}/{'A' * 22}",
    ]


async def test_dashboards_by_role_and_refused_when_forged_or_expired(
    site: Site, clock: Clock
) -> None:
    # The commune's admin: every village, each a link of its own, and the workbook; asked for
    # in the commune's group, the link goes to the admin's private chat.
    commune = await site.private_link(COMMUNE, ADMIN_ID)
    status, page, headers = await site.get(commune)
    assert status == 200
    assert "Xã Thăng Bình" in page
    assert "Thôn Hà Lam" in page
    assert "Thôn Bình An" in page
    assert "default-src 'none'" in headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    assert headers["Referrer-Policy"] == "no-referrer"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert "<script" not in page  # a dashboard reads without JavaScript
    assert "Tổ đã báo cáo tuần này" in page
    # 2 teams of 2 reported, 3 members of 4 (Ánh withdrew hers; Hùng left, then reported again).
    assert re.search(r"Tổ đã báo cáo tuần này</small>\s*<b>2/2</b>", page)
    assert re.search(r"Thành viên đã báo cáo tuần này</small>\s*<b>3/4</b>", page)
    village = re.search(r'<a href="(/web/d/[^"]+)">Thôn Hà Lam</a>', page)
    assert village is not None
    status, ha_lam, _h = await site.get(site.base + village[1])
    assert status == 200
    assert "Chưa báo cáo" in ha_lam  # an admin sees who has not reported
    workbook = re.search(r'href="(/web/w/[^"]+)"', page)
    assert workbook is not None
    async with site.http.get(site.base + workbook[1]) as response:
        assert response.status == 200
        assert "attachment" in response.headers["Content-Disposition"]
        sheets = load_workbook(io.BytesIO(await response.read())).sheetnames
    assert len(sheets) >= 3

    # The leader: their village and who has not reported; no workbook, no other village.
    leader = await site.link(LAN, LAN)  # in her private chat, which reports for Hà Lam
    asked_in_group = await site.private_link(HA_LAM, LAN)
    assert asked_in_group != leader  # each asking gives a link of its own
    assert "Chưa báo cáo" in (await site.get(asked_in_group))[1]
    status, page, _h = await site.get(leader)
    assert status == 200
    missing = re.search(r'<ul class="missing" id="missing">(.*?)</ul>', page, re.S)
    assert missing is not None
    assert "&lt;b&gt;Ánh &amp; &#34;Bé&#34;" in missing[1]  # escaped, as every name is
    assert "Nguyễn Thị Lan" not in missing[1]
    assert "/web/w/" not in page
    assert "/web/d/" not in page
    # A member: the village's figures, not who is missing, nor the workbook.
    member = await site.link(HA_LAM, HUNG)
    status, page, _h = await site.get(member)
    assert status == 200
    assert "Chưa báo cáo" not in page
    for elsewhere in (
        member.replace("/web/d/", "/web/w/"),  # a dashboard link is no workbook link
        member.replace("/web/d/", "/web/form?k="),  # nor a form's
        member + "/village/20791-2",  # nor does a member's open other villages
        site.base + workbook[1].replace("/web/w/", "/web/d/"),  # a workbook link no dashboard
        commune + "/province/48",  # an admin's opens only units under its own
    ):
        status, _b, _h = await site.get(elsewhere)
        assert status in (403, 404), elsewhere

    # A leader who never opened the bot: the group gets a member's link and how to get hers.
    out = await site.talk.say(BINH_AN, MAI, "/theo_doi")
    assert "chỉ gửi trong chat riêng" in out
    shared = re.search(r"https?://\S+/web/d/\S+", out)
    assert shared is not None
    status, page, _h = await site.get(shared[0])
    assert status == 200
    assert "Chưa báo cáo" not in page  # the group's link shows what any member sees

    # Forged, altered or expired: 403 and how to get a new one.
    for bad in [*tampered(member), *tampered(commune), site.base + "/web/d/nothing"]:
        status, page, _h = await site.get(bad)
        assert status == 403, bad
        assert "/theo_doi" in page
    # A leader's and an admin's links show names: a working session; a member's a day.
    clock.advance(hours=5)
    assert (await site.get(leader))[0] == 200
    assert (await site.get(commune))[0] == 200
    clock.advance(hours=2)
    assert (await site.get(leader))[0] == 403
    assert (await site.get(commune))[0] == 403
    clock.advance(hours=16)
    assert (await site.get(member))[0] == 200
    clock.advance(hours=2)
    status, page, _h = await site.get(member)
    assert status == 403
    assert "hết hạn" in page
    assert site.fake.errors == []


async def test_a_village_without_its_households_says_so(site: Site) -> None:
    phu_my = -1001009
    site.fake.add_group(phu_my, "Tổ CNS thôn Phú Mỹ")
    await site.talk.say(phu_my, ADMIN_ID, "/lien_ket xa=20791 thon=Thôn Phú Mỹ")
    await site.talk.say(phu_my, MAI, "/bao_cao ho=3")
    status, page, _h = await site.get(await site.link(phu_my, MAI))
    assert status == 200
    assert "Chưa có số hộ nên chưa tính được tỉ lệ" in page
    assert "mục tiêu 80% (chưa có số hộ)" in page
    assert "không có chỉ tiêu" not in page.split("Hồ sơ dịch vụ công")[0]


async def test_the_dashboard_says_what_the_chat_says(site: Site) -> None:
    progress = await site.talk.say(HA_LAM, LAN, "/tien_do")
    board = await site.talk.say(HA_LAM, LAN, "/xep_hang")
    status, page, _h = await site.get(await site.link(LAN, LAN))
    assert status == 200
    # "Hộ được hướng dẫn: 17/200 hộ (8,5%) — mục tiêu 80% = 160 hộ, còn thiếu 143 hộ"
    for done, share, needed, missing in re.findall(
        r": (\d+)/200 hộ \(([\d,]+%)\) — mục tiêu \d+% = (\d+) hộ, còn thiếu (\d+) hộ", progress
    ):
        assert f"{done} · {share}" in page
        assert f"= {needed} hộ" in page
        assert f"còn thiếu {missing}" in page
    score = re.search(r"Điểm: ([\d,]+) — (\w+)", progress)
    assert score is not None
    assert f"<b>{score[1]}</b><small>{score[2]}</small>" in page
    for rank, name, points in re.findall(r"(\d+)\. (Thôn [^—]+) — ([\d,]+) điểm", board):
        assert re.search(rf">{rank}</td>\s*<td>{name.strip()}</td>\s*<td class=\"num\">{points}<",
                         page), (rank, name)  # fmt: skip
    # The weekly trend: this week's additions in the table, and a line per indicator.
    assert page.count("<polyline") == 4
    assert "Tuần bắt đầu" in page
    # The quarter by the reports' dates, and said so.
    assert "Từ đầu quý 4/2026 (01/10–20/11) đến nay" in page
    assert "Theo ngày của báo cáo" in page
    # A leader sees who missed last week too (Monday's question), here everyone.
    assert "Không báo cáo tuần 09/11–15/11/2026" in page


def init_data(fake: FakeTelegram, user: int, *, at: float, **extra: str) -> str:
    person = fake.users[user]
    fields = {
        "query_id": f"AAH{user}",
        "user": json.dumps(
            {"id": user, "first_name": person.first_name, "last_name": person.last_name or "",
             "language_code": "vi"},
            separators=(",", ":"), ensure_ascii=False,
        ),
        "auth_date": str(int(at)),
        **extra,
    }  # fmt: skip
    return sign(fields, fake.token)


async def test_the_report_form_checks_initdata_and_records_like_a_typed_report(
    site: Site, clock: Clock
) -> None:
    code = re.search(r"/tham_gia (\w+)", await site.talk.say(HA_LAM, LAN, "/ma_tham_gia"))
    assert code is not None
    assert "tổ của Thôn Hà Lam" in await site.talk.say(HUNG, HUNG, f"/tham_gia {code[1]}")
    now = clock().timestamp()
    good = init_data(site.fake, HUNG, at=now - 60)

    # Refused before anything is shown or stored: forged, altered, too old, another bot's.
    forged = good.replace(f"%22id%22%3A{HUNG}", f"%22id%22%3A{LAN}")
    assert forged != good
    too_old = init_data(site.fake, HUNG, at=now - 25 * 3600)
    other_bot = sign({"user": json.dumps({"id": HUNG}), "auth_date": str(int(now))}, "1:other")
    for bad in (forged, too_old, other_bot, "", "user=%7B%7D&hash=00"):
        for action in ("", "save"):
            status, page = await site.post("/web/form", {"init": bad, "action": action,
                                                         "v_ho": "5"})  # fmt: skip
            assert status == 403, bad
    status, page = await site.post("/web/form", {"init": good})
    assert status == 200
    assert "Báo cáo của Lê Văn Hùng" in page
    assert 'name="v_ho"' in page
    assert "còn thiếu 143" in page  # what the village still misses, as /tien_do says
    assert f'min="{(clock().date() - timedelta(days=clock().weekday() + 7)).isoformat()}"' in page

    # Bad input: said on the page, nothing stored.
    status, page = await site.post("/web/form", {"init": good, "action": "save", "v_ho": "-2"})
    assert "Chỉ nhập số nguyên" in page
    status, page = await site.post("/web/form", {"init": good, "action": "save", "v_ho": ""})
    assert "ít nhất một số" in page
    # Refused by the report's own checks: the form again, with the reason and what was typed;
    # the chat is not told, nothing is stored.
    said = len(site.fake.messages_to(HUNG))
    status, page = await site.post(
        "/web/form", {"init": good, "action": "save", "v_ho": "500", "v_app": "2"}
    )
    assert 'role="alert"' in page
    assert "vượt quá 200 hộ của thôn" in page
    assert 'value="500"' in page
    assert "/bao_cao" not in page.split('role="alert"')[1].split("</p>")[0]
    assert len(site.fake.messages_to(HUNG)) == said
    assert "17/200" in await site.talk.say(HA_LAM, LAN, "/tien_do")

    before = len(site.fake.messages_to(HUNG))
    form = {"init": good, "action": "save", "v_ho": "6", "v_app": "2", "v_tt": "0",
            "date": clock().date().isoformat(), "note": "hộ bà Năm <b>ở xa</b>"}  # fmt: skip
    status, page = await site.post("/web/form", form)
    assert status == 200
    assert "Đã ghi" in page
    assert "<b>ở xa</b>" not in page  # the note, escaped wherever it is shown
    # The usual confirmation in the member's chat, and the totals moved.
    sent = await site.fake.wait_sent(before + 1, chat_id=HUNG)
    assert "Đã ghi cho Lê Văn Hùng" in (sent[-1].text or "")
    assert "23/200" in await site.talk.say(HA_LAM, LAN, "/tien_do")
    # The same form sent twice is one report.
    status, page = await site.post("/web/form", form)
    assert "đã được gửi rồi" in page
    assert "23/200" in await site.talk.say(HA_LAM, LAN, "/tien_do")
    assert site.fake.errors == []


async def test_mini_app_buttons_only_where_telegram_allows_them(
    fake: FakeTelegram, database_url: str, clock: Clock
) -> None:
    # An http address (the default, this machine): no Mini App anywhere, the link as text.
    async with opened(fake, database_url, clock) as site:
        out = await site.talk.say(HUNG, HUNG, "/start")
        assert "web_app" not in json.dumps(fake.messages_to(HUNG)[-1].params)
        assert "127.0.0.1" in await site.talk.say(HA_LAM, HUNG, "/theo_doi")
        assert not fake.menu_buttons
    assert fake.errors == []
    assert out


async def test_mini_app_buttons_at_an_https_address(
    fake: FakeTelegram, database_url: str, clock: Clock
) -> None:
    async with opened(fake, database_url, clock, public_url="https://tcns.example.vn") as site:
        code = re.search(r"/tham_gia (\w+)", await site.talk.say(HA_LAM, LAN, "/ma_tham_gia"))
        assert code is not None
        await site.talk.say(HUNG, HUNG, f"/tham_gia {code[1]}")
        keyboard = fake.messages_to(HUNG)[-1].params["reply_markup"]["keyboard"]
        apps = [b for row in keyboard for b in row if isinstance(b, dict) and "web_app" in b]
        assert [b["text"] for b in apps] == ["🧾 Biểu mẫu báo cáo"]
        key_url = apps[0]["web_app"]["url"]
        assert key_url.startswith("https://tcns.example.vn/web/form?k=")
        assert fake.menu_buttons[HUNG]["web_app"]["url"] == "https://tcns.example.vn/web/form"
        # The key's form (no initData from a keyboard key): the unit's fields, sent back
        # through Telegram; a changed pass is refused.
        local = key_url.replace("https://tcns.example.vn", site.base)
        status, page, _h = await site.get(local)
        assert status == 200
        assert 'data-send="1"' in page
        assert 'name="v_ho"' in page
        assert "còn thiếu 143" in page
        assert (await site.get(local[:-2] + ("AA" if local[-2:] != "AA" else "BB")))[0] == 403
        # What the form sends arrives as Hùng's own message and is recorded like a typed one.
        before = len(fake.messages_to(HUNG))
        await fake.user_sends_web_app_data(
            HUNG, "/bao_cao ho=4 app=2 ghi_chu=năm hộ hẹn lại", button_text="🧾 Biểu mẫu báo cáo"
        )
        sent = await fake.wait_sent(before + 1, chat_id=HUNG)
        assert "Đã ghi cho Lê Văn Hùng" in (sent[-1].text or "")
        assert "21/200" in await site.talk.say(HA_LAM, LAN, "/tien_do")
        # Only a report: anything else sent that way is not read.
        await fake.user_sends_web_app_data(HUNG, "/huy", button_text="🧾 Biểu mẫu báo cáo")
        assert await site.talk.silent(HUNG, 0.5)
        assert "21/200" in await site.talk.say(HA_LAM, LAN, "/tien_do")
        # /theo_doi: a link button (the dashboard opens in the browser, it is never framed).
        await site.talk.say(HUNG, HUNG, "/theo_doi")
        private = fake.messages_to(HUNG)[-1].params["reply_markup"]["inline_keyboard"][0][0]
        assert private["url"].startswith("https://tcns.example.vn/web/d/")
        await site.talk.say(HA_LAM, HUNG, "/theo_doi")
        group = fake.messages_to(HA_LAM)[-1].params["reply_markup"]["inline_keyboard"][0][0]
        assert group["url"].startswith("https://tcns.example.vn/web/d/")
        assert "web_app" not in group
    assert fake.errors == []


async def test_odd_requests_are_refused_with_the_safe_headers(site: Site, clock: Clock) -> None:
    for path in (
        "/web/d/1.a.1.vi.%C3%A9",
        "/web/d/%C2%B2.a.9999999999.vi.x",
        "/web/d/1.a." + "9" * 5000 + ".vi.x",
        "/web/d/%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9",
        "/web/w/" + "A" * 22,
        "/web/form?k=" + "A" * 5000,
        "/web/c/k.1.%C3%A9.png",
    ):
        status, _page, headers = await site.get(site.base + path)
        assert status == 403, path
        assert "default-src 'none'" in headers["Content-Security-Policy"]
    status, _page, headers = await site.get(site.base + "/web/nothing-here")
    assert status == 404
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert "default-src 'none'" in headers["Content-Security-Policy"]
    for init in ("user=%7B%7D&hash=%C3%A9", "auth_date=%C2%B2&hash=00"):
        assert (await site.post("/web/form", {"init": init}))[0] == 403
    async with site.http.post(
        site.base + "/web/form",
        data=b"init=\xff\xfe",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    ) as response:
        assert response.status in (400, 403)
    # A date the form cannot read is asked again, not replaced by today.
    code = re.search(r"/tham_gia (\w+)", await site.talk.say(HA_LAM, LAN, "/ma_tham_gia"))
    assert code is not None
    await site.talk.say(HUNG, HUNG, f"/tham_gia {code[1]}")
    good = init_data(site.fake, HUNG, at=clock().timestamp())
    status, page = await site.post(
        "/web/form", {"init": good, "action": "save", "v_ho": "2", "date": "2026-13-45"}
    )
    assert status == 200
    assert "Hãy chọn ngày làm trên lịch" in page
    for digits in ("²", "9" * 12):
        status, page = await site.post("/web/form", {"init": good, "action": "save",
                                                     "v_ho": digits})  # fmt: skip
        assert "Chỉ nhập số nguyên" in page
    assert "17/200" in await site.talk.say(HA_LAM, LAN, "/tien_do")


async def test_a_leaked_link_is_slowed_and_the_chats_are_not(site: Site) -> None:
    """A link opened over and over (a leaked link, a refreshing browser) is answered 429 after
    a few times, and a report in another group is answered meanwhile."""
    link = await site.link(HA_LAM, HUNG)

    async def get() -> tuple[int, str | None]:
        async with site.http.get(link) as response:
            await response.read()
            return response.status, response.headers.get("Retry-After")

    requests = [asyncio.ensure_future(get()) for _ in range(40)]
    answer = await site.talk.say(BINH_AN, 201, "/bao_cao ho=2")
    assert "Đã ghi" in answer
    results = await asyncio.gather(*requests)
    statuses = [status for status, _wait in results]
    assert statuses.count(200) >= 1
    assert 429 in statuses
    assert all(wait is not None and int(wait) >= 1 for status, wait in results if status == 429)
    assert set(statuses) <= {200, 429}


async def test_made_up_links_share_one_allowance(site: Site) -> None:
    """Addresses that are no link cannot each buy a fresh allowance: after a burst they are
    answered 429, and a real link still opens."""
    statuses = []
    for n in range(80):
        token = f"{n:022d}"  # well-formed, but no link
        async with site.http.get(f"{site.base}/web/d/{token}") as response:
            statuses.append(response.status)
    assert statuses[:20] == [403] * 20
    assert 429 in statuses
    assert set(statuses) <= {403, 429}
    async with site.http.get(await site.link(HA_LAM, HUNG)) as response:
        assert response.status == 200
