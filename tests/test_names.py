"""Vietnamese names family name first whatever order a platform gives; a workbook's leader
found under either order, with or without accents; a village left without a leader said to its
commune's admins; a leader (or admin) who never opened a private chat never written to first
there; /nhat_ky in words, paged, without no-op entries; a village named without accents."""

from __future__ import annotations

import io
import re
from typing import Any

import pytest
from openpyxl import Workbook

from bot import app
from handlers import importing
from handlers.incoming import Deps
from handlers.person_names import display_name, name_key, same_name
from sandbox.telegram import FakeTelegram
from scheduler import jobs
from scheduler.outbox import OutboxSender
from storage import config
from storage.db import transaction
from tests.conftest import SUPERADMIN, lift_group_limit
from tests.factories import settings_for
from tests.harness import ChatRoom, Clock, Person
from tests.test_jobs import Recorder, at
from tests.tg_world import ADMIN_ID, BINH_AN, HA_LAM, Talk

SUPER = Person(SUPERADMIN, "Quản trị")


# --- the display name ------------------------------------------------------------------------

# (first name, last name) as a person may type them on Telegram -> the name shown.
TWO_FIELDS = [
    # A given name in "first name", the family and middle names in "last name": Western order.
    ("Mai", "Trần Thị", "Trần Thị Mai"),
    ("Lan", "Phạm Thị", "Phạm Thị Lan"),
    ("Sáu", "Võ Văn", "Võ Văn Sáu"),
    ("Hùng", "Lê Văn", "Lê Văn Hùng"),
    ("An", "Nguyễn Văn", "Nguyễn Văn An"),
    ("Hà", "Nguyễn Thu", "Nguyễn Thu Hà"),
    ("Vũ", "Nguyễn Anh", "Nguyễn Anh Vũ"),
    ("Hoàng", "Nguyễn Văn", "Nguyễn Văn Hoàng"),
    ("Ly", "Nguyễn Khánh", "Nguyễn Khánh Ly"),
    ("Trường", "Đặng Xuân", "Đặng Xuân Trường"),
    ("Nguyên", "Lê Thảo", "Lê Thảo Nguyên"),
    ("Huệ", "Ngô Thị", "Ngô Thị Huệ"),
    ("Nhung", "Bùi Hồng", "Bùi Hồng Nhung"),
    ("Quyên", "Huỳnh Thị Mỹ", "Huỳnh Thị Mỹ Quyên"),
    ("Dũng", "Đỗ Tiến", "Đỗ Tiến Dũng"),
    ("Thảo", "Nguyễn", "Nguyễn Thảo"),
    ("Mai", "Trần", "Trần Mai"),
    ("Minh Anh", "Lê", "Lê Minh Anh"),
    ("Hoàng Anh", "Nguyễn", "Nguyễn Hoàng Anh"),
    ("Thị Mai", "Trần", "Trần Thị Mai"),
    ("Pọm", "Lò Văn", "Lò Văn Pọm"),
    # Without accents, as typed on a phone without a Vietnamese keyboard.
    ("Mai", "Tran Thi", "Tran Thi Mai"),
    ("Dung", "Do Tien", "Do Tien Dung"),
    ("Thanh", "Nguyen", "Nguyen Thanh"),
    ("Bao", "Tran", "Tran Bao"),
    # The family name already first: kept.
    ("Trần Thị", "Mai", "Trần Thị Mai"),
    ("Nguyễn Thị", "Lan", "Nguyễn Thị Lan"),
    ("Lê Văn", "Hùng", "Lê Văn Hùng"),
    ("Nguyễn Văn", "Hoàng", "Nguyễn Văn Hoàng"),
    ("Lê Minh", "Anh", "Lê Minh Anh"),
    ("Trần", "Lâm", "Trần Lâm"),
    ("Nguyễn", "Mai", "Nguyễn Mai"),
    ("Lò Văn", "Pọm", "Lò Văn Pọm"),
    ("Tran Thi", "Mai", "Tran Thi Mai"),
    # Unclear either way ("Mai" and "Hà" are family and given names): as given.
    ("Mai", "Hà", "Mai Hà"),
    ("Y", "Moan", "Y Moan"),
    # Not Vietnamese: as given.
    ("John", "Nguyen", "John Nguyen"),
    ("Kevin", "Tran", "Kevin Tran"),
    ("Anna", "Ho", "Anna Ho"),
    ("John", "Smith", "John Smith"),
    ("H'Hen", "Niê", "H'Hen Niê"),
]

