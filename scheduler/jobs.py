"""The scheduled jobs: who is due, what each post says, and putting it in the outbox.

A job never sends: it writes one outbox row per (job, period, chat), and a row that exists is
never written again, so running a job twice, or again after a crash, adds nothing.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlmodel.ext.asyncio.session import AsyncSession

from handlers import i18n, views
from handlers.chart import board_png
from handlers.export import XLSX_MIME, quarter_bounds, quarter_key, workbook
from handlers.i18n import _
from handlers.incoming import Attachment, Deps
from handlers.periods import local_date, week_key, week_start
from handlers.problems import REPORT_EXAMPLE
from handlers.progress import Board, board
from handlers.richtext import Rich, Span, b, code, fmt, joined, mention
from handlers.summary import weekly_summary
from handlers.targets import resolve_schedule
from storage import config, people, rounds, units
from storage.db import transaction
from storage.models import (
    Chat,
    Unit,
)
from storage.rounds import Linked

log = logging.getLogger(__name__)

JOBS = ("reminders", "summaries", "leaderboards", "quarterly")
SCHEDULE_KEY = {"reminders": "reminder", "summaries": "summary", "leaderboards": "leaderboard"}
CAPTION_TOP = 10
CHUNK = 500  # chats a transaction: bounded memory, and SQLite's writer is free between chunks
QUARTERLY_AT = time(8, 0)  # on the first day of a quarter, the last one is evaluated
QUARTERLY_CATCH_UP = timedelta(days=7)


@dataclass(frozen=True)
class Post:
    chat_id: str
    rich: Rich
    attachment: Attachment | None = None
    fallback_chat_id: str | None = None


async def enqueue(session: AsyncSession, *, job: str, period: str, posts: Sequence[Post]) -> int:
    """The posts into the outbox (storage/rounds.py); returns how many were new."""
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


# --- who is due ----------------------------------------------------------------------------


async def _due(
    session: AsyncSession, *, job: str, at: datetime, tz: ZoneInfo
) -> tuple[str, list[Linked]]:
    """(period, the linked chats whose time for `job` has come in that period)."""
    local = at.astimezone(tz)
    chats = await rounds.linked_chats(session)
    if job == "quarterly":
        start, _end = quarter_bounds(local.date())
        due_at = datetime.combine(start, QUARTERLY_AT, tzinfo=tz)
        # Caught up for a week after the quarter ends; an evaluation weeks late helps nobody.
        if not due_at <= local < due_at + QUARTERLY_CATCH_UP:
            return quarter_key(start - timedelta(days=1)), []
        return quarter_key(start - timedelta(days=1)), chats
    period = week_key(local.date())
    monday = week_start(local.date())
    ids = {i for c in chats for i in units.path_ids(c)}
    rows = await config.schedule_rows(session, unit_ids=sorted(ids))
    due: list[Linked] = []
    for chat in chats:
        when, _source = resolve_schedule(chat, rows)[SCHEDULE_KEY[job]]
        moment = datetime.combine(
            monday + timedelta(days=when.weekday), time(when.minute // 60, when.minute % 60), tz
        )
        if local >= moment:
            due.append(chat)
    return period, due


# --- what each job says --------------------------------------------------------------------


async def reminders(
    session: AsyncSession, *, chats: Sequence[tuple[Chat, Unit]], today: date, deps: Deps
) -> list[Post]:
    week = week_key(today)
    unit_ids = sorted({u.id for _c, u in chats if u.id is not None})
    members, reported = await rounds.members_and_reports(session, unit_ids=unit_ids, week=week)
    posts: list[Post] = []
    for chat, unit in chats:
        assert unit.id is not None  # noqa: S101 (stored)
        missing = [p for p in members[unit.id] if p.id not in reported[unit.id]]
        if chat.kind == "private":
            # A member who reports in a private chat (how Zalo members take part) is reminded
            # there, and only when they themselves have not reported.
            missing = [p for p in missing if p.id == chat.person_id]
        if not missing:
            continue
        with i18n.use(chat.language or deps.default_locale):
            rich = Rich().add(
                "⏰ ",
                fmt(
                    _("Report reminder — {unit}, {week}"),
                    unit=b(unit.name),
                    week=views.week_label(week, week_start(today)),
                ),
            )
            names = joined([mention(p.id, p.display_name) for p in missing])
            if chat.kind == "private":
                rich.add(_("You have not reported this week yet."))
            else:
                rich.add(
                    _("{count} members have not reported this week: ").format(count=len(missing)),
                    names,
                )
            rich.add(fmt(_("Report with {example}"), example=code(REPORT_EXAMPLE)))
        posts.append(Post(chat.id, rich))
    return posts


async def summaries(
    session: AsyncSession,
    *,
    chats: Sequence[tuple[Chat, Unit]],
    today: date,
    deps: Deps,
    queued: set[str],
) -> list[Post]:
    posts: list[Post] = []
    seen: set[int] = set()
    # A team's group chat first: it is where a summary goes when the leader cannot be reached.
    for chat, unit in sorted(chats, key=lambda cu: cu[0].kind == "private"):
        if unit.id is None or unit.id in seen:
            continue
        seen.add(unit.id)
        leaders = [
            m for m, _p in await config.roster(session, unit_id=unit.id) if m.role == "leader"
        ]
        if not leaders:
            continue
        leader = leaders[0]
        own_chat = await people.private_chat_of(session, person_id=leader.person_id)
        # Telegram lets a bot write to a user who has opened it, whose chat id is the user's
        # id; a refusal sends the summary to the team chat instead.
        target = own_chat.id if own_chat is not None else leader.person_id
        team_chat = chat.id if chat.kind != "private" else None
        if target in queued or (team_chat is not None and team_chat in queued):
            continue  # sent to the leader, or already fallen back to the team chat
        language = (own_chat.language if own_chat else None) or chat.language
        with i18n.use(language or deps.default_locale):
            indicators = await config.indicators_for(session, unit=unit)
            # Sent on Monday morning by default: it reports on the week that just ended.
            covered = today - timedelta(days=1)
            try:
                rich = await weekly_summary(
                    session, unit=unit, today=covered, indicators=indicators
                )
            except Exception:
                # One team's summary that cannot be written must not keep the others'.
                log.exception("weekly summary of unit %s failed; left out", unit.id)
                deps.observer.count("skipped", "summary")
                continue
        posts.append(Post(target, rich, fallback_chat_id=team_chat))
    return posts


async def leaderboards(
    session: AsyncSession, *, chats: Sequence[tuple[Chat, Unit]], today: date, deps: Deps,
    title: str | None = None,
) -> list[Post]:  # fmt: skip
    posts: list[Post] = []
    charts: dict[tuple[int, str], bytes | None] = {}
    boards: dict[int, Board] = {}  # a commune's villages share one board: computed once
    covered = today - timedelta(days=1)  # on Monday, the week that just ended
    for chat, unit in chats:
        language = chat.language or deps.default_locale
        with i18n.use(language):
            scope_id = unit.parent_id if unit.level == "village" else unit.id
            cached = boards.get(scope_id or 0)
            if cached is None:
                indicators = await config.indicators_for(session, unit=unit)
                cached = await board(session, unit=unit, indicators=indicators)
                boards[scope_id or 0] = cached
            bd = replace(cached, own_unit_id=unit.id)
            if not bd.rows:
                continue
            subtitle = title or views.week_label(week_key(covered), week_start(covered))
            key = (bd.scope.id or 0, language)
            if key not in charts:
                charts[key] = await _chart(bd, subtitle, deps)
            rich = views.board(bd, top=CAPTION_TOP)
            if title:
                rich.lines.insert(0, (Span(title, "bold"),))
        png = charts[key]
        picture = (
            Attachment(f"xep-hang-{bd.scope.code}.png", png, "photo", "image/png")
            if png is not None
            else None
        )
        posts.append(Post(chat.id, rich, picture))
    return posts


async def _chart(bd: Board, subtitle: str, deps: Deps) -> bytes | None:
    """The board's chart, drawn off the event loop (a national round draws thousands, and
    members' replies must not wait behind them); None when it cannot be drawn, so that the
    text board still goes out and one unit's chart never stops the round."""
    try:
        return await asyncio.to_thread(board_png, bd, subtitle=subtitle)
    except Exception:
        log.exception("leaderboard chart of %s failed; the board goes out as text", bd.scope.id)
        deps.observer.count("skipped", "leaderboard chart")
        return None


