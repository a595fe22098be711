"""`/start`, `/huong_dan`: what the bot is and the commands this person may use."""

from __future__ import annotations

from handlers import guided, roles
from handlers.context import Ctx
from handlers.i18n import _
from handlers.incoming import Reply
from handlers.problems import REPORT_EXAMPLE
from handlers.richtext import Rich, b, code, fmt


async def help_(ctx: Ctx) -> list[Reply]:
    rich = Rich().add(
        "👋 ",
        b(_("tcns — the assistant of the community digital technology team")),
    )
    rich.add(
        _(
            "Members report their door-to-door work here; the bot keeps the totals, the progress "
            "against the province's targets and the leaderboard of the villages."
        )
    )
    unit = await ctx.unit()
    if unit is None and not ctx.is_private:
        rich.add(_("This chat is not linked to a village or commune yet."))
    elif unit is not None:
        rich.add(fmt(_("This chat reports for {unit}."), unit=b(unit.name)))
    rich.blank().add(fmt(_("Report like this: {example}"), example=code(REPORT_EXAMPLE)))
    rich.add(
        fmt(_("or in words: {example}"), example=code("/bao_cao Hộ tuyên truyền: 12; Cài app: 5"))
    )
    rich.blank().add(b(_("Commands")))
    # Imported here: the command table names this very handler.
    from handlers.commands import Audience, listed

    audiences: list[Audience] = ["member"]
    admin = await roles.is_admin_of(ctx, unit)
    if admin or await roles.is_leader_of(ctx, unit):
        audiences.append("leader")
    if admin:
        audiences.append("admin")
    for command in listed(audiences):
        assert command.describe is not None  # noqa: S101 (listed() keeps described ones)
        rich.add(f"/{command.name} (/{command.alias}) — {_(command.describe)}")
    replies = await guided.with_keyboard(ctx, ctx.reply(rich))
    if unit is not None and len(audiences) > 1:
        # Leaders and admins made before menus were per person get theirs by asking for help.
        replies += await roles.menus(ctx, unit, [ctx.person.id])
    return replies