# One whole name (Telegram's first name alone, Zalo's display name) -> the name shown.
WHOLE = [
    ("Trần Thị Mai", "Trần Thị Mai"),
    ("Võ Văn Sáu", "Võ Văn Sáu"),
    ("Phạm Thị Lan", "Phạm Thị Lan"),
    ("Nguyễn Anh Thi", "Nguyễn Anh Thi"),  # "Thi", not "Thị": a given name
    ("Mai Trần Thị", "Trần Thị Mai"),
    ("Lan Phạm Thị", "Phạm Thị Lan"),
    ("Minh Anh Lê", "Lê Minh Anh"),
    ("Tuấn Anh Nguyễn", "Nguyễn Tuấn Anh"),
    ("Khánh Ly Nguyễn", "Nguyễn Khánh Ly"),
    ("Mai Tran Thi", "Tran Thi Mai"),
    ("mai tran thi", "tran thi mai"),
    ("Dung Do Tien", "Do Tien Dung"),
    # Given names only, or unclear without the fields: as given.
    ("Hoàng Anh", "Hoàng Anh"),
    ("Anh Hoàng", "Anh Hoàng"),
    ("Thảo Nguyên", "Thảo Nguyên"),
    ("Hải Đăng", "Hải Đăng"),
    ("Ngọc Hân", "Ngọc Hân"),
    ("Thanh Nguyen", "Thanh Nguyen"),  # Thanh Nguyên, or Nguyễn Thanh: nobody can tell
    ("Bao Tran", "Bao Tran"),
    ("Nguyen Anh Thi", "Nguyen Anh Thi"),
    ("Mai", "Mai"),
    ("Quản trị", "Quản trị"),
    ("Thành viên 700", "Thành viên 700"),
    ("John Smith", "John Smith"),
    ('<b>Ánh & "Bé"', '<b>Ánh & "Bé"'),
    ("Mai 🌸 Trần", "Mai 🌸 Trần"),
]


@pytest.mark.parametrize(("first", "last", "shown"), TWO_FIELDS)
def test_a_name_from_two_fields_is_family_name_first(first: str, last: str, shown: str) -> None:
    assert display_name(first, last) == shown


@pytest.mark.parametrize(("whole", "shown"), WHOLE)
def test_a_whole_name_is_family_name_first(whole: str, shown: str) -> None:
    assert display_name(whole) == shown
    assert display_name(whole, "") == shown


def test_an_empty_name_stays_empty() -> None:
    assert display_name(None, None) == ""
    assert display_name("  ", None) == ""


@pytest.mark.parametrize(
    "spelled",
    [
        "Trần Thị Mai",
        "Mai Trần Thị",
        "Tran Thi Mai",
        "mai tran thi",
        "TRẦN THỊ MAI",
        "Thị Mai Trần",
    ],
)
def test_one_persons_name_in_any_order_with_or_without_accents(spelled: str) -> None:
    assert same_name("Trần Thị Mai", spelled)
    assert name_key(spelled) == name_key("Trần Thị Mai")


@pytest.mark.parametrize("other", ["Trần Văn Mai", "Trần Mai", "Trần Thị Mai Anh", "", "  "])
def test_other_names_are_other_people(other: str) -> None:
    assert not same_name("Trần Thị Mai", other)
    assert not same_name(other, "Trần Thị Mai") or not other.strip()


# --- a workbook's leader ----------------------------------------------------------------------


async def _import(deps: Deps, table: list[list[Any]], actor: str = SUPERADMIN) -> list[str]:
    """A workbook's table imported for real, as `/nhap` or `tcns import` does; its answer."""
    async with transaction(deps.sessions) as session:
        indicators = await config.all_indicators(session)
        rows = importing.rows_of(table, indicators).rows
        result = await importing.run(
            session, rows, actor_id=actor, scope=None, indicators=indicators
        )
        assert result.ok, [o.line for o in result.outcomes]
        return [o.shown(applied=True) for o in result.outcomes] + result.summary(applied=True)


