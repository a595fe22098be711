"""Who may do what. Being an administrator of a chat-platform group confers nothing here:
rights come from TCNS_SUPERADMINS and from grants made with /cap_quyen."""

from __future__ import annotations

from handlers.context import Ctx
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
