"""The operator's `tcns` command: db upgrade, plan list/check/apply."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from bot.__main__ import main
from handlers.periods import PERIOD_FORMS, parse_period


@pytest.fixture(autouse=True)
def _keep_logging() -> Iterator[None]:
    """`main` configures the root logger for an operator; give the test runner its own back."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.fixture(autouse=True)
def _database(monkeypatch: pytest.MonkeyPatch, db_path: Path, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TCNS_DATABASE_URL", f"sqlite+aiosqlite:///{db_path}")


def test_db_upgrade(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["db", "upgrade"]) == 0
    assert "is up to date" in capsys.readouterr().out


def test_plan_list_and_check(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["plan", "list"]) == 0
    assert "quang_nam_3220_2024: Kế hoạch 3220/KH-UBND" in capsys.readouterr().out
    assert main(["plan", "check", "hau_giang_124_2022"]) == 0
    broken = tmp_path / "broken.toml"
    broken.write_text('name = "x"\n[grades]\nxuat_sac = "cao"\n', encoding="utf-8")
    assert main(["plan", "check", str(broken)]) == 2
    err = capsys.readouterr().err
    assert f"{broken}:3: grades.xuat_sac: Input should be a valid number" in err


def test_plan_apply(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", "apply", "quang_nam_3220_2024", "--unit", "tinh:48"]) == 0
    out = capsys.readouterr().out
    assert "to Thành phố Đà Nẵng" in out
    assert "target cks = 30%" in out
    assert "grades excellent ≥ 90, good ≥ 80" in out  # words, not a Python list
    assert main(["plan", "apply", "quang_nam_3220_2024", "--unit", "4"]) == 2
    assert "ambiguous" in capsys.readouterr().err
    assert main(["plan", "apply", "no_such_plan", "--unit", "tinh:48"]) == 2
    assert "no such file, nor a shipped plan" in capsys.readouterr().err


def test_jobs_run_without_a_token_queues_only(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TCNS_TELEGRAM_TOKEN", raising=False)
    monkeypatch.delenv("TCNS_ZALO_TOKEN", raising=False)
    assert main(["jobs", "run", "leaderboards", "--at", "2026-11-23T08:00+07:00"]) == 0
    out = capsys.readouterr().out
    assert "leaderboards: 0 new posts queued" in out  # no linked chat in a fresh database
    assert "they go out with `tcns run`" in out
    assert main(["jobs", "run", "reminders", "--at", "yesterday"]) == 2


def test_export(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    from openpyxl import load_workbook

    out = tmp_path / "xa.xlsx"
    assert main(["export", "--unit", "xa:20791", "--period", "2026-Q4", "--out", str(out)]) == 0
    assert "Xã Thăng Bình, 01/10/2026–31/12/2026" in capsys.readouterr().out
    book = load_workbook(out)
    assert book.sheetnames == ["Xã", "Theo tuần", "Báo cáo"]
    # The first week of Q4 by its dates, the days before 01/10 cut off and said to be.
    assert book["Theo tuần"]["D6"].value == "01/10–04/10\n(một phần tuần 28/09–04/10)"
    assert main(["export", "--unit", "xa:20791", "--period", "Q9"]) == 2


def test_export_period_forms_are_listed_alike(capsys: pytest.CaptureFixture[str]) -> None:
    """`tcns export --help` and the README list the forms `--period` reads, the same ones."""
    with pytest.raises(SystemExit):
        main(["export", "--help"])
    assert PERIOD_FORMS in " ".join(capsys.readouterr().out.split())
    readme = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")
    line = next(text for text in readme.splitlines() if text.startswith("tcns export "))
    assert f"[--period {PERIOD_FORMS.replace(', ', '|')}]" in line
    today = date(2026, 11, 20)
    for form in PERIOD_FORMS.split(", "):
        assert parse_period(form, today).last.year == 2026, form  # each form is read


def test_plan_check_refuses_a_share_above_100(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    plan = tmp_path / "too_much.toml"
    plan.write_text('name = "x"\nsource = "y"\n[[indicators]]\ncode = "app"\ntarget = 150\n',
                    encoding="utf-8")  # fmt: skip
    assert main(["plan", "check", str(plan)]) == 2
    assert f"{plan}:5: indicators[0].target: 150 is a share of households: 0 to 100" in (
        capsys.readouterr().err
    )


def test_chat_shows_what_went_privately_and_no_migration_lines(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """An admin's dashboard link asked in a group goes to their private chat; the console,
    which has no other way to show it, prints it there, marked as such."""
    lines = [
        ":chat private",
        "/start",
        ":chat -1001 Tổ Hà Lam",
        "/lien_ket xa=20791 thon=Thôn Hà Lam ho=200",
        "/theo_doi",
        ":quit",
    ]
    monkeypatch.setattr("sys.stdin", io.StringIO("\n".join(lines) + "\n"))
    assert main(["chat"]) == 0
    captured = capsys.readouterr()
    out = captured.out
    assert "đã được gửi vào chat riêng" in out
    private = out.split("[→ your private chat]")[1]
    assert "/web/d/" in private
    assert "Đường dẫn là của riêng bạn" in private  # an admin's own link, not the group's
    assert "alembic" not in out + captured.err  # no migration lines before the prompt
