"""`/start`, `/huong_dan`: what the bot is and the commands this person may use."""

from __future__ import annotations

from dataclasses import replace

from handlers import guided, roles
from handlers.context import Ctx
from handlers.i18n import _
from handlers.incoming import Reply
from handlers.problems import REPORT_EXAMPLE
from handlers.richtext import Rich, b, code, fmt
from storage import config

_LINK_EXAMPLE = "/lien_ket xa=20791 thon=Thôn Hà Lam ho=200"
_JOIN_EXAMPLE = "/tham_gia MÃ"  # a placeholder no one takes for a real code


async def help_(ctx: Ctx) -> list[Reply]:
    unit = await ctx.unit()
    rich = Rich().add(
        "👋 ",
        b(_("tcns — the assistant of the community digital technology team")),
    )
    # The first three lines say what to do first; what the bot is comes after.
    member_of = (
        [u for _m, u in await config.memberships_of(ctx.session, person_id=ctx.person.id)]
        if ctx.is_private
        else []
    )
    if unit is None and not ctx.is_private:
        rich.add("🔗 ", _("This chat is not linked to a village or commune yet."))
        rich.add(fmt(_("A commune admin links it: {example}"), example=code(_LINK_EXAMPLE)))
    elif unit is None and not member_of:
        rich.add(
            "🔑 ",
            fmt(
                _("To join your village's team, ask your team leader for its code and send: "
                  "{example}"),
                example=code(_JOIN_EXAMPLE),
            ),
        )  # fmt: skip
        rich.add(_("Members can also report straight in their team's group chat."))
    else:
        where = unit if unit is not None else member_of[0]
        rich.add(
            "📝 ",
            fmt(
                _("To report for {unit}: press {button} and answer the questions, or send one "
                  "line: {example}"),
                unit=b(where.name),
                button=b("📝 " + _("Report")),
                example=code(REPORT_EXAMPLE),
            ),
        )  # fmt: skip
        rich.add(
            "📊 ",
            fmt(_("Your progress: {progress} · every command: {help}"),
                progress="/tien_do", help="/huong_dan"),
        )  # fmt: skip
    rich.blank().add(
        _(
            "Members report their door-to-door work here; the bot keeps the totals, the progress "
            "against the province's targets and the leaderboard of the villages."
        )
    )
    if unit is not None and not ctx.is_private:
        rich.add(fmt(_("This chat reports for {unit}."), unit=b(unit.name)))
    rich.add(
        fmt(
            _("Reports may also be in words: {example}"),
            example=code("/bao_cao Hộ tuyên truyền: 12; Cài app: 5"),
        )
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
    replies = ctx.reply(rich)
    if unit is not None and not ctx.is_private and ctx.msg.buttons:
        replies = [replace(replies[0], buttons=guided.start_button())]
    replies = await guided.with_keyboard(ctx, replies)
    if unit is not None and len(audiences) > 1:
        # Leaders and admins made before menus were per person get theirs by asking for help.
        replies += await roles.menus(ctx, unit, [ctx.person.id])
    return replies
