"""`/cap_quyen` and `/thu_quyen`: admins of a unit make and unmake admins of it, by reply."""

from __future__ import annotations

from handlers import roles
from handlers.admin import unit_names
from handlers.context import Ctx
from handlers.i18n import _
from handlers.incoming import Reply
from handlers.report import not_linked
from handlers.richtext import Rich, b, fmt, mention
from storage import config, people, units
from storage.models import Person, Unit


def need_reply(example: str) -> Rich:
    return (
        Rich()
        .add("↩️ ", _("Send this command as a reply to a message of the person it is about."))
        .add(fmt(_("For example, reply to their message with {example}"), example=b(example)))
    )


async def replied_person(ctx: Ctx) -> Person | None:
    """The author of the message this command replies to, recorded if new."""
    if ctx.msg.reply_to_id is None:
        return None
    return await people.upsert_person(
        ctx.session,
        person_id=ctx.msg.reply_to_id,
        platform=ctx.msg.platform,
        name=ctx.msg.reply_to_name or ctx.msg.reply_to_id,
        username=None,
    )


async def admin_and_subject(ctx: Ctx, example: str) -> tuple[Unit, Person] | list[Reply]:
    """For commands an admin of this chat's unit gives as a reply to someone: the unit and that
    person, or the refusal to send back."""
    unit = await ctx.unit()
    if unit is None or unit.id is None:
        return ctx.reply(not_linked(ctx))
    person = await replied_person(ctx)
    if person is None:
        return ctx.reply(need_reply(example))
    return unit, person


async def grant(ctx: Ctx) -> list[Reply]:
    found = await admin_and_subject(ctx, "/cap_quyen")
    if isinstance(found, list):
        return found
    unit, person = found
    assert unit.id is not None  # noqa: S101 (checked above)
    where = await unit_names(ctx, unit)
    if await config.grant(ctx.session, person_id=person.id, unit_id=unit.id, by=ctx.person.id):
        await ctx.audit(
            "grant",
            unit_id=unit.id,
            after=f"{person.display_name} ({person.id})",
        )
    return ctx.reply(
        Rich().add(
            "🔑 ",
            fmt(
                _("{name} is now an admin of {unit} and everything under it."),
                name=mention(person.id, person.display_name),
                unit=b(where),
            ),
        )
    ) + await roles.menus(ctx, unit, [person.id])


async def revoke(ctx: Ctx) -> list[Reply]:
    found = await admin_and_subject(ctx, "/thu_quyen")
    if isinstance(found, list):
        return found
    unit, person = found
    assert unit.id is not None  # noqa: S101 (checked above)
    name = mention(person.id, person.display_name)
    if person.id in ctx.deps.superadmins:
        return ctx.reply(
            Rich().add("ℹ️ ", fmt(_("{name} is a superadmin, set by the operator."), name=name))
        )
    where = await unit_names(ctx, unit)
    removed = await config.revoke(ctx.session, person_id=person.id, unit_id=unit.id)
    if removed:
        await ctx.audit(
            "revoke",
            unit_id=unit.id,
            before=f"{person.display_name} ({person.id})",
        )
    rich = Rich()
    if removed:
        rich.add(
            "🔒 ", fmt(_("{name} is no longer an admin of {unit}."), name=name, unit=b(where))
        )
    else:
        rich.add("ℹ️ ", fmt(_("{name} was not an admin of {unit}."), name=name, unit=b(where)))
    remaining = await config.admin_grant_over(ctx.session, person_id=person.id, unit=unit)
    if remaining is not None:
        upper = await units.get(ctx.session, unit_id=remaining.unit_id)
        above = await unit_names(ctx, upper) if upper is not None else "?"
        rich.add(fmt(_("They keep the rights granted at {unit}."), unit=b(above)))
    return ctx.reply(rich) + await roles.menus(ctx, unit, [person.id])
