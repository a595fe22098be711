"""`/start`, `/huong_dan`: what the bot is and the commands this person may use."""

from __future__ import annotations

from handlers import roles
from handlers.context import Ctx
from handlers.i18n import N_, _
from handlers.incoming import Reply
from handlers.problems import REPORT_EXAMPLE
from handlers.richtext import Rich, b, code, fmt

# (Vietnamese command, English alias, description), in menu order. Shared with the command menu.
MEMBER_COMMANDS: tuple[tuple[str, str, str], ...] = (
    ("bao_cao", "report", N_("record a report")),
    ("huy", "undo", N_("withdraw your last report this week")),
    ("tien_do", "progress", N_("the team's progress against targets")),
    ("xep_hang", "leaderboard", N_("the leaderboard")),
    ("toi", "me", N_("your own reports")),
    ("danh_sach", "roster", N_("the team's members")),
    ("chi_tieu", "targets", N_("the targets in force")),
    ("lich", "schedule", N_("when reminders and boards go out")),
    ("tham_gia", "join", N_("join a team with its code (private chat)")),
    ("huong_dan", "help", N_("how to use the bot")),
)
LEADER_COMMANDS: tuple[tuple[str, str, str], ...] = (
    ("tong_hop", "summary", N_("the weekly summary now")),
    ("xuat", "export", N_("an Excel workbook of reports and progress")),
    ("ma_tham_gia", "joincode", N_("the team's join code")),
)
ADMIN_COMMANDS: tuple[tuple[str, str, str], ...] = (
    ("lien_ket", "link", N_("link this chat to a village or commune")),
    ("so_ho", "households", N_("set the households of this chat's unit")),
    ("ngon_ngu", "language", N_("the chat's language: vi or en")),
    ("cap_quyen", "grant", N_("as a reply: make someone admin of this unit")),
    ("thu_quyen", "revoke", N_("as a reply: take admin rights back")),
    ("to_truong", "leader", N_("as a reply: make someone the team leader")),
    ("thanh_vien", "member", N_("as a reply: a member's affiliation and training")),
    ("nhat_ky", "audit", N_("the latest configuration changes")),
)


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
    commands = list(MEMBER_COMMANDS)
    admin = await roles.is_admin_of(ctx, unit)
    if admin or await roles.is_leader_of(ctx, unit):
        commands += LEADER_COMMANDS
    if admin:
        commands += ADMIN_COMMANDS
    for vi, en, description in commands:
        rich.add(f"/{vi} (/{en}) — {_(description)}")
    return ctx.reply(rich)