async def quarterly_workbooks(
    session: AsyncSession, *, today: date, deps: Deps, period: str
) -> list[Post]:
    """Admins get the workbook of the unit they administer, in their private chat."""
    start, end = quarter_bounds(today - timedelta(days=1))
    title = _quarter_title(deps, period)
    posts: list[Post] = []
    grants = await rounds.admin_grants(session)
    done: set[tuple[str, int]] = set()
    for grant in grants:
        if (grant.person_id, grant.unit_id) in done:
            continue
        done.add((grant.person_id, grant.unit_id))
        unit = await units.get(session, unit_id=grant.unit_id)
        if unit is None:
            continue
        with i18n.use(deps.default_locale):
            try:
                content = await workbook(
                    session, unit=unit, first=start, last=end, tz=ZoneInfo(deps.timezone)
                )
            except Exception:
                # One unit's workbook that cannot be made must not keep the others from going.
                log.exception("quarterly workbook of unit %s failed; left out", unit.id)
                deps.observer.count("skipped", "quarterly workbook")
                continue
            rich = Rich().add("📊 ", fmt(_("{title}: workbook of {unit}"), title=title,
                                          unit=b(unit.name)))  # fmt: skip
        posts.append(
            Post(
                grant.person_id,
                rich,
                Attachment(f"danh-gia-{period}-{unit.code}.xlsx", content, "document", XLSX_MIME),
            )
        )
    return posts


