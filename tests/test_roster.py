"""A team's roster before its first report: the workbook's sheet "Thành viên", the "✋ Tôi ở trong
tổ" button, joins to the group and whoever speaks there. A team whose members never reported
is 0 of N in its summary and is reminded, naming them; through python-telegram-bot against the
sandbox Bot API."""

from __future__ import annotations

import io
from collections.abc import Sequence

import pytest
from openpyxl import Workbook, load_workbook
from sqlmodel import col, func, select

from bot import app
from handlers.incoming import Deps
from handlers.person_names import same_name, short_form
from sandbox.telegram import FakeTelegram, Sent
from scheduler import jobs
from scheduler.outbox import OutboxSender
from storage.models import Membership, Person, Unit
from tests.conftest import SUPERADMIN, lift_group_limit
from tests.factories import settings_for
from tests.harness import ChatRoom, Clock
from tests.harness import Person as HPerson
from tests.test_jobs import Recorder, at
from tests.tg_world import ADMIN_ID, HA_LAM, Talk

LAN, HUNG, ANH = 101, 102, 103
MAI, SAU, HOA, KHANH = 301, 302, 303, 304
BUTTON = "✋ Tôi ở trong tổ"

# The members sheet of Hà Lam, as a commune would fill it: (name, phone, affiliation, trained).
LISTED = [
    ("Nguyễn Thị Lan", "0912 345 678", "Đoàn thanh niên", "có"),
    ("Lê Văn Hùng", "", "Công an xã", "không"),
    ("Trần Thị Mai", "912345679", "Hội Phụ nữ", "x"),  # Excel lost the leading 0
    ("Võ Văn Sáu", "", "", ""),
    ("Đặng Thị Hoa", "+84 913 000 111", "Cựu chiến binh", "rồi"),
]


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        ("Trần Thị Mai", "Mai Trần Thị", True),  # Telegram's first name "Mai", last "Trần Thị"
        ("Trần Thị Mai", "Thị Mai Trần", True),
        ("Trần Thị Mai", "tran thi mai", True),
        ("Đặng Văn Đức", "DANG VAN DUC", True),
        ("  Lê   Văn Hùng ", "Lê Văn Hùng", True),
        ("Trần Thị Mai", "Trần Mai", False),
        ("Trần Thị Mai", "Mai Thị Trần", False),  # not one name turned: another order
        ("Trần Thị Mai", "Trần Thị Mai Anh", False),
        ("Mai", "Trần Thị Mai", False),
        ("Mai", "mai", True),
        ("", "", False),
    ],
)
def test_names_match_in_either_order_without_accents_or_case(a: str, b: str, same: bool) -> None:
    assert same_name(a, b) is same
    assert same_name(b, a) is same


def _workbook(members: Sequence[tuple[str, str, str, str]], *, households: int = 200) -> bytes:
    book = Workbook()
    villages = book.active
    assert villages is not None
    villages.title = "Thôn"
    villages.append(["Mã xã", "Xã", "Thôn", "Số hộ", "Ghi chú"])
    villages.append([20791, "Xã Thăng Bình", "Thôn Phú Mỹ", 350, "Ví dụ — không nhập"])
    villages.append([20791, "Xã Thăng Bình", "Thôn Hà Lam", households, None])
    villages.append([20792, "Xã khác", None, None, None])  # a commune's row left unfilled
    sheet = book.create_sheet("Thành viên")
    sheet.append(["Thôn", "Họ và tên", "Điện thoại", "Đoàn thể", "Đã tập huấn", "Ghi chú"])
    sheet.append(["Thôn Phú Mỹ", "Nguyễn Văn Ví Dụ", "0900000000", "Đoàn", "có", "VD"])
    for name, phone, affiliation, trained in members:
        sheet.append(["Thôn Hà Lam", name, phone or None, affiliation or None, trained or None])
    sheet.append(["Thôn Hà Lam", None, None, None, None, None])  # a village with nobody yet
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


async def _members(running: app.Running, village: str) -> list[tuple[Membership, Person]]:
    async with running.deps.sessions() as s:
        rows = await s.exec(
            select(Membership, Person)
            .join(Person, col(Person.id) == col(Membership.person_id))
            .join(Unit, col(Unit.id) == col(Membership.unit_id))
            .where(Unit.name == village)
        )
        return list(rows.all())


