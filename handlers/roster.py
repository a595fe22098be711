"""Who is on a team before anyone reports. A person gets on a village team's roster from a
workbook's members sheet (handlers/importing.py), by pressing "✋ I am in the team" under the
bot's posts in the team's group, by joining that group, or by speaking to the bot there (a
command, a report, an answer). Someone a workbook listed who turns up on a platform is matched
to their row by name (handlers/person_names.py) and takes it over, with what the list said.

The reporting rates, reminders and summaries count and name the roster (storage/roster.py says
how a listed person is kept), so a team of five whose members never reported is 0 of 5.
"""

from __future__ import annotations

from enum import Enum

from sqlmodel.ext.asyncio.session import AsyncSession

from handlers import roles
from handlers.context import Ctx
from handlers.i18n import _
from handlers.incoming import Answer, Button, Buttons, Reply
from handlers.person_names import same_name, short_form
from handlers.richtext import Rich
from storage import cache, config, people
from storage import roster as listed_store
from storage.models import Person, Unit

PRESS = "r:"  # "r:<unit id>": the presser is in that unit's team


class Enlisted(Enum):
    NEW = "new"  # on the roster from now on
    MATCHED = "matched"  # the row a list had for them is theirs now
    ALREADY = "already"  # on it before


def button(unit_id: int) -> Buttons:
    """The button under a team group's posts that puts the presser on the roster."""
    return ((Button("✋ " + _("I am in the team"), f"{PRESS}{unit_id}"),),)


def is_ours(data: str) -> bool:
    return data.startswith(PRESS)


async def enlist(session: AsyncSession, *, person: Person, unit: Unit) -> Enlisted:
    """The person is on the unit's roster: already, or from now on (taking over the row a list
    had for them under their name, if there is one)."""
    assert unit.id is not None  # noqa: S101 (stored)
    if cache.get(session, ("member", person.id, unit.id)):
        return Enlisted.ALREADY
    if await config.membership(session, person_id=person.id, unit_id=unit.id) is not None:
        cache.put(session, ("member", person.id, unit.id), True)
        return Enlisted.ALREADY
    outcome = Enlisted.NEW
    match = None
    if not listed_store.is_listed(person.id):
        rows = [
            (m, p)
            for m, p in await listed_store.team(session, unit_id=unit.id)
            if p.platform == listed_store.LISTED
        ]
        match = next((m for m, p in rows if same_name(p.display_name, person.display_name)), None)
        if match is None:
            # "Thu Lê" on Telegram for "Lê Thị Thu" on the list: only where one row fits.
            short = [m for m, p in rows if short_form(p.display_name, person.display_name)]
            match = short[0] if len(short) == 1 else None
    if match is not None:
        await listed_store.hand_over(session, listed=match, person_id=person.id)
        outcome = Enlisted.MATCHED
    else:
        await people.ensure_member(session, person_id=person.id, unit_id=unit.id)
    return outcome


async def heard(ctx: Ctx) -> None:
    """Someone spoke to the bot. In a village team's group, they are on its roster (an admin
    of the village or above is not, unless they report or press the button: they speak there
    as officials). (In a private chat, `Ctx.unit` finds their team.)"""
    unit_id = ctx.chat.unit_id
    if ctx.is_private or unit_id is None:
        return
    if cache.get(ctx.session, ("member", ctx.person.id, unit_id)):
        return
    if cache.get(ctx.session, ("official", ctx.person.id, unit_id)):
        return
    unit = await ctx.unit()
    if unit is None or unit.level != "village":
        return
    if await roles.is_admin_of(ctx, unit):
        cache.put(ctx.session, ("official", ctx.person.id, unit_id), True)
        return
    await enlist(ctx.session, person=ctx.person, unit=unit)


async def on_press(ctx: Ctx) -> list[Reply]:
    """ "✋ I am in the team": the presser is on the roster, once however often they press;
    answered to them alone."""
    press = ctx.msg.press_id
    assert press is not None  # noqa: S101 (a press)
    unit = await ctx.unit()
    wanted = ctx.args.removeprefix(PRESS)
    if unit is None or unit.id is None or str(unit.id) != wanted or unit.level != "village":
        text = _("This button is out of date: this chat is not that team's any more.")
        return [Reply(Rich(), answer=Answer(press, text, alert=True))]
    outcome = await enlist(ctx.session, person=ctx.person, unit=unit)
    if outcome is Enlisted.ALREADY:
        text = _("You are already in the team of {unit}.").format(unit=unit.name)
    else:
        text = _("You are now in the team of {unit}.").format(unit=unit.name)
    return [Reply(Rich(), answer=Answer(press, text[:200]))]


async def joined_group(ctx: Ctx) -> list[Reply]:
    """People joined a village team's group: on its roster, said nothing (the group saw them
    come). An admin added to the group is not, as in `heard`."""
    unit = await ctx.unit()
    if unit is None or unit.id is None or unit.level != "village" or ctx.is_private:
        return []
    for newcomer in ctx.msg.joined:
        person = await people.upsert_person(
            ctx.session,
            person_id=newcomer.id,
            platform=ctx.msg.platform,
            name=newcomer.name,
            username=newcomer.username,
        )
        if newcomer.id in ctx.deps.superadmins:
            continue
        if await config.admin_grant_over(ctx.session, person_id=person.id, unit=unit):
            continue
        await enlist(ctx.session, person=person, unit=unit)
    return []
