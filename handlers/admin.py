"""Configuration by command: `/lien_ket`, `/so_ho`, `/ngon_ngu`. Every change is audited."""

from __future__ import annotations

import re
from dataclasses import replace

from rapidfuzz import fuzz

from handlers import i18n, roles, roster, village_accents
from handlers.context import Ctx, indicator_name
from handlers.grammar import VILLAGES_PER_COMMUNE, Problem, parse_count, parse_link
from handlers.i18n import _
from handlers.incoming import Reply
from handlers.problems import HOUSEHOLDS_EXAMPLE, LINK_EXAMPLE, describe
from handlers.report import not_linked
from handlers.richtext import Rich, b, code, fmt
from handlers.views import merged_line, number, old_commune_line, split_commune_line
from storage import config, passes, reports, units
from storage.folding import village_key
from storage.merged_provinces import FormerProvince
from storage.models import Unit


def denied() -> Rich:
    return Rich().add("⛔ ", _("Only an admin of this unit can do that."))


def leaders_only() -> Rich:
    return Rich().add("⛔ ", _("Only the team's leader or an admin of this unit can do that."))


async def _close_villages(ctx: Ctx, commune: Unit, name: str) -> list[Unit]:
    """The commune's villages whose names are close to `name` (a typo, a missing word)."""
    assert commune.id is not None  # noqa: S101 (stored)
    wanted = village_key(name)
    found = [u for u in await units.children(ctx.session, unit_id=commune.id)
             if u.level == "village"]  # fmt: skip
    digits = re.findall(r"\d+", wanted)
    # "Thôn 2" is no typo of "Thôn 3": names that differ in their numbers are other villages.
    scored = [
        (fuzz.ratio(wanted, village_key(u.name)), u)
        for u in found
        if re.findall(r"\d+", village_key(u.name)) == digits
    ]
    return [u for score, u in sorted(scored, key=lambda s: -s[0]) if score >= 80][:5]


def _did_you_mean(commune: Unit, name: str, close: list[Unit]) -> Rich:
    rich = Rich().add(
        "❓ ",
        fmt(
            _("{commune} has no village “{name}” but has one close to it. Did you mean:"),
            commune=b(commune.name),
            name=name,
        ),
    )
    for village in close:
        rich.add(
            "• ", b(village.name), " — ", code(f"/lien_ket xa={commune.code} thon={village.code}")
        )
    rich.add(fmt(_("A new village all the same: {example}"),
                 example=code(f"/lien_ket xa={commune.code} thon={name} moi=co")))  # fmt: skip
    return rich


async def unit_names(ctx: Ctx, unit: Unit) -> str:
    """ "Thôn 3, Xã Thăng Bình, Thành phố Đà Nẵng": the unit and what it lies in."""
    chain = await units.by_ids(ctx.session, ids=units.path_ids(unit))
    by_id = {u.id: u for u in chain}
    return ", ".join(by_id[uid].name for uid in reversed(units.path_ids(unit)) if uid in by_id)