HEADER = ["Mã xã", "Thôn", "Số hộ", "Tổ trưởng"]


@pytest.mark.parametrize(
    "as_telegram_gives_it", ["Mai Trần Thị", "Tran Thi Mai", "mai tran thi", "Trần Thị Mai"]
)
async def test_the_workbooks_leader_leads_under_either_order(
    deps: Deps, as_telegram_gives_it: str
) -> None:
    await _import(deps, [HEADER, [20791, "Thôn Hà Lam", 100, "Trần Thị Mai"]])
    group = ChatRoom(deps, "tg:-4001")
    await group.say(SUPER, "/lien_ket xa=20791 thon=Thôn Hà Lam")
    await group.say(Person("tg:7", "Trần Văn Mai"), "/bao_cao ho=1")  # not her
    await group.say(Person("tg:8", as_telegram_gives_it), "/bao_cao ho=2")  # her
    roster = await group.say(SUPER, "/danh_sach")
    assert f"{as_telegram_gives_it} — tổ trưởng" in roster
    assert "Trần Văn Mai — tổ trưởng" not in roster


async def test_an_import_makes_a_member_already_there_the_leader_at_once(deps: Deps) -> None:
    group = ChatRoom(deps, "tg:-4001")
    await group.say(SUPER, "/lien_ket xa=20791 thon=Thôn Hà Lam ho=100")
    await group.say(Person("tg:8", "Tran Thi Mai"), "/bao_cao ho=2")  # reported before
    lines = await _import(deps, [HEADER, [20791, "Thôn Hà Lam", 100, "Trần Thị Mai"]])
    assert (
        "Dòng 2: đã cập nhật Thôn Hà Lam, Xã Thăng Bình — tổ trưởng Tran Thi Mai (đã ở trong tổ)"
        in lines
    )
    assert not [line for line in lines if "chưa có tổ trưởng" in line.lower()]
    assert "Tran Thi Mai — tổ trưởng" in await group.say(SUPER, "/danh_sach")
    # A second import of the same file changes nothing.
    lines = await _import(deps, [HEADER, [20791, "Thôn Hà Lam", 100, "Trần Thị Mai"]])
    assert "Dòng 2: không đổi Thôn Hà Lam, Xã Thăng Bình" in lines


async def test_the_import_says_which_villages_are_left_without_a_leader(deps: Deps) -> None:
    lines = await _import(
        deps,
        [
            HEADER,
            [20791, "Thôn Hà Lam", 100, "Trần Thị Mai"],
            [20791, "Thôn Bình An", 100, ""],
            [20791, "Thôn Phú Mỹ", 100, None],
        ],
    )
    [waiting] = [line for line in lines if line.startswith("Chưa có tổ trưởng, chờ")]
    assert waiting.endswith(": Thôn Hà Lam (Trần Thị Mai)")
    [unnamed] = [line for line in lines if "thôn chưa có tổ trưởng:" in line]
    assert unnamed.startswith("2 thôn chưa có tổ trưởng: Thôn Bình An, Thôn Phú Mỹ.")
    assert "/to_truong" in unnamed


# --- a leader who never turns up, told to the commune's admins -------------------------------


