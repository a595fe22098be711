"""What every job shares: the post it queues, putting posts in the outbox, the chunks of chats a
round goes through, and when a weekly job is due for a chat (its unit's schedule)."""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from sqlmodel.ext.asyncio.session import AsyncSession

from handlers.incoming import Attachment, Buttons, Deps, buttons_to_json
from handlers.periods import week_key, week_start
from handlers.richtext import Rich
from handlers.targets import resolve_schedule
from storage import config, rounds, units
from storage.models import Chat, Unit
from storage.rounds import Linked

CHUNK = 500  # chats a transaction: bounded memory, and SQLite's writer is free between chunks


@dataclass(frozen=True)
class Post:
    chat_id: str
    rich: Rich
    attachment: Attachment | None = None
    fallback_chat_id: str | None = None
    buttons: Buttons = ()
    edit_id: str | None = None  # replaces this message of the bot's instead
    delete_id: str | None = None  # only deletes this message of the bot's
    # Queued under this name instead of the job's: a post of its own kind, once a period in a
    # chat that also gets the job's post (an admin's workbook in a group that has the board).
    job: str | None = None


class Job(Protocol):
    """One scheduled job. `name` is its only name: the outbox's rows, a unit's schedule,
    /lich, a plan's [schedule] (through `JOB_KEYS`) and `tcns jobs run` all use it."""

    @property
    def name(self) -> str: ...

    async def due(
        self, session: AsyncSession, *, chats: Sequence[Linked], at: datetime, tz: ZoneInfo
    ) -> tuple[str, list[Linked]]:
        """(the period `at` falls in, the chats whose time has come in it)."""
        ...

    async def posts(self, session: AsyncSession, chunk: Chunk) -> list[Post]:
        """The posts for one chunk of due chats."""
        ...

    async def extra_posts(
        self, session: AsyncSession, *, today: date, deps: Deps, period: str
    ) -> list[Post]:
        """Posts that belong to no chat of the round (the quarter's workbooks), once a round."""
        ...


@dataclass(frozen=True)
class Chunk:
    """One transaction's share of a round: its chats, and what the round knows."""

    chats: Sequence[tuple[Chat, Unit]]
    today: date
    deps: Deps
    period: str
    queued: set[str]  # chats that already have this round's post
    # The chats as the round found them due: a job whose chats are linked to no unit (an
    # admin's private chat) finds nothing of them in `chats`.
    linked: Sequence[Linked] = ()


Build = Callable[[AsyncSession, Chunk], Awaitable[list[Post]]]


@dataclass(frozen=True)
class Weekly:
    """A job each unit times for itself (/lich), once a week: when it is due comes from the
    units' schedules, what it says from `build`."""

    name: str
    build: Build

    async def posts(self, session: AsyncSession, chunk: Chunk) -> list[Post]:
        return await self.build(session, chunk)

    async def due(
        self, session: AsyncSession, *, chats: Sequence[Linked], at: datetime, tz: ZoneInfo
    ) -> tuple[str, list[Linked]]:
        local = at.astimezone(tz)
        monday = week_start(local.date())
        ids = {i for c in chats for i in units.path_ids(c)}
        rows = await config.schedule_rows(session, unit_ids=sorted(ids))
        due: list[Linked] = []
        for chat in chats:
            when, _source = resolve_schedule(chat, rows)[self.name]
            moment = datetime.combine(
                monday + timedelta(days=when.weekday),
                time(when.minute // 60, when.minute % 60),
                tz,
            )
            if local >= moment:
                due.append(chat)
        return week_key(local.date()), due

    async def extra_posts(
        self, session: AsyncSession, *, today: date, deps: Deps, period: str
    ) -> list[Post]:
        return []


async def enqueue(session: AsyncSession, *, job: str, period: str, posts: Sequence[Post]) -> int:
    """The posts into the outbox (storage/rounds.py), each under its job's name or its own;
    returns how many were new."""
    by_job: dict[str, list[Post]] = {}
    for post in posts:
        by_job.setdefault(post.job or job, []).append(post)
    added = 0
    for name, group in sorted(by_job.items()):
        added += await _enqueue(session, job=name, period=period, posts=group)
    return added


async def _enqueue(session: AsyncSession, *, job: str, period: str, posts: Sequence[Post]) -> int:
    return await rounds.enqueue(
        session,
        job=job,
        period=period,
        posts=[
            rounds.QueuedPost(
                chat_id=post.chat_id,
                body=post.rich.to_json(),
                picture=_picture(post.attachment) if post.attachment is not None else None,
                fallback_chat_id=post.fallback_chat_id,
                buttons=buttons_to_json(post.buttons),
                edit_id=post.edit_id,
                delete_id=post.delete_id,
            )
            for post in posts
        ],
    )


def _picture(attachment: Attachment) -> rounds.Picture:
    return rounds.Picture(
        key=hashlib.sha256(attachment.content).hexdigest(),
        filename=attachment.filename,
        mime=attachment.mime,
        kind=attachment.kind,
        content=attachment.content,
    )


def chunks(chats: Sequence[Linked]) -> Iterator[list[Linked]]:
    """About CHUNK chats at a time, a scope's chats always in the same chunk: its board and
    chart are worked out once, and a unit's group and private chats are seen together."""
    ordered = sorted(chats, key=lambda c: (c.scope, c.chat_id))
    chunk: list[Linked] = []
    for _scope, group in itertools.groupby(ordered, key=lambda c: c.scope):
        if len(chunk) >= CHUNK:
            yield chunk
            chunk = []
        chunk.extend(group)
    if chunk:
        yield chunk