async def link(ctx: Ctx) -> list[Reply]:
    if not await roles.is_admin_anywhere(ctx):
        return ctx.reply(denied())
    request = parse_link(ctx.args)
    if isinstance(request, Problem):
        return ctx.reply(describe(request, example=LINK_EXAMPLE))

    province: Unit | None = None
    former: FormerProvince | None = None
    if request.province:
        found, former = await units.find_province(ctx.session, query=request.province)
        if not found:
            return ctx.reply(_not_found(_("province"), request.province))
        province = found[0]
    communes = await units.find(
        ctx.session,
        level="commune",
        query=request.commune,
        parent_path=province.path if province else None,
    )
    note = merged_note(former, province)
    if not communes and request.commune.strip().isdigit():
        # A code of before 1 July 2025: the commune it became part of, or which to choose.
        communes, old = await units.communes_now(ctx.session, code=request.commune)
        if old is not None and len(communes) > 1:
            return ctx.reply(note.add("❓ ", split_commune_line(old, communes)))
        if old is not None and communes:
            note.add("ℹ️ ", old_commune_line(old, communes[0]))
    if not communes:
        missing = _not_found(_("commune"), request.commune)
        return ctx.reply(note.extend(missing))
    if len(communes) > 1:
        return ctx.reply(await _ambiguous(ctx, communes))
    commune = communes[0]
    existing = commune
    if request.village:
        village = await units.find_village(ctx.session, commune=commune, name=request.village)
        if village is None and re.fullmatch(r"\d+-\d+", request.village):
            # thon=20791-3: the village by its code, as a "did you mean" answer names it.
            coded = await units.by_code(ctx.session, level="village", code=request.village)
            village = next((v for v in coded if v.parent_id == commune.id), None)
            if village is None:
                return ctx.reply(_not_found(_("village"), request.village))
        if village is None and not request.new:
            close = await _close_villages(ctx, commune, request.village)
            if close:
                return ctx.reply(_did_you_mean(commune, request.village, close))
        existing = village if village is not None else commune
    # A new village needs an admin of its commune; an existing unit, an admin of that unit.
    if not await roles.is_admin_of(ctx, existing):
        return ctx.reply(denied())
    # Taking a chat away from the unit it serves needs rights over that unit too.
    current = await ctx.unit()
    if not ctx.is_private and current is not None and not await roles.is_admin_of(ctx, current):
        return ctx.reply(denied())

    created = bool(request.village) and existing is commune
    if created and request.village:
        if await units.village_count(ctx.session, commune=commune) >= VILLAGES_PER_COMMUNE:
            full = Problem("too_many_villages", {"commune": commune.name,
                                                 "count": str(VILLAGES_PER_COMMUNE)})  # fmt: skip
            return ctx.reply(describe(full, example=LINK_EXAMPLE))
        target = await units.create_village(ctx.session, commune=commune, name=request.village)
    else:
        target = existing
    assert target.id is not None  # noqa: S101 (stored)
    if request.households is not None:
        problem = await _set_households(ctx, target, request.households)
        if problem is not None:
            return ctx.reply(describe(problem, example=LINK_EXAMPLE))

    where = await unit_names(ctx, target)
    rich = note
    if created:
        rich.add("🆕 ", fmt(_("Created {unit} (code {code})."), unit=b(where), code=target.code))
        rich.extend(await village_accents.note(ctx, target.name))
    if ctx.is_private:
        # A private chat (all Zalo has) is not bound: the unit's join line goes to its members.
        join = await config.join_code(ctx.session, unit=target)
        rich.add("ℹ️ ", fmt(_("{unit} is ready. Its members join with:"), unit=b(where)))
        rich.add(code(f"/tham_gia {join}"))
        return ctx.reply(rich)
    before = ctx.chat.unit_id
    if before != target.id:
        await ctx.audit(
            "link",
            unit_id=target.id,
            before=None if before is None else str(before),
            after=str(target.id),
        )
        ctx.chat.unit_id = target.id
        # The links this group was given were for what it showed before.
        await passes.withdraw_held(ctx.session, now=ctx.now, chat_id=ctx.chat.id)
    rich.add("🔗 ", fmt(_("This chat is now linked to {unit}."), unit=b(where)))
    if target.households:
        rich.add(fmt(_("Households: {households}"), households=b(number(target.households))))
    elif target.level == "village":
        rich.add(fmt(_("Set the households with {example}"), example=code(HOUSEHOLDS_EXAMPLE)))
    rich.add(fmt(_("Members report with {example}"), example=code("/bao_cao ho=12 app=5")))
    if target.level != "village":
        return ctx.reply(rich) + await roles.menus(ctx, target, [ctx.person.id])
    # The team is counted from its first day: whoever presses is on its roster.
    rich.add("✋ ", _("Members of the team: press the button below to be counted, even before "
                     "your first report."))  # fmt: skip
    replies = [replace(r, buttons=roster.button(target.id)) for r in ctx.reply(rich)]
    return replies + await roles.menus(ctx, target, [ctx.person.id])


