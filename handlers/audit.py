"""`/nhat_ky`: the latest configuration changes of the chat's unit and below, for its admins."""

from __future__ import annotations

import re

from handlers.context import Ctx
from handlers.i18n import _
from handlers.incoming import Reply
from handlers.report import not_linked
from handlers.richtext import Rich, b, fmt, i
from handlers.team import affiliation_name
from handlers.views import number
from storage import config, people, units
from storage.models import AuditEntry

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
        "left": _("left the team"),
        "roster": _("on the team's list (workbook)"),
        "moved": _("moved to another team"),
        "rename": _("renamed"),
        "merge": _("villages merged"),
        "remove": _("village removed"),
        "links": _("web links withdrawn"),
    }.get(action, action)


async def audit(ctx: Ctx) -> list[Reply]:
    unit = await ctx.unit()
    if unit is None:
        return ctx.reply(not_linked(ctx))
    entries = await config.audit_entries(ctx.session, unit=unit, limit=AUDIT_LINES)
    rich = Rich().add("📜 ", fmt(_("Latest changes in {unit}"), unit=b(unit.name)))
    if not entries:
        rich.add(i(_("No changes recorded yet.")))
    names = await _names(ctx, [e for e, _a in entries])
    for entry, actor in entries:
        when = entry.at.astimezone(ctx.tz)
        who = actor.display_name if actor is not None else entry.actor_id
        before, after = (_shown(entry.action, v, names) for v in (entry.before, entry.after))
        line = f"• {when:%d/%m %H:%M} — "
        where = ""
        if entry.unit_id is not None and entry.unit_id != unit.id:
            # A commune's log: which of its villages the change was made in.
            where = f" ({names.get(f'unit:{entry.unit_id}', '?')})"
        rich.add(line, b(who), f" — {action_name(entry.action)}{where}: {before} → {after}")
    return ctx.reply(rich)


_PERSON = re.compile(r"^(?:tg|zalo|console):[\w-]+$")
_MEMBER = re.compile(r"^(?P<aff>\S+) trained=(?P<trained>True|False)(?: \((?P<who>[^)]+)\))?$")


async def _names(ctx: Ctx, entries: list[AuditEntry]) -> dict[str, str]:
    """The names of the people and units the entries refer to by id."""
    unit_ids = {e.unit_id for e in entries if e.unit_id is not None}
    person_ids: set[str] = set()
    for e in entries:
        for value in (e.before, e.after):
            if value and e.action in ("link", "moved") and value.isdigit():
                unit_ids.add(int(value))
            elif value and _PERSON.match(value):
                person_ids.add(value)
            elif value and (found := _MEMBER.match(value)) and found["who"]:
                person_ids.add(found["who"])
    names = {f"unit:{u.id}": u.name for u in await units.by_ids(ctx.session, ids=sorted(unit_ids))}
    for person_id in sorted(person_ids):
        person = await people.get_person(ctx.session, person_id=person_id)
        if person is not None:
            names[person_id] = person.display_name
    return names


def _shown(action: str, value: str | None, names: dict[str, str]) -> str:
    """A value as people read it: a unit's or person's name, not its id."""
    if not value:
        return "–"
    if action in ("link", "moved") and value.isdigit():
        return names.get(f"unit:{value}", value)
    if value in names:
        return names[value]
    if action in ("households", "links") and value.isdigit():
        return number(int(value))
    member = _MEMBER.match(value)
    if action == "member" and member is not None:
        # "youth_union trained=True (tg:42)": the person, their affiliation, their training.
        parts = [affiliation_name(member["aff"]) if member["aff"] != "-" else ""]
        parts.append(_("trained") if member["trained"] == "True" else _("not trained"))
        who = names.get(member["who"] or "", "")
        text = ", ".join(p for p in parts if p)
        return f"{who}: {text}" if who else text
    # "Nguyễn Văn An (tg:42)", as grants are written: the name is enough.
    return re.sub(r" \((?:tg|zalo|console):[\w-]+\)$", "", value)
