"""The Monday digest for a commune's admins, privately: villages silent for two weeks, villages
whose last week fell against the four before, villages behind the pace their targets need by the
quarter's end, members who did not report, villages without a team.

An admin is written to only in a private chat they opened: a grant names a person, not a chat,
and Telegram refuses a first message to someone who never started the bot. An admin without one
gets no digest (the commune's group is no place for a note about its villages' members, and
it has the board and the summaries); `/start` in a private chat is enough to get the next.
One post per admin a week (the outbox's key): an admin of several communes (a province's, a
district's) gets them together, those with most to look at first.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlmodel.ext.asyncio.session import AsyncSession

from handlers import digest, i18n, scoring, views
from handlers.context import indicator_name
from handlers.digest import Findings, IndicatorWeeks, VillageWeeks
from handlers.export import quarter_bounds
from handlers.i18n import _
from handlers.periods import week_key, week_start
from handlers.progress import own_targets, target_for
from handlers.richtext import Rich, b, fmt, i
from scheduler.jobs.base import Chunk, Post, Weekly
from storage import config, reports, rounds, standings, units
from storage.models import Indicator, Unit
from storage.reports import ALL_TIME
from storage.rounds import Linked

log = logging.getLogger(__name__)

DIGEST_COMMUNES = 10  # an admin of more communes reads these in full, the rest counted
NAMES_SHOWN = 15  # villages named on one line before "… and N more"


@dataclass(frozen=True)
class CommuneDigest:
    commune: Unit
    monday: date  # the digest's week
    weeks: int  # weeks left in the quarter, this one included
    findings: Findings
    indicators: dict[str, Indicator]  # by code


async def commune_weeks(
    session: AsyncSession, *, commune: Unit, monday: date
) -> tuple[list[VillageWeeks], list[Indicator]]:
    """The commune's villages as the rules read them, as they stood at the end of the week
    before `monday`."""
    villages = [
        u
        for u in await units.children(session, unit_id=commune.id or 0)
        if u.level == "village" and u.id is not None
    ]
    ids = [v.id for v in villages if v.id is not None]
    indicators = await config.indicators_for(session, unit=commune)
    # Oldest first; the last is last week.
    weeks = [week_key(monday - timedelta(weeks=n)) for n in range(digest.WEEKS_SEEN, 0, -1)]
    this_week = week_key(monday)
    weekly = await reports.weekly_totals(session, unit_ids=ids, weeks=[*weeks, this_week])
    ever = await reports.totals(session, unit_ids=ids, period=ALL_TIME)
    teams = await standings.with_team(session, unit_ids=ids)
    reported = await standings.reported_in(
        session, unit_ids=ids, weeks=weeks[-digest.SILENT_WEEKS :]
    )
    last = await standings.last_report_dates(session, unit_ids=ids)
    members, reporters = await rounds.members_and_reports(session, unit_ids=ids, week=weeks[-1])
    own = await own_targets(
        session, unit_ids=sorted({a for v in villages for a in units.path_ids(v)})
    )
    out: list[VillageWeeks] = []
    for v in villages:
        assert v.id is not None  # noqa: S101 (stored)
        figures: list[IndicatorWeeks] = []
        for ind in indicators:
            assert ind.id is not None  # noqa: S101 (stored)
            by_week = weekly.get((v.id, ind.id), {})
            needed = None
            if ind.kind == "households" and v.households:
                target, _weight, _source = target_for(v, ind, own)
                needed = scoring.needed(v.households, target) if target else None
            figures.append(
                IndicatorWeeks(
                    code=ind.code,
                    weeks=tuple(by_week.get(w, 0) for w in weeks),
                    # To the end of last week: this week's reports so far left out.
                    done=ever[v.id].get(ind.id, 0) - by_week.get(this_week, 0),
                    needed=needed,
                )
            )
        team = members[v.id]
        out.append(
            VillageWeeks(
                unit_id=v.id,
                name=v.name,
                has_team=v.id in teams,
                reported=tuple(v.id in reported[w] for w in weeks[-digest.SILENT_WEEKS :]),
                last_report=last.get(v.id),
                members=len(team),
                members_reported=sum(1 for m in team if m.id in reporters[v.id]),
                indicators=tuple(figures),
            )
        )
    return out, indicators


async def commune_digest(session: AsyncSession, *, commune: Unit, today: date) -> CommuneDigest:
    monday = week_start(today)
    villages, indicators = await commune_weeks(session, commune=commune, monday=monday)
    weeks = digest.weeks_left(monday, quarter_bounds(monday)[1])
    return CommuneDigest(
        commune=commune,
        monday=monday,
        weeks=weeks,
        findings=digest.findings(villages, weeks=weeks),
        indicators={ind.code: ind for ind in indicators},
    )


def _names(villages: Sequence[VillageWeeks]) -> str:
    shown = [v.name for v in villages[:NAMES_SHOWN]]
    more = len(villages) - len(shown)
    if more > 0:
        shown.append(_("… and {count} more").format(count=views.number(more)))
    return ", ".join(shown)


def _name(d: CommuneDigest, code: str) -> str:
    ind = d.indicators[code]
    return indicator_name(ind.name_vi, ind.name_en)


def commune_lines(d: CommuneDigest) -> Rich:
    """One commune's findings, in the current language."""
    f = d.findings
    rich = Rich()
    if f.silent:
        rich.add(
            "🔕 ",
            b(_("Silent for two weeks ({count})").format(count=views.number(len(f.silent)))),
            ":",
        )
        for v in f.silent:
            when = (
                _("last report {date}").format(date=v.last_report.strftime("%d/%m/%Y"))
                if v.last_report is not None
                else _("never reported")
            )
            rich.add("• ", v.name, " — ", i(when))
    if f.dropped:
        rich.add(
            "📉 ", b(_("Last week at half the average of the four weeks before, or less")), ":"
        )
        for v, fell in f.dropped:
            # The figure that fell most; how many more fell, in a word.
            drop = fell[0]
            text = _("{name} {last} (average {average} a week)").format(
                name=_name(d, drop.code),
                last=views.number(drop.last),
                average=views.number(drop.average),
            )
            if len(fell) > 1:
                text += _(" and {count} more indicators").format(count=len(fell) - 1)
            rich.add("• ", v.name, " — ", text)
    if f.behind:
        start = quarter_bounds(d.monday)[0]
        rich.add(
            "🐢 ",
            b(
                _("Behind the pace of their targets by the end of quarter {quarter}/{year} "
                  "({weeks} weeks left)").format(
                    quarter=(start.month - 1) // 3 + 1, year=start.year,
                    weeks=views.number(d.weeks),
                )
            ),
            ":",
        )  # fmt: skip
        for v, slow in f.behind:
            rich.add(
                "• ",
                v.name,
                " — ",
                fmt(
                    _("{name}: needs {per_week} households a week ({missing} still missing); "
                      "the last 4 weeks averaged {recent} a week"),
                    name=_name(d, slow.code),
                    per_week=b(views.number(slow.per_week)),
                    missing=views.number(slow.missing),
                    recent=views.number(slow.recent),
                ),
            )  # fmt: skip
    if not f.alarms and f.teams:
        rich.add("✅ ", _("No village silent, falling or behind the pace of its targets."))
    if f.members:
        members = fmt(
            _("Last week: {missing} of {members} members did not report"),
            missing=b(views.number(f.members_missing)),
            members=views.number(f.members),
        )
        if f.unreported:
            parts = [
                f"{v.name} {views.number(v.members - v.members_reported)}"
                for v in f.unreported[:NAMES_SHOWN]
            ]
            more = len(f.unreported) - NAMES_SHOWN
            if more > 0:
                parts.append(_("… and {count} more").format(count=views.number(more)))
            members = (*members, *fmt(" ({list})", list=", ".join(parts)))
        rich.add("👥 ", members)
    if f.no_team:
        rich.add(
            "🏠 ",
            b(_("No team yet ({count})").format(count=views.number(len(f.no_team)))),
            ": ",
            _names(f.no_team),
        )
    return rich