async def _village_id(running: app.Running, name: str) -> int:
    async with running.deps.sessions() as s:
        found = (await s.exec(select(Unit.id).where(Unit.name == name))).one()
        assert found is not None
        return found


async def _import(fake: FakeTelegram, content: bytes) -> Sent:
    """The admin sends the workbook privately with /nhap; the dry run."""
    sent = len(fake.messages_to(ADMIN_ID))
    await fake.user_sends_document(ADMIN_ID, ADMIN_ID, "to.xlsx", content, caption="/nhap")
    return (await fake.wait_sent(sent + 1, chat_id=ADMIN_ID))[-1]


async def _apply(fake: FakeTelegram, dry: Sent) -> str:
    assert dry.message_id is not None
    ((label, data),) = fake.buttons(ADMIN_ID, dry.message_id)
    assert label == "✅ Áp dụng"
    shown = dry.message_id
    await fake.user_presses(ADMIN_ID, ADMIN_ID, shown, data)
    await fake.until(lambda: not fake.buttons(ADMIN_ID, shown))
    return str((fake.message(ADMIN_ID, shown) or {}).get("text", ""))


async def _answered(fake: FakeTelegram, query: str) -> dict[str, object]:
    """The answer the press `query` got (once it has)."""

    def answer() -> dict[str, object] | None:
        found: dict[str, object] | None = fake.callbacks[query]["answer"]
        return found

    return await fake.until(answer)


async def _remind(running: app.Running, moment: str) -> int:
    queued = await jobs.run(running.deps, "reminders", at(moment))
    assert running.telegram is not None
    await OutboxSender(running.deps, [running.telegram]).drain()
    return queued


