"""Files and names sent to hurt (issue 23): a workbook that declares the whole sheet, a zip
that unpacks to far more than it weighs, rows without end, cells without end — each refused in
one line, in a process of its own, while the other groups are answered; names with hidden
characters stored clean wherever they come in; look-alike digits in admin commands refused."""

from __future__ import annotations

import asyncio
import io
import os
import sys
import zipfile
from collections.abc import Sequence
from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlmodel import select

from bench.bomb import dimension_bomb, run_measured
from bot import app
from handlers import sheets
from handlers.incoming import Deps
from sandbox.telegram import FakeTelegram
from storage import db
from storage.models import Chat, Person, Unit
from tests.conftest import SUPERADMIN, lift_group_limit
from tests.factories import settings_for
from tests.harness import ChatRoom, Clock
from tests.harness import Person as Member
from tests.tg_world import ADMIN_ID, HA_LAM, Talk

HIDDEN = "\x07\x1b\u202e\x00\u200b\u2066\ufeff"
PEAK_MB = 300


def _book(rows: Sequence[Sequence[object]]) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for row in rows:
        sheet.append(list(row))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _rewritten(content: bytes, change: dict[str, bytes]) -> bytes:
    """The workbook with some of its parts replaced (as an attacker writes them by hand)."""
    source = zipfile.ZipFile(io.BytesIO(content))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            target.writestr(item, change.get(item.filename, source.read(item.filename)))
        for name in set(change) - set(source.namelist()):
            target.writestr(name, change[name])
    return out.getvalue()


def zip_bomb() -> bytes:
    """Shared strings of 40 MB of one letter: a few dozen kilobytes packed."""
    content = _book([["Mã xã", "Thôn", "Số hộ"], [20791, "Thôn A", 100]])
    strings = b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    strings += b"<si><t>" + b"A" * (40 * 1024 * 1024) + b"</t></si></sst>"
    return _rewritten(content, {"xl/sharedStrings.xml": strings})


def test_the_bomb_is_what_it_claims_to_be() -> None:
    content = dimension_bomb()
    assert len(content) < 6 * 1024
    sheet = zipfile.ZipFile(io.BytesIO(content)).read("xl/worksheets/sheet1.xml")
    assert b'ref="A1:XFD1048576"' in sheet
    assert b'r="XFD1048576"' in sheet


@pytest.mark.parametrize(
    ("content", "code"),
    [
        (dimension_bomb(), "too_long"),
        (zip_bomb(), "too_big_unpacked"),
        (_book([["Thôn"], *([["x"]] * 3), *([[None]] * 25_000), ["late"]]), "too_long"),
        (_book([["Thôn"], *([["x"]] * 20_001)]), "too_many_rows"),
        (_book([["Mã xã", "Thôn", "Số hộ"], [20791, "T" * 5000, 1]]), "cell_too_long"),
        (b"PK\x03\x04 not a workbook", "not_xlsx"),
    ],
    ids=["dimension", "zip", "far", "rows", "cell", "junk"],
)
async def test_hostile_workbooks_are_refused_by_a_process_of_their_own(
    content: bytes, code: str
) -> None:
    with pytest.raises(sheets.Unreadable) as refused:
        await sheets.read("tinh.xlsx", content)
    assert refused.value.code == code


async def test_one_string_in_every_cell_is_counted_every_time() -> None:
    """A short file whose cells all point at one long shared string: what the reader would
    hand back is bounded, not only what the file weighs."""
    long_text = "T" * 900
    content = _book([["Thôn", *[f"c{n}" for n in range(11)]],
                     *([[long_text] * 12] * 2_000)])  # fmt: skip
    assert len(content) < 200_000
    with pytest.raises(sheets.Unreadable) as refused:
        await sheets.read("tinh.xlsx", content)
    assert refused.value.code == "too_much_text"


def test_invisible_letters_and_marks_are_no_part_of_a_name() -> None:
    from storage.folding import safe_name, village_key

    assert safe_name("\u3164\u3164") == ""
    assert village_key(safe_name("Thôn\u3164 An")) == village_key("Thôn An")
    assert safe_name("\u0301Lan\u2800") == "Lan"
    assert safe_name("x\ufe0f\U000e0100y\u034f") == "xy"
    assert safe_name("Phú Mỹ") == "Phú Mỹ"