def digest_text(digests: Sequence[CommuneDigest], *, monday: date) -> Rich:
    """The post for one admin: one commune, or several with the most to look at first."""
    last_week = monday - timedelta(days=7)
    week = views.week_label(week_key(last_week), last_week)
    if len(digests) == 1:
        [only] = digests
        rich = Rich().add(
            "📬 ", fmt(_("Weekly digest — {unit}, {week}"), unit=b(only.commune.name), week=week)
        )
        return rich.extend(commune_lines(only))
    rich = Rich().add("📬 ", fmt(_("Weekly digest of your communes — {week}"), week=week))
    ordered = sorted(digests, key=lambda d: (-d.findings.alarms, d.commune.name_key))
    calm = [d for d in ordered if not d.findings.alarms]
    for d in [d for d in ordered if d.findings.alarms][:DIGEST_COMMUNES]:
        rich.blank().add("🏘️ ", b(d.commune.name))
        rich.extend(commune_lines(d))
    more = sum(1 for d in ordered if d.findings.alarms) - DIGEST_COMMUNES
    if more > 0:
        rich.blank().add(
            i(_("… and {count} more communes with villages to look at").format(
                count=views.number(more)))
        )  # fmt: skip
    if calm:
        rich.blank().add(
            "✅ ",
            _("{count} communes: no village silent, falling or behind the pace").format(
                count=views.number(len(calm))
            ),
        )
    return rich