async def test_a_leader_who_never_turns_up_is_told_to_the_communes_admins(deps: Deps) -> None:
    commune = ChatRoom(deps, "tg:-4000")
    await commune.say(SUPER, "/lien_ket xa=20791")
    xa = Person("tg:301", "Võ Thị Xã")
    await commune.say(SUPER, "/cap_quyen", reply_to=xa)
    await ChatRoom(deps, xa.id, kind="private").say(xa, "/start")  # she opened the bot
    await _import(
        deps,
        [HEADER, [20791, "Thôn Hà Lam", 100, "Trần Thị Mai"], [20791, "Thôn Bình An", 50, ""]],
    )
    ha_lam, binh_an = ChatRoom(deps, "tg:-4001"), ChatRoom(deps, "tg:-4002")
    await ha_lam.say(SUPER, "/lien_ket xa=20791 thon=Thôn Hà Lam")
    await binh_an.say(SUPER, "/lien_ket xa=20791 thon=Thôn Bình An")
    await ha_lam.say(Person("tg:7", "Lê Văn Hùng"), "/bao_cao ho=3")
    await binh_an.say(Person("tg:9", "Phạm Thị Lan"), "/bao_cao ho=4")

    # Monday's round: each village's summary in its group (nobody leads them), and its admin,
    # privately, which villages have no leader and why.
    jobs_run = await jobs.run(deps, "summaries", at("2026-11-23T07:30"))
    assert jobs_run == 3
    recorder = Recorder()
    await OutboxSender(deps, [recorder]).drain()
    assert "Tổng hợp tuần — Thôn Hà Lam" in recorder.to("tg:-4001")[0]
    assert "Tổng hợp tuần — Thôn Bình An" in recorder.to("tg:-4002")[0]
    [notice] = recorder.to(xa.id)
    assert "Các thôn của Xã Thăng Bình có tổ chưa có tổ trưởng:" in notice
    assert "• Thôn Hà Lam — tệp nhập ghi “Trần Thị Mai”, người này chưa tham gia" in notice
    assert "• Thôn Bình An\n" in notice
    assert "/to_truong" in notice
    assert recorder.to("tg:-4000") == []  # the commune's chat has no team summary of its own

    # Said once a week: not again the same week, again the next while it lasts.
    assert await jobs.run(deps, "summaries", at("2026-11-24T09:00")) == 0
    await binh_an.say(SUPER, "/to_truong", reply_to=Person("tg:9", "Phạm Thị Lan"))
    assert await jobs.run(deps, "summaries", at("2026-11-30T07:30")) == 3
    await OutboxSender(deps, [recorder]).drain()
    later = recorder.to(xa.id)[-1]
    assert "Thôn Hà Lam" in later
    assert "Thôn Bình An" not in later


# --- /nhat_ky ----------------------------------------------------------------------------------


async def test_the_log_in_words_paged_without_no_op_entries(deps: Deps) -> None:
    commune = ChatRoom(deps, "tg:-4000")
    ha_lam = ChatRoom(deps, "tg:-4001")
    lan = Person("tg:101", "Võ Văn Sáu")
    await commune.say(SUPER, "/lien_ket tinh=Đà Nẵng xa=Thăng Bình")
    await ha_lam.say(SUPER, "/lien_ket xa=20791 thon=Thôn Hà Lam ho=100")
    await ha_lam.say(lan, "/bao_cao ho=2")
    for _twice in range(2):  # the second time of each changes nothing, and is not logged
        await ha_lam.say(SUPER, "/to_truong", reply_to=lan)
        await commune.say(SUPER, "/lich nhac=thu5 16:00")
        await commune.say(SUPER, "/chi_tieu app=65")
        await ha_lam.say(SUPER, "/so_ho 120")
        await ha_lam.say(SUPER, "/ngon_ngu vi")
    again = await ha_lam.say(SUPER, "/to_truong", reply_to=lan)
    assert "Võ Văn Sáu vốn đã là tổ trưởng Tổ CNS Thôn Hà Lam." in again
    await _import(
        deps,
        [["Mã xã", "Thôn", "Số hộ", "app", "Tổ trưởng"]]
        + [[20791, f"Thôn {n}", 100 + n, 60, ""] for n in range(1, 5)],
    )

    first = await commune.say(SUPER, "/nhat_ky")
    assert "Trang 1/2" in first
    assert first.rstrip().endswith("Xem các thay đổi cũ hơn: /nhat_ky 2")
    # The import first, as a whole; its rows' changes below it.
    [top] = [line for line in first.splitlines() if line.startswith("• ")][:1]
    assert top.endswith("— Quản trị — nhập tệp Excel: tạo 4 thôn, cập nhật 0 thôn")
    assert "chỉ tiêu (Thôn 4) — Hộ cài ứng dụng công dân: – → 60%" in first
    second = await commune.say(SUPER, "/nhat_ky 2")
    assert "Trang 2/2" in second
    assert "/nhat_ky 3" not in second
    log = first + second
    lines = [line for line in log.splitlines() if line.startswith("• ")]
    # In words: a job's name and a weekday in Vietnamese, an indicator's name, a language.
    assert "lịch — Nhắc báo cáo: thứ Sáu 16:00 → thứ Năm 16:00" in log
    assert "chỉ tiêu — Hộ cài ứng dụng công dân: theo cấp trên → 65%" in log
    assert "số hộ (Thôn Hà Lam): 100 → 120" in log
    assert "ngôn ngữ (Thôn Hà Lam): – → Tiếng Việt" in log
    assert "tổ trưởng (Thôn Hà Lam): – → Võ Văn Sáu" in log
    assert not re.search(r"reminders|@|app=|tg:|\bvi\b", log)
    # Each change once; nothing "from X to X".
    for what in ("lịch —", "chỉ tiêu —", "số hộ (Thôn Hà Lam): 100", "ngôn ngữ", "tổ trưởng"):
        assert sum(what in line for line in lines) == 1, what
    for line in lines:
        sides = line.split(": ", 1)[-1].split(" → ")
        assert len(sides) != 2 or sides[0] != sides[1], line

    past = await commune.say(SUPER, "/nhat_ky 3")
    assert "Nhật ký của Xã Thăng Bình có 2 trang; các thay đổi mới nhất: /nhat_ky" in past
    bad = await commune.say(SUPER, "/nhat_ky hai")
    assert "Ghi số trang" in bad
    assert "Ví dụ: /nhat_ky 2" in bad
    # A village's log is its own: one page, no paging line.
    own = await ha_lam.say(SUPER, "/nhat_ky")
    assert "Trang" not in own
    assert "/nhat_ky 2" not in own


