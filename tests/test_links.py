"""Links to the pages cannot outlive what they were given for: a village removed or merged, a
member who left or moved, a leader replaced, an admin's rights taken back, a link withdrawn.
Each opens only its own kind of page (issue 23)."""

from __future__ import annotations

import asyncio
import re

from sqlmodel import col, select

from handlers.weblinks import DASHBOARD_HOURS
from sandbox.telegram import FakeTelegram
from scheduler.outbox import OutboxSender
from storage.models import AuditEntry, Unit
from tests.harness import Clock
from tests.test_web import COMMUNE, HUNG, LAN, Site, opened
from tests.tg_world import ADMIN_ID, BINH_AN, HA_LAM

PUBLIC = "https://tcns.example.vn"
PHU_MY, TRUNG_DONG, FAR_AWAY = -1001009, -1001010, -1001011
TU = 301  # a volunteer who joins Phú Mỹ by its code


async def _status(site: Site, url: str) -> int:
    async with site.http.get(url.replace(PUBLIC, site.base)) as response:
        await response.read()
        return response.status


async def _form_link(site: Site, user: int, code: str) -> str:
    """The report form key of the private keyboard the bot sends after `/tham_gia`."""
    await site.talk.say(user, user, f"/tham_gia {code}")
    keyboard = site.fake.messages_to(user)[-1].params["reply_markup"]["keyboard"]
    apps = [k for row in keyboard for k in row if isinstance(k, dict) and "web_app" in k]
    assert len(apps) == 1
    return str(apps[0]["web_app"]["url"])


async def _join_code(site: Site, chat: int) -> str:
    found = re.search(r"/tham_gia (\w+)", await site.talk.say(chat, ADMIN_ID, "/ma_tham_gia"))
    assert found is not None
    return found[1]


async def _workbook_link(site: Site, dashboard: str) -> str:
    status, page, _h = await site.get(dashboard.replace(PUBLIC, site.base))
    assert status == 200
    found = re.search(r'href="(/web/w/[^"]+)"', page)
    assert found is not None
    return site.base + found[1]


async def _village(site: Site, chat: int, name: str) -> Unit:
    out = await site.talk.say(chat, ADMIN_ID, f"/lien_ket xa=20791 thon={name} ho=90")
    assert "đã được liên kết" in out, out
    async with site.running.deps.sessions() as session:
        found = await session.exec(select(Unit).where(Unit.name == name))
        return found.one()


async def test_a_link_ends_with_its_village_and_no_new_unit_inherits_it(
    fake: FakeTelegram, database_url: str, clock: Clock
) -> None:
    fake.add_user(TU, "Đỗ Văn", "Tú", None)
    for chat, title in ((PHU_MY, "Tổ CNS thôn Phú Mỹ"), (TRUNG_DONG, "Tổ CNS thôn Trung Đông"),
                        (FAR_AWAY, "Tổ CNS ở tỉnh khác")):  # fmt: skip
        fake.add_group(chat, title)
    async with opened(fake, database_url, clock, public_url=PUBLIC) as site:
        # An empty village with every kind of link to it: an admin's dashboard and workbook,
        # a member's form on the private keyboard.
        phu_my = await _village(site, PHU_MY, "Thôn Phú Mỹ")
        dashboard = await site.private_link(PHU_MY, ADMIN_ID)
        workbook = await _workbook_link(site, dashboard)
        form = await _form_link(site, TU, await _join_code(site, PHU_MY))
        for link in (dashboard, workbook, form):
            assert await _status(site, link) == 200, link

        # A second village, merged into Hà Lam: its links end, Hà Lam's go on.
        trung_dong = await _village(site, TRUNG_DONG, "Thôn Trung Đông")
        merged = await site.private_link(TRUNG_DONG, ADMIN_ID)
        ha_lam = await site.private_link(HA_LAM, ADMIN_ID)
        assert "đã được nhập vào" in await site.talk.say(
            HA_LAM, ADMIN_ID, f"/gop {trung_dong.code}"
        ) or "Thôn Hà Lam" in (fake.messages_to(HA_LAM)[-1].text or "")
        assert await _status(site, merged) == 403
        assert await _status(site, ha_lam) == 200

        # Phú Mỹ removed, then a new village made in another province: every old link of
        # Phú Mỹ is refused, and the new village has an id no unit ever had.
        assert "Đã xóa" in await site.talk.say(COMMUNE, ADMIN_ID, f"/xoa_thon {phu_my.code}")
        async with site.running.deps.sessions() as session:
            hanoi = (await session.exec(select(Unit).where(Unit.level == "province",
                                                            Unit.code == "1"))).one()  # fmt: skip
            elsewhere = (
                await session.exec(
                    select(Unit).where(Unit.parent_id == hanoi.id).order_by(col(Unit.code))
                )
            ).first()
            assert elsewhere is not None
        out = await site.talk.say(
            FAR_AWAY, ADMIN_ID, f"/lien_ket xa={elsewhere.code} thon=Thôn Mới ho=50"
        )
        assert "đã được liên kết" in out, out
        async with site.running.deps.sessions() as session:
            new = (await session.exec(select(Unit).where(Unit.name == "Thôn Mới"))).one()
        assert new.id is not None
        assert phu_my.id is not None
        assert trung_dong.id is not None
        assert new.id > max(phu_my.id, trung_dong.id)  # SQLite would hand out Trung Đông's
        for link in (dashboard, workbook, form):
            async with site.http.get(link.replace(PUBLIC, site.base)) as response:
                assert response.status == 403, link
                assert "Thôn Mới" not in await response.text()
        # The new village's own links work.
        assert await _status(site, await site.private_link(FAR_AWAY, ADMIN_ID)) == 200
    assert fake.errors == []


