"""Who may do what. Being an administrator of a chat-platform group confers nothing here."""

from __future__ import annotations

from handlers.context import Ctx
from storage.models import Unit


def is_superadmin(ctx: Ctx) -> bool:
    return ctx.msg.sender_id in ctx.deps.superadmins


async def may_configure(ctx: Ctx, unit: Unit | None) -> bool:
    """Configure `unit` (or, with None, create and link units at all).

    Superadmins only for now; delegated admins of a subtree arrive with the administration work.
    """
    return is_superadmin(ctx)
