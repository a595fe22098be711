"""`/doi_ten`, `/gop`, `/xoa_thon`: an admin keeps the commune's villages tidy — renames one,
merges a duplicate into another (reports, totals, members and chats move), removes an empty
one. Every change is audited."""

from __future__ import annotations

from handlers import roles
from handlers.admin import denied, unit_names
from handlers.context import Ctx
from handlers.grammar import NAME_CHARS, not_a_name
from handlers.i18n import _
from handlers.incoming import Reply
from handlers.report import not_linked
from handlers.richtext import Rich, b, code, fmt
from handlers.views import number
from storage import units, villages
from storage.folding import safe_name, village_key
from storage.models import Unit

RENAME_EXAMPLE = "/doi_ten Thôn Phú Mỹ Đông"
MERGE_EXAMPLE = "/gop 20791-3"
REMOVE_EXAMPLE = "/xoa_thon 20791-3"


async def _village_here(ctx: Ctx) -> Unit | list[Reply]:
    unit = await ctx.unit()
    if unit is None:
        return ctx.reply(not_linked(ctx))
    if unit.level != "village":
        return ctx.reply(Rich().add("ℹ️ ", _("Send this in the village's own chat.")))
    return unit


async def _sibling(ctx: Ctx, code_text: str, commune_id: int | None) -> Unit | str:
    """The village with that code in the same commune, or why there is none."""
    wanted = code_text.strip()
    found = [u for u in await units.by_code(ctx.session, level="village", code=wanted)]
    if not found:
        return _("No village has the code {code}.").format(code=wanted)
    village = found[0]
    if commune_id is not None and village.parent_id != commune_id:
        return _("{village} is in another commune.").format(village=village.name)
    return village


async def rename(ctx: Ctx) -> list[Reply]:
    found = await _village_here(ctx)
    if isinstance(found, list):
        return found
    unit = found
    name = safe_name(ctx.args, limit=NAME_CHARS + 1)
    if not name or len(name) > NAME_CHARS or not_a_name(name):
        return ctx.reply(
            Rich()
            .add("⚠️ ", _("Give the village's new name."))
            .add(fmt(_("Example: {example}"), example=code(RENAME_EXAMPLE)))
        )
    assert unit.parent_id is not None  # noqa: S101 (a village)
    for other in await units.children(ctx.session, unit_id=unit.parent_id):
        if other.id != unit.id and village_key(other.name) == village_key(name):
            return ctx.reply(
                Rich().add(
                    "⚠️ ",
                    fmt(
                        _("{village} (code {code}) already has that name; to make them one "
                          "village send: {example}"),
                        village=b(other.name),
                        code=other.code,
                        example=code(f"/gop {other.code}"),
                    ),
                )
            )  # fmt: skip
    before = unit.name
    if before == name:
        return ctx.reply(Rich().add("ℹ️ ", fmt(_("It is already called {name}."), name=b(name))))
    villages.rename(unit, name)
    await ctx.audit("rename", unit_id=unit.id, before=before, after=unit.name)
    return ctx.reply(
        Rich().add(
            "✏️ ", fmt(_("{before} is now called {after}."), before=before, after=b(unit.name))
        )
    )


async def merge(ctx: Ctx) -> list[Reply]:
    found = await _village_here(ctx)
    if isinstance(found, list):
        return found
    into = found
    if not ctx.args.strip():
        return ctx.reply(
            Rich()
            .add("⚠️ ", _("Give the code of the village to merge into this one."))
            .add(fmt(_("Example: {example}"), example=code(MERGE_EXAMPLE)))
        )
    source = await _sibling(ctx, ctx.args, into.parent_id)
    if isinstance(source, str):
        return ctx.reply(Rich().add("⚠️ ", source))
    if source.id == into.id:
        return ctx.reply(Rich().add("ℹ️ ", _("That is this chat's own village.")))
    if not await roles.is_admin_of(ctx, source):
        return ctx.reply(denied())
    name = source.name
    households = into.households or 0
    if source.households and not into.households:
        into.households = source.households
    moved = await villages.merge(ctx.session, source=source, into=into)
    await ctx.audit("merge", unit_id=into.id, before=f"{name} ({source.code})", after=into.name)
    rich = Rich().add(
        "🔀 ",
        fmt(
            _("{source} is now part of {village}: {reports} reports, its members and its chats "
              "moved."),
            source=b(name),
            village=b(into.name),
            reports=str(moved),
        ),
    )  # fmt: skip
    if source.households and households:
        rich.add(
            "ℹ️ ",
            fmt(
                _("Households stay {households}; set them with {example} if the villages' "
                  "add up."),
                households=str(households),
                example=code("/so_ho"),
            ),
        )  # fmt: skip
    return ctx.reply(rich)


async def remove(ctx: Ctx) -> list[Reply]:
    unit = await ctx.unit()
    if unit is None:
        return ctx.reply(not_linked(ctx))
    if not ctx.args.strip():
        return ctx.reply(
            Rich()
            .add("⚠️ ", _("Give the code of the village to remove."))
            .add(fmt(_("Example: {example}"), example=code(REMOVE_EXAMPLE)))
        )
    commune_id = unit.id if unit.level == "commune" else unit.parent_id
    village = await _sibling(ctx, ctx.args, commune_id)
    if isinstance(village, str):
        return ctx.reply(Rich().add("⚠️ ", village))
    if not await roles.is_admin_of(ctx, village):
        return ctx.reply(denied())
    assert village.id is not None  # noqa: S101 (stored)
    count = await villages.report_count(ctx.session, unit_id=village.id)
    if count:
        return ctx.reply(
            Rich().add(
                "⚠️ ",
                fmt(
                    _("{village} has {count} reports and cannot be removed; merge it into "
                      "the right village instead: in that village's chat send {example}"),
                    village=b(village.name),
                    count=number(count),
                    example=code(f"/gop {village.code}"),
                ),
            )
        )  # fmt: skip
    where = await unit_names(ctx, village)
    await ctx.audit("remove", unit_id=village.parent_id, before=f"{village.name} "
                    f"({village.code})")  # fmt: skip
    await villages.remove(ctx.session, unit=village)
    return ctx.reply(Rich().add("🗑️ ", fmt(_("Removed {village}."), village=b(where))))