async def test_each_link_opens_its_own_kind_while_its_holder_may(
    fake: FakeTelegram, database_url: str, clock: Clock
) -> None:
    async with opened(fake, database_url, clock, public_url=PUBLIC) as site:
        code = await _join_code(site, HA_LAM)
        # Hùng, a member of Hà Lam: his form on the keyboard, his own dashboard link.
        form = await _form_link(site, HUNG, code)
        assert "/web/form?k=" in form
        mine = await site.link(HUNG, HUNG)
        token_of = {"form": form.rsplit("=", 1)[1], "mine": mine.rsplit("/", 1)[1]}
        # A form link opens no dashboard, a dashboard link no form and no workbook.
        assert await _status(site, f"{site.base}/web/d/{token_of['form']}") == 403
        assert await _status(site, f"{site.base}/web/w/{token_of['form']}") == 403
        assert await _status(site, f"{site.base}/web/form?k={token_of['mine']}") == 403
        assert await _status(site, f"{site.base}/web/w/{token_of['mine']}") == 403
        assert await _status(site, form) == 200
        assert await _status(site, mine) == 200

        # The group's link (asked for by a member in the group) stays the group's.
        group = await site.link(HA_LAM, HUNG)
        # Hùng leaves the team: his own links end; the group's goes on.
        assert "không còn trong tổ" in await site.talk.say(HA_LAM, HUNG, "/roi_to")
        assert await _status(site, mine) == 403
        assert await _status(site, form) == 403
        assert await _status(site, group) == 200

        # Joining again gives new links; moving to Bình An ends them.
        form = await _form_link(site, HUNG, code)
        mine = await site.link(HUNG, HUNG)
        assert await _status(site, mine) == 200
        await _form_link(site, HUNG, await _join_code(site, BINH_AN))
        assert await _status(site, mine) == 403
        assert await _status(site, form) == 403

        # Lan, the leader: her link ends when another member is named leader.
        leader = await site.link(LAN, LAN)
        assert "Chưa báo cáo" in (await site.get(leader.replace(PUBLIC, site.base)))[1]
        before = len(fake.messages_to(HA_LAM))
        said = await fake.user_sends(HA_LAM, 103, "/bao_cao ho=1")
        await fake.wait_sent(before + 1, chat_id=HA_LAM)
        out = await site.talk.say(HA_LAM, ADMIN_ID, "/to_truong", reply_to=said["message_id"])
        assert "tổ trưởng" in out
        assert await _status(site, leader) == 403

        # An admin of the commune, by grant: her link and workbook end with her rights.
        assert site.running.telegram is not None
        await OutboxSender(site.running.deps, [site.running.telegram]).drain()  # Hùng's move
        await asyncio.sleep(0.2)
        said = await fake.user_sends(COMMUNE, LAN, "Chị Lan")
        await site.talk.say(COMMUNE, ADMIN_ID, "/cap_quyen", reply_to=said["message_id"])
        admin = await site.private_link(COMMUNE, LAN)
        workbook = await _workbook_link(site, admin)
        assert await _status(site, workbook) == 200
        await site.talk.say(COMMUNE, ADMIN_ID, "/thu_quyen", reply_to=said["message_id"])
        assert await _status(site, admin) == 403
        assert await _status(site, workbook) == 403

        # An admin withdraws every link of the commune and below at once (audited); anyone
        # else only their own.
        kept = await site.link(HA_LAM, 103)
        other = await site.link(BINH_AN, 201)
        out = await site.talk.say(HA_LAM, 103, "/thu_hoi_link")
        assert "đường dẫn của bạn" in out
        assert await _status(site, kept) == 200  # the group's, not hers
        out = await site.talk.say(COMMUNE, ADMIN_ID, "/thu_hoi_link")
        assert "Đã thu hồi" in out
        for link in (kept, other, group):
            assert await _status(site, link) == 403, link
        async with site.running.deps.sessions() as session:
            entries = await session.exec(select(AuditEntry).where(AuditEntry.action == "links"))
            assert len(entries.all()) == 1
        assert "thu hồi đường dẫn web" in await site.talk.say(COMMUNE, ADMIN_ID, "/nhat_ky")
        # New ones work again.
        assert await _status(site, await site.link(HA_LAM, 103)) == 200
    assert fake.errors == []


