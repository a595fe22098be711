"""Operator settings: the `TCNS_*` names of PRODUCT.md, from the environment or `.env`."""

from __future__ import annotations

from functools import cached_property
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="TCNS_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
    )

    telegram_token: SecretStr | None = None
    telegram_api_url: str = "https://api.telegram.org"
    zalo_token: SecretStr | None = None
    zalo_api_url: str = "https://bot-api.zaloplatforms.com"
    database_url: str = "sqlite+aiosqlite:///./tcns.db"
    # Kept as the raw comma-separated string: pydantic-settings would try to JSON-decode a list.
    superadmins: str = ""
    timezone: str = "Asia/Ho_Chi_Minh"
    locale: str = "vi"
    webhook_base_url: str | None = None
    webhook_secret: SecretStr | None = None
    http_host: str = "127.0.0.1"
    http_port: int = 8080
    # Where people's phones reach this server: the dashboard's links, the report form and the
    # charts sent to Zalo by address. The webhook's base address when set, else this machine.
    public_url: str | None = None
    # How often the scheduler looks for due posts, and how soon another worker takes over the
    # ticking when its holder dies. Not in PRODUCT.md's table: an operator's knob, 60 by default.
    scheduler_tick: int = 60
    # Telegram's published sending limits. Operators leave them; the fan-out benchmark raises
    # them with its local Bot API server to see whether the sender keeps up with faster limits.
    send_per_second: int = Field(default=30, ge=1)
    send_per_group_minute: int = Field(default=20, ge=1)
    send_per_private_second: int = Field(default=1, ge=1)
    # Updates of different chats processed at once. SQLite has one writer: 1 there, whatever
    # is set. On PostgreSQL, more workers (and more processes) share the load.
    workers: int = Field(default=4, ge=1, le=64)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        # A typo should fail at start, not at 16:00 on Friday.
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @field_validator("locale")
    @classmethod
    def _known_locale(cls, value: str) -> str:
        if value not in ("vi", "en"):
            raise ValueError("TCNS_LOCALE must be 'vi' or 'en'")
        return value

    @field_validator("superadmins")
    @classmethod
    def _platform_ids(cls, value: str) -> str:
        """Platform-tagged ids ("tg:12345", "zalo:8a3f…"), or the bare number Telegram shows
        a user (12345), which is Telegram's. Anything else would make nobody a superadmin
        without a word."""
        ids = []
        for part in (p.strip() for p in value.split(",")):
            if not part:
                continue
            if part.isdigit():
                part = f"tg:{part}"
            platform, _sep, rest = part.partition(":")
            if not (
                (platform == "tg" and rest.isdigit()) or (platform == "zalo" and rest.strip())
            ):
                raise ValueError(
                    f"{part!r} is not a user id: write tg:12345 (or just 12345) for Telegram, "
                    "zalo:<id> for Zalo, separated by commas"
                )
            ids.append(f"{platform}:{rest.strip()}")
        return ",".join(ids)

    @field_validator("telegram_api_url", "zalo_api_url")
    @classmethod
    def _strip_slash(cls, value: str) -> str:
        return value.rstrip("/")

    @field_validator("webhook_base_url", "public_url")
    @classmethod
    def _empty_is_none(cls, value: str | None) -> str | None:
        return value.rstrip("/") if value else None

    @property
    def web_url(self) -> str:
        """TCNS_PUBLIC_URL, or what it defaults to."""
        return self.public_url or self.webhook_base_url or f"http://127.0.0.1:{self.http_port}"

    @cached_property
    def superadmin_ids(self) -> frozenset[str]:
        return frozenset(part.strip() for part in self.superadmins.split(",") if part.strip())

    @cached_property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)
