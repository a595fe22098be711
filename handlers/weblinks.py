"""Links to the web pages, and what each may still open.

A link carries a random token and nothing else (storage/passes.py keeps the row behind it).
The row says what the link is for — a unit's dashboard, a unit's report form, a unit's
workbook — and whose it is: a person, or the group chat it was given in. Each page accepts only
its own kind, and at every request the holder must still hold the rights the link was given
for: a member still in the team, a leader still its leader, an admin still granted over the
unit, a group still linked to it. A link ends when its time is up, when its unit goes, or when
it is withdrawn (`/thu_hoi_lien_ket`).

A chart sent to Zalo by address is a picture of a board, not a unit's page: its address is
signed (HMAC-SHA-256 under the server's secret) and ends after CHART_DAYS.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from sqlmodel.ext.asyncio.session import AsyncSession

from storage import config, passes, people, units
from storage.models import Unit, WebPass

Role = Literal["member", "leader", "admin"]
Kind = Literal["dashboard", "form", "workbook"]
ROLES: tuple[Role, ...] = ("member", "leader", "admin")
# A member's dashboard shows figures only: a day. A leader's or admin's shows names (who has
# not reported; an admin's workbook has every report): a working session.
DASHBOARD_HOURS: dict[Role, int] = {"member": 24, "leader": 6, "admin": 6}
# The report form on a private chat's keyboard: the keyboard stays for weeks and is sent again
# with every /start; the form shows the unit's figures, and a report itself is the person's own
# message, which Telegram vouches for.
FORM_HOURS = 30 * 24
CHART_DAYS = 7
SECRET_NAME = "web"  # noqa: S105 (the name of the row, not a secret)
_SIGNATURE_BYTES = 16


@dataclass(frozen=True)
class Pass:
    """What a link grants, as the pages use it."""

    unit_id: int
    role: Role
    expires: datetime
    language: str
    kind: Kind = "dashboard"
    token: str = ""  # the link's own token: pages under it (units below, the workbook) use it

    @property
    def sees_all(self) -> bool:
        """An admin: the unit and everything under it, and the workbook."""
        return self.role == "admin"

    @property
    def sees_missing(self) -> bool:
        """A leader or admin: who has not reported."""
        return self.role in ("leader", "admin")


def _role(text: str) -> Role:
    return next(r for r in ROLES if r == text)


def _kind(text: str) -> Kind:
    kinds: tuple[Kind, ...] = ("dashboard", "form", "workbook")
    return next(k for k in kinds if k == text)


async def grant(
    session: AsyncSession,
    *,
    kind: Kind,
    unit_id: int,
    role: Role,
    language: str,
    now: datetime,
    person_id: str | None = None,
    chat_id: str | None = None,
) -> Pass:
    """A new link of that kind, for a person (a private chat's) or a group chat."""
    hours = FORM_HOURS if kind == "form" else DASHBOARD_HOURS[role]
    expires = now + timedelta(hours=hours)
    token = await passes.issue(
        session, kind=kind, unit_id=unit_id, role=role, language=language, now=now,
        expires_at=expires, person_id=person_id, chat_id=chat_id,
    )  # fmt: skip
    return Pass(unit_id, role, expires, language, kind, token)


async def check(
    session: AsyncSession,
    token: str,
    *,
    kind: Kind,
    now: datetime,
    superadmins: frozenset[str],
) -> tuple[Pass, Unit] | None:
    """The pass and its unit, if the token is a link of this kind, open, and its holder still
    holds what it was given for."""
    row = await passes.find(session, token=token)
    if row is None or row.kind != kind or row.revoked_at is not None or row.expires_at <= now:
        return None
    unit = await units.get(session, unit_id=row.unit_id)
    if unit is None or not await _holds(session, row, unit, superadmins):
        return None
    return Pass(row.unit_id, _role(row.role), row.expires_at, row.language, _kind(row.kind),
                token), unit  # fmt: skip


async def _holds(
    session: AsyncSession, row: WebPass, unit: Unit, superadmins: frozenset[str]
) -> bool:
    """Whether the holder may still see what the link shows."""
    if row.chat_id is not None:
        # A group's link: while the group is linked to the unit.
        chat = await people.get_chat(session, chat_id=row.chat_id)
        return chat is not None and chat.active and chat.unit_id == unit.id
    person = row.person_id
    if person is None:
        return False
    if person in superadmins:
        return True
    admin = await config.admin_grant_over(session, person_id=person, unit=unit) is not None
    if row.role == "admin" or admin:
        return admin
    assert unit.id is not None  # noqa: S101 (stored)
    membership = await config.membership(session, person_id=person, unit_id=unit.id)
    if row.role == "leader":
        return membership is not None and membership.role == "leader"
    return membership is not None


def derived(secret: bytes, token: str, what: str) -> str:
    """A token of its own for a page a link leads to (a unit's workbook from an admin's
    dashboard): the same every time the dashboard is shown, so showing it makes one row."""
    digest = hmac.new(secret, f"{what}.{token}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[: passes.TOKEN_BYTES]).decode().rstrip("=")


async def workbook_pass(
    session: AsyncSession, secret: bytes, *, of: Pass, unit: Unit, now: datetime
) -> str:
    """The token of the workbook link on an admin's dashboard of `unit` (the link's own unit or
    one under it), held as the dashboard is and ending with it."""
    assert unit.id is not None  # noqa: S101 (stored)
    token = derived(secret, of.token, f"workbook.{unit.id}")
    if await passes.find(session, token=token) is None:
        dashboard = await passes.find(session, token=of.token)
        assert dashboard is not None  # noqa: S101 (checked by the caller)
        await passes.keep(
            session, token=token, kind="workbook", unit_id=unit.id, role=of.role,
            language=of.language, now=now, expires_at=dashboard.expires_at,
            person_id=dashboard.person_id, chat_id=dashboard.chat_id,
        )  # fmt: skip
    return token


# --- charts sent by address ----------------------------------------------------------------


def _sign(secret: bytes, payload: str) -> str:
    digest = hmac.new(secret, payload.encode(), hashlib.sha256).digest()[:_SIGNATURE_BYTES]
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def _same(a: str, b: str) -> bool:
    """Constant-time, and for any text (compare_digest refuses non-ASCII strings)."""
    return hmac.compare_digest(a.encode(), b.encode())


def _number(text: str) -> bool:
    return text.isascii() and text.isdigit() and len(text) <= 12


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
