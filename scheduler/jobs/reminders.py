"""The Friday reminder: who has not reported this week, named in the team's chat, with the
button that puts whoever is not on the team's roster yet on it; and privately to a member who
has not reported and has opened a private chat with the bot (one who reports there, as Zalo
members do, or a member of the group who once wrote to the bot). Nobody is written to first."""

from __future__ import annotations

from datetime import date

from sqlmodel.ext.asyncio.session import AsyncSession

from handlers import guided, i18n, roster, views
from handlers.i18n import _
from handlers.periods import week_key, week_start
from handlers.problems import REPORT_EXAMPLE
from handlers.richtext import Rich, b, code, fmt, joined, mention
from scheduler.jobs.base import Chunk, Post, Weekly
from storage import roster as roster_store
from storage import rounds
from storage.models import Unit


async def reminders(session: AsyncSession, chunk: Chunk) -> list[Post]:
    chats, today, deps = chunk.chats, chunk.today, chunk.deps
    week = week_key(today)
    unit_ids = sorted({u.id for _c, u in chats if u.id is not None})
    members, reported = await rounds.members_and_reports(session, unit_ids=unit_ids, week=week)
    posts: list[Post] = []
    # (person, their team) of the groups reminded here, for their own private chats.
    privately: dict[str, Unit] = {}
    for chat, unit in chats:
        assert unit.id is not None  # noqa: S101 (stored)
        missing = [p for p in members[unit.id] if p.id not in reported[unit.id]]
        if chat.kind == "private":
            # A member who reports in a private chat (how Zalo members take part) is reminded
            # there, and only when they themselves have not reported.
            missing = [p for p in missing if p.id == chat.person_id]
        # A team's group is reminded even when nobody is on its roster yet: that is when the
        # button that puts people on it is needed most.
        team_group = chat.kind != "private" and unit.level == "village"
        if not missing and not (team_group and not members[unit.id]):
            continue
        if team_group:
            privately.update({p.id: unit for p in missing if p.id not in privately})
        with i18n.use(chat.language or deps.default_locale):
            rich = _headline(unit, week, today)
            if chat.kind == "private":
                rich.add(_("You have not reported this week yet."))
            elif missing:
                names = joined([mention(p.id, p.display_name) for p in missing])
                rich.add(
                    _("{count} members have not reported this week: ").format(count=len(missing)),
                    names,
                )
            else:
                rich.add(_("Nobody is on the team's roster yet."))
            rich.add(fmt(_("Report with {example}"), example=code(REPORT_EXAMPLE)))
            buttons = guided.start_button()
            if team_group:
                rich.add("✋ ", _("In the team but not counted yet? Press “I am in the team”."))
                buttons = (*buttons, *roster.button(unit.id))
        posts.append(Post(chat.id, rich, buttons=buttons))
    own = await roster_store.private_chats(session, person_ids=sorted(privately))
    told = {post.chat_id for post in posts} | set(chunk.queued)
    for person_id, (chat_id, language) in sorted(own.items()):
        if chat_id in told:
            continue
        told.add(chat_id)
        with i18n.use(language or deps.default_locale):
            rich = _headline(privately[person_id], week, today)
            rich.add(_("You have not reported this week yet."))
            rich.add(fmt(_("Report with {example}"), example=code(REPORT_EXAMPLE)))
            posts.append(Post(chat_id, rich, buttons=guided.start_button()))
    return posts


def _headline(unit: Unit, week: str, today: date) -> Rich:
    return Rich().add(
        "⏰ ",
        fmt(
            _("Report reminder — {unit}, {week}"),
            unit=b(unit.name),
            week=views.week_label(week, week_start(today)),
        ),
    )


JOB = Weekly("reminders", reminders)
