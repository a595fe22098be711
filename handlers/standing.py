"""`/tien_do` and `/xep_hang`: where the team stands, from the running totals."""

from __future__ import annotations

from handlers import roles, views
from handlers.context import Ctx
from handlers.export import XLSX_MIME, period_title, workbook
from handlers.i18n import _
from handlers.incoming import Attachment, Reply
from handlers.periods import PERIOD_FORMS, parse_period, week_key
from handlers.progress import board, unit_progress
from handlers.report import not_linked
from handlers.richtext import Rich, b, code, fmt
from handlers.summary import weekly_summary
from storage import config


async def progress(ctx: Ctx) -> list[Reply]:
    unit = await ctx.unit()
    if unit is None:
        return ctx.reply(not_linked(ctx))
    indicators = await config.indicators_for(ctx.session, unit=unit)
    p = await unit_progress(
        ctx.session, unit=unit, week=week_key(ctx.today), indicators=indicators
    )
    lead = await roles.is_admin_of(ctx, unit) or await roles.is_leader_of(ctx, unit)
    return ctx.reply(views.progress(p, warn_team=lead))


async def leaderboard(ctx: Ctx) -> list[Reply]:
    unit = await ctx.unit()
    if unit is None:
        return ctx.reply(not_linked(ctx))
    indicators = await config.indicators_for(ctx.session, unit=unit)
    return ctx.reply(views.board(await board(ctx.session, unit=unit, indicators=indicators)))


async def summary(ctx: Ctx) -> list[Reply]:
    unit = await ctx.unit()
    if unit is None:
        return ctx.reply(not_linked(ctx))
    indicators = await config.indicators_for(ctx.session, unit=unit)
    return ctx.reply(
        await weekly_summary(ctx.session, unit=unit, today=ctx.today, indicators=indicators)
    )


async def export_workbook(ctx: Ctx) -> list[Reply]:
    if ctx.msg.platform == "zalo":
        # The Zalo Bot API sends files only by URL, and tcns serves none.
        return ctx.reply(
            Rich().add(
                "ℹ️ ",
                _(
                    "Zalo cannot receive files from the bot. Use /xuat in the team's Telegram "
                    "group, or ask the operator for `tcns export`."
                ),
            )
        )
    unit = await ctx.unit()
    if unit is None:
        return ctx.reply(not_linked(ctx))
    try:
        period = parse_period(ctx.args or None, ctx.today)
    except ValueError:
        return ctx.reply(
            Rich()
            .add("⚠️ ", fmt(_("Name a period as one of: {forms}."), forms=PERIOD_FORMS))
            .add(fmt(_("Example: {example}"), example=code("/xuat tháng 11")))
        )
    content = await workbook(
        ctx.session,
        unit=unit,
        period=period,
        tz=ctx.tz,
        today=ctx.today,
        by=ctx.person.display_name,
    )
    caption = Rich().add(
        "📊 ",
        fmt(
            _("{unit}: reports and progress, {period}"),
            unit=b(unit.name),
            period=period_title(period, period.until(ctx.today)),
        ),
    )
    # The file's name keeps the machine-readable period: it sorts, and no one reads it aloud.
    attachment = Attachment(f"tcns-{unit.code}-{period.key}.xlsx", content, "document", XLSX_MIME)
    return [Reply(caption, quote=not ctx.is_private, attachment=attachment)]
