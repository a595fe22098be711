"""What a scheduled round reads and writes: the linked chats, who is a member where and who
reported, and the outbox rows (one per job, period and chat) with the pictures they share.

A row that exists is never written again, so running a round twice, or again after a crash,
adds nothing. No text lives here: a post's body arrives as the JSON the sender will render.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlmodel import case, col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage import outbox
from storage.dialect import insert_for
from storage.models import (
    AdminGrant,
    Chat,
    Media,
    Membership,
    Outbox,
    Person,
    Report,
    Unit,
    utcnow,
)


@dataclass(frozen=True)
class Picture:
    key: str  # the content's SHA-256: one row however many posts carry it
    filename: str
    mime: str
    kind: str  # photo | document
    content: bytes


@dataclass(frozen=True)
class QueuedPost:
    chat_id: str
    body: str  # Rich.to_json()
    picture: Picture | None = None
    fallback_chat_id: str | None = None
    buttons: str | None = None  # JSON
    edit_id: str | None = None
    delete_id: str | None = None


async def enqueue(
    session: AsyncSession, *, job: str, period: str, posts: Sequence[QueuedPost]
) -> int:
    """Writes the posts that are not in the outbox yet; returns how many were new.

    One statement for all the posts (and one per distinct picture): a chunk of a national round
    is hundreds of posts sharing one chart."""
    if not posts:
        return 0
    insert = insert_for(session)
    pictures = {p.picture.key: p.picture for p in posts if p.picture is not None}
    for picture in pictures.values():
        await session.exec(
            insert(Media)
            .values(
                key=picture.key,
                filename=picture.filename,
                mime=picture.mime,
                content=picture.content,
            )
            .on_conflict_do_nothing(index_elements=["key"])
        )
    rows = [
        {
            "job": job,
            "period": period,
            "chat_id": post.chat_id,
            "body": post.body,
            "media_key": post.picture.key if post.picture else None,
            "media_kind": post.picture.kind if post.picture else None,
            "fallback_chat_id": post.fallback_chat_id,
            "buttons": post.buttons,
            "edit_id": post.edit_id,
            "delete_id": post.delete_id,
            "created_at": utcnow(),
        }
        for post in posts
    ]
    outbox.queued(session, {post.chat_id for post in posts})
    before = await _queued_count(session, job=job, period=period)
    await session.exec(
        insert(Outbox).on_conflict_do_nothing(index_elements=["job", "period", "chat_id"]),
        params=rows,
    )
    return await _queued_count(session, job=job, period=period) - before


async def _queued_count(session: AsyncSession, *, job: str, period: str) -> int:
    found = await session.exec(
        select(func.count()).select_from(Outbox).where(Outbox.job == job, Outbox.period == period)
    )
    return int(found.one())


@dataclass(frozen=True, slots=True)
class Linked:
    """A linked chat as the due-time check needs it: a national round looks at 73,000 of them,
    and whole Chat and Unit instances for each would cost hundreds of megabytes."""

    chat_id: str
    path: str
    scope: int  # whose board the chat gets: a village's commune, else its own unit


async def linked_chats(session: AsyncSession) -> list[Linked]:
    scope = case((col(Unit.level) == "village", col(Unit.parent_id)), else_=col(Unit.id))
    rows = await session.exec(
        select(Chat.id, Unit.path, scope)
        .join(Unit, col(Unit.id) == col(Chat.unit_id))
        .where(col(Chat.active).is_(True))
        .order_by(col(Chat.id))
    )
    return [Linked(chat_id, path, int(of or 0)) for chat_id, path, of in rows.all()]


async def load(session: AsyncSession, chats: Sequence[Linked]) -> list[tuple[Chat, Unit]]:
    rows = await session.exec(
        select(Chat, Unit)
        .join(Unit, col(Unit.id) == col(Chat.unit_id))
        .where(col(Chat.id).in_([c.chat_id for c in chats]))
        .order_by(col(Chat.id))
    )
    return list(rows.all())


async def already_queued(session: AsyncSession, *, job: str, period: str) -> set[str]:
    rows = await session.exec(
        select(Outbox.chat_id).where(Outbox.job == job, Outbox.period == period)
    )
    return set(rows.all())


@dataclass(frozen=True, slots=True)
class Member:
    id: str
    display_name: str


async def members_and_reports(
    session: AsyncSession, *, unit_ids: Sequence[int], week: str
) -> tuple[dict[int, list[Member]], dict[int, set[str]]]:
    """Each unit's members and who of them reported in `week`; read as plain rows, because a
    national reminder round reads every one of 340,000 members."""
    members: dict[int, list[Member]] = {uid: [] for uid in unit_ids}
    reported: dict[int, set[str]] = {uid: set() for uid in unit_ids}
    if not unit_ids:
        return members, reported
    rows = await session.exec(
        select(Membership.unit_id, Person.id, Person.display_name)
        .join(Person, col(Person.id) == col(Membership.person_id))
        .where(col(Membership.unit_id).in_(unit_ids))
        .order_by(col(Person.display_name))
    )
    for unit_id, person_id, name in rows.all():
        members[unit_id].append(Member(person_id, name))
    done = await session.exec(
        select(Report.unit_id, Report.person_id).where(
            col(Report.unit_id).in_(unit_ids),
            Report.week == week,
            col(Report.withdrawn_at).is_(None),
        )
    )
    for uid, pid in done.all():
        reported[uid].add(pid)
    return members, reported


async def admin_grants(session: AsyncSession) -> list[AdminGrant]:
    return list((await session.exec(select(AdminGrant))).all())
