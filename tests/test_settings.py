"""Settings: PRODUCT.md's names and defaults, `.env`, secrets that do not print."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from bot.logs import Redactor
from bot.settings import Settings

VARIABLES = [
    "TCNS_TELEGRAM_TOKEN", "TCNS_TELEGRAM_API_URL", "TCNS_ZALO_TOKEN", "TCNS_ZALO_API_URL",
    "TCNS_DATABASE_URL", "TCNS_SUPERADMINS", "TCNS_TIMEZONE", "TCNS_LOCALE",
    "TCNS_WEBHOOK_BASE_URL", "TCNS_WEBHOOK_SECRET", "TCNS_HTTP_HOST", "TCNS_HTTP_PORT",
]  # fmt: skip


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


def test_defaults() -> None:
    s = Settings()
    assert s.telegram_token is None
    assert s.telegram_api_url == "https://api.telegram.org"
    assert s.zalo_api_url == "https://bot-api.zaloplatforms.com"
    assert s.database_url == "sqlite+aiosqlite:///./tcns.db"
    assert s.timezone == "Asia/Ho_Chi_Minh"
    assert s.locale == "vi"
    assert (s.http_host, s.http_port) == ("127.0.0.1", 8080)
    assert s.superadmin_ids == frozenset()


def test_environment_and_dotenv(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(
        "TCNS_TELEGRAM_TOKEN=42:from-dotenv\nTCNS_SUPERADMINS=tg:1, zalo:8a3f\n", encoding="utf-8"
    )
    monkeypatch.setenv("TCNS_HTTP_PORT", "9090")
    s = Settings()
    assert s.telegram_token is not None
    assert s.telegram_token.get_secret_value() == "42:from-dotenv"
    assert s.superadmin_ids == {"tg:1", "zalo:8a3f"}
    assert s.http_port == 9090
    assert "from-dotenv" not in repr(s)


@pytest.mark.parametrize(
    ("name", "value"), [("TCNS_TIMEZONE", "Mars/Base"), ("TCNS_LOCALE", "fr")]
)
def test_bad_values_are_refused(monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError):
        Settings()


def test_redactor_hides_tokens_in_any_log_line() -> None:
    import logging

    record = logging.LogRecord(
        "httpx", logging.INFO, __file__, 1,
        "POST %s", ("https://api.telegram.org/bot123456:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw/getMe",),
        None,
    )  # fmt: skip
    Redactor(["webhook-secret"]).filter(record)
    assert "AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw" not in record.getMessage()


def test_superadmins_take_telegram_bare_ids(monkeypatch: pytest.MonkeyPatch) -> None:
    """The number Telegram shows a user is theirs: 12345 means tg:12345."""
    monkeypatch.setenv("TCNS_SUPERADMINS", "12345, tg:678,zalo:8a3f9c ,")
    assert Settings().superadmin_ids == {"tg:12345", "tg:678", "zalo:8a3f9c"}


@pytest.mark.parametrize("entry", ["@quan_tri", "telegram:12345", "tg:abc", "zalo:", "12 345"])
def test_superadmins_refuse_what_is_not_an_id(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], entry: str
) -> None:
    from bot.__main__ import main

    monkeypatch.setenv("TCNS_SUPERADMINS", f"tg:1,{entry}")
    with pytest.raises(ValidationError):
        Settings()
    assert main(["db", "upgrade"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert err.startswith(f"tcns: TCNS_SUPERADMINS: {entry.strip()!r} is not a user id")
    assert "tg:12345" in err