def merged_note(former: FormerProvince | None, province: Unit | None) -> Rich:
    """ "Tỉnh Quảng Nam has been part of Thành phố Đà Nẵng since 01/07/2025", when the province
    was named as it was before the merger; else nothing."""
    if former is None or province is None:
        return Rich()
    return Rich().add("ℹ️ ", merged_line(former, province))


def _not_found(kind: str, name: str) -> Rich:
    return (
        Rich()
        .add("⚠️ ", fmt(_("No {kind} named “{name}” was found."), kind=kind, name=b(name)))
        .add(fmt(_("Example: {example}"), example=code(LINK_EXAMPLE)))
        .add(_("Nothing was recorded."))
    )


async def _ambiguous(ctx: Ctx, communes: list[Unit]) -> Rich:
    rich = Rich().add(
        "❓ ", _("Several communes have that name; name the province (tinh=) or use the code:")
    )
    parents = await units.by_ids(
        ctx.session, ids=[c.parent_id for c in communes if c.parent_id is not None]
    )
    names = {p.id: p.name for p in parents}
    for c in communes:
        rich.add("• ", b(c.name), f" — {names.get(c.parent_id, '?')} — ", code(f"xa={c.code}"))
    rich.add(_("Nothing was recorded."))
    return rich


async def _below_reports(ctx: Ctx, unit: Unit, households: int) -> Problem | None:
    """Households may not drop below what is already recorded as done."""
    assert unit.id is not None  # noqa: S101 (stored)
    current = (await reports.totals(ctx.session, unit_ids=[unit.id]))[unit.id]
    for ind in await config.indicators_for(ctx.session, unit=unit):
        if ind.kind == "households" and ind.id is not None:
            done = current.get(ind.id, 0)
            if done > households:
                return Problem(
                    "below_reports",
                    {
                        "value": number(households),
                        "current": number(done),
                        "key": indicator_name(ind.name_vi, ind.name_en),
                    },
                )
    return None


async def _set_households(ctx: Ctx, unit: Unit, value: int) -> Problem | None:
    """Sets and audits a unit's households, unless that would undercut what is recorded."""
    if value == unit.households:
        return None
    problem = await _below_reports(ctx, unit, value)
    if problem is not None:
        return problem
    await ctx.audit(
        "households",
        unit_id=unit.id,
        before=None if unit.households is None else str(unit.households),
        after=str(value),
    )
    unit.households = value
    return None


async def households(ctx: Ctx) -> list[Reply]:
    unit = await ctx.unit()
    if unit is None:
        return ctx.reply(not_linked(ctx))
    assert unit.id is not None  # noqa: S101 (stored)
    value = parse_count(ctx.args)
    if value == 0:
        value = Problem("households_zero", {})
    if isinstance(value, Problem):
        return ctx.reply(describe(value, example=HOUSEHOLDS_EXAMPLE))
    problem = await _set_households(ctx, unit, value)
    if problem is not None:
        return ctx.reply(describe(problem, example=HOUSEHOLDS_EXAMPLE))
    return ctx.reply(
        Rich().add(
            "🏠 ",
            fmt(
                _("{unit} now has {households} households."),
                unit=b(unit.name),
                households=b(number(value)),
            ),
        )
    )


async def language(ctx: Ctx) -> list[Reply]:
    unit = await ctx.unit()
    # Anyone may set the language of their own private chat; a group's needs an admin.
    if not ctx.is_private and not await roles.is_admin_of(ctx, unit):
        return ctx.reply(denied())
    choice = ctx.args.strip().lower()
    if choice not in i18n.LANGUAGES:
        return ctx.reply(
            Rich()
            .add("⚠️ ", _("Choose vi or en."))
            .add(fmt(_("Example: {example}"), example=code("/ngon_ngu en")))
        )
    await ctx.audit(
        "language",
        unit_id=ctx.chat.unit_id,
        before=ctx.chat.language,
        after=choice,
    )
    ctx.chat.language = choice
    with i18n.use(choice):
        return ctx.reply(Rich().add("🌐 ", _("This chat now speaks English.")))
