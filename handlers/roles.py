"""Who may do what. Being an administrator of a chat-platform group confers nothing here:
rights come from TCNS_SUPERADMINS and from grants made with /cap_quyen."""

from __future__ import annotations

from collections.abc import Sequence

from handlers.context import Ctx
from handlers.incoming import Menu, Reply
from handlers.richtext import Rich
from storage import config
from storage.models import Unit


def is_superadmin(ctx: Ctx) -> bool:
    return ctx.msg.sender_id in ctx.deps.superadmins


async def is_admin_of(ctx: Ctx, unit: Unit | None) -> bool:
    """Admin of `unit`: a superadmin, or granted on the unit or any unit above it."""
    if is_superadmin(ctx):
        return True
    if unit is None:
        return False
    grant = await config.admin_grant_over(ctx.session, person_id=ctx.person.id, unit=unit)
    return grant is not None


async def is_admin_anywhere(ctx: Ctx) -> bool:
    return is_superadmin(ctx) or await config.has_any_grant(ctx.session, person_id=ctx.person.id)


async def is_leader_of(ctx: Ctx, unit: Unit | None) -> bool:
    if unit is None or unit.id is None:
        return False
    m = await config.membership(ctx.session, person_id=ctx.person.id, unit_id=unit.id)
    return m is not None and m.role == "leader"


async def audiences(ctx: Ctx, person_id: str, unit: Unit) -> tuple[str, ...]:
    """Whose commands `person_id` may run in a chat of `unit`: a member's, a leader's too, an
    admin's too."""
    admin = person_id in ctx.deps.superadmins or (
        await config.admin_grant_over(ctx.session, person_id=person_id, unit=unit) is not None
    )
    leader = False
    if unit.id is not None:
        m = await config.membership(ctx.session, person_id=person_id, unit_id=unit.id)
        leader = m is not None and m.role == "leader"
    return ("member", *(("leader",) if admin or leader else ()), *(("admin",) if admin else ()))


async def menus(ctx: Ctx, unit: Unit, person_ids: Sequence[str]) -> list[Reply]:
    """After rights changed in a group: each person's command menu there, as they now are
    (admin commands are shown only to those who hold tcns rights in that chat)."""
    if ctx.is_private:
        return []
    here = f"{ctx.msg.platform}:"  # a Zalo leader of the same team has no menu in this group
    return [
        Reply(Rich(), menu=Menu(person_id, await audiences(ctx, person_id, unit)))
        for person_id in dict.fromkeys(person_ids)
        if person_id.startswith(here)
    ]
