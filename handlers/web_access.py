"""The way from a chat to the web pages: `/theo_doi` gives a personal dashboard link for the
chat's unit and the asker's role there; a private Telegram chat gets the report form as a Mini
App, on its keyboard and its menu button, where the public address is https (Telegram opens
Mini Apps from nowhere else)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from handlers import i18n, notices, roles
from handlers.context import Ctx
from handlers.i18n import _
from handlers.incoming import Button, Deps, Reply
from handlers.report import not_linked
from handlers.richtext import Rich, b, fmt, i, mention
from handlers.views import number
from handlers.weblinks import Role, grant
from storage import passes, people

DASHBOARD_PATH = "/web/d/"
FORM_PATH = "/web/form"
CHART_PATH = "/web/c/"
WORKBOOK_PATH = "/web/w/"


def is_public(deps: Deps) -> bool:
    """Whether phones anywhere reach the pages (and Telegram allows them as Mini Apps)."""
    return deps.public_url.startswith("https://")


def form_url(deps: Deps) -> str:
    return deps.public_url + FORM_PATH


async def dashboard_url(
    ctx: Ctx, *, unit_id: int, role: Role, holder: str | None = None
) -> tuple[str, datetime]:
    """A new dashboard link: the asker's own, or (`holder`, a group chat's id) the group's."""
    granted = await grant(
        ctx.session, kind="dashboard", unit_id=unit_id, role=role,
        # The language the link is written in (the reader's: a private chat's may differ).
        language=i18n.current(), now=ctx.now,
        person_id=None if holder else ctx.person.id, chat_id=holder,
    )  # fmt: skip
    return ctx.deps.public_url + DASHBOARD_PATH + granted.token, granted.expires.astimezone(ctx.tz)


async def dashboard(ctx: Ctx) -> list[Reply]:
    """`/theo_doi`: a link valid for a day, to the chat's unit as the asker may see it. A
    leader's or admin's link shows who has not reported (and an admin's the workbook): asked in
    a group, it goes to their private chat, and the group sees only that it went."""
    unit = await ctx.unit()
    if unit is None or unit.id is None:
        return ctx.reply(not_linked(ctx))
    role: Role = "member"
    if await roles.is_admin_of(ctx, unit):
        role = "admin"
    elif await roles.is_leader_of(ctx, unit):
        role = "leader"
    if role == "member" or ctx.is_private:
        rich, buttons = await _link(ctx, unit_id=unit.id, unit_name=unit.name, role=role)
        return [Reply(rich=rich, quote=not ctx.is_private, buttons=buttons)]
    own = await people.private_chat_of(ctx.session, person_id=ctx.person.id)
    name = mention(ctx.person.id, ctx.person.display_name)
    if own is None:
        rich, buttons = await _link(ctx, unit_id=unit.id, unit_name=unit.name, role="member")
        rich.add("🔒 ", fmt(_("{name}: your own link shows more, so it is sent only in a private "
                              "chat. Open a chat with the bot, press Start, then send /theo_doi "
                              "here again."), name=name))  # fmt: skip
        return [Reply(rich=rich, buttons=buttons)]
    with i18n.use(own.language or ctx.deps.default_locale):
        private, buttons = await _link(ctx, unit_id=unit.id, unit_name=unit.name, role=role)
    await notices.tell(
        ctx, own, key=f"dashboard:{ctx.msg.message_key}", text=lambda: private, buttons=buttons
    )
    went = _("{name}: your dashboard link went to your private chat with the bot.")
    return ctx.reply(Rich().add("🔒 ", fmt(went, name=name)))


async def _link(
    ctx: Ctx, *, unit_id: int, unit_name: str, role: Role
) -> tuple[Rich, tuple[tuple[Button, ...], ...]]:
    # A member's link asked in a group is the group's: it works while the group is linked.
    holder = None if ctx.is_private or role != "member" else ctx.chat.id
    url, until = await dashboard_url(ctx, unit_id=unit_id, role=role, holder=holder)
    seen = {
        "member": _("the figures of {unit}"),
        "leader": _("the figures of {unit} and who has not reported"),
        "admin": _("the figures of {unit} and of every unit under it, and its workbook"),
    }[role].format(unit=unit_name)
    rich = Rich().add("📈 ", fmt(_("Your dashboard: {what}."), what=b(seen))).add(url)
    mine = _("The link is yours and works until {time}. Ask again with /theo_doi for a new one; "
             "do not forward it.")  # fmt: skip
    shared = _("For the members of this group, until {time}; /theo_doi gives a new one.")
    rich.add(i((mine if holder is None else shared).format(time=f"{until:%H:%M %d/%m}")))
    buttons: tuple[tuple[Button, ...], ...] = ()
    if is_public(ctx.deps) and ctx.msg.platform == "tg":
        # A link button: the dashboard opens in the browser (it is not framed, not a Mini App).
        buttons = ((Button("📈 " + _("Open the dashboard"), url, kind="link"),),)
    return rich, buttons


async def with_form(ctx: Ctx, reply: Reply) -> Reply:
    """The private keyboard's reply, with the report form's key and menu button added. Opened
    from the menu button, the form gets Telegram's signed initData; opened from a keyboard key
    it gets none (Telegram's rule), so the key's address carries a pass for the unit's form and
    the form sends the report back as the person's own message (`web_app_data`)."""
    unit_id = ctx.chat.unit_id
    if not (ctx.is_private and ctx.msg.platform == "tg" and is_public(ctx.deps)):
        return reply
    if not reply.keys or unit_id is None:
        return reply
    granted = await grant(
        ctx.session, kind="form", unit_id=unit_id, role="member", language=i18n.current(),
        now=ctx.now, person_id=ctx.person.id,
    )  # fmt: skip
    token = granted.token
    label = "🧾 " + _("Report form")
    return replace(
        reply,
        keys=(*reply.keys, (label,)),
        key_apps=((label, f"{form_url(ctx.deps)}?k={token}"),),
        app_menu=(_("Report"), form_url(ctx.deps)),
    )


async def withdraw(ctx: Ctx) -> list[Reply]:
    """`/thu_hoi_link`: an admin withdraws every link to the pages of the chat's unit and
    the units under it (a leaked link, a phone lost); anyone else their own links to it."""
    unit = await ctx.unit()
    if unit is None or unit.id is None:
        return ctx.reply(not_linked(ctx))
    admin = await roles.is_admin_of(ctx, unit)
    mine = None if admin else ctx.person.id
    count = await passes.withdraw(ctx.session, unit=unit, now=ctx.now, person_id=mine)
    again = _("Whoever needs the dashboard again sends /theo_doi.")
    if admin:
        await ctx.audit("links", unit_id=unit.id, after=str(count))
        said = _("{count} links to the pages of {unit} and the units under it were withdrawn; "
                 "they no longer open.")  # fmt: skip
    else:
        said = _("{count} of your links to the pages of {unit} were withdrawn; they no longer "
                 "open.")  # fmt: skip
        again = _("Send /theo_doi for a new one.")
    rich = Rich().add("🔒 ", fmt(said, count=b(number(count)), unit=b(unit.name)))
    return ctx.reply(rich.add(i(again)))