async def test_a_workbook_leader_who_takes_part_reads_as_such_in_the_log(deps: Deps) -> None:
    await _import(deps, [HEADER, [20791, "Thôn Hà Lam", 100, "Trần Thị Mai"]])
    group = ChatRoom(deps, "tg:-4001")
    await group.say(SUPER, "/lien_ket xa=20791 thon=Thôn Hà Lam")
    await group.say(Person("tg:8", "Trần Thị Mai"), "/bao_cao ho=2")
    log = await group.say(SUPER, "/nhat_ky")
    assert "tổ trưởng: Trần Thị Mai (tên trong tệp nhập) → Trần Thị Mai" in log
    assert "tổ trưởng: – → Trần Thị Mai (tên trong tệp nhập)" in log
    assert "lệnh nhập tệp" not in log  # imported by a person of the bot, named as such


# --- a village named without accents ---------------------------------------------------------


async def test_a_village_named_without_accents_is_offered_its_accented_name(deps: Deps) -> None:
    titled = ChatRoom(deps, "tg:-4001", title="Tổ CNS thôn Hà Lam")
    out = await titled.say(SUPER, "/lien_ket xa=20791 thon=Thon Ha Lam ho=100")
    assert "Đã tạo Thon Ha Lam" in out
    assert "Tên “Thon Ha Lam” được viết không dấu." in out
    assert (
        "Nếu tên đúng là Thôn Hà Lam, hãy gửi lệnh này trong nhóm của thôn: /doi_ten Thôn Hà Lam"
        in out
    )
    assert "Thôn Hà Lam" in await titled.say(SUPER, "/doi_ten Thôn Hà Lam")

    # Spelled elsewhere: another commune's "Thôn Bình An" suggests the accents.
    await ChatRoom(deps, "tg:-4002").say(SUPER, "/lien_ket xa=20794 thon=Thôn Bình An")
    out = await ChatRoom(deps, "tg:-4003").say(SUPER, "/lien_ket xa=20791 thon=binh an")
    assert "Nếu tên đúng là Thôn Bình An" in out
    assert "/doi_ten Thôn Bình An" in out

    # Nothing suggests one: how to rename.
    out = await ChatRoom(deps, "tg:-4004").say(SUPER, "/lien_ket xa=20791 thon=Thon Xuan Quy")
    assert "Để đổi sang tên có dấu, hãy gửi /doi_ten kèm tên mới trong nhóm của thôn" in out
    # A name with accents, or a number, says nothing of it.
    out = await ChatRoom(deps, "tg:-4005").say(SUPER, "/lien_ket xa=20791 thon=Thôn Phú Mỹ")
    assert "không dấu" not in out
    # Its commune's own village, typed without accents, is found, not made again.
    out = await ChatRoom(deps, "tg:-4006").say(SUPER, "/lien_ket xa=20791 thon=Thon Phu My")
    assert "Đã tạo" not in out
    assert "không dấu" not in out


