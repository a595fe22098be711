"""Chats, people, memberships and the configuration audit trail."""

from __future__ import annotations

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage import cache, dialect
from storage.dialect import core
from storage.models import AuditEntry, Chat, Membership, Person, ProcessedUpdate, utcnow

_UNIQUE = {
    "member": (Membership.__table__, ["person_id", "unit_id"]),  # type: ignore[attr-defined]
    "processed": (ProcessedUpdate.__table__, ["key"]),  # type: ignore[attr-defined]
    "person": (Person.__table__, ["id"]),  # type: ignore[attr-defined]
}


def _statement(session: AsyncSession, what: str) -> sa.Insert:
    """INSERT .. ON CONFLICT DO NOTHING of a membership, a processed update or a person."""
    table, keys = _UNIQUE[what]
    return dialect.insert_or_skip(session, table, keys)  # type: ignore[no-any-return]


async def upsert_chat(
    session: AsyncSession,
    *,
    chat_id: str,
    platform: str,
    kind: str,
    title: str | None,
    person_id: str | None = None,
) -> Chat:
    """`person_id`: whose private chat this is (None for a group)."""
    known: Chat | None = cache.get(session, ("chat", chat_id))
    if (
        known is not None
        and (not title or known.title == title)
        and (not person_id or known.person_id == person_id)
    ):
        # Nothing to change: the cached row, put in this session as it is in the database.
        return await cache.attach(session, known)
    chat = await session.get(Chat, chat_id)
    if chat is None:
        chat = Chat(id=chat_id, platform=platform, kind=kind, title=title, person_id=person_id)
        session.add(chat)
        await session.flush()
    else:
        if title and chat.title != title:
            chat.title = title
        if person_id and chat.person_id != person_id:
            chat.person_id = person_id
    cache.put_row(session, ("chat", chat_id), chat)
    return chat


async def private_chat_of(session: AsyncSession, *, person_id: str) -> Chat | None:
    rows = await session.exec(
        select(Chat).where(
            Chat.person_id == person_id, Chat.kind == "private", col(Chat.active).is_(True)
        )
    )
    return rows.first()


async def upsert_person(
    session: AsyncSession, *, person_id: str, platform: str, name: str, username: str | None
) -> Person:
    known: Person | None = cache.get(session, ("person", person_id))
    if known is not None and known.display_name == name and known.username == username:
        return await cache.attach(session, known)
    person = await session.get(Person, person_id)
    if person is None:
        person = Person(id=person_id, platform=platform, display_name=name, username=username)
        # Nothing if another worker inserted the same new person a moment ago.
        await core(session, _statement(session, "person"), person.model_dump())
        cache.put(session, ("person", person_id), person)
        return await cache.attach(session, person)
    person.display_name = name
    person.username = username
    cache.put(session, ("person", person_id), person)
    return person


async def ensure_member(session: AsyncSession, *, person_id: str, unit_id: int) -> None:
    """The person is a member of the unit (a member already, or one from now on)."""
    if cache.get(session, ("member", person_id, unit_id)):
        return
    await core(
        session,
        _statement(session, "member"),
        {"person_id": person_id, "unit_id": unit_id, "role": "member", "trained": False,
         "joined_at": utcnow()},
    )  # fmt: skip
    cache.put(session, ("member", person_id, unit_id), True)


async def ensure_membership(session: AsyncSession, *, person_id: str, unit_id: int) -> Membership:
    """The same, and the membership's row, for a caller that changes it."""
    await ensure_member(session, person_id=person_id, unit_id=unit_id)
    return (
        await session.exec(
            select(Membership).where(
                Membership.person_id == person_id, Membership.unit_id == unit_id
            )
        )
    ).one()


async def mark_processed(session: AsyncSession, *, key: str) -> bool:
    """Records an inbound update; False when it was seen before (a redelivery)."""
    result = await core(
        session, _statement(session, "processed"), {"key": key, "received_at": utcnow()}
    )
    return bool(result.rowcount)


async def audit(
    session: AsyncSession,
    *,
    actor_id: str,
    action: str,
    unit_id: int | None = None,
    chat_id: str | None = None,
    before: str | None = None,
    after: str | None = None,
) -> None:
    """Records a configuration change; one that leaves the value as it was is none."""
    if before is not None and before == after:
        return
    session.add(
        AuditEntry(
            actor_id=actor_id,
            action=action,
            unit_id=unit_id,
            chat_id=chat_id,
            before=before,
            after=after,
        )
    )
    await session.flush()


async def get_person(session: AsyncSession, *, person_id: str) -> Person | None:
    return await session.get(Person, person_id)


async def get_chat(session: AsyncSession, *, chat_id: str) -> Chat | None:
    return await session.get(Chat, chat_id)