def _quarter_title(deps: Deps, period: str) -> str:
    with i18n.use(deps.default_locale):
        return _("Evaluation of quarter {quarter}/{year}").format(
            quarter=period[-1], year=period[:4]
        )


def _chunks(chats: Sequence[Linked]) -> Iterator[list[Linked]]:
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


async def run(deps: Deps, job: str, at: datetime) -> int:
    """Enqueues what `job` owes as of `at`; returns how many new posts went into the outbox.

    A chunk of chats at a time, each in its own transaction: at national scale (73,000 village
    groups) one transaction would hold every post in memory and keep SQLite's writer from the
    members' reports for minutes. A chunk enqueued before a crash stays enqueued; the rest is
    done at the next tick.
    """
    if job not in JOBS:
        raise ValueError(f"unknown job {job!r}; one of {', '.join(JOBS)}")
    tz = ZoneInfo(deps.timezone)
    today = local_date(at, tz)
    async with deps.sessions() as session:
        period, due = await _due(session, job=job, at=at, tz=tz)
        sent = await rounds.already_queued(session, job=job, period=period)
    todo = [c for c in due if c.chat_id not in sent]
    if not todo:
        return 0
    added = 0
    for linked in _chunks(todo):
        async with transaction(deps.sessions) as session:
            chunk = await rounds.load(session, linked)
            if job == "reminders":
                posts = await reminders(session, chats=chunk, today=today, deps=deps)
            elif job == "summaries":
                posts = await summaries(session, chats=chunk, today=today, deps=deps, queued=sent)
            else:
                title = _quarter_title(deps, period) if job == "quarterly" else None
                posts = await leaderboards(
                    session, chats=chunk, today=today, deps=deps, title=title
                )
            added += await enqueue(session, job=job, period=period, posts=posts)
    if job == "quarterly":
        async with transaction(deps.sessions) as session:
            posts = await quarterly_workbooks(session, today=today, deps=deps, period=period)
            posts = [p for p in posts if p.chat_id not in sent]
            added += await enqueue(session, job=job, period=period, posts=posts)
    if added:
        log.info("%s %s: %d posts queued", job, period, added)
    return added


async def run_due(deps: Deps, at: datetime) -> int:
    """Every job whose time has come; what is already queued is skipped."""
    total = 0
    for job in JOBS:
        try:
            total += await run(deps, job, at)
        except Exception:
            log.exception("job %s failed", job)
    return total