# --- through Telegram (the sandbox) -----------------------------------------------------------

MAI, SAU, LAN, HUNG = 501, 502, 101, 102
COMMUNE = -1001003


def _workbook(rows: list[list[Any]]) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for row in [HEADER, *rows]:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _private_calls(fake: FakeTelegram, user: int) -> list[str]:
    """The bot's calls that would write to `user`'s private chat."""
    return [
        m for m, p in fake.calls if str(p.get("chat_id")) == str(user) and m.startswith("send")
    ]


async def test_names_and_the_workbooks_leader_through_telegram(
    fake: FakeTelegram, database_url: str, clock: Clock
) -> None:
    """First name "Mai", last name "Trần Thị" on Telegram is "Trần Thị Mai" on every answer, and
    the workbook's "Trần Thị Mai" leads once she reports; "Sáu" + "Võ Văn", in the team before
    the import, leads at the import. Neither is ever written to privately, as neither opened
    the bot: their summaries go to their groups."""
    fake.add_user(MAI, "Mai", "Trần Thị")
    fake.add_user(SAU, "Sáu", "Võ Văn")
    fake.add_group(COMMUNE, "UBND xã Thăng Bình")
    running = await app.start(settings_for(fake, database_url), schedule=False, clock=clock)
    lift_group_limit(fake, running)
    assert running.telegram is not None
    talk = Talk(fake)
    try:
        await talk.say(COMMUNE, ADMIN_ID, "/lien_ket xa=20791")
        await talk.say(HA_LAM, ADMIN_ID, "/lien_ket xa=20791 thon=Thôn Hà Lam ho=100")
        await talk.say(BINH_AN, ADMIN_ID, "/lien_ket xa=20791 thon=Thôn Bình An ho=100")
        said = await talk.say(BINH_AN, SAU, "/bao_cao ho=3")
        assert "Võ Văn Sáu" in said
        assert "Sáu Võ Văn" not in said

        content = _workbook([
            [20791, "Thôn Hà Lam", 100, "Trần Thị Mai"],
            [20791, "Thôn Bình An", 100, "Võ Văn Sáu"],
            [20791, "Thôn Phú Mỹ", 80, ""],
        ])  # fmt: skip
        sent = len(fake.messages_to(COMMUNE))
        await fake.user_sends_document(COMMUNE, ADMIN_ID, "thon.xlsx", content, caption="/nhap")
        dry = (await fake.wait_sent(sent + 1, chat_id=COMMUNE))[-1]
        text = dry.text or ""
        assert "tổ trưởng Võ Văn Sáu (đã ở trong tổ)" in text
        assert "Thôn Hà Lam (Trần Thị Mai)" in text
        assert "1 thôn chưa có tổ trưởng: Thôn Phú Mỹ." in text
        assert dry.message_id is not None
        (_label, data), = fake.buttons(COMMUNE, dry.message_id)  # fmt: skip
        query = await fake.user_presses(COMMUNE, ADMIN_ID, dry.message_id, data)
        await fake.until(lambda: fake.callbacks[query]["answer"] is not None)
        shown = dry.message_id
        await fake.until(lambda: not fake.buttons(COMMUNE, shown))

        said = await talk.say(HA_LAM, MAI, "/bao_cao ho=5")
        assert "Trần Thị Mai" in said
        assert "Mai Trần Thị" not in said
        roster = await talk.say(HA_LAM, ADMIN_ID, "/danh_sach")
        assert "Trần Thị Mai — tổ trưởng" in roster
        roster = await talk.say(BINH_AN, ADMIN_ID, "/danh_sach")
        assert "Võ Văn Sáu — tổ trưởng" in roster
        board = await talk.say(HA_LAM, ADMIN_ID, "/tong_hop")
        assert "Mai Trần Thị" not in board

        # Monday: neither leader opened the bot; their summaries go to their groups first.
        await jobs.run(running.deps, "summaries", at("2026-11-23T07:30"))
        await OutboxSender(running.deps, [running.telegram]).drain()
        await fake.until(
            lambda: "Tổng hợp tuần — Thôn Hà Lam" in (fake.messages_to(HA_LAM)[-1].text or "")
        )
        await fake.until(
            lambda: "Tổng hợp tuần — Thôn Bình An" in (fake.messages_to(BINH_AN)[-1].text or "")
        )
        assert _private_calls(fake, MAI) == []
        assert _private_calls(fake, SAU) == []
        assert not [e for e in fake.errors if e[1] == 403], fake.errors
    finally:
        await fake.wake_pollers()
        await running.stop()