async def digests(session: AsyncSession, chunk: Chunk) -> list[Post]:
    deps, today = chunk.deps, chunk.today
    wanted = [c.chat_id for c in chunk.linked if c.chat_id not in chunk.queued]
    grants = await standings.admin_private_chats(session, chat_ids=wanted)
    by_chat: dict[str, list[standings.AdminChat]] = {}
    for g in grants:
        by_chat.setdefault(g.chat_id, []).append(g)
    done: dict[int, CommuneDigest] = {}  # a commune is read once a chunk, whoever gets it
    posts: list[Post] = []
    for chat_id, held in by_chat.items():
        communes: dict[int, Unit] = {}
        for g in held:
            unit = await units.get(session, unit_id=g.unit_id)
            if unit is None:
                continue
            for commune in await standings.communes_under(session, unit=unit):
                communes.setdefault(commune.id or 0, commune)
        found: list[CommuneDigest] = []
        for commune_id, commune in communes.items():
            if commune_id not in done:
                try:
                    done[commune_id] = await commune_digest(session, commune=commune, today=today)
                except Exception:
                    # One commune that cannot be read must not keep the others' digests.
                    log.exception("digest of unit %s failed; left out", commune_id)
                    deps.observer.count("skipped", "digest")
                    continue
            found.append(done[commune_id])
        # A commune with no village yet has nothing to say.
        found = [d for d in found if d.findings.teams or d.findings.no_team]
        if not found:
            continue
        with i18n.use(held[0].language or deps.default_locale):
            rich = digest_text(found, monday=week_start(today))
        posts.append(Post(chat_id, rich))
    return posts


class Digest(Weekly):
    """Due for an admin when the schedule of the unit they were granted says so."""

    async def due(
        self, session: AsyncSession, *, chats: Sequence[Linked], at: datetime, tz: ZoneInfo
    ) -> tuple[str, list[Linked]]:
        admins = await standings.admin_private_chats(session)
        recipients = [Linked(a.chat_id, a.path, a.unit_id) for a in admins]
        period, due = await super().due(session, chats=recipients, at=at, tz=tz)
        seen: set[str] = set()
        once: list[Linked] = []
        for linked in due:
            if linked.chat_id not in seen:  # one post an admin, whatever they were granted
                seen.add(linked.chat_id)
                once.append(linked)
        return period, once


JOB = Digest("digest", digests)
