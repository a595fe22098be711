"""Server secrets: made at first use, then the same for every worker and after restarts."""

from __future__ import annotations

import secrets

from sqlmodel.ext.asyncio.session import AsyncSession

from storage import dialect
from storage.dialect import core
from storage.models import Secret, utcnow


async def named(session: AsyncSession, *, name: str) -> bytes:
    """The secret called `name`, 32 random bytes made the first time it is asked for (two
    workers asking at once keep the one that was written first)."""
    row = await session.get(Secret, name)
    if row is None:
        table = Secret.__table__  # type: ignore[attr-defined]
        statement = dialect.insert_or_skip(session, table, ["name"])
        value = secrets.token_hex(32)
        await core(session, statement, {"name": name, "value": value, "created_at": utcnow()})
        row = await session.get(Secret, name, populate_existing=True)
        assert row is not None  # noqa: S101 (just written, or written by another worker)
    return bytes.fromhex(row.value)
