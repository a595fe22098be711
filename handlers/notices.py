"""Telling someone in another chat: a team about something done elsewhere (a member who moved
to another team by code) — its leader privately, or its group chat when the leader cannot be
written to first; a leader their own dashboard link, privately rather than in the group.

The notice goes through the outbox, so it is sent at the pace the platform allows and survives
a restart; it is written in the reader's language, not the sender's."""

from __future__ import annotations

import hashlib
from collections.abc import Callable

from handlers import i18n
from handlers.context import Ctx
from handlers.incoming import Buttons, buttons_to_json
from handlers.richtext import Rich
from storage import config, people, rounds
from storage.models import Chat, Unit

JOB = "notice"


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
    group = await config.team_chat(ctx.session, unit_id=unit.id)
    own = None
    if leader is not None and leader.person_id != skip:
        own = await people.private_chat_of(ctx.session, person_id=leader.person_id)
    target = own or group
    if target is None:
        return False
    fallback = group.id if own is not None and group is not None else None
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