async def test_a_sheet_is_read_as_it_is_not_as_it_claims() -> None:
    content = _book([["Mã xã", "Thôn", "Số hộ", *[f"c{n}" for n in range(100)]],
                     [20791, "Thôn An", 120], [], [20791, "Thôn Bình", 80]])  # fmt: skip
    rows = await sheets.read("tinh.xlsx", content)
    assert rows[0][:3] == ["Mã xã", "Thôn", "Số hộ"]
    assert len(rows[0]) == sheets.MAX_COLUMNS  # no wider than anyone reads
    assert len(rows[1]) == 3
    assert [r[:3] for r in rows[1:]] == [[20791, "Thôn An", 120], [], [20791, "Thôn Bình", 80]]
    text = "Mã xã;Thôn;Số hộ\n" + "".join(f"20791;Thôn {n};10\n" for n in range(30_000))
    with pytest.raises(sheets.Unreadable) as refused:
        await sheets.read("tinh.csv", text.encode())
    assert refused.value.code == "too_many_rows"


def test_tcns_import_refuses_the_bomb_in_one_line_within_its_memory(
    tmp_path: Path, db_path: Path
) -> None:
    """`tcns import` as an operator runs it, in a process of its own, its peak memory read from
    the kernel (the reading child's included)."""
    bomb = tmp_path / "tinh.xlsx"
    bomb.write_bytes(dimension_bomb())
    env = {**os.environ, "TCNS_DATABASE_URL": f"sqlite+aiosqlite:///{db_path}"}
    code, text, peak_mb = run_measured([sys.executable, "-m", "bot", "import", str(bomb)], env)
    assert code == 1, text
    assert "Tệp quá lớn" in text
    assert "Traceback" not in text
    assert len(text.strip().splitlines()) == 1, text
    assert peak_mb < PEAK_MB


async def test_the_bomb_by_chat_is_refused_and_the_groups_are_answered(
    fake: FakeTelegram, database_url: str, clock: Clock
) -> None:
    running = await app.start(settings_for(fake, database_url), schedule=False, clock=clock)
    lift_group_limit(fake, running)
    talk = Talk(fake)
    try:
        await talk.say(HA_LAM, ADMIN_ID, "/lien_ket xa=20791 thon=Thôn Hà Lam ho=200")
        await talk.say(ADMIN_ID, ADMIN_ID, "/start")
        sent = len(fake.messages_to(ADMIN_ID))
        await fake.user_sends_document(
            ADMIN_ID, ADMIN_ID, "tinh.xlsx", dimension_bomb(), caption="/nhap"
        )
        # Another group reports while the file is read.
        assert "Đã ghi" in await talk.say(HA_LAM, 101, "/bao_cao ho=3")
        answer = (await fake.wait_sent(sent + 1, chat_id=ADMIN_ID))[-1].text or ""
        assert "Tệp quá lớn" in answer
        assert "Có lỗi xảy ra" not in answer
        async with running.deps.sessions() as session:
            found = await session.exec(select(Unit).where(Unit.name == "Thôn Bom"))
            assert found.first() is None
        assert fake.errors == []
    finally:
        await fake.wake_pollers()
        await running.stop()


# --- names -----------------------------------------------------------------------------------

SUPER = Member(SUPERADMIN, "Trần Văn Quản")


async def _names(deps: Deps) -> list[str]:
    async with deps.sessions() as s:
        rows = await s.exec(select(Unit.name).where(Unit.level == "village"))
        return sorted(rows.all())


def _clean(text: str) -> bool:
    return not any(ch in text for ch in HIDDEN) and text == " ".join(text.split())


async def test_hidden_characters_never_reach_a_stored_name(deps: Deps) -> None:
    room = ChatRoom(deps, "tg:-3001", title=f"Tổ CNS{HIDDEN} thôn Phú\u202e Mỹ")
    await room.say(SUPER, f"/lien_ket xa=20791 thon=Thôn{HIDDEN} Phú \u202eMỹ ho=90")
    assert await _names(deps) == ["Thôn Phú Mỹ"]
    out = await room.say(SUPER, "/doi_ten Thôn\x07 Phú\x1b[31m Mỹ\u202e\x00 Đông")
    assert "\x1b" not in out
    assert "\x07" not in out
    names = await _names(deps)
    assert names == ["Thôn Phú[31m Mỹ Đông"]
    assert all(_clean(n) for n in names)
    lan = Member("tg:501", f"Nguyễn{HIDDEN} Thị\u202e Lan\x1b")
    await room.say(lan, "/bao_cao ho=2")
    async with deps.sessions() as s:
        person = await s.get(Person, "tg:501")
        assert person is not None
        assert person.display_name == "Nguyễn Thị Lan"
        chat = await s.get(Chat, "tg:-3001")
        assert chat is not None
        assert chat.title == "Tổ CNS thôn Phú Mỹ"
    too_long = await room.say(SUPER, "/doi_ten " + "Thôn Dài " * 40)
    assert "⚠️" in too_long
    assert await _names(deps) == names


