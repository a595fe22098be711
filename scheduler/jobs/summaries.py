"""The Monday summary for each team's leader, privately; into the team's chat when the leader
never opened a private chat with the bot, or when the team has no leader. A village whose
team has no leader is said, in the same round, to its commune's admins."""

from __future__ import annotations

import logging

from sqlmodel.ext.asyncio.session import AsyncSession

from handlers import i18n
from handlers.leaderless import leaderless_notice
from handlers.notices import reach
from handlers.summary import weekly_summary
from scheduler.jobs.base import Chunk, Post, Weekly
from storage import config, units
from storage.models import Unit

log = logging.getLogger(__name__)

LEADERLESS = "leaderless"  # the outbox's job name for the admins' notice: once a week a chat


async def summaries(session: AsyncSession, chunk: Chunk) -> list[Post]:
    chats, today, deps, queued = chunk.chats, chunk.today, chunk.deps, chunk.queued
    posts: list[Post] = []
    seen: set[int] = set()
    leaderless: dict[int, list[Unit]] = {}  # commune -> its villages whose team has no leader
    for chat, unit in chats:
        if unit.id is None or unit.id in seen:
            continue
        seen.add(unit.id)
        leader = next(
            (m for m, _p in await config.roster(session, unit_id=unit.id) if m.role == "leader"),
            None,
        )
        if leader is None and unit.level != "village":
            continue  # a commune's chat: its admins' own, with no team summary of its own
        if leader is None and unit.parent_id is not None:
            leaderless.setdefault(unit.parent_id, []).append(unit)
        # Never first to a private chat the leader did not open (Telegram answers 403): the
        # team's group straight away, also when this round's chats hold only the village's
        # private ones (its group's post queued before a restart, say). A team with no leader
        # gets its summary in its group all the same.
        target, fallback = await reach(
            session, person_id=leader.person_id if leader else None, unit_id=unit.id
        )
        if target is None:
            continue
        if target.id in queued or (fallback is not None and fallback in queued):
            continue  # sent to the leader, or already fallen back to the team chat
        with i18n.use(target.language or chat.language or deps.default_locale):
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
        posts.append(Post(target.id, rich, fallback_chat_id=fallback))
    return posts + await _tell_admins(session, chunk, leaderless)


async def _tell_admins(
    session: AsyncSession, chunk: Chunk, leaderless: dict[int, list[Unit]]
) -> list[Post]:
    """Each commune's admins hear which of its villages' teams have no leader, once a week
    while it lasts: a leader the workbook named who never took part is noticed, not waited
    for. Privately to an admin who opened the bot, else in the commune's group."""
    posts: list[Post] = []
    for commune_id, villages in sorted(leaderless.items()):
        commune = await units.get(session, unit_id=commune_id)
        if commune is None:
            continue
        targets: dict[str, tuple[str | None, str | None]] = {}
        for person_id in await config.admins_of(session, unit_id=commune_id):
            chat, fallback = await reach(session, person_id=person_id, unit_id=commune_id)
            if chat is not None:
                targets.setdefault(chat.id, (chat.language, fallback))
        if not targets:  # no admin of its own (an operator's commune): its group, if any
            group, _none = await reach(session, person_id=None, unit_id=commune_id)
            if group is not None:
                targets[group.id] = (group.language, None)
        for chat_id, (language, fallback) in sorted(targets.items()):
            with i18n.use(language or chunk.deps.default_locale):
                rich = leaderless_notice(commune, villages)
            posts.append(Post(chat_id, rich, fallback_chat_id=fallback, job=LEADERLESS))
    return posts


JOB = Weekly("summaries", summaries)
