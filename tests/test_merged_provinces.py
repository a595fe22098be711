"""Provinces merged on 1 July 2025, named as they were: recognised, and where they are now said."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from sqlmodel import select

from bot.__main__ import main
from handlers.incoming import Deps
from handlers.plans import resolve_unit
from storage import units
from storage.merged_provinces import former_province, former_provinces
from storage.models import Unit
from tests.conftest import SUPERADMIN
from tests.harness import ChatRoom, Person
from tests.test_import import url  # noqa: F401 (a fixture)

SUPER = Person(SUPERADMIN, "Trần Văn Quản")


@pytest.mark.parametrize(
    ("written", "old", "now"),
    [
        ("Quảng Nam", "Tỉnh Quảng Nam", "da nang"),
        ("tinh quang nam", "Tỉnh Quảng Nam", "da nang"),
        ("QuangNam", "Tỉnh Quảng Nam", "da nang"),
        ("49", "Tỉnh Quảng Nam", "da nang"),
        ("Bà Rịa – Vũng Tàu", "Tỉnh Bà Rịa - Vũng Tàu", "ho chi minh"),
        ("Hoà Bình", "Tỉnh Hòa Bình", "phu tho"),
        ("Dak Nong", "Tỉnh Đắk Nông", "lam dong"),
        ("Kon Tum", "Tỉnh Kon Tum", "quang ngai"),
    ],
)
def test_a_former_province_by_name_or_code(written: str, old: str, now: str) -> None:
    former = former_province(written)
    assert former is not None
    assert (former.name, former.now_key) == (old, now)


def test_provinces_of_today_are_not_former() -> None:
    for written in ("Đà Nẵng", "Hà Nội", "Gia Lai", "Huế", "Thăng Bình", "48"):
        assert former_province(written) is None, written


async def test_every_former_province_is_part_of_one_of_today(deps: Deps) -> None:
    async with deps.sessions() as session:
        today = (await session.exec(select(Unit).where(Unit.level == "province"))).all()
        assert len(today) == 34
        formers = {f.name for f in former_provinces()}
        assert len(formers) == 29  # 63 provinces became 34
        for name in sorted(formers):
            found, former = await units.find_province(session, query=name)
            assert former is not None
            assert len(found) == 1, name
        # Today's code wins where a merged province had the same one (Bình Định was 52).
        found, former = await units.find_province(session, query="52")
        assert (found[0].name, former) == ("Gia Lai", None)
        found, former = await units.find_province(session, query="Bình Định")
        assert former is not None
        assert found[0].name == "Gia Lai"
        with pytest.raises(LookupError, match=r"Tỉnh Quảng Nam \(code 49\) .* \(tinh:48\)"):
            await resolve_unit(session, "tinh:49")


async def test_linking_with_the_old_province_name(deps: Deps) -> None:
    room = ChatRoom(deps, "tg:-2002")
    out = await room.say(SUPER, "/lien_ket tinh=Quảng Nam xa=Thăng Bình thon=Hà Lam ho=100")
    assert "Tỉnh Quảng Nam đã nhập vào Thành phố Đà Nẵng từ 01/07/2025." in out
    assert "Nhóm này đã được liên kết với Hà Lam, Xã Thăng Bình, Thành phố Đà Nẵng" in out
    out = await ChatRoom(deps, "tg:-2003").say(SUPER, "/lien_ket tinh=49 xa=Không Có thon=A")
    assert "Tỉnh Quảng Nam đã nhập vào Thành phố Đà Nẵng từ 01/07/2025." in out
    assert "Không tìm thấy xã" in out
    out = await ChatRoom(deps, "tg:-2004").say(SUPER, "/lien_ket tinh=Quảng Nom xa=Thăng Bình")
    assert "Không tìm thấy tỉnh" in out


def test_importing_rows_that_name_the_old_province(
    url: str,  # noqa: F811 (the fixture)
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = tmp_path / "thon.csv"
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["Tỉnh", "Xã", "Thôn", "Số hộ"])
        writer.writerow(["Quảng Nam", "Thăng Bình", "Phú Mỹ", "120"])
        writer.writerow(["Quảng Nam", "Thăng Bình", "Hà Lam", "300"])
    assert main(["import", str(path)]) == 0
    out = capsys.readouterr().out
    assert "Dòng 2: đã tạo Phú Mỹ, Xã Thăng Bình" in out
    assert out.count("Tỉnh Quảng Nam đã nhập vào Thành phố Đà Nẵng từ 01/07/2025.") == 1
    assert main(["import", "--template", str(tmp_path / "m.xlsx"), "--province", "49"]) == 0
    assert "Tỉnh Quảng Nam đã nhập vào Thành phố Đà Nẵng" in capsys.readouterr().err


async def test_a_commune_by_its_code_of_before_the_merger(deps: Deps) -> None:
    async with deps.sessions() as session:
        assert not await units.by_code(session, level="commune", code="20272")
        now, old = await units.communes_now(session, code="20272")
        assert old is not None
        assert old.name == "Phường An Hải Bắc"
        assert [u.name for u in now] == ["Phường An Hải"]
        now, old = await units.communes_now(session, code="20296")  # Hòa Liên, divided
        assert old is not None
        assert [u.name for u in now] == ["Phường Liên Chiểu", "Phường Hải Vân"]
        assert (await units.communes_now(session, code="99999")) == ([], None)
    room = ChatRoom(deps, "tg:-2005")
    out = await room.say(SUPER, "/lien_ket xa=20272 thon=Tổ 12 ho=80")
    assert "Mã xã 20272 (Phường An Hải Bắc, trước 01/07/2025) nay thuộc Phường An Hải" in out
    assert "liên kết với Tổ 12, Phường An Hải" in out
    out = await ChatRoom(deps, "tg:-2006").say(SUPER, "/lien_ket xa=20296 thon=Tổ 3")
    assert "đã chia về Phường Liên Chiểu" in out
    assert "Phường Hải Vân" in out
    assert "liên kết" not in out


def test_importing_rows_with_old_commune_codes(
    url: str,  # noqa: F811 (the fixture)
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = tmp_path / "cu.csv"
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["Mã xã", "Thôn", "Số hộ"])
        writer.writerow(["20272", "Tổ 1", "120"])
        writer.writerow(["20272", "Tổ 2", "90"])
        writer.writerow(["20296", "Thôn Hòa Liên", "300"])
    assert main(["import", str(path), "--dry-run"]) == 1
    out = capsys.readouterr().out
    assert "Dòng 2: sẽ tạo Tổ 1, Phường An Hải" in out  # a file with errors changes nothing
    assert "Dòng 4: Mã xã 20296 (Xã Hòa Liên, trước 01/07/2025) đã chia về" in out
    assert out.count("Mã xã 20272 (Phường An Hải Bắc, trước 01/07/2025) nay thuộc") == 1
