"""The Monday leaderboard: each chat its own scope's board, with a chart drawn once a scope."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from datetime import timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from handlers import i18n, views
from handlers.chart import board_png
from handlers.incoming import Attachment, Deps
from handlers.periods import week_key, week_start
from handlers.progress import Board, board
from handlers.richtext import Span
from scheduler.jobs.base import Chunk, Post, Weekly
from storage import config

log = logging.getLogger(__name__)

CAPTION_TOP = 10


async def leaderboards(
    session: AsyncSession, chunk: Chunk, title: str | None = None
) -> list[Post]:
    """Each chat its scope's board; `title` heads a quarter's evaluation instead of the week."""
    chats, today, deps = chunk.chats, chunk.today, chunk.deps
    posts: list[Post] = []
    charts: dict[tuple[int, str], bytes | None] = {}
    boards: dict[int, Board] = {}  # a commune's villages share one board: computed once
    covered = today - timedelta(days=1)  # on Monday, the week that just ended
    for chat, unit in chats:
        language = chat.language or deps.default_locale
        with i18n.use(language):
            scope_id = unit.parent_id if unit.level == "village" else unit.id
            cached = boards.get(scope_id or 0)
            if cached is None:
                indicators = await config.indicators_for(session, unit=unit)
                cached = await board(session, unit=unit, indicators=indicators)
                boards[scope_id or 0] = cached
            bd = replace(cached, own_unit_id=unit.id)
            if not bd.rows and not bd.unteamed:
                continue
            subtitle = title or views.week_label(week_key(covered), week_start(covered))
            key = (bd.scope.id or 0, language)
            if key not in charts:
                charts[key] = await draw_chart(bd, subtitle, deps)
            rich = views.board(bd, top=CAPTION_TOP)
            if title:
                rich.lines.insert(0, (Span(title, "bold"),))
        png = charts[key]
        picture = (
            Attachment(f"xep-hang-{bd.scope.code}.png", png, "photo", "image/png")
            if png is not None
            else None
        )
        posts.append(Post(chat.id, rich, picture))
    return posts


async def draw_chart(bd: Board, subtitle: str, deps: Deps) -> bytes | None:
    """The board's chart, drawn off the event loop (a national round draws thousands, and
    members' replies must not wait behind them); None when it cannot be drawn, so that the
    text board still goes out and one unit's chart never stops the round."""
    try:
        return await asyncio.to_thread(board_png, bd, subtitle=subtitle)
    except Exception:
        log.exception("leaderboard chart of %s failed; the board goes out as text", bd.scope.id)
        deps.observer.count("skipped", "leaderboard chart")
        return None


JOB = Weekly("leaderboards", leaderboards)