async def test_a_team_that_never_reported_is_0_of_n_and_is_reminded(
    fake: FakeTelegram, database_url: str, clock: Clock
) -> None:
    fake.add_user(MAI, "Mai", "Trần Thị")  # the family name as Telegram's last name
    running = await app.start(settings_for(fake, database_url), schedule=False, clock=clock)
    lift_group_limit(fake, running)
    assert running.telegram is not None
    running.telegram.pacer.per_private_second = 1000
    talk = Talk(fake)
    try:
        out = await talk.say(HA_LAM, ADMIN_ID, "/lien_ket xa=20791 thon=Thôn Hà Lam ho=200")
        assert "bấm nút bên dưới để được tính vào tổ" in out
        ha_lam = await _village_id(running, "Thôn Hà Lam")
        linked = fake.messages_to(HA_LAM)[-1]
        assert linked.message_id is not None
        assert (BUTTON, f"r:{ha_lam}") in fake.buttons(HA_LAM, linked.message_id)
        await talk.say(HUNG, HUNG, "/huong_dan")  # Hùng has opened a private chat; Mai has not

        # The commune imports its members: said as what would be done, then done.
        await talk.say(ADMIN_ID, ADMIN_ID, "/huong_dan")
        dry = await _import(fake, _workbook(LISTED))
        text = dry.text or ""
        assert "sẽ thêm 5 thành viên, sẽ cập nhật 0, 0 không đổi" in text
        assert "“Thành viên”, dòng 3: sẽ thêm Nguyễn Thị Lan vào tổ Thôn Hà Lam" in text
        assert "Dòng 2 là dòng ví dụ của mẫu: bỏ qua." in text
        assert "“Thành viên”, dòng 2 là dòng ví dụ của mẫu: bỏ qua." in text
        assert "; 0 lỗi." in text
        assert await _members(running, "Thôn Hà Lam") == []
        done = await _apply(fake, dry)
        assert "Đã áp dụng: 0 thôn tạo mới, 0 cập nhật, 1 không đổi; 5 thành viên thêm mới" in done
        assert "“Thành viên”, dòng 3: đã thêm Nguyễn Thị Lan vào tổ Thôn Hà Lam" in done
        assert await _village_id(running, "Thôn Hà Lam") == ha_lam
        async with running.deps.sessions() as s:
            assert (await s.exec(select(Unit).where(Unit.name == "Thôn Phú Mỹ"))).first() is None

        # The same file again adds nobody.
        again = await _import(fake, _workbook(LISTED))
        assert "sẽ thêm 0 thành viên, sẽ cập nhật 0, 5 không đổi" in (again.text or "")
        assert again.message_id is not None
        assert fake.buttons(ADMIN_ID, again.message_id) == []  # nothing to apply
        members = await _members(running, "Thôn Hà Lam")
        assert sorted(p.display_name for _m, p in members) == sorted(n for n, *_r in LISTED)
        kept = {p.display_name: m for m, p in members}
        assert kept["Trần Thị Mai"].phone == "0912345679"
        assert kept["Đặng Thị Hoa"].phone == "0913000111"
        assert kept["Nguyễn Thị Lan"].affiliation == "youth_union"
        assert [n for n, m in kept.items() if m.trained] == [
            n for n, _p, _a, trained in LISTED if trained in ("có", "x", "rồi")
        ]

        # Nobody has reported: the summary says 0 of 5 and names all five.
        summary = await talk.say(HA_LAM, ADMIN_ID, "/tong_hop")
        assert f"Đã báo cáo: 0/{len(LISTED)} thành viên" in summary
        missing = summary.split("Chưa báo cáo: ", 1)[1].splitlines()[0]
        assert sorted(missing.split(", ")) == sorted(n for n, *_r in LISTED)
        assert "0912" not in summary  # no phone numbers in a group
        roster = await talk.say(HA_LAM, ADMIN_ID, "/danh_sach")
        assert f"{len(LISTED)} thành viên" in roster
        assert roster.count("theo danh sách, chưa nhắn với bot") == len(LISTED)
        assert "0912" not in roster

        # Friday 16:00: the reminder reaches the group, names them, and carries the button.
        # Nobody is written to privately: none of them is known on Telegram yet.
        assert await _remind(running, "2026-11-20T16:00") == 1
        reminder = fake.messages_to(HA_LAM)[-1]
        assert "Nhắc báo cáo — Thôn Hà Lam" in (reminder.text or "")
        assert f"{len(LISTED)} thành viên chưa báo cáo tuần này" in (reminder.text or "")
        for name, *_rest in LISTED:
            assert name in (reminder.text or "")
        assert reminder.message_id is not None
        assert (BUTTON, f"r:{ha_lam}") in fake.buttons(HA_LAM, reminder.message_id)
        assert ("📝 Báo cáo", "go") in fake.buttons(HA_LAM, reminder.message_id)
        assert len(fake.messages_to(HUNG)) == 1  # only the answer to his /huong_dan

        # The next week they turn up: Hùng joins the group, Mai (her names the other way
        # round on Telegram) asks for the progress, Ánh (on no list) presses the button twice,
        # Lan reports. The listed rows become theirs; Ánh counts once.
        clock.advance(days=7)
        await fake.user_joins(HA_LAM, [HUNG])
        await talk.say(HA_LAM, MAI, "/tien_do")
        for _ in range(2):
            query = await fake.user_presses(HA_LAM, ANH, reminder.message_id, f"r:{ha_lam}")
            await _answered(fake, query)
        assert "Thôn Hà Lam" in fake.callbacks[query]["answer"]["text"]
        assert "Đã ghi cho" in await talk.say(HA_LAM, LAN, "/bao_cao ho=3")
        members = await _members(running, "Thôn Hà Lam")
        ids = {p.id: m for m, p in members}
        assert len(members) == len(LISTED) + 1
        assert {"tg:101", "tg:102", f"tg:{MAI}", "tg:103"} <= set(ids)
        assert ids[f"tg:{MAI}"].affiliation == "womens_union"  # the list's details are hers
        assert ids[f"tg:{MAI}"].trained is True
        assert ids["tg:102"].affiliation == "police"

        # Lan asks in her private chat: her team is the group's.
        private = await talk.say(LAN, LAN, "/tien_do")
        assert "Thôn Hà Lam" in private
        assert "chưa tham gia tổ nào" not in private

        # Friday's reminder: the group names the five who have not reported (Lan has);
        # Hùng, who opened a private chat, is reminded there too; Mai, who never did, is not
        # tried.
        assert await _remind(running, "2026-11-27T16:00") == 2
        week = fake.messages_to(HA_LAM)[-1].text or ""
        assert "5 thành viên chưa báo cáo tuần này" in week
        assert "Nguyễn Thị Lan" not in week
        for name in ("Lê Văn Hùng", "Võ Văn Sáu", "Đặng Thị Hoa", "Ánh"):
            assert name in week
        assert "Tuần này bạn chưa báo cáo." in (fake.messages_to(HUNG)[-1].text or "")
        assert fake.messages_to(MAI) == []
        assert fake.errors == []
    finally:
        await fake.wake_pollers()
        await running.stop()


