"""The Monday summary for each team's leader, privately; into the team's chat when the leader
cannot be reached."""

from __future__ import annotations

import logging

from sqlmodel.ext.asyncio.session import AsyncSession

from handlers import i18n
from handlers.summary import weekly_summary
from scheduler.jobs.base import Chunk, Post, Weekly
from storage import config, people

log = logging.getLogger(__name__)


async def summaries(session: AsyncSession, chunk: Chunk) -> list[Post]:
    chats, today, deps, queued = chunk.chats, chunk.today, chunk.deps, chunk.queued
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
        team_chat = chat.id if chat.kind != "private" else None
        # A leader who never opened a private chat with the bot cannot be written to first
        # (Telegram answers 403): the team chat straight away. One who did gets it privately,
        # and should that chat refuse it now, the team chat has it instead.
        target = own_chat.id if own_chat is not None else (team_chat or leader.person_id)
        fallback = team_chat if target != team_chat else None
        if target in queued or (team_chat is not None and team_chat in queued):
            continue  # sent to the leader, or already fallen back to the team chat
        language = (own_chat.language if own_chat else None) or chat.language
        with i18n.use(language or deps.default_locale):
            indicators = await config.indicators_for(session, unit=unit)
            # The summary is of the last finished week, whatever day the unit's schedule
            # says: a Friday summary of a week still running would report half of it.
            try:
                rich = await weekly_summary(session, unit=unit, today=today, indicators=indicators)
            except Exception:
                # One team's summary that cannot be written must not keep the others'.
                log.exception("weekly summary of unit %s failed; left out", unit.id)
                deps.observer.count("skipped", "summary")
                continue
        posts.append(Post(target, rich, fallback_chat_id=fallback))
    return posts


JOB = Weekly("summaries", summaries)
