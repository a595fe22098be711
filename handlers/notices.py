"""Telling someone in another chat: a team about something done elsewhere (a member who moved
to another team by code) — its leader privately, or its group chat when the leader cannot be
written to first; a leader their own dashboard link, privately rather than in the group.

The notice goes through the outbox, so it is sent at the pace the platform allows and survives
a restart; it is written in the reader's language, not the sender's."""

from __future__ import annotations

import hashlib
from collections.abc import Callable

from sqlmodel.ext.asyncio.session import AsyncSession

from handlers import i18n
from handlers.context import Ctx
from handlers.incoming import Buttons, buttons_to_json
from handlers.richtext import Rich
from storage import config, people, rounds
from storage.models import Chat, Unit

JOB = "notice"


async def reach(
    session: AsyncSession, *, person_id: str | None, unit_id: int
) -> tuple[Chat | None, str | None]:
    """Where to write to a person of a unit first, and where instead should that chat refuse:
    their private chat, if they ever opened one with the bot, else the unit's group straight
    away (Telegram refuses a bot's first word with 403, and a private chat is known open only
    once the person wrote in it); (None, None) when there is neither."""
    own = None
    if person_id is not None:
        own = await people.private_chat_of(session, person_id=person_id)
    group = await config.team_chat(session, unit_id=unit_id)
    if own is None:
        return group, None
    return own, group.id if group is not None else None


async def tell_team(
    ctx: Ctx, unit: Unit, *, key: str, text: Callable[[], Rich], skip: str | None = None
) -> bool:
    """Queues `text()` for the unit's leader (unless that is `skip`, who is told in the chat);
    False when the team has nobody to tell. `key` makes a redelivered update queue it once."""
    assert unit.id is not None  # noqa: S101 (a stored unit)
    leader = next(
        (m for m, _p in await config.roster(ctx.session, unit_id=unit.id) if m.role == "leader"),
        None,
    )
    person_id = leader.person_id if leader is not None and leader.person_id != skip else None
    target, fallback = await reach(ctx.session, person_id=person_id, unit_id=unit.id)
    if target is None:
        return False
    await tell(ctx, target, key=key, text=text, fallback=fallback)
    return True


async def tell(
    ctx: Ctx,
    chat: Chat,
    *,
    key: str,
    text: Callable[[], Rich],
    buttons: Buttons = (),
    fallback: str | None = None,
) -> None:
    """Queues `text()`, in the chat's language, for `chat` (`fallback` when it refuses)."""
    with i18n.use(chat.language or ctx.deps.default_locale):
        body = text().to_json()
    period = hashlib.sha256(key.encode()).hexdigest()[:16]
    post = rounds.QueuedPost(
        chat_id=chat.id, body=body, fallback_chat_id=fallback, buttons=buttons_to_json(buttons)
    )
    await rounds.enqueue(ctx.session, job=JOB, period=period, posts=[post])
