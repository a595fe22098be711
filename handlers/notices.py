"""Telling a team about something done elsewhere (a member who moved to another team by code):
its leader privately, or its group chat when the leader cannot be written to first.

The notice goes through the outbox, so it is sent at the pace the platform allows and survives
a restart; it is written in the reader's language, not the sender's."""

from __future__ import annotations

import hashlib
from collections.abc import Callable

from handlers import i18n
from handlers.context import Ctx
from handlers.richtext import Rich
from storage import config, people, rounds
from storage.models import Unit

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
    with i18n.use(target.language or ctx.deps.default_locale):
        body = text().to_json()
    period = hashlib.sha256(key.encode()).hexdigest()[:16]
    post = rounds.QueuedPost(chat_id=target.id, body=body, fallback_chat_id=fallback)
    await rounds.enqueue(ctx.session, job=JOB, period=period, posts=[post])
    return True
