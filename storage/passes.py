"""Web passes: the rows behind the links to the pages (handlers/weblinks.py decides what each
kind opens and who may still use it). A link carries only a random token; the row is found by
the token's SHA-256, so the database holds no working address."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlmodel import col, delete, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from storage import dialect
from storage.dialect import core
from storage.models import Unit, WebPass
from storage.units import in_subtree

TOKEN_BYTES = 16  # 128 bits: 22 characters in an address
# Rows are kept a while after they end, so that a link a day old is told it expired rather
# than that it never was; then they go.
KEPT_AFTER_END = timedelta(days=7)


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def well_formed(token: str) -> bool:
    """What a token can look like: URL-safe base64 of TOKEN_BYTES. Anything else is refused
    before the database is asked."""
    return len(token) == 22 and token.isascii() and all(c.isalnum() or c in "-_" for c in token)


async def issue(
    session: AsyncSession,
    *,
    kind: str,
    unit_id: int,
    role: str,
    language: str,
    now: datetime,
    expires_at: datetime,
    person_id: str | None = None,
    chat_id: str | None = None,
) -> str:
    """A new pass; its token (shown once, in the link)."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    await keep(
        session, token=token, kind=kind, unit_id=unit_id, role=role, language=language,
        now=now, expires_at=expires_at, person_id=person_id, chat_id=chat_id,
    )  # fmt: skip
    return token


async def keep(
    session: AsyncSession,
    *,
    token: str,
    kind: str,
    unit_id: int,
    role: str,
    language: str,
    now: datetime,
    expires_at: datetime,
    person_id: str | None = None,
    chat_id: str | None = None,
) -> None:
    """The pass of a token made elsewhere (derived from another pass); nothing if it exists."""
    table = WebPass.__table__  # type: ignore[attr-defined]
    values = {
        "id": digest(token), "kind": kind, "unit_id": unit_id, "role": role,
        "person_id": person_id, "chat_id": chat_id, "language": language,
        "created_at": now, "expires_at": expires_at, "revoked_at": None,
    }  # fmt: skip
    await core(session, dialect.insert_or_skip(session, table, ["id"]), values)


async def find(session: AsyncSession, *, token: str) -> WebPass | None:
    """The pass a token is, whatever its state (the caller checks its end and its holder)."""
    if not well_formed(token):
        return None
    return await session.get(WebPass, digest(token))


async def withdraw(
    session: AsyncSession, *, unit: Unit, now: datetime, person_id: str | None = None
) -> int:
    """Every pass still open for the unit and the units under it (only `person_id`'s, when
    given); how many."""
    under = select(Unit.id).where(in_subtree(unit.path))
    statement = update(WebPass).where(
        col(WebPass.unit_id).in_(under),
        col(WebPass.revoked_at).is_(None),
        col(WebPass.expires_at) > now,
    )
    if person_id is not None:
        statement = statement.where(col(WebPass.person_id) == person_id)
    result = await session.exec(statement.values(revoked_at=now))
    return int(result.rowcount or 0)


async def withdraw_held(
    session: AsyncSession,
    *,
    now: datetime,
    person_id: str | None = None,
    chat_id: str | None = None,
    unit_ids: Sequence[int] | None = None,
    roles: Sequence[str] | None = None,
) -> None:
    """The open passes a holder (a person, or a group chat) was given, for those units and in
    those roles: withdrawn the moment the right they stood for is lost (a member leaves, an
    admin's grant is taken back, a leader replaced, a group linked elsewhere), so that the right
    given back later does not open an old link again."""
    # Whatever their end: `now` is the wall clock here, and an ended pass withdrawn is no harm.
    statement = update(WebPass).where(col(WebPass.revoked_at).is_(None))
    if person_id is not None:
        statement = statement.where(col(WebPass.person_id) == person_id)
    if chat_id is not None:
        statement = statement.where(col(WebPass.chat_id) == chat_id)
    if unit_ids is not None:
        statement = statement.where(col(WebPass.unit_id).in_(list(unit_ids)))
    if roles is not None:
        statement = statement.where(col(WebPass.role).in_(list(roles)))
    await session.exec(statement.values(revoked_at=now))


async def forget_ended(session: AsyncSession, *, now: datetime) -> None:
    await session.exec(delete(WebPass).where(col(WebPass.expires_at) < now - KEPT_AFTER_END))