async def test_the_button_joins_and_speakers_fill_the_roster_once(
    fake: FakeTelegram, database_url: str, clock: Clock
) -> None:
    for uid, first, last in ((SAU, "Võ Văn", "Sáu"), (HOA, "Đặng Thị", "Hoa"),
                             (KHANH, "Phan", "Khánh")):  # fmt: skip
        fake.add_user(uid, first, last)
    running = await app.start(settings_for(fake, database_url), schedule=False, clock=clock)
    lift_group_limit(fake, running)
    talk = Talk(fake)
    try:
        await talk.say(HA_LAM, ADMIN_ID, "/lien_ket xa=20791 thon=Thôn Hà Lam ho=200")
        ha_lam = await _village_id(running, "Thôn Hà Lam")
        linked = fake.messages_to(HA_LAM)[-1].message_id
        assert linked is not None

        # The button, pressed twice: on the roster once, told so each time (to them alone).
        answers = []
        for _ in range(2):
            query = await fake.user_presses(HA_LAM, ANH, linked, f"r:{ha_lam}")
            answers.append((await _answered(fake, query))["text"])
        assert answers == [
            "Bạn đã có tên trong tổ của Thôn Hà Lam.",
            "Bạn đã ở trong tổ của Thôn Hà Lam.",
        ]
        assert [p.id for _m, p in await _members(running, "Thôn Hà Lam")] == ["tg:103"]

        # Joins: two added by the admin (who is not), one through a chat member update; one
        # who leaves again is off the roster.
        await fake.user_joins(HA_LAM, [SAU, HOA], by=ADMIN_ID)
        await fake.member_status_changes(HA_LAM, KHANH, old="left", new="member")
        # Someone who speaks to the bot in the group is on it; the commune's admin is not.
        await talk.say(HA_LAM, HUNG, "/tien_do")
        await talk.say(HA_LAM, ADMIN_ID, "/tien_do")
        roster = await talk.say(HA_LAM, ANH, "/danh_sach")
        assert "5 thành viên" in roster
        found = {p.id for _m, p in await _members(running, "Thôn Hà Lam")}
        assert found == {"tg:103", f"tg:{SAU}", f"tg:{HOA}", f"tg:{KHANH}", "tg:102"}
        await fake.member_status_changes(HA_LAM, KHANH, old="member", new="left")
        assert "4 thành viên" in await talk.say(HA_LAM, ANH, "/danh_sach")

        # A button of a chat linked elsewhere since is refused, and counts nobody.
        await _answered(fake, await fake.user_presses(HA_LAM, LAN, linked, f"r:{ha_lam}"))
        await talk.say(HA_LAM, ADMIN_ID, "/lien_ket xa=20791 thon=Thôn Bình An ho=100")
        stale = await _answered(fake, await fake.user_presses(HA_LAM, 201, linked, f"r:{ha_lam}"))
        assert stale["show_alert"] is True
        assert "đã cũ" in str(stale["text"])
        assert await _members(running, "Thôn Bình An") == []
        async with running.deps.sessions() as s:
            in_all = (await s.exec(select(func.count()).select_from(Membership))).one()
        assert in_all == 5  # Ánh, Sáu, Hoa, Hùng and Lan (who pressed in time)
        assert fake.errors == []
    finally:
        await fake.wake_pollers()
        await running.stop()


async def test_nhap_without_a_file_hands_out_the_template(
    fake: FakeTelegram, database_url: str, clock: Clock
) -> None:
    running = await app.start(settings_for(fake, database_url), schedule=False, clock=clock)
    lift_group_limit(fake, running)
    talk = Talk(fake)
    try:
        await talk.say(HA_LAM, ADMIN_ID, "/lien_ket xa=20791 thon=Thôn Hà Lam ho=200")
        await fake.user_sends(HA_LAM, ADMIN_ID, "/nhap")
        await fake.wait_sent_kind("senddocument", 1)
        (sent,) = [s for s in fake.sent if s.method == "senddocument"]
        assert "Gửi tệp" in (sent.text or "")
        assert sent.content is not None
        book = load_workbook(io.BytesIO(sent.content))
        assert book.sheetnames == ["Thôn", "Hướng dẫn", "Thành viên"]
        villages = list(book["Thôn"].iter_rows(values_only=True))
        assert villages[0][:5] == ("Mã xã", "Xã", "Tỉnh", "Thôn", "Số hộ")
        assert str(villages[1][-1]).startswith("Ví dụ")
        assert ("20791", "Xã Thăng Bình") in {(str(r[0]), r[1]) for r in villages[2:]}
        members = list(book["Thành viên"].iter_rows(values_only=True))
        assert members[0][:6] == ("Mã thôn", "Thôn", "Họ và tên", "Điện thoại", "Đoàn thể",
                                  "Đã tập huấn")  # fmt: skip
        assert str(members[1][-1]).startswith("Ví dụ")
        explained = {str(r[1]) for r in book["Hướng dẫn"].iter_rows(values_only=True)}
        assert {"Mã xã", "Thôn", "Số hộ", "Họ và tên", "Đã tập huấn"} <= explained

        # Sent back as it is, it changes nothing and says why.
        await talk.say(ADMIN_ID, ADMIN_ID, "/huong_dan")
        dry = await _import(fake, sent.content)
        assert "Không có gì để nhập" in (dry.text or "")
        assert "lỗi" not in (dry.text or "")
        assert fake.errors == []
    finally:
        await fake.wake_pollers()
        await running.stop()


