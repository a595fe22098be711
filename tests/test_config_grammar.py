"""`/lich`, `/chi_tieu` and `/thanh_vien` grammars."""

from __future__ import annotations

import pytest

from handlers.config_grammar import (
    MemberChange,
    When,
    parse_member,
    parse_schedule,
    parse_targets,
    parse_when,
)
from handlers.grammar import Problem
from tests.test_grammar import MATCHER


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("thu6 16:00", When(4, 16 * 60)),
        ("T5 09:00", When(3, 9 * 60)),
        ("thứ 6 16h", When(4, 16 * 60)),
        ("Thứ Hai 7:30", When(0, 7 * 60 + 30)),
        ("chủ nhật 08:00", When(6, 8 * 60)),
        ("CN 8h30", When(6, 8 * 60 + 30)),
        ("fri 16:00", When(4, 16 * 60)),
        ("thu2 24:00", None),
        ("thu9 10:00", None),
        ("16:00", None),
        ("thu6", None),
    ],
)
def test_when(text: str, expected: When | None) -> None:
    assert parse_when(text) == expected


def test_schedule_full_line() -> None:
    result = parse_schedule("nhac=thu6 16:00 tong_hop=thu2 07:30 xep_hang=thu2 08:00")
    assert result == {
        "reminders": When(4, 960),
        "summaries": When(0, 450),
        "leaderboards": When(0, 480),
    }


def test_schedule_reset_and_english() -> None:
    assert parse_schedule("reminder=mac_dinh summary=Mon 7:00") == {
        "reminders": None,
        "summaries": When(0, 420),
    }


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("", "config_empty"),
        ("thu6 16:00", "config_empty"),
        ("nhac thu6 nhac=thu6 16:00", "config_syntax"),
        ("hop=thu6 16:00", "schedule_unknown"),
        ("nhac=thu6", "schedule_bad_time"),
        ("nhac=thu6 25:00", "schedule_bad_time"),
        ("nhac=thu6 16:00 nhac=thu5 16:00", "duplicate"),
    ],
)
def test_schedule_rejected(text: str, code: str) -> None:
    result = parse_schedule(text)
    assert isinstance(result, Problem)
    assert result.code == code


def test_targets() -> None:
    assert parse_targets("app=60 cks=40%", MATCHER) == {"app": 60, "cks": 40}
    assert parse_targets("chu_ky_so=mac_dinh ho=0", MATCHER) == {"cks": None, "ho": 0}


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("xyz=3", "unknown_key"),
        ("app=nhieu", "not_number"),
        ("app=60 app=70", "duplicate"),
        ("", "config_empty"),
    ],
)
def test_targets_rejected(text: str, code: str) -> None:
    result = parse_targets(text, MATCHER)
    assert isinstance(result, Problem)
    assert result.code == code


def test_member() -> None:
    assert parse_member("to=Đoàn thanh niên tap_huan=có") == MemberChange("youth_union", True)
    assert parse_member("tap_huan=chua") == MemberChange(None, False)
    assert parse_member("to=công an") == MemberChange("police", None)
    for text, code in [
        ("to=ban nhac", "affiliation_unknown"),
        ("tap_huan=co le", "yes_no"),
        ("tuoi=20", "member_unknown"),
    ]:
        result = parse_member(text)
        assert isinstance(result, Problem)
        assert result.code == code
