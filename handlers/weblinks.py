"""Signed web addresses: a person's dashboard pass (a unit, a role in it, a language, an end),
and a chart's address (which picture, until when).

A pass is its own proof: `<unit>.<role>.<expires>.<language>.<signature>`, the signature an
HMAC-SHA-256 of the rest under the server's secret (storage/secrets.py), cut to 128 bits. A
changed digit, another unit or a later end makes the signature wrong; nothing is looked up to
tell a forged pass from a real one, and nothing personal is in it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

Role = Literal["member", "leader", "admin"]
ROLES: dict[str, Role] = {"m": "member", "l": "leader", "a": "admin"}
PASS_HOURS = 24
# The report form on a private chat's keyboard: the keyboard stays for weeks and is sent again
# with every /start; the pass only shows the form of the unit (a report itself is the person's
# own message, which Telegram vouches for).
FORM_PASS_HOURS = 30 * 24
CHART_DAYS = 7
SECRET_NAME = "web"  # noqa: S105 (the name of the row, not a secret)
_SIGNATURE_BYTES = 16


@dataclass(frozen=True)
class Pass:
    unit_id: int
    role: Role
    expires: int  # seconds since the epoch
    language: str

    @property
    def sees_all(self) -> bool:
        """An admin: the unit and everything under it, and the workbook."""
        return self.role == "admin"

    @property
    def sees_missing(self) -> bool:
        """A leader or admin: who has not reported."""
        return self.role in ("leader", "admin")


def _sign(secret: bytes, payload: str) -> str:
    digest = hmac.new(secret, payload.encode(), hashlib.sha256).digest()[:_SIGNATURE_BYTES]
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def issue(secret: bytes, granted: Pass) -> str:
    role = next(k for k, v in ROLES.items() if v == granted.role)
    payload = f"{granted.unit_id}.{role}.{granted.expires}.{granted.language}"
    return f"{payload}.{_sign(secret, payload)}"


def grant(
    secret: bytes,
    *,
    unit_id: int,
    role: Role,
    language: str,
    now: datetime,
    hours: int = PASS_HOURS,
) -> tuple[str, Pass]:
    """A pass valid for `hours` from `now`, and its token."""
    granted = Pass(unit_id, role, int((now + timedelta(hours=hours)).timestamp()), language)
    return issue(secret, granted), granted


def _same(a: str, b: str) -> bool:
    """Constant-time, and for any text (compare_digest refuses non-ASCII strings)."""
    return hmac.compare_digest(a.encode(), b.encode())


def _number(text: str) -> bool:
    return text.isascii() and text.isdigit() and len(text) <= 12


def check(secret: bytes, token: str, *, now: datetime) -> Pass | None:
    """The pass the token is, if its signature is right and it has not expired."""
    parts = token.split(".")
    if len(parts) != 5:
        return None
    unit, role, expires, language, signature = parts
    payload = ".".join(parts[:4])
    if not _same(_sign(secret, payload), signature):
        return None
    if not (_number(unit) and _number(expires) and role in ROLES and language in ("vi", "en")):
        return None
    if int(expires) < now.timestamp():
        return None
    return Pass(int(unit), ROLES[role], int(expires), language)


def chart_token(secret: bytes, *, media_key: str, now: datetime) -> str:
    """An unguessable address for a stored picture (the outbox's media), for CHART_DAYS."""
    expires = int((now + timedelta(days=CHART_DAYS)).timestamp())
    payload = f"c.{media_key}.{expires}"
    return f"{media_key}.{expires}.{_sign(secret, payload)}"


def check_chart(secret: bytes, token: str, *, now: datetime) -> str | None:
    """The media key a chart address names, while it is valid."""
    parts = token.removesuffix(".png").split(".")
    if len(parts) != 3:
        return None
    key, expires, signature = parts
    if not _same(_sign(secret, f"c.{key}.{expires}"), signature):
        return None
    if not _number(expires) or int(expires) < now.timestamp():
        return None
    return key
