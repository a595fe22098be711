"""`/nhap` through python-telegram-bot against the sandbox: the workbook sent as a file with its
caption, fetched with getFile, answered with the dry run and an Apply button; refused for an
admin outside the rows' units; applied on the press."""

from __future__ import annotations

import io

from openpyxl import Workbook
from sqlmodel import select

from bot import app
from sandbox.telegram import FakeTelegram
from storage.models import Unit
from tests.conftest import lift_group_limit
from tests.factories import settings_for
from tests.harness import Clock
from tests.tg_world import ADMIN_ID, BINH_AN, HA_LAM, Talk

LAN, HUNG = 101, 102


def _workbook() -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["Mã xã", "Thôn", "Số hộ", "cks"])
    for n in range(1, 4):
        sheet.append([20791, f"Thôn Mới {n}", 100 * n, 40])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


async def _villages(running: app.Running) -> list[str]:
    async with running.deps.sessions() as s:
        rows = await s.exec(select(Unit.name).where(Unit.level == "village"))
        return sorted(rows.all())


async def test_an_admin_imports_a_workbook_in_the_chat(
    fake: FakeTelegram, database_url: str, clock: Clock
) -> None:
    running = await app.start(settings_for(fake, database_url), schedule=False, clock=clock)
    lift_group_limit(fake, running)
    assert running.telegram is not None
    running.telegram.pacer.per_private_second = 1000
    talk = Talk(fake)
    content = _workbook()
    try:
        # Lan administers another commune only (Đà Nẵng's 20794, through Bình An's group).
        await talk.say(BINH_AN, ADMIN_ID, "/lien_ket xa=20794 thon=Thôn Bình An ho=100")
        said = await fake.user_sends(BINH_AN, LAN, "/bao_cao ho=1")
        await talk.say(BINH_AN, ADMIN_ID, "/cap_quyen", reply_to=said["message_id"])
        await talk.say(HA_LAM, ADMIN_ID, "/lien_ket xa=20791 thon=Thôn Hà Lam ho=200")
        before = await _villages(running)

        # Lan's file names another commune's villages: every row refused, nothing to apply.
        await talk.say(LAN, LAN, "/huong_dan")
        sent = len(fake.messages_to(LAN))
        await fake.user_sends_document(LAN, LAN, "thon.xlsx", content, caption="/nhap")
        answer = (await fake.wait_sent(sent + 1, chat_id=LAN))[-1]
        assert "nằm ngoài các đơn vị bạn quản trị" in (answer.text or "")
        assert "3 lỗi" in (answer.text or "")
        assert answer.message_id is not None
        assert fake.buttons(LAN, answer.message_id) == []
        assert any(method == "getfile" for method, _p in fake.calls)

        # A member who is nobody's admin is refused.
        await talk.say(HUNG, HUNG, "/huong_dan")
        sent = len(fake.messages_to(HUNG))
        await fake.user_sends_document(HUNG, HUNG, "thon.xlsx", content, caption="/nhap")
        answer = (await fake.wait_sent(sent + 1, chat_id=HUNG))[-1]
        assert "Chỉ quản trị viên" in (answer.text or "")
        assert await _villages(running) == before

        # The commune's admin (here the superadmin) sends it in the village group: the dry
        # run, with the button that applies it.
        sent = len(fake.messages_to(HA_LAM))
        await fake.user_sends_document(HA_LAM, ADMIN_ID, "thon.xlsx", content, caption="/nhap")
        dry = (await fake.wait_sent(sent + 1, chat_id=HA_LAM))[-1]
        assert "3 dòng: sẽ tạo 3 thôn, sẽ cập nhật 0, 0 không đổi; 0 lỗi." in (dry.text or "")
        assert "Dòng 2: sẽ tạo Thôn Mới 1, Xã Thăng Bình" in (dry.text or "")
        assert "Chạy thử: chưa thay đổi gì." in (dry.text or "")
        assert await _villages(running) == before
        assert dry.message_id is not None
        (label, data), = fake.buttons(HA_LAM, dry.message_id)  # fmt: skip
        assert "Áp dụng" in label

        # Lan may not apply it either; the admin does.
        query = await fake.user_presses(HA_LAM, LAN, dry.message_id, data)
        await fake.until(lambda: fake.callbacks[query]["answer"] is not None)
        assert await _villages(running) == before
        refused = fake.callbacks[query]["answer"]
        assert refused["show_alert"] is True
        assert "nằm ngoài" in refused["text"]
        query = await fake.user_presses(HA_LAM, ADMIN_ID, dry.message_id, data)
        await fake.until(lambda: fake.callbacks[query]["answer"] is not None)
        shown = dry.message_id
        await fake.until(lambda: not fake.buttons(HA_LAM, shown))
        text = str((fake.message(HA_LAM, shown) or {}).get("text", ""))
        assert "Đã áp dụng: 3 thôn tạo mới, 0 cập nhật, 0 không đổi." in text
        assert "Dòng 2: đã tạo Thôn Mới 1, Xã Thăng Bình" in text
        assert "Chạy thử" not in text
        assert "sẽ tạo" not in text
        assert await _villages(running) == sorted(
            [*before, "Thôn Mới 1", "Thôn Mới 2", "Thôn Mới 3"]
        )
        out = await talk.say(HA_LAM, HUNG, "/xep_hang")
        assert "Thôn Mới 3" in out
        assert fake.errors == []
    finally:
        await fake.wake_pollers()
        await running.stop()
