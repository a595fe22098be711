"""A team's roster before anyone reports: the people a workbook lists are members from the day
it is imported, though nobody of them has spoken to the bot yet.

Such a person is kept as a `Person` of the platform "roster" (an id of its own, no chat) with
an ordinary membership, so that everything that counts or names a team's members (reporting
rates, reminders, summaries, the dashboard) counts and names them too. When the real person
turns up on a platform and is matched to the row (handlers/roster.py decides how), the
membership is handed over to them, with its details, and the stand-in goes.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage import cache
from storage.models import Chat, Membership, Person, Unit, utcnow

LISTED = "roster"  # the platform of a person known only from a list


def is_listed(person_id: str) -> bool:
    return person_id.startswith(f"{LISTED}:")


async def team(session: AsyncSession, *, unit_id: int) -> list[tuple[Membership, Person]]:
    """Everyone on the team's roster, listed or seen, in no particular order."""
    rows = await session.exec(
        select(Membership, Person)
        .join(Person, col(Person.id) == col(Membership.person_id))
        .where(Membership.unit_id == unit_id)
        .order_by(col(Membership.id))
    )
    return list(rows.all())


async def add_listed(
    session: AsyncSession,
    *,
    unit_id: int,
    name: str,
    phone: str | None,
    affiliation: str | None,
    trained: bool,
) -> tuple[Membership, Person]:
    """A person a list names, on the team's roster from now on."""
    person = Person(id=f"{LISTED}:{secrets.token_hex(8)}", platform=LISTED, display_name=name)
    session.add(person)
    await session.flush()
    membership = Membership(
        person_id=person.id,
        unit_id=unit_id,
        affiliation=affiliation,
        trained=trained,
        phone=phone,
    )
    session.add(membership)
    await session.flush()
    return membership, person


async def hand_over(session: AsyncSession, *, listed: Membership, person_id: str) -> None:
    """The listed person turned up as `person_id` (not yet a member of that team): the
    membership, with what the list said of them, is theirs; the stand-in goes."""
    stand_in = await session.get(Person, listed.person_id)
    listed.person_id = person_id
    listed.joined_at = utcnow()
    await session.flush()
    if stand_in is not None and stand_in.platform == LISTED:
        await session.delete(stand_in)
        await session.flush()
    cache.put(session, ("member", person_id, listed.unit_id), True)


async def village_of(session: AsyncSession, *, person_id: str) -> Unit | None:
    """The village team the person joined last, if any."""
    rows = await session.exec(
        select(Unit)
        .join(Membership, col(Membership.unit_id) == col(Unit.id))
        .where(Membership.person_id == person_id, Unit.level == "village")
        .order_by(col(Membership.joined_at).desc(), col(Membership.id).desc())
    )
    return rows.first()


async def private_chats(
    session: AsyncSession, *, person_ids: Sequence[str]
) -> dict[str, tuple[str, str | None]]:
    """Person id -> (their private chat with the bot, its language), for those who opened one
    (a chat the person never opened cannot be written to first) and whose chat reports for no
    team of its own (such a chat is reminded as that team's)."""
    if not person_ids:
        return {}
    rows = await session.exec(
        select(Chat.person_id, Chat.id, Chat.language).where(
            col(Chat.person_id).in_(person_ids),
            Chat.kind == "private",
            col(Chat.unit_id).is_(None),
            col(Chat.active).is_(True),
        )
    )
    return {person: (chat, language) for person, chat, language in rows.all() if person}
