"""`tcns demo` and `tcns chat`: what a newcomer runs first."""

from __future__ import annotations

import argparse
import io
from pathlib import Path

import openpyxl
import pytest

from bot.console import run_console
from bot.demo import prepare_output, run_demo
from bot.settings import Settings


async def test_demo_runs_offline_and_leaves_chart_workbook_transcript(tmp_path: Path) -> None:
    out = tmp_path / "demo-output"
    prepare_output(out)
    stream = io.StringIO()
    assert await run_demo(out, stream=stream) == 0
    text = stream.getvalue()
    assert "Thôn Hà Lam" in text
    assert "Thôn Bình Trúc" in text
    assert "/bao_cao ho=" in text
    assert "Chưa ghi nhận gì" in text  # a mistake refused, nothing stored
    assert "✏️" in text  # ... and corrected by editing the message
    assert "Bảng xếp hạng" in text
    assert "Nhắc báo cáo" in text
    assert "\033[" not in text  # no colour codes where the output is not a terminal
    png = (out / "leaderboard.png").read_bytes()
    assert png.startswith(b"\x89PNG")
    assert len(png) > 10_000
    workbooks = list(out.glob("*.xlsx"))
    assert len(workbooks) == 1
    book = openpyxl.load_workbook(workbooks[0])
    assert len(book.sheetnames) >= 2
    assert (out / "transcript.txt").read_text(encoding="utf-8").count("/bao_cao") > 100


@pytest.mark.parametrize(
    "lines",
    [[
        "/lien_ket xa=20791 thon=Thôn Hà Lam ho=300",
        "/bao_cao ho=abc",
        "/bao_cao ho=4 app=2",
        ":as 7 Nguyễn Thị Lan",
        "/bao_cao ho=3",
        "/tien_do",
        ":chat private",
        ":nonsense",
        ":quit",
    ]],
)  # fmt: skip
async def test_chat_console_talks_to_the_router(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, lines: list[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    settings = Settings(_env_file=None, database_url=f"sqlite+aiosqlite:///{tmp_path}/c.db")
    args = argparse.Namespace(person="1", name="Quản", chat="-1001", title="Tổ CNS Hà Lam")
    out = io.StringIO()
    code = await run_console(
        settings, args, stdin=io.StringIO("\n".join(lines) + "\n"), stdout=out
    )
    assert code == 0
    said = out.getvalue()
    assert "Thôn Hà Lam" in said
    assert "Chưa ghi nhận gì" in said  # the bad report refused, with an example
    assert "7/300" in said  # 4 + 3 households, the second from Lan
    assert "you are Nguyễn Thị Lan" in said
    assert ":as ID NAME" in said  # an unknown ':' line gets the help
