"""The team: its leader, its join code, joining by code, the roster and members' details."""

from __future__ import annotations

import functools

from handlers import guided, notices, report, roles
from handlers.admin import leaders_only, unit_names
from handlers.config_grammar import parse_member
from handlers.context import Ctx
from handlers.delegation import admin_and_subject, replied_person
from handlers.grammar import Problem
from handlers.i18n import _
from handlers.incoming import Reply
from handlers.problems import REPORT_EXAMPLE, describe
from handlers.progress import DEFAULT_TEAM
from handlers.report import not_linked
from handlers.richtext import Rich, b, code, fmt, i, mention
from handlers.views import number
from storage import config, people, units
from storage.models import Membership, Unit
from storage.roster import is_listed

MEMBER_EXAMPLE = "/thanh_vien to=doan tap_huan=co"


def affiliation_name(key: str | None) -> str:
    names = {
        "youth_union": _("youth union"),
        "police": _("police"),
        "village_head": _("village head"),
        "commune_staff": _("commune staff"),
        "party": _("party member"),
        "womens_union": _("women's union"),
        "veterans": _("veterans' association"),
        "other": _("other"),
    }
    return names.get(key or "", "")


async def leader(ctx: Ctx) -> list[Reply]:
    found = await admin_and_subject(ctx, "/to_truong")
    if isinstance(found, list):
        return found
    unit, person = found
    assert unit.id is not None  # noqa: S101 (checked above)
    was = await config.membership(ctx.session, person_id=person.id, unit_id=unit.id)
    if was is not None and was.role == "leader":  # nothing to change, nothing to log
        return ctx.reply(
            Rich().add(
                "ℹ️ ",
                fmt(
                    _("{name} is already the leader of the team of {unit}."),
                    name=mention(person.id, person.display_name),
                    unit=b(unit.name),
                ),
            )
        )
    previous = await config.set_leader(ctx.session, unit_id=unit.id, person_id=person.id)
    await ctx.audit(
        "leader",
        unit_id=unit.id,
        before=previous,
        after=person.id,
    )
    menus = await roles.menus(ctx, unit, [p for p in (previous, person.id) if p])
    return [
        *ctx.reply(
            Rich().add(
                "⭐ ",
                fmt(
                    _("{name} is now the leader of the team of {unit}."),
                    name=mention(person.id, person.display_name),
                    unit=b(unit.name),
                ),
            )
        ),
        *menus,
    ]


async def leave(ctx: Ctx) -> list[Reply]:
    """`/roi_to`: a member leaves the team; a leader or admin, as a reply, takes someone off it.
    Their reports stay where they were made; they are no longer reminded."""
    unit = await ctx.unit()
    if unit is None or unit.id is None:
        return ctx.reply(not_linked(ctx))
    subject = ctx.person
    if ctx.msg.reply_to_id is not None and ctx.msg.reply_to_id != ctx.person.id:
        if not (await roles.is_admin_of(ctx, unit) or await roles.is_leader_of(ctx, unit)):
            return ctx.reply(leaders_only())
        found = await replied_person(ctx)
        assert found is not None  # noqa: S101 (a reply)
        subject = found
    was = await config.leave(ctx.session, person_id=subject.id, unit_id=unit.id)
    name = mention(subject.id, subject.display_name)
    if was is None:
        return ctx.reply(Rich().add("ℹ️ ", fmt(_("{name} is not in the team of {unit}."),
                                                name=name, unit=b(unit.name))))  # fmt: skip
    await ctx.audit("left", unit_id=unit.id, before=subject.id)
    rich = Rich().add("👋 ", fmt(_("{name} is no longer in the team of {unit}."), name=name,
                                 unit=b(unit.name)))  # fmt: skip
    if was.role == "leader":
        rich.add("ℹ️ ", fmt(_("The team has no leader now: an admin names one with {example}."),
                            example=code("/to_truong")))  # fmt: skip
    return ctx.reply(rich)


async def left_group(ctx: Ctx) -> list[Reply]:
    """Someone left the team's Telegram group: no longer a member (nor reminded); said
    nothing, as the group saw them go."""
    unit = await ctx.unit()
    gone = ctx.msg.left
    if unit is None or unit.id is None or gone is None or ctx.is_private:
        return []
    was = await config.leave(ctx.session, person_id=gone, unit_id=unit.id)
    if was is not None:
        await people.audit(
            ctx.session, actor_id=gone, action="left", unit_id=unit.id, chat_id=ctx.chat.id,
            before=gone,
        )  # fmt: skip
    return []