async def test_the_catch_up_after_a_restart_never_writes_first_to_an_unopened_chat(
    fake: FakeTelegram, database_url: str, clock: Clock
) -> None:
    """The round's post for a village's group went out; then a member joins by code in a
    private chat, which links it to the village; the catch-up after a restart sees only that
    chat as still owed. The leader never opened the bot: nothing is tried in their private
    chat, and the group does not get the summary twice. The quarter's workbook for an admin
    who never opened the bot is not tried on them, nor posted to a group (it names every
    reporter): /xuat makes it when they ask."""
    fake.add_group(COMMUNE, "UBND xã Thăng Bình")
    running = await app.start(settings_for(fake, database_url), schedule=False, clock=clock)
    lift_group_limit(fake, running)
    assert running.telegram is not None
    talk = Talk(fake)
    try:
        await talk.say(COMMUNE, ADMIN_ID, "/lien_ket xa=20791")
        await talk.say(HA_LAM, ADMIN_ID, "/lien_ket xa=20791 thon=Thôn Hà Lam ho=100")
        message = await fake.user_sends(HA_LAM, LAN, "/bao_cao ho=2")
        await fake.wait_sent(2, chat_id=HA_LAM)
        await talk.say(HA_LAM, ADMIN_ID, "/to_truong", reply_to=message["message_id"])
        xa = await fake.user_sends(COMMUNE, HUNG, "Chào anh chị")
        await talk.say(COMMUNE, ADMIN_ID, "/cap_quyen", reply_to=xa["message_id"])

        await jobs.run(running.deps, "summaries", at("2026-11-23T07:30"))
        await OutboxSender(running.deps, [running.telegram]).drain()
        summaries = [m for m in fake.messages_to(HA_LAM) if "Tổng hợp tuần" in (m.text or "")]
        assert len(summaries) == 1

        code = re.search(r"/tham_gia (\w+)", await talk.say(HA_LAM, ADMIN_ID, "/ma_tham_gia"))
        assert code is not None
        fake.add_user(777, "Hà", "Nguyễn Thu")
        await talk.say(777, 777, f"/tham_gia {code[1]}")

        # A restart later the same day: the round runs again for what it still owes.
        await jobs.run(running.deps, "summaries", at("2026-11-23T11:00"))
        await OutboxSender(running.deps, [running.telegram]).drain()
        summaries = [m for m in fake.messages_to(HA_LAM) if "Tổng hợp tuần" in (m.text or "")]
        assert len(summaries) == 1
        assert _private_calls(fake, LAN) == []

        # The quarter: Hùng, the commune's admin, never opened the bot either.
        await jobs.run(running.deps, "quarterly", at("2027-01-01T08:00"))
        await OutboxSender(running.deps, [running.telegram]).drain(wait_retries=True)
        assert [s for s in fake.sent if s.method == "senddocument"] == []
        assert _private_calls(fake, HUNG) == []
        assert _private_calls(fake, LAN) == []
        assert not [e for e in fake.errors if e[1] == 403], fake.errors
    finally:
        await fake.wake_pollers()
        await running.stop()
