"""`/tien_do` and `/xep_hang`: where the team stands, from the running totals."""

from __future__ import annotations

from handlers import views
from handlers.context import Ctx
from handlers.incoming import Reply
from handlers.periods import week_key
from handlers.progress import board, unit_progress
from handlers.report import not_linked
from storage import config


async def progress(ctx: Ctx) -> list[Reply]:
    unit = await ctx.unit()
    if unit is None:
        return ctx.reply(not_linked())
    indicators = await config.indicators_for(ctx.session, unit=unit)
    p = await unit_progress(
        ctx.session, unit=unit, week=week_key(ctx.today), indicators=indicators
    )
    return ctx.reply(views.progress(p))


async def leaderboard(ctx: Ctx) -> list[Reply]:
    unit = await ctx.unit()
    if unit is None:
        return ctx.reply(not_linked())
    indicators = await config.indicators_for(ctx.session, unit=unit)
    return ctx.reply(views.board(await board(ctx.session, unit=unit, indicators=indicators)))