async def join_code(ctx: Ctx) -> list[Reply]:
    unit = await ctx.unit()
    if unit is None or unit.id is None:
        return ctx.reply(not_linked(ctx))
    renew = ctx.args.strip().lower() in ("moi", "mới", "new")
    before = unit.join_code
    joined = await config.join_code(ctx.session, unit=unit, renew=renew)
    if joined != before:
        await ctx.audit(
            "join_code",
            unit_id=unit.id,
            before=before,
            after=joined,
        )
    rich = Rich().add(
        "🎟️ ",
        fmt(
            _("Members of {unit} join by sending this to the bot in a private chat:"),
            unit=b(unit.name),
        ),
    )
    rich.add(code(f"/tham_gia {joined}"))
    if renew and before:
        rich.add(i(_("The old code no longer works.")))
    return ctx.reply(rich)


async def join(ctx: Ctx) -> list[Reply]:
    if not ctx.is_private:
        return ctx.reply(
            Rich().add("ℹ️ ", _("Send /tham_gia with the code in a private chat with the bot."))
        )
    wanted = ctx.args.strip().strip(":=").strip().upper()
    unit = await config.unit_by_join_code(ctx.session, code=wanted) if wanted else None
    if unit is None or unit.id is None:
        return ctx.reply(
            Rich()
            .add("⚠️ ", _("That join code is not valid. Ask your team leader for the current one."))
            .add(fmt(_("Example: {example}"), example=code("/tham_gia K7M2Q9XP")))
        )
    already = await config.membership(ctx.session, person_id=ctx.person.id, unit_id=unit.id)
    moved = [] if already is not None else await _leave_other_teams(ctx, unit)
    await people.ensure_member(ctx.session, person_id=ctx.person.id, unit_id=unit.id)
    ctx.chat.unit_id = unit.id  # this private chat now reports for the team
    where = await unit_names(ctx, unit)
    rich = Rich()
    if already is not None:
        rich.add("ℹ️ ", fmt(_("You are already in the team of {unit}."), unit=b(where)))
    else:
        rich.add("✅ ", fmt(_("You joined the team of {unit}."), unit=b(where)))
    for old, was in moved:
        rich.add("🔁 ", fmt(_("You are no longer in the team of {unit}; your reports there stay."),
                            unit=b(old.name)))  # fmt: skip
        if was.role == "leader":
            rich.add("ℹ️ ", fmt(_("{unit} has no leader now: an admin names one with {example}."),
                                unit=b(old.name), example=code("/to_truong")))  # fmt: skip
    rich.add(fmt(_("Report here with {example}"), example=code(REPORT_EXAMPLE)))
    if await report.claim_leadership(ctx, unit):
        rich.add("⭐ ", _("The province's list names you the team's leader."))
    return await guided.with_keyboard(ctx, ctx.reply(rich))


async def _teams_below(ctx: Ctx, unit: Unit) -> Rich:
    """A commune's (or above) /danh_sach: its villages' teams, one line each — members,
    trained, leader — not the commune's own (it has none)."""
    assert unit.id is not None  # noqa: S101 (stored)
    villages = [u for u in await units.children(ctx.session, unit_id=unit.id)
                if u.level == "village"]  # fmt: skip
    total = 0
    lines = Rich()
    for village in villages:
        assert village.id is not None  # noqa: S101 (stored)
        members = await config.roster(ctx.session, unit_id=village.id)
        total += len(members)
        if not members:
            lines.add("▫️ ", b(village.name), " — ", _("no team yet"))
            continue
        leader = next((p.display_name for m, p in members if m.role == "leader"), None)
        trained = sum(1 for m, _p in members if m.trained)
        text = _("{count} members, {trained} trained").format(
            count=number(len(members)), trained=number(trained)
        )
        if leader:
            text += " · " + _("leader {name}").format(name=leader)
        else:
            text += " · " + _("no leader yet")
        lines.add("• ", b(village.name), ": ", text)
    rich = Rich().add(
        "👥 ",
        fmt(_("Teams of {unit}: {count} members in {villages} villages"), unit=b(unit.name),
            count=number(total), villages=number(len(villages))),
    )  # fmt: skip
    rich.extend(lines)
    if villages:
        rich.add(i(_("A village's members, by name: /danh_sach in its group.")))
    return rich


