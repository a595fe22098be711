"""Chats, people, memberships and the configuration audit trail."""

from __future__ import annotations

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import AuditEntry, Chat, Membership, Person, ProcessedUpdate


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
    person = await session.get(Person, person_id)
    if person is None:
        person = Person(id=person_id, platform=platform, display_name=name, username=username)
        session.add(person)
        await session.flush()
    else:
        person.display_name = name
        person.username = username
    return person


async def ensure_membership(session: AsyncSession, *, person_id: str, unit_id: int) -> Membership:
    found = (
        await session.exec(
            select(Membership).where(
                Membership.person_id == person_id, Membership.unit_id == unit_id
            )
        )
    ).first()
    if found is not None:
        return found
    membership = Membership(person_id=person_id, unit_id=unit_id)
    session.add(membership)
    await session.flush()
    return membership


async def mark_processed(session: AsyncSession, *, key: str) -> bool:
    """Records an inbound update; False when it was seen before (a redelivery)."""
    if await session.get(ProcessedUpdate, key) is not None:
        return False
    session.add(ProcessedUpdate(key=key))
    await session.flush()
    return True


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
