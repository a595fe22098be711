"""Every chat command, declared once: its names, who it is for, whether an edit re-runs it, its
help line and what runs it. The router, `/huong_dan` and the Telegram command menus all read
this table, so a command cannot be reachable and missing from the help, or the other way round.

`audience` is also who may run it: a leader's command needs the team's leader or an admin of
the chat's unit (or above), an admin's command an admin of it. The router refuses everybody
else from this declaration (`guarded`) before the handler runs. A handler whose rule differs
says so with `decides_access` (`/lien_ket` links a chat to a unit it is not linked to yet,
`/ngon_ngu` is anyone's in their own private chat); `/chi_tieu` and `/lich` are members'
commands that show to all and let only admins change.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from handlers import (
    admin,
    audit,
    delegation,
    guided,
    help,
    report,
    roles,
    standing,
    targets,
    team,
    upload,
    villages,
    web_access,
)
from handlers.context import Ctx
from handlers.i18n import N_
from handlers.incoming import Reply

Handler = Callable[[Ctx], Awaitable[list[Reply]]]
Audience = Literal["member", "leader", "admin"]
AUDIENCES: tuple[Audience, ...] = ("member", "leader", "admin")


@dataclass(frozen=True)
class Command:
    names: tuple[str, ...]  # the Vietnamese name, the English alias, then other spellings
    run: Handler
    describe: str | None  # the help line (marked for translation); None: not listed
    audience: Audience = "member"
    editable: bool = False  # editing the message that carried it runs it again
    decides_access: bool = False  # the handler itself says who may (see above)
    # Never in a round with other updates (bot/inbox.py): a workbook takes long enough that
    # the round's other answers would wait for it.
    alone: bool = False

    @property
    def name(self) -> str:
        return self.names[0]

    @property
    def alias(self) -> str:
        return self.names[1]


# In menu order, members' commands first.
TABLE: tuple[Command, ...] = (
    Command(
        ("bao_cao", "report", "bc"), guided.report_command, N_("record a report"), editable=True
    ),
    Command(("huy", "undo"), guided.undo_command, N_("withdraw your last report this week")),
    Command(("tien_do", "progress"), standing.progress, N_("the team's progress against targets")),
    Command(("xep_hang", "leaderboard"), standing.leaderboard, N_("the leaderboard")),
    Command(("toi", "me"), report.me, N_("your own reports")),
    Command(("theo_doi", "dashboard"), web_access.dashboard, N_("a link to the team's dashboard")),
    Command(
        ("thu_hoi_link", "revoke_links", "thu_hoi_lien_ket"),
        web_access.withdraw,
        N_("withdraw web links: an admin every link to this unit, anyone else their own"),
    ),
    Command(("danh_sach", "roster"), team.roster, N_("the team's members")),
    Command(("chi_tieu", "targets"), targets.targets, N_("the targets in force")),
    Command(("lich", "schedule"), targets.schedule, N_("when reminders and boards go out")),
    Command(("tham_gia", "join"), team.join, N_("join a team with its code (private chat)")),
    Command(
        ("roi_to", "leave"),
        team.leave,
        N_("leave the team; as a reply, a leader takes someone off it"),
        decides_access=True,
    ),
    Command(("huong_dan", "help", "start"), help.help_, N_("how to use the bot")),
    Command(("tong_hop", "summary"), standing.summary, N_("the weekly summary now"), "leader"),
    Command(
        ("xuat", "export"),
        standing.export_workbook,
        N_("an Excel workbook of reports and progress"),
        "leader",
        alone=True,
    ),
    Command(("ma_tham_gia", "joincode"), team.join_code, N_("the team's join code"), "leader"),
    Command(
        ("lien_ket", "link"),
        admin.link,
        N_("link this chat to a village or commune"),
        "admin",
        decides_access=True,
    ),
    Command(
        ("so_ho", "households"),
        admin.households,
        N_("set the households of this chat's unit"),
        "admin",
    ),
    Command(
        ("ngon_ngu", "language"),
        admin.language,
        N_("the chat's language: vi or en"),
        "admin",
        decides_access=True,
    ),
    Command(
        ("cap_quyen", "grant"),
        delegation.grant,
        N_("as a reply: make someone admin of this unit"),
        "admin",
    ),
    Command(
        ("thu_quyen", "revoke"),
        delegation.revoke,
        N_("as a reply: take admin rights back"),
        "admin",
    ),
    Command(
        ("to_truong", "leader"),
        team.leader,
        N_("as a reply: make someone the team leader"),
        "admin",
    ),
    Command(
        ("thanh_vien", "member"),
        team.member,
        N_("as a reply: a member's affiliation and training"),
        "admin",
    ),
    Command(("nhat_ky", "audit"), audit.audit, N_("the latest configuration changes"), "admin"),
    Command(("doi_ten", "rename"), villages.rename, N_("rename this chat's village"), "admin"),
    Command(
        ("gop", "merge"),
        villages.merge,
        N_("merge the village with that code into this chat's village"),
        "admin",
    ),
    Command(
        ("xoa_thon", "remove_village"),
        villages.remove,
        N_("remove an empty village by its code"),
        "admin",
    ),
    Command(
        ("nhap", "import"),
        upload.nhap,
        N_("as a file's caption: villages and households from a workbook"),
        "admin",
        decides_access=True,  # an admin of the rows' units, in any chat (handlers/upload.py)
        alone=True,
    ),
)

BY_NAME: dict[str, Command] = {name: c for c in TABLE for name in c.names}


def guarded(command: Command) -> Handler:
    """The command's handler behind its declared access: refused, with the reason, to whoever
    the declaration leaves out."""
    if command.audience == "member" or command.decides_access:
        return command.run

    async def run(ctx: Ctx) -> list[Reply]:
        unit = await ctx.unit()
        allowed = await roles.is_admin_of(ctx, unit) or (
            command.audience == "leader" and await roles.is_leader_of(ctx, unit)
        )
        if not allowed:
            return ctx.reply(
                admin.leaders_only() if command.audience == "leader" else admin.denied()
            )
        return await command.run(ctx)

    return run


def listed(audiences: Sequence[Audience] = ("member", "leader", "admin")) -> list[Command]:
    """The commands shown to these audiences, in menu order."""
    return [c for c in TABLE if c.describe is not None and c.audience in audiences]
