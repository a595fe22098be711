"""Logging that never prints a token, whatever library formats the message."""

from __future__ import annotations

import logging
import re

from bot.settings import Settings

# Telegram's token shape, as it appears in request URLs that httpx and PTB log.
_TOKEN_SHAPE = re.compile(r"\d{5,}:[A-Za-z0-9_-]{20,}")


class Redactor(logging.Filter):
    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        self.secrets = [s for s in secrets if s]

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = _TOKEN_SHAPE.sub("<token>", message)
        for secret in self.secrets:
            redacted = redacted.replace(secret, "<secret>")
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


def configure(settings: Settings, level: int = logging.INFO) -> None:
    handler = logging.StreamHandler()
    handler.setLevel(level)  # whatever level a library's own logger was given
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    secrets = [
        s.get_secret_value()
        for s in (settings.telegram_token, settings.zalo_token, settings.webhook_secret)
        if s is not None
    ]
    handler.addFilter(Redactor(secrets))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # httpx logs every request line, token included, at INFO; the redactor would catch it, but
    # one line per poll is noise anyway.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    # Alembic says which dialect it uses on every start; what it migrates is worth a line.
    migration = logging.getLogger("alembic.runtime.migration")
    if not any(isinstance(f, _OnlyUpgrades) for f in migration.filters):
        migration.addFilter(_OnlyUpgrades())


class _OnlyUpgrades(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith(("Context impl", "Will assume"))
