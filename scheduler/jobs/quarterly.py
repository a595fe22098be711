"""The quarter's evaluation, on its first day: every chat its board titled with the quarter,
and every admin the workbook of the unit they administer."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlmodel.ext.asyncio.session import AsyncSession

from handlers import i18n
from handlers.export import XLSX_MIME, quarter_bounds, quarter_key, workbook
from handlers.i18n import _
from handlers.incoming import Attachment, Deps
from handlers.notices import reach
from handlers.periods import quarter_of
from handlers.richtext import Rich, b, fmt
from scheduler.jobs.base import Chunk, Post
from scheduler.jobs.leaderboards import leaderboards
from storage import rounds, units
from storage.rounds import Linked

log = logging.getLogger(__name__)

QUARTERLY_AT = time(8, 0)  # on the first day of a quarter, the last one is evaluated
QUARTERLY_CATCH_UP = timedelta(days=7)
WORKBOOKS = "quarterly_workbook"  # the outbox's name for them: a group may get the board too


async def quarterly_workbooks(
    session: AsyncSession, *, today: date, deps: Deps, period: str
) -> list[Post]:
    """Admins get the workbook of the unit they administer, in their private chat (in the
    unit's group when they never opened one)."""
    quarter = quarter_of(today - timedelta(days=1))
    title = quarter_title(deps, period)
    posts: list[Post] = []
    grants = await rounds.admin_grants(session)
    done: set[tuple[str, int]] = set()
    done_chats: set[tuple[str, int]] = set()
    for grant in grants:
        if (grant.person_id, grant.unit_id) in done:
            continue
        done.add((grant.person_id, grant.unit_id))
        unit = await units.get(session, unit_id=grant.unit_id)
        if unit is None:
            continue
        # An admin who never opened a private chat with the bot cannot be written to first
        # (403): the unit's group has the workbook instead; with no group, nobody.
        target, fallback = await reach(session, person_id=grant.person_id, unit_id=grant.unit_id)
        if target is None:
            log.warning("quarterly workbook of unit %s: its admin cannot be reached", unit.id)
            deps.observer.count("skipped", "quarterly workbook")
            continue
        if (target.id, grant.unit_id) in done_chats:
            continue  # a second admin of the unit, neither of them reachable but in its group
        done_chats.add((target.id, grant.unit_id))
        with i18n.use(deps.default_locale):
            try:
                content = await workbook(
                    session, unit=unit, period=quarter, tz=ZoneInfo(deps.timezone)
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
                target.id,
                rich,
                Attachment(f"danh-gia-{period}-{unit.code}.xlsx", content, "document", XLSX_MIME),
                fallback_chat_id=fallback,
                job=WORKBOOKS,
            )
        )
    return posts


def quarter_title(deps: Deps, period: str) -> str:
    with i18n.use(deps.default_locale):
        return _("Evaluation of quarter {quarter}/{year}").format(
            quarter=period[-1], year=period[:4]
        )


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
        return await leaderboards(session, chunk, title=quarter_title(chunk.deps, chunk.period))

    async def extra_posts(
        self, session: AsyncSession, *, today: date, deps: Deps, period: str
    ) -> list[Post]:
        return await quarterly_workbooks(session, today=today, deps=deps, period=period)


JOB = Quarterly()