def test_imported_names_are_cleaned_and_bounded(
    tmp_path: Path, db_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    from bot.__main__ import main

    monkeypatch.setenv("TCNS_DATABASE_URL", f"sqlite+aiosqlite:///{db_path}")
    monkeypatch.chdir(tmp_path)
    # As Excel writes control characters (_x0007_), and as a CSV carries them.
    good = tmp_path / "tinh.xlsx"
    good.write_bytes(_book([["Mã xã", "Thôn", "Số hộ", "Tổ trưởng"],
                            [20791, "Thôn_x0007_ Bình_x001B__x0000_ An\u202e\u200b", 120,
                             "Lê\u2066 Văn\u200b Hùng"]]))  # fmt: skip
    csv_file = tmp_path / "tinh.csv"
    csv_file.write_text(f"Mã xã,Thôn,Số hộ,Tổ trưởng\n20791,Thôn{HIDDEN} Cẩm\x07 Sa,80,"
                        f"Võ\x1b Thị{HIDDEN} Sáu\n", encoding="utf-8")  # fmt: skip
    for file in (good, csv_file):
        assert main(["import", str(file)]) == 0
        out = capsys.readouterr().out
        assert not any(ch in out for ch in HIDDEN), out
    names = [u.name for u in asyncio.run(_units(f"sqlite+aiosqlite:///{db_path}"))]
    assert sorted(names) == ["Thôn Bình An", "Thôn Cẩm Sa"]
    long_name = tmp_path / "dai.xlsx"
    long_name.write_bytes(_book([["Mã xã", "Thôn", "Số hộ"], [20791, "Thôn " + "x" * 300, 1]]))
    assert main(["import", str(long_name)]) == 1
    assert "dài hơn 120 ký tự" in capsys.readouterr().out


async def _units(url: str) -> list[Unit]:
    engine = db.create_engine(url)
    async with db.session_factory(engine)() as s:
        rows = list((await s.exec(select(Unit).where(Unit.level == "village"))).all())
    await engine.dispose()
    leaders = [u.leader_name for u in rows]
    assert sorted(leaders) == ["Lê Văn Hùng", "Võ Thị Sáu"], leaders  # type: ignore[type-var]
    return rows


# --- numbers ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "command", ["/so_ho 10³", "/so_ho ３５０", "/so_ho 1٠", "/chi_tieu app=5²",
                "/lich nhac=thu6 1⁶:00", "/lien_ket xa=20791 thon=Thôn 9 ho=3⁵",
                "/so_ho 1 200", "/so_ho 350 hộ 400", "/lien_ket xa=20791 thon=Thôn 9 ho=1 200"],
)  # fmt: skip
async def test_look_alike_digits_are_refused_in_admin_commands(deps: Deps, command: str) -> None:
    room = ChatRoom(deps, "tg:-3002")
    await room.say(SUPER, "/lien_ket xa=20791 thon=Thôn Hà Lam ho=200")
    before = await room.say(SUPER, "/chi_tieu")
    out = await room.say(SUPER, command)
    assert "chỉ trông giống chữ số" in out or "có nhiều hơn một số" in out, out
    assert "Có lỗi" not in out
    assert await room.say(SUPER, "/chi_tieu") == before
    async with deps.sessions() as s:
        unit = (await s.exec(select(Unit).where(Unit.name == "Thôn Hà Lam"))).one()
        assert unit.households == 200
    assert await _names(deps) == ["Thôn Hà Lam"]


@pytest.mark.parametrize(
    "period", ["99999999999999999999", "99999999999999999999-Q4", "2026-W99999999999999999",
               "1900", "quý 4/9999"],
)  # fmt: skip
async def test_a_period_no_calendar_holds_is_answered(deps: Deps, period: str) -> None:
    room = ChatRoom(deps, "tg:-3003")
    await room.say(SUPER, "/lien_ket xa=20791 thon=Thôn Hà Lam ho=200")
    out = await room.say(SUPER, f"/xuat {period}")
    assert "quý 4, tháng 11" in out, out
    assert "Có lỗi" not in out