def test_leader_and_admin_links_are_shorter_than_a_members() -> None:
    assert DASHBOARD_HOURS["leader"] < DASHBOARD_HOURS["member"]
    assert DASHBOARD_HOURS["admin"] < DASHBOARD_HOURS["member"]


async def test_a_right_given_back_does_not_reopen_an_old_link(
    fake: FakeTelegram, database_url: str, clock: Clock
) -> None:
    """A link ends when the right it stood for is lost, for good: given back, the right opens
    only new links."""
    async with opened(fake, database_url, clock) as site:
        # An admin by grant, revoked, granted again.
        said = await fake.user_sends(COMMUNE, LAN, "Chị Lan")
        await site.talk.say(COMMUNE, ADMIN_ID, "/cap_quyen", reply_to=said["message_id"])
        admin = await site.private_link(COMMUNE, LAN)
        assert await _status(site, admin) == 200
        await site.talk.say(COMMUNE, ADMIN_ID, "/thu_quyen", reply_to=said["message_id"])
        await site.talk.say(COMMUNE, ADMIN_ID, "/cap_quyen", reply_to=said["message_id"])
        assert await _status(site, admin) == 403
        # A member taken off the team who reports again (and so is a member again).
        code = await _join_code(site, HA_LAM)
        await site.talk.say(HUNG, HUNG, f"/tham_gia {code}")
        mine = await site.link(HUNG, HUNG)
        assert await _status(site, mine) == 200
        assert "không còn trong tổ" in await site.talk.say(HA_LAM, HUNG, "/roi_to")
        # (other figures than his earlier report's: the same again would be asked about)
        assert "Đã ghi" in await site.talk.say(HA_LAM, HUNG, "/bao_cao ho=1 dvc=1")
        assert await _status(site, mine) == 403
        assert await _status(site, await site.link(HUNG, HUNG)) == 200
        # A group's link, the group linked elsewhere and back.
        group = await site.link(BINH_AN, 201)
        assert await _status(site, group) == 200
        await site.talk.say(BINH_AN, ADMIN_ID, "/lien_ket xa=20791 thon=Thôn Hà Lam")
        await site.talk.say(BINH_AN, ADMIN_ID, "/lien_ket xa=20791 thon=Thôn Bình An")
        assert await _status(site, group) == 403
