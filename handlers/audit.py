"""`/nhat_ky [trang]`: the configuration changes of the chat's unit and below, newest first, a
page at a time, in words an official reads: people and units by name, indicators by name,
times as "thứ Năm 16:00", jobs as their names, an import as what it created and updated."""

from __future__ import annotations

import re

from handlers.context import Ctx, indicator_name
from handlers.i18n import _
from handlers.incoming import Reply
from handlers.report import not_linked
from handlers.richtext import Rich, b, code, fmt, i
from handlers.targets import day_name, job_name
from handlers.team import affiliation_name
from handlers.views import number
from storage import config, people, units
from storage.models import AuditEntry, Indicator

AUDIT_LINES = 15  # a page: what a phone shows without scrolling far
EXAMPLE = "/nhat_ky 2"


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
        "report_fix": _("report corrected"),
        "import": _("workbook imported"),
    }.get(action, action)


def _page(args: str) -> int | None:
    """The page asked for: none is the first; anything but a whole number above 0, None."""
    text = args.strip().lower().removeprefix("trang").removeprefix("page").strip()
    if not text:
        return 1
    return int(text) if text.isascii() and text.isdigit() and int(text) > 0 else None


async def audit(ctx: Ctx) -> list[Reply]:
    unit = await ctx.unit()
    if unit is None:
        return ctx.reply(not_linked(ctx))
    page = _page(ctx.args)
    if page is None:
        return ctx.reply(
            Rich()
            .add("⚠️ ", _("Give the page's number, or nothing for the latest changes."))
            .add(fmt(_("Example: {example}"), example=code(EXAMPLE)))
        )
    total = await config.audit_count(ctx.session, unit=unit)
    pages = max(1, -(-total // AUDIT_LINES))
    if page > pages:
        return ctx.reply(
            Rich().add(
                "ℹ️ ",
                fmt(
                    _("The log of {unit} has {pages} pages; the latest changes: {command}"),
                    unit=b(unit.name),
                    pages=number(pages),
                    command=code("/nhat_ky"),
                ),
            )
        )
    entries = await config.audit_entries(
        ctx.session, unit=unit, limit=AUDIT_LINES, offset=(page - 1) * AUDIT_LINES
    )
    title = fmt(_("Latest changes in {unit}"), unit=b(unit.name))
    rich = Rich().add("📜 ", title)
    if pages > 1:
        rich.add(i(_("Page {page} of {pages}").format(page=page, pages=pages)))
    if not entries:
        rich.add(i(_("No changes recorded yet.")))
    names = await _names(ctx, [e for e, _a in entries])
    indicators = {ind.code: ind for ind in await config.all_indicators(ctx.session)}
    for entry, actor in entries:
        when = entry.at.astimezone(ctx.tz)
        who = actor.display_name if actor is not None else _actor(entry.actor_id)
        where = ""
        if entry.unit_id is not None and entry.unit_id != unit.id:
            # A commune's log: which of its villages the change was made in.
            where = f" ({names.get(f'unit:{entry.unit_id}', '?')})"
        what = _what(entry, names, indicators)
        rich.add(
            f"• {when:%d/%m %H:%M} — ", b(who), f" — {action_name(entry.action)}{where}{what}"
        )
    if page < pages:
        rich.add(fmt(_("Older changes: {command}"), command=code(f"/nhat_ky {page + 1}")))
    return ctx.reply(rich)


def _actor(actor_id: str) -> str:
    """Who made a change that no person of the bot made."""
    return _("the import command") if actor_id == "tcns import" else actor_id


_PERSON = re.compile(r"^(?:tg|zalo|console|roster):[\w-]+$")
_MEMBER = re.compile(r"^(?P<aff>\S+) trained=(?P<trained>True|False)(?: \((?P<who>[^)]+)\))?$")
_SCHEDULE = re.compile(r"^(?P<job>[a-z_]+)=(?:(?P<day>\d)@(?P<time>\d\d:\d\d)|-)$")
_TARGET = re.compile(r"^(?P<code>[a-z_]+)=(?P<value>\d+|-)$")
_IMPORTED_TARGET = re.compile(r"^(?P<name>.+) (?P<value>\d+)$")
_IMPORT = re.compile(r"^created=(?P<created>\d+) updated=(?P<updated>\d+)$")


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


def _what(entry: AuditEntry, names: dict[str, str], indicators: dict[str, Indicator]) -> str:
    """ ": before → after" as people read it; what both sides are about ("Nhắc báo cáo", an
    indicator) is said once, before them."""
    action, before, after = entry.action, entry.before, entry.after
    if action == "import":
        found = _IMPORT.match(after or "")
        if found is None:
            return f": {after or '–'}"
        return ": " + _("{created} villages created, {updated} updated").format(
            created=number(int(found["created"])), updated=number(int(found["updated"]))
        )
    if action == "schedule":
        sides = [_SCHEDULE.match(v or "") for v in (before, after)]
        jobs = {s["job"] for s in sides if s is not None}
        if len(jobs) == 1:
            times = [_when(s) if s is not None else "–" for s in sides]
            return f" — {_job(jobs.pop())}: {times[0]} → {times[1]}"
    if action == "target":
        indicator, shown = _targets(before, after, indicators)
        if indicator is not None:
            return f" — {indicator}: {shown[0]} → {shown[1]}"
    return f": {_shown(action, before, names)} → {_shown(action, after, names)}"


def _job(job: str) -> str:
    try:
        return job_name(job)
    except KeyError:
        return job  # a job of a newer version, read by an older one


def _when(found: re.Match[str]) -> str:
    """ "thứ Năm 16:00"; a unit's own time removed: the one it inherits."""
    if found["day"] is None:
        return _("as inherited")
    day = day_name(int(found["day"]))
    # Mid-sentence Vietnamese writes "thứ Năm", not "Thứ Năm"; other languages as they are.
    if day.startswith("Thứ "):
        day = "t" + day[1:]
    return f"{day} {found['time']}"


def _targets(
    before: str | None, after: str | None, indicators: dict[str, Indicator]
) -> tuple[str | None, list[str]]:
    """(the indicator's name, each side's target) of a target entry; (None, …) when it is in
    no form this knows."""
    subject: str | None = None
    shown: list[str] = []
    for value in (before, after):
        if not value:
            shown.append("–")
            continue
        typed = _TARGET.match(value)
        if typed is not None and typed["code"] in indicators:
            ind = indicators[typed["code"]]
            name = indicator_name(ind.name_vi, ind.name_en)
            amount = typed["value"]
            if amount == "-":
                shown.append(_("as inherited"))
            else:
                shown.append(f"{amount}%" if ind.kind == "households" else amount)
        else:
            imported = _IMPORTED_TARGET.match(value)  # "Hộ cài app 60", as an import writes
            if imported is None:
                return None, []
            name = imported["name"]
            found = next((d for d in indicators.values() if name in (d.name_vi, d.name_en)), None)
            kind = found.kind if found is not None else "households"
            if found is not None:
                name = indicator_name(found.name_vi, found.name_en)
            shown.append(f"{imported['value']}%" if kind == "households" else imported["value"])
        if subject not in (None, name):
            return None, []
        subject = name
    return subject, shown


def _shown(action: str, value: str | None, names: dict[str, str]) -> str:
    """A value as people read it: a unit's or person's name, not its id."""
    if not value:
        return "–"
    if action in ("link", "moved") and value.isdigit():
        return names.get(f"unit:{value}", value)
    if value in names:
        return names[value]
    if action == "leader" and not _PERSON.match(value):
        # A name as an imported workbook gives it, before that person takes part.
        return _("{name} (named in the workbook)").format(name=value)
    if action in ("households", "links") and value.isdigit():
        return number(int(value))
    if action == "language":
        return {"vi": "Tiếng Việt", "en": "English"}.get(value, value)
    member = _MEMBER.match(value)
    if action == "member" and member is not None:
        # "youth_union trained=True (tg:42)": the person, their affiliation, their training.
        parts = [affiliation_name(member["aff"]) if member["aff"] != "-" else ""]
        parts.append(_("trained") if member["trained"] == "True" else _("not trained"))
        who = names.get(member["who"] or "", "")
        text = ", ".join(p for p in parts if p)
        return f"{who}: {text}" if who else text
    # "Nguyễn Văn An (tg:42)", as grants are written: the name is enough.
    return re.sub(r" \((?:tg|zalo|console|roster):[\w-]+\)$", "", value)
