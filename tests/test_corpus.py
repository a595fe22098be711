"""The `/bao_cao` corpus through the real router and a real (SQLite) database: what a careful
clerk would record, ask about or refuse, against what the bot stored and said."""

from __future__ import annotations

import tomllib
from collections import Counter
from pathlib import Path

import pytest

from handlers.incoming import Deps
from tests.conftest import SUPERADMIN
from tests.corpus import (
    ADMIN,
    CORPUS,
    MESSAGE_DAY,
    NOW,
    VOLUNTEERS,
    failure_table,
    figures,
    known_codes,
    load_cases,
    problems,
    render_figures,
    run_dialogue,
    suggestions,
)

MIN_CASES = 300
# What the whole corpus must keep (tests/corpus/__init__.py holds the targets, 80 %
# directly and 95 % with one tap, which `python -m tests.corpus_figures` reports against):
# these floors are the figures reached when volunteers.toml was written, so that a change that
# reads worse fails here. Nothing stored wrongly and every message answered are not floors.
FLOOR_DIRECT = 0.71
FLOOR_UNDERSTOOD = 0.92


@pytest.fixture
def database_url(db_path: Path) -> str:
    """SQLite only: the whole corpus is hundreds of reports (PostgreSQL has its own tests)."""
    return f"sqlite+aiosqlite:///{db_path}"


def test_corpus_is_well_formed() -> None:
    for path in (CORPUS, VOLUNTEERS):
        with path.open("rb") as f:
            raw = tomllib.load(f)
        assert problems(raw) == [], path
    cases = load_cases(CORPUS)
    assert len(cases) >= MIN_CASES
    kinds = Counter(c.expect for c in cases)
    assert set(kinds) == {"record", "ask", "refuse"}
    # Roughly 70 % record, 15 % ask, 15 % refuse.
    assert 0.6 <= kinds["record"] / len(cases) <= 0.8
    assert kinds["ask"] / len(cases) >= 0.1
    assert kinds["refuse"] / len(cases) >= 0.1
    assert any(c.chat == "private" for c in cases)
    assert ADMIN.id == SUPERADMIN
    assert NOW.date() == MESSAGE_DAY
    # Written by helper sessions playing volunteers (issue 25): at least 300, of all kinds.
    written = Counter(c.expect for c in load_cases(VOLUNTEERS))
    assert sum(written.values()) >= 300
    assert {"record", "ask", "answer"} <= set(written) <= {"record", "ask", "answer", "refuse"}


def test_malformed_cases_are_named() -> None:
    raw = {
        "case": [
            {"text": "/bao_cao ho=1", "expect": "record", "values": "ho=1", "why": "ok"},
            {"text": "/bao_cao x", "expect": "maybe", "values": "ho=1", "why": "w"},
            {"text": "/bao_cao y", "expect": "record", "values": "banh=2", "why": "w"},
            {"text": "/bao_cao z", "expect": "refuse", "values": "ho=2", "why": "w"},
            {"text": "/bao_cao t", "expect": "record", "values": "ho=1 ho=2", "why": "w"},
            {
                "text": "/bao_cao u",
                "expect": "record",
                "values": "ho=1",
                "day": "2026-11-21",
                "why": "w",
            },
            {"text": "/bao_cao ho=1", "expect": "record", "values": "ho=1", "why": "again"},
        ]
    }
    found = problems(raw, known_codes())
    assert not [f for f in found if f.startswith("case 1 ")]
    for n in range(2, 8):
        assert any(f.startswith(f"case {n} ") for f in found), (n, found)
    assert any("same text as case 1" in f for f in found)


def test_suggested_lines_are_read_from_a_reply() -> None:
    codes = known_codes()
    reply = "Có phải ý bạn là:\n/bao_cao ho=8 ngay=19/11\nVí dụ: /bao_cao ho=12 app=5 tt=3 cks=1"
    assert suggestions(reply, codes) == [{"ho": 8}, {"ho": 12, "app": 5, "tt": 3, "cks": 1}]
    assert suggestions("/bao_cao ho=0 app=0 ghi_chu=", codes) == [{"ho": 0, "app": 0}]
    assert suggestions("/bao_cao ho=abc", codes) == []
    assert suggestions("/bao_cao banh=2", codes) == []
    assert suggestions("gửi /bao_cao mà không có số", codes) == []


async def test_corpus_through_the_router(deps: Deps) -> None:
    outcomes = await run_dialogue(deps, load_cases())
    fig = figures(outcomes)
    report = render_figures(fig, outcomes) + "\n" + failure_table(outcomes)
    assert fig.wrongly_stored == 0, report
    assert fig.unanswered == 0, report
    assert fig.max_lines <= 3, report
    assert fig.share_right("record") >= FLOOR_DIRECT, report
    assert fig.share_understood >= FLOOR_UNDERSTOOD, report
    # The careful reader's own corpus stays whole.
    careful = figures([o for o in outcomes if o.case.line_required])
    assert careful.verdicts() == [], report
    assert careful.share_right("record") >= 0.95, report
