"""The quarter's evaluation, on its first day: every linked chat the evaluation of its scope
(handlers/evaluation.py) with its chart, each team's leader the same privately, and every admin
the workbook of the unit they administer.

Nobody is written to first in a private chat they never opened (Telegram refuses it): a leader
without one reads the evaluation in the team's group, which has it anyway; an admin without one
gets no workbook (it names every member: not a thing for a group) and `/xuat` gives it to them.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlmodel.ext.asyncio.session import AsyncSession

from handlers import evaluation, i18n
from handlers.evaluation import Evaluation, evaluated_quarter
from handlers.export import XLSX_MIME, quarter_bounds, quarter_key, workbook
from handlers.i18n import _
from handlers.incoming import Attachment, Deps
from handlers.periods import quarter_of
from handlers.richtext import Rich, b, fmt
from scheduler.jobs.base import Chunk, Post
from scheduler.jobs.leaderboards import draw_chart
from storage import config, people, rounds, units
from storage.models import Chat, Unit
from storage.rounds import Linked

log = logging.getLogger(__name__)

QUARTERLY_AT = time(8, 0)  # on the first day of a quarter, the last one is evaluated
QUARTERLY_CATCH_UP = timedelta(days=7)
WORKBOOKS = (
    "quarterly_workbook"  # the outbox's name for them: the chat may have the evaluation too
)


async def quarterly_workbooks(
    session: AsyncSession, *, today: date, deps: Deps, period: str
) -> list[Post]:
    """Admins get the workbook of the unit they administer, in the private chat they opened:
    it names every reporter, so it is not posted to a group instead; `/xuat` makes it for an
    admin who never opened the bot."""
    start, _end = evaluated_quarter(period)
    quarter = quarter_of(start)
    posts: list[Post] = []
    grants = await rounds.admin_grants(session)
    done: set[tuple[str, int]] = set()
    unreachable = 0
    for grant in grants:
        if (grant.person_id, grant.unit_id) in done:
            continue
        done.add((grant.person_id, grant.unit_id))
        private = await people.private_chat_of(session, person_id=grant.person_id)
        if private is None:
            unreachable += 1
            continue
        unit = await units.get(session, unit_id=grant.unit_id)
        if unit is None:
            continue
        with i18n.use(private.language or deps.default_locale):
            try:
                content = await workbook(
                    session, unit=unit, period=quarter, tz=ZoneInfo(deps.timezone), today=today
                )
            except Exception:
                # One unit's workbook that cannot be made must not keep the others from going.
                log.exception("quarterly workbook of unit %s failed; left out", unit.id)
                deps.observer.count("skipped", "quarterly workbook")
                continue
            line = fmt(
                _("{title}: workbook of {unit}"), title=evaluation.title(start), unit=b(unit.name)
            )
            rich = Rich().add("📊 ", line)
        posts.append(
            Post(
                private.id,
                rich,
                Attachment(f"danh-gia-{period}-{unit.code}.xlsx", content, "document", XLSX_MIME),
                job=WORKBOOKS,  # a leader who is also an admin gets the evaluation there too
            )
        )
    if unreachable:
        log.info("quarterly %s: %d admin grants without a private chat, no workbook", period,
                 unreachable)  # fmt: skip
    return posts


async def evaluations(session: AsyncSession, chunk: Chunk) -> list[Post]:
    """Each chat the evaluation of its scope, its own unit marked; each village's leader the
    same in the private chat they opened, with the team's group as the fallback."""
    first, last = evaluated_quarter(chunk.period)
    deps = chunk.deps
    found: dict[int, Evaluation] = {}  # a commune's villages share one evaluation
    charts: dict[tuple[int, str], bytes | None] = {}
    taken = set(chunk.queued)
    posts: list[Post] = []

    async def post(chat_id: str, language: str, unit: Unit, fallback: str | None = None) -> None:
        scope = await _scope(session, unit)
        if scope is None or scope.id is None:
            return
        ev = found.get(scope.id)
        if ev is None:
            ev = found[scope.id] = await evaluation.evaluate(
                session, scope=scope, first=first, last=last
            )
        if not ev.rows and not ev.no_team:
            return
        with i18n.use(language):
            rich = evaluation.render(ev, own_unit_id=unit.id)
            key = (scope.id, language)
            if key not in charts:
                charts[key] = (
                    await draw_chart(ev.board(None), evaluation.title(first), deps)
                    if ev.rows
                    else None
                )
        png = charts[key]
        picture = (
            Attachment(f"danh-gia-{chunk.period}-{scope.code}.png", png, "photo", "image/png")
            if png is not None
            else None
        )
        taken.add(chat_id)
        posts.append(Post(chat_id, rich, picture, fallback_chat_id=fallback))

    for chat, unit in chunk.chats:
        await post(chat.id, chat.language or deps.default_locale, unit)
    # Leaders, once their teams' chats have theirs.
    villages: dict[int, tuple[Unit, Chat]] = {}
    for chat, unit in sorted(chunk.chats, key=lambda cu: cu[0].kind == "private"):
        if unit.level == "village" and unit.id is not None:
            villages.setdefault(unit.id, (unit, chat))
    for unit_id, (unit, chat) in villages.items():
        for member, _person in await config.roster(session, unit_id=unit_id):
            if member.role != "leader":
                continue
            private = await people.private_chat_of(session, person_id=member.person_id)
            if private is None or private.id in taken:
                # Never opened the bot: the team's group has the evaluation, and a private
                # chat is not tried first. Or their private chat is the team's chat.
                continue
            group = chat.id if chat.kind != "private" else None
            language = private.language or chat.language or deps.default_locale
            await post(private.id, language, unit, fallback=group)
    return posts


async def _scope(session: AsyncSession, unit: Unit) -> Unit | None:
    """Whose children the chat reads: a village's commune, else the unit itself."""
    if unit.level == "village" and unit.parent_id is not None:
        return await units.get(session, unit_id=unit.parent_id)
    return unit


class Quarterly:
    name = "quarterly"

    async def due(
        self, session: AsyncSession, *, chats: Sequence[Linked], at: datetime, tz: ZoneInfo
    ) -> tuple[str, list[Linked]]:
        local = at.astimezone(tz)
        start, _end = quarter_bounds(local.date())
        period = quarter_key(start - timedelta(days=1))
        due_at = datetime.combine(start, QUARTERLY_AT, tzinfo=tz)
        # Caught up for a week after the quarter ends; an evaluation weeks late helps nobody.
        if not due_at <= local < due_at + QUARTERLY_CATCH_UP:
            return period, []
        return period, list(chats)

    async def posts(self, session: AsyncSession, chunk: Chunk) -> list[Post]:
        return await evaluations(session, chunk)

    async def extra_posts(
        self, session: AsyncSession, *, today: date, deps: Deps, period: str
    ) -> list[Post]:
        return await quarterly_workbooks(session, today=today, deps=deps, period=period)


JOB = Quarterly()
