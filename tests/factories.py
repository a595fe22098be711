"""Test helpers that build things the same way everywhere."""

from __future__ import annotations

from pydantic import SecretStr

from bot.settings import Settings
from sandbox.telegram import FakeTelegram
from tests.tg_world import ADMIN_ID, free_port


def settings_for(fake: FakeTelegram, database_url: str, **extra: object) -> Settings:
    """Settings for a bot that talks to the sandbox Bot API, with `tests.tg_world`'s admin as
    superadmin, on a free loopback port; `extra` overrides or adds settings."""
    values: dict[str, object] = {
        "telegram_token": SecretStr(fake.token),
        "telegram_api_url": fake.url,
        "database_url": database_url,
        "superadmins": f"tg:{ADMIN_ID}",
        "http_port": free_port(),
        **extra,
    }
    return Settings(_env_file=None, **values)  # type: ignore[arg-type]  # values are typed loosely here