async def roster(ctx: Ctx) -> list[Reply]:
    unit = await ctx.unit()
    if unit is None or unit.id is None:
        return ctx.reply(not_linked(ctx))
    if unit.level != "village":
        return ctx.reply(await _teams_below(ctx, unit))
    members = await config.roster(ctx.session, unit_id=unit.id)
    plan = await config.plan_for(ctx.session, unit=unit)
    low, high = (plan.team_min, plan.team_max) if plan is not None else DEFAULT_TEAM
    rich = Rich().add(
        "👥 ",
        fmt(_("Team of {unit}: {count} members"), unit=b(unit.name), count=number(len(members))),
    )
    # Phone numbers from a workbook: for the team's leader and admins, in a private chat only.
    phones = ctx.is_private and (
        await roles.is_leader_of(ctx, unit) or await roles.is_admin_of(ctx, unit)
    )
    for m, person in members:
        parts = [mention(person.id, person.display_name)]
        details = []
        if m.role == "leader":
            details.append(_("leader"))
        if m.affiliation:
            details.append(affiliation_name(m.affiliation))
        details.append(_("trained") if m.trained else _("not trained"))
        if is_listed(person.id):
            details.append(_("from the list, not yet seen in a chat"))
        if phones and m.phone:
            details.append(m.phone)
        rich.add("• ", *parts, " — " + ", ".join(details))
    if unit.level == "village" and not low <= len(members) <= high:
        rich.add(
            "⚠️ ",
            fmt(
                _("The plan asks for {low}–{high} members per team; this team has {count}."),
                low=low,
                high=high,
                count=len(members),
            ),
        )
    return ctx.reply(rich)


async def member(ctx: Ctx) -> list[Reply]:
    found = await admin_and_subject(ctx, MEMBER_EXAMPLE)
    if isinstance(found, list):
        return found
    unit, person = found
    assert unit.id is not None  # noqa: S101 (checked above)
    change = parse_member(ctx.args)
    if isinstance(change, Problem):
        return ctx.reply(describe(change, example=MEMBER_EXAMPLE))
    m = await people.ensure_membership(ctx.session, person_id=person.id, unit_id=unit.id)
    before = f"{m.affiliation or '-'} trained={m.trained}"
    if change.affiliation is not None:
        m.affiliation = change.affiliation
    if change.trained is not None:
        m.trained = change.trained
    if f"{m.affiliation or '-'} trained={m.trained}" != before:  # else nothing changed
        await ctx.audit(
            "member",
            unit_id=unit.id,
            before=before,
            after=f"{m.affiliation or '-'} trained={m.trained} ({person.id})",
        )
    details = [affiliation_name(m.affiliation)] if m.affiliation else []
    details.append(_("trained") if m.trained else _("not trained"))
    return ctx.reply(
        Rich().add(
            "📝 ",
            fmt(
                _("{name}: {details}"),
                name=mention(person.id, person.display_name),
                details=", ".join(details),
            ),
        )
    )


async def _leave_other_teams(ctx: Ctx, unit: Unit) -> list[tuple[Unit, Membership]]:
    """Joining a team by its code moves the person: a volunteer works in one village. The teams
    they leave are told (their leader, else their group); their reports stay where they were
    made. Returns the teams left and the memberships that were."""
    left: list[tuple[Unit, Membership]] = []
    for was, old in await config.memberships_of(ctx.session, person_id=ctx.person.id):
        if old.id is None or old.id == unit.id or old.level != "village":
            continue
        await config.leave(ctx.session, person_id=ctx.person.id, unit_id=old.id)
        await ctx.audit("moved", unit_id=old.id, before=ctx.person.id, after=str(unit.id))
        left.append((old, was))
        await notices.tell_team(
            ctx,
            old,
            key=f"moved:{ctx.msg.message_key}",
            text=functools.partial(_moved_notice, ctx.person.display_name, unit.name, old.name),
            skip=ctx.person.id,
        )
    return left


def _moved_notice(name: str, unit: str, old: str) -> Rich:
    return Rich().add(
        "🔁 ",
        fmt(
            _("{name} joined the team of {unit} by its code and is no longer in the team "
              "of {old}."),
            name=b(name), unit=b(unit), old=b(old),
        ),
    )  # fmt: skip
