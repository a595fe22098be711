"""Telegram Mini App `initData`, checked as Telegram documents it (core.telegram.org/bots/webapps,
"Validating data received via the Mini App"): the data-check-string is every received field but
`hash`, sorted by key, as `key=value` lines; the key is HMAC-SHA-256 of the bot's token under
the constant "WebAppData"; `hash` is the hex HMAC-SHA-256 of the data-check-string under that
key. Data older than a day is refused too: a copied link must not stay a key forever.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import parse_qsl, urlencode

from handlers.person_names import display_name

MAX_AGE = timedelta(days=1)
# A phone whose clock runs a little fast signs nothing: Telegram's server sets auth_date. Still,
# allow for the server's and ours to differ by a few minutes.
CLOCK_SKEW = timedelta(minutes=5)


@dataclass(frozen=True)
class WebAppUser:
    id: int
    name: str  # family name first, from the first and last names (handlers/person_names.py)
    username: str | None
    language: str | None
    auth_date: int
    query_id: str | None


def _secret(bot_token: str) -> bytes:
    return hmac.new(b"WebAppData", bot_token.encode(), hashlib.sha256).digest()


def _check_string(fields: dict[str, str]) -> str:
    return "\n".join(f"{k}={v}" for k, v in sorted(fields.items()) if k != "hash")


def sign(fields: dict[str, str], bot_token: str) -> str:
    """`initData` as Telegram would send it with these fields (for the sandbox and tests)."""
    digest = hmac.new(_secret(bot_token), _check_string(fields).encode(), hashlib.sha256)
    return urlencode({**fields, "hash": digest.hexdigest()})


def validate(init_data: str, bot_token: str, *, now: datetime) -> WebAppUser | None:
    """The user the data is signed for, or None when it is not Telegram's, is too old, or
    names no user."""
    try:
        pairs = parse_qsl(init_data, keep_blank_values=True, strict_parsing=True)
    except ValueError:
        return None
    fields = dict(pairs)
    if len(fields) != len(pairs):
        return None  # a field twice: which one did Telegram sign?
    given = fields.get("hash", "")
    expected = hmac.new(_secret(bot_token), _check_string(fields).encode(), hashlib.sha256)
    if not given or not hmac.compare_digest(expected.hexdigest().encode(), given.lower().encode()):
        return None
    auth = fields.get("auth_date", "")
    if not (auth.isascii() and auth.isdigit() and len(auth) <= 12):
        return None
    signed_at = datetime.fromtimestamp(int(auth), tz=now.tzinfo)
    if not now - MAX_AGE <= signed_at <= now + CLOCK_SKEW:
        return None
    try:
        user = json.loads(fields.get("user", ""))
    except ValueError:
        return None
    if not isinstance(user, dict) or not isinstance(user.get("id"), int):
        return None
    first, last = user.get("first_name"), user.get("last_name")
    name = display_name(
        first if isinstance(first, str) else None, last if isinstance(last, str) else None
    )
    return WebAppUser(
        id=user["id"],
        name=name or str(user["id"]),
        username=user.get("username") or None,
        language=user.get("language_code") or None,
        auth_date=int(auth),
        query_id=fields.get("query_id"),
    )
