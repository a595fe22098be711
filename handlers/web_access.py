"""The way from a chat to the web pages: `/theo_doi` gives a personal dashboard link for the
chat's unit and the asker's role there; a private Telegram chat gets the report form as a Mini
App, on its keyboard and its menu button, where the public address is https (Telegram opens
Mini Apps from nowhere else)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Literal

from handlers import roles
from handlers.context import Ctx
from handlers.i18n import _
from handlers.incoming import Button, Deps, Reply
from handlers.report import not_linked
from handlers.richtext import Rich, b, fmt, i
from handlers.weblinks import SECRET_NAME, Role, grant
from storage import secrets

DASHBOARD_PATH = "/web/d/"
FORM_PATH = "/web/form"
CHART_PATH = "/web/c/"


def is_public(deps: Deps) -> bool:
    """Whether phones anywhere reach the pages (and Telegram allows them as Mini Apps)."""
    return deps.public_url.startswith("https://")


def form_url(deps: Deps) -> str:
    return deps.public_url + FORM_PATH


async def dashboard_url(ctx: Ctx, *, unit_id: int, role: Role) -> tuple[str, datetime]:
    secret = await secrets.named(ctx.session, name=SECRET_NAME)
    token, granted = grant(secret, unit_id=unit_id, role=role, language=ctx.language, now=ctx.now)
    return ctx.deps.public_url + DASHBOARD_PATH + token, datetime.fromtimestamp(
        granted.expires, tz=ctx.tz
    )


async def dashboard(ctx: Ctx) -> list[Reply]:
    """`/theo_doi`: a link valid for a day, to the chat's unit as the asker may see it."""
    unit = await ctx.unit()
    if unit is None or unit.id is None:
        return ctx.reply(not_linked(ctx))
    role: Role = "member"
    if await roles.is_admin_of(ctx, unit):
        role = "admin"
    elif await roles.is_leader_of(ctx, unit):
        role = "leader"
    url, until = await dashboard_url(ctx, unit_id=unit.id, role=role)
    seen = {
        "member": _("the figures of {unit}"),
        "leader": _("the figures of {unit} and who has not reported"),
        "admin": _("the figures of {unit} and of every unit under it, and its workbook"),
    }[role].format(unit=unit.name)
    rich = (
        Rich()
        .add("📈 ", fmt(_("Your dashboard: {what}."), what=b(seen)))
        .add(url)
        .add(i(_("The link is yours and works until {time}. Ask again with /theo_doi for a new "
                 "one; do not forward it.").format(time=f"{until:%H:%M %d/%m}")))
    )  # fmt: skip
    reply = Reply(rich=rich, quote=not ctx.is_private)
    if is_public(ctx.deps) and ctx.msg.platform == "tg":
        # In a private chat it opens inside Telegram as a Mini App; in a group, as a link.
        kind: Literal["app", "link"] = "app" if ctx.is_private else "link"
        reply = replace(
            reply, buttons=((Button("📈 " + _("Open the dashboard"), url, kind=kind),),)
        )
    return [reply]


def with_form(deps: Deps, reply: Reply, *, platform: str, private: bool) -> Reply:
    """The private keyboard's reply, with the report form's key and menu button added."""
    if not (private and platform == "tg" and is_public(deps)) or not reply.keys:
        return reply
    label = "🧾 " + _("Report form")
    return replace(
        reply,
        keys=(*reply.keys, (label,)),
        key_apps=((label, form_url(deps)),),
        app_menu=(_("Report"), form_url(deps)),
    )
