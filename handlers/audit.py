"""`/nhat_ky`: the latest configuration changes of the chat's unit and below, for its admins."""

from __future__ import annotations

from handlers.context import Ctx
from handlers.i18n import _
from handlers.incoming import Reply
from handlers.report import not_linked
from handlers.richtext import Rich, b, fmt, i
from storage import config

AUDIT_LINES = 15


def action_name(action: str) -> str:
    return {
        "link": _("linked a chat"),
        "households": _("households"),
        "language": _("language"),
        "grant": _("granted admin"),
        "revoke": _("revoked admin"),
        "leader": _("leader"),
        "target": _("target"),
        "schedule": _("schedule"),
        "join_code": _("join code"),
        "member": _("member details"),
        "plan": _("plan applied"),
        "village": _("village created"),
    }.get(action, action)


async def audit(ctx: Ctx) -> list[Reply]:
    unit = await ctx.unit()
    if unit is None:
        return ctx.reply(not_linked(ctx))
    entries = await config.audit_entries(ctx.session, unit=unit, limit=AUDIT_LINES)
    rich = Rich().add("📜 ", fmt(_("Latest changes in {unit}"), unit=b(unit.name)))
    if not entries:
        rich.add(i(_("No changes recorded yet.")))
    for entry, actor in entries:
        when = entry.at.astimezone(ctx.tz)
        who = actor.display_name if actor is not None else entry.actor_id
        change = f"{entry.before or '–'} → {entry.after or '–'}"
        rich.add(f"• {when:%d/%m %H:%M} — ", b(who), f" — {action_name(entry.action)}: {change}")
    return ctx.reply(rich)