async def test_a_commune_counts_its_villages_rosters_and_an_empty_team_is_reminded(
    deps: Deps,
) -> None:
    super_ = HPerson(SUPERADMIN, "Quản trị")
    commune = ChatRoom(deps, "tg:-4003")
    ha_lam = ChatRoom(deps, "tg:-4001")
    binh_an = ChatRoom(deps, "tg:-4002")
    await commune.say(super_, "/lien_ket tinh=Đà Nẵng xa=Thăng Bình")
    await ha_lam.say(super_, "/lien_ket xa=20791 thon=Thôn Hà Lam ho=100")
    await binh_an.say(super_, "/lien_ket xa=20791 thon=Thôn Bình An ho=100")
    ids = {}
    async with deps.sessions() as s:
        for name in ("Thôn Hà Lam", "Thôn Bình An"):
            ids[name] = (await s.exec(select(Unit.id).where(Unit.name == name))).one()
    # Three press the button in Hà Lam (one of them twice), two speak in Bình An; none reports.
    pressed = [HPerson(f"tg:{n}", f"Người {n}") for n in (11, 12, 13)]
    for who in [*pressed, pressed[0]]:
        replies = await ha_lam.press(who, f"r:{ids['Thôn Hà Lam']}", message_id=1)
        assert [r.answer.text for r in replies if r.answer] != []
    for n in (21, 22):
        await binh_an.say(HPerson(f"tg:{n}", f"Người {n}"), "/tien_do")
    expected = len(pressed) + 2
    out = await commune.say(super_, "/tong_hop")
    assert f"Đã báo cáo: 0/{expected} thành viên" in out

    # A linked team with nobody on its roster is reminded all the same, with the button.
    empty = ChatRoom(deps, "tg:-4004")
    await empty.say(super_, "/lien_ket xa=20791 thon=Thôn Trống ho=50")
    recorder = Recorder()
    await jobs.run(deps, "reminders", at("2026-11-20T16:00"))
    await OutboxSender(deps, [recorder]).drain()
    (post,) = [r for c, r in recorder.posts if c == "tg:-4004"]
    assert "Tổ chưa có ai trong danh sách." in post.rich.plain()
    assert [b.text for row in post.buttons for b in row] == ["📝 Báo cáo", BUTTON]
    assert recorder.to("tg:-4003") == []  # a commune's chat has no roster to remind
    (ha_lam_post,) = recorder.to("tg:-4001")
    assert f"{len(pressed)} thành viên chưa báo cáo tuần này" in ha_lam_post


@pytest.mark.parametrize(
    ("full", "short", "fits"),
    [
        ("Lê Thị Thu", "Thu Lê", True),
        ("Le Thi Thu", "Lê Thu", True),
        ("Phạm Văn Đức", "Duc Pham", True),
        ("Nguyễn Thị Minh Khai", "Khai Nguyễn", True),
        ("Lê Thị Thu", "Thu Thị", False),  # a middle name is not a family name
        ("Lê Thị Thu", "Lê Thị Thu", False),  # the whole name: same_name's case
        ("Lê Thu", "Thu Lê", False),  # two words already: same_name's case
        ("Lê Thị Thu", "Thu", False),  # one word tells nobody apart
        ("Lê Thị Lê", "Lê Lê", False),
    ],
)
def test_a_short_form_is_family_and_given_name_only(full: str, short: str, fits: bool) -> None:
    assert short_form(full, short) is fits
