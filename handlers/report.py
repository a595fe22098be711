"""`/bao_cao`, `/huy` and `/toi`: recording, withdrawing and reviewing a member's reports."""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta

from handlers import offers, roster, views
from handlers.context import Ctx, indicator_name
from handlers.grammar import IndicatorMatcher, IndicatorSpec, Problem
from handlers.i18n import _
from handlers.incoming import Button, Buttons, Reply
from handlers.periods import in_window, local_date, report_window, week_key
from handlers.person_names import same_name
from handlers.problems import LINK_EXAMPLE, REPORT_EXAMPLE, describe
from handlers.progress import UnitProgress, unit_progress
from handlers.reading import ParsedReport, line_values, parse_report, report_line
from handlers.richtext import Rich, Span, b, code, fmt, i, mention
from storage import config, reports, units
from storage.folding import clean as clean_text
from storage.folding import fold
from storage.models import Indicator, Report, Unit
from storage.reports import ALL_TIME

MY_REPORTS = 10


def matcher_for(indicators: Sequence[Indicator]) -> IndicatorMatcher:
    """Codes, aliases and both names: the template lists the names, so people type them."""
    # The cached configuration hands out the same indicator rows until it changes: known by
    # who they are, without looking at their words again.
    key = tuple(map(id, indicators))
    known = _BY_ROWS.get(key)
    if known is not None and all(a is b for a, b in zip(known[0], indicators, strict=True)):
        return known[1]
    matcher = _matcher(
        tuple(
            IndicatorSpec(
                code=ind.code,
                aliases=(*(a for a in ind.aliases.splitlines() if a), ind.name_vi, ind.name_en),
                households=ind.kind == "households",
            )
            for ind in indicators
        )
    )
    if len(_BY_ROWS) > 256:
        _BY_ROWS.clear()
    _BY_ROWS[key] = (tuple(indicators), matcher)
    return matcher


_BY_ROWS: dict[tuple[int, ...], tuple[tuple[Indicator, ...], IndicatorMatcher]] = {}


@functools.lru_cache(maxsize=256)
def _matcher(specs: tuple[IndicatorSpec, ...]) -> IndicatorMatcher:
    # Built once per set of indicators (folding every alias is most of a report's reading).
    return IndicatorMatcher(specs)


def not_linked(ctx: Ctx) -> Rich:
    if ctx.is_private:
        # A volunteer who writes to the bot before joining needs the join code, not /lien_ket.
        return join_hint()
    return (
        Rich()
        .add("ℹ️ ", _("This chat is not linked to a village or commune yet."))
        .add(fmt(_("An admin links it with: {example}"), example=code(LINK_EXAMPLE)))
    )


def join_hint() -> Rich:
    return (
        Rich()
        .add("ℹ️ ", _("You are not in a team yet."))
        .add(
            fmt(
                _("Ask your team leader for the join code, then send: {example}"),
                example=code("/tham_gia MÃ"),
            )
        )
    )


def template(indicators: Sequence[Indicator]) -> Rich:
    line = "/bao_cao " + " ".join(f"{ind.code}=0" for ind in indicators) + " ghi_chu="
    rich = Rich().add("📝 ", _("Report template: copy it, fill in the numbers and send:"))
    rich.add(code(line))
    for ind in indicators:
        rich.add("• ", code(ind.code), f" — {indicator_name(ind.name_vi, ind.name_en)}")
    rich.add(
        i(
            _(
                "Keys can also be written in words: “Cài app: 5”, “Thanh toán 3”. "
                "ngay=DD/MM dates a report in this or last week."
            )
        )
    )
    return rich


async def report(ctx: Ctx) -> list[Reply]:
    unit = await ctx.unit()
    if unit is None:
        return ctx.reply(not_linked(ctx))
    indicators = await config.indicators_for(ctx.session, unit=unit)
    if not ctx.args.strip():
        return [] if ctx.msg.edited else ctx.reply(template(indicators))
    stored = await record(
        ctx,
        unit,
        indicators,
        args=ctx.args,
        message_key=ctx.msg.message_key,
        source=ctx.msg.text,
    )
    if stored is None:
        return []
    if stored.report_id is None:
        return [replace(r, buttons=stored.buttons) for r in ctx.reply(stored.rich)]
    return [replace(r, buttons=after_report(stored.report_id)) for r in ctx.reply(stored.rich)]


@dataclass(frozen=True)
class Stored:
    """What became of a report: its answer, and the report's id when it was stored."""

    rich: Rich
    report_id: int | None = None  # stored
    buttons: Buttons = ()  # not stored: a reading offered for one tap


def after_report(report_id: int) -> Buttons:
    """Under a report's confirmation: withdraw it, or start another (guided) one."""
    return (
        (
            Button("↩️ " + _("Undo"), f"{UNDO_PREFIX}{report_id}", personal=True),
            Button("📝 " + _("Report"), START),
        ),
    )


START = "go"  # the data of every "Report" button: a guided report for whoever presses it
UNDO_PREFIX = "u"  # "u123": withdraw report 123


async def record(
    ctx: Ctx,
    unit: Unit,
    indicators: Sequence[Indicator],
    *,
    args: str,
    message_key: str,
    source: str,
    confirmed: bool = False,
) -> Stored | None:
    """Reads `args` as a report of the sender and stores it under `message_key`, or says why
    not; None when that message was already counted (delivered again). Typed, tapped and
    guided reports all come through here: the same reading, checks, totals and dedupe.
    `confirmed`: the author tapped this reading, figures already stored for the day or not."""
    existing = await reports.by_message_key(ctx.session, message_key=message_key)
    if existing is not None and not ctx.msg.edited:
        return None  # the same message delivered again: it already counted once
    if existing is not None and existing.withdrawn_at is not None:
        return Stored(Rich().add("ℹ️ ", _("That report was withdrawn; send a new one.")))
    if existing is not None:
        found = await units.get(ctx.session, unit_id=existing.unit_id)
        assert found is not None  # noqa: S101 (foreign key)
        unit = found

    sent_day = local_date(ctx.msg.sent_at, ctx.tz)
    matcher = matcher_for(indicators)
    parsed = parse_report(args, matcher, today=sent_day, author=ctx.person.display_name)
    if isinstance(parsed, Problem) and correcting(args) is not None and existing is None:
        fixed = await correct_last(ctx, unit, indicators, args=args, source=source)
        if fixed is not None:
            return fixed
    if not isinstance(parsed, Problem) and not any(parsed.values.values()) and existing is None:
        # "today 0 hộ": nothing done is nothing to record.
        return Stored(Rich().add("ℹ️ ", _("Nothing done today: nothing was recorded.")))
    if isinstance(parsed, Problem):
        several = _readings(parsed)
        if (parsed.suggestion or several) and existing is None and not ctx.msg.edited:
            return await _offer(ctx, unit, parsed, indicators, message_key, source, sent_day)
        return Stored(_refuse(ctx, parsed, indicators))
    day = parsed.day or sent_day
    if not in_window(day, sent_day):
        first, last = report_window(sent_day)
        return Stored(
            _refuse(
                ctx,
                Problem(
                    "date_outside",
                    {
                        "value": day.strftime("%d/%m/%Y"),
                        "start": first.strftime("%d/%m"),
                        "end": last.strftime("%d/%m"),
                    },
                ),
                indicators,
            )
        )
    by_code = {ind.code: ind for ind in indicators}
    values = {by_code[c].id: v for c, v in parsed.values.items() if by_code[c].id is not None}
    assert unit.id is not None  # noqa: S101 (stored)
    old = (
        await reports.values_of(ctx.session, report_id=existing.id)
        if existing is not None and existing.id is not None
        else {}
    )
    week, this_week = week_key(day), week_key(ctx.today)
    # The unit's totals as they stand, read once: for the household check, and (with this
    # report added) for the confirmation.
    totals = await reports.unit_totals(
        ctx.session, unit_id=unit.id, periods=sorted({ALL_TIME, week, this_week})
    )
    clean_values = {k: v for k, v in values.items() if k is not None}
    over = await _over_households(ctx, unit, parsed, by_code, old, totals[ALL_TIME])
    if over is not None:
        return Stored(_refuse(ctx, over, indicators))
    if existing is None and not confirmed:
        resend = bool(_RESEND.search(fold(source)))
        twin = await _twin(ctx, unit, day=day, values=clean_values, resend=resend)
        if twin is not None:
            return await _ask_twice(ctx, unit, twin, indicators, parsed, day, message_key, source)

    # On the team's roster (taking over their row of a workbook's list, if it has one).
    await roster.enlist(ctx.session, person=ctx.person, unit=unit)
    await claim_leadership(ctx, unit)
    if existing is None:
        report_id = await reports.create(
            ctx.session,
            unit=unit,
            person_id=ctx.person.id,
            chat_id=ctx.chat.id,
            message_key=message_key,
            week=week,
            report_date=day,
            values=clean_values,
            note=parsed.note,
            source_text=source[:4096],
        )
        headline = _("Recorded for {name} ({unit}, {date})")
    else:
        report_id = existing.id or 0
        await reports.replace(
            ctx.session,
            report=existing,
            unit=unit,
            week=week,
            report_date=day,
            values=clean_values,
            note=parsed.note,
            source_text=source[:4096],
        )
        headline = _("Updated for {name} ({unit}, {date})")
    ctx.deps.observer.count("report")
    _apply(totals, ALL_TIME, old, clean_values)
    if existing is not None:
        _apply(totals, existing.week, old, {})
    _apply(totals, week, {}, clean_values)
    progress = await unit_progress(
        ctx.session,
        unit=unit,
        week=this_week,
        indicators=indicators,
        totals={ALL_TIME: totals[ALL_TIME], this_week: totals.get(this_week, {})},
        team=False,
    )
    rich = confirmation(
        headline,
        name=mention(ctx.person.id, ctx.person.display_name),
        unit=unit,
        day=day,
        values=views.values_line(clean_values, indicators, sign="+"),
        parsed=parsed,
        progress=progress,
        reported=[by_code[c] for c in parsed.values if parsed.values[c]],
        thanks=report_id,
    )
    return Stored(rich, report_id)


# "gửi lại", "mạng lag", "resend": the member says this is the same work sent once more.
_RESEND = re.compile(
    r"\b(?:gui\s+lai|gui\s+lan\s+(?:2|hai|nua)|send\s+again|resend|re-send|mang\s+(?:lag|yeu|cham|"
    r"loi|rot|chap\s+chon)|lag\s+qua|bi\s+lag|chua\s+thay\s+(?:bot\s+)?(?:tra\s+loi|bao))\b"
)
# How far back an identical report of the same day is looked for.
_TWIN_WITHIN = timedelta(days=7)


async def _twin(
    ctx: Ctx, unit: Unit, *, day: date, values: dict[int, int], resend: bool
) -> reports.DayReport | None:
    """The sender's live report in the unit for the same day with the same figures (or, when
    the text says it is a resend, any of theirs of that day): stored already."""
    assert unit.id is not None  # noqa: S101 (stored)
    for report in await reports.of_day(
        ctx.session, person_id=ctx.person.id, unit_id=unit.id, day=day,
        since=ctx.now - _TWIN_WITHIN,
    ):  # fmt: skip
        stored = {k: v for k, v in report.values.items() if v}
        if stored == {k: v for k, v in values.items() if v} or resend:
            return report
    return None


async def _ask_twice(
    ctx: Ctx,
    unit: Unit,
    twin: reports.DayReport,
    indicators: Sequence[Indicator],
    parsed: ParsedReport,
    day: date,
    message_key: str,
    source: str,
) -> Stored:
    """The same figures again: nothing is stored twice unless the member says it is new work.
    A text that says it is a resend but holds other figures is not the same report: both are
    shown, and nothing is stored until the member says which it is."""
    before = twin.values
    when = twin.created_at.astimezone(ctx.tz)
    by_code = {ind.code: ind.id for ind in indicators if ind.id is not None}
    now = {by_code[c]: v for c, v in parsed.values.items() if c in by_code and v}
    if now != {k: v for k, v in before.items() if v}:
        rich = Rich().add(
            "⚠️ ",
            fmt(
                _("This says it is sent again, but its figures ({now}) are not those recorded "
                  "at {time} on {date} ({values}). Nothing was recorded."),
                now=views.values_line(now, indicators),
                time=when.strftime("%H:%M"),
                date=when.strftime("%d/%m"),
                values=views.values_line(before, indicators),
            ),
        )  # fmt: skip
        rich.add(
            _("To change the earlier report, reply to its confirmation with the right figures.")
        )
    else:
        rich = Rich().add(
            "ℹ️ ",
            fmt(
                _("Already recorded at {time} on {date}: {values}. Nothing was recorded again."),
                time=when.strftime("%H:%M"),
                date=when.strftime("%d/%m"),
                values=views.values_line(before, indicators),
            ),
        )
    line = offers.dated(report_line(parsed.values, parsed.day, day) or "", day)
    if ctx.msg.buttons:
        rich.add(_("If this is new work, not the same report sent again, press the button."))
    else:
        rich.add(_("If this is new work, not the same report sent again, reply “ghi”."))
    buttons = await offers.make(
        ctx, unit, kind="more", readings=[line], message_key=message_key, source=source,
        labels=["➕ " + _("Record as new work")],
    )  # fmt: skip
    return Stored(rich, buttons=buttons)


async def _offer(
    ctx: Ctx,
    unit: Unit,
    problem: Problem,
    indicators: Sequence[Indicator],
    message_key: str,
    source: str,
    day: date,
) -> Stored:
    """A plausible reading, not sure enough to store: the question, the reading in words, and
    one tap to record it; several readings ("could be tt or ho"), a button each."""
    several = _readings(problem)
    if several:
        rich = _refuse(ctx, problem, indicators)
        rich.lines[-2:] = []  # not the example: the readings are the choice
        if ctx.msg.buttons:
            rich.add(_("Nothing was recorded yet: press the reading you meant, or send it again."))
        else:
            # No buttons (Zalo): each reading as a line to send back as it is.
            rich.add(_("Nothing was recorded yet: send back the line you meant."))
            for line in several:
                rich.add("👉 ", code(f"{_command(ctx)} {line}"))
        labels = []
        for line in several:
            values = _by_code_values(line, indicators)
            labels.append("✅ " + views.values_line(values, indicators)[:56])
        buttons = await offers.make(
            ctx, unit, kind="new", readings=[offers.dated(r, day) for r in several],
            message_key=message_key, source=source, labels=labels,
        )  # fmt: skip
        return Stored(rich, buttons=buttons)
    assert problem.suggestion is not None  # noqa: S101 (only offered when there is one)
    rich = _refuse(ctx, problem, indicators, tap=True)
    buttons = await offers.make(
        ctx,
        unit,
        kind="new",
        readings=[offers.dated(problem.suggestion, day)],
        message_key=message_key,
        source=source,
    )
    return Stored(rich, buttons=buttons)


def _readings(problem: Problem) -> list[str]:
    """ "“hd 4” could be tt or ho": one reading for each indicator it could be, with whatever
    else the text held; or the readings the two readers disagreed on."""
    if problem.args.get("readings"):
        return problem.args["readings"].split("|")[: offers.MAX_READINGS]
    codes = [c.strip() for c in problem.args.get("codes", "").split(",") if c.strip()]
    value = problem.args.get("value", "")
    if problem.code != "ask_ambiguous" or len(codes) < 2 or not value.isdigit():
        return []
    rest = problem.suggestion or ""
    return [f"{rest} {code}={int(value)}".strip() for code in codes[: offers.MAX_READINGS]]


_CORRECTING = re.compile(
    r"^\W*(?:(?:da|vang|xin|em|anh|chi|bot|oi|a)\W+)*(?:nham|sua\s+lai|xin\s+sua|sua|bao\s+lai|"
    r"ghi\s+lai|dinh\s+chinh|correction|correct)\b(?:\s+(?:chut|xiu|ti|la|thanh|so|lieu|nhe|nha|"
    r"a|oi|bot))*\W*",
)


def correcting(text: str) -> int | None:
    """Where the figures start after a leading "sửa lại:", "nhầm, …", "báo lại:" (None: the
    text does not start with one)."""
    m = _CORRECTING.match(fold(text))
    return m.end() if m is not None else None


async def correct_last(
    ctx: Ctx, unit: Unit, indicators: Sequence[Indicator], *, args: str, source: str
) -> Stored | None:
    """ "sửa lại: hd 8" without a reply: the sender's last report of the day changed as
    the text says, after one tap. None when the text is no such correction."""
    cut = correcting(args)
    if cut is None:
        return None
    rest = clean_text(args)[cut:]
    parsed = parse_report(rest, matcher_for(indicators), today=local_date(ctx.msg.sent_at, ctx.tz))
    if isinstance(parsed, Problem):
        return None
    last = await last_in_window(ctx, unit)
    by_code = {ind.code: ind for ind in indicators}
    if last is None or last.id is None:
        return None  # nothing to correct: read as a report of its own
    before = await reports.values_of(ctx.session, report_id=last.id)
    after = dict(before)
    for c, v in parsed.values.items():
        if by_code[c].id is not None:
            after[by_code[c].id or 0] = v
    line = offers.dated(
        " ".join(f"{ind.code}={after[ind.id]}" for ind in indicators if ind.id in after),
        parsed.day or last.report_date,
    )
    rich = Rich().add(
        "✏️ ",
        fmt(
            _("Change your report of {time}? {change}"),
            time=last.created_at.astimezone(ctx.tz).strftime("%H:%M"),
            change=views.change_line(before, after, indicators),
        ),
    )
    rich.add(_("Nothing was changed yet: press the button (or reply “ghi”) to change it."))
    buttons = await offers.make(
        ctx, unit, kind="fix", readings=[line], message_key=last.message_key, source=source,
        report_id=last.id, labels=["✅ " + _("Change it")],
    )  # fmt: skip
    return Stored(rich, buttons=buttons)


async def claim_leadership(ctx: Ctx, unit: Unit) -> bool:
    """The leader a province's workbook named (`tcns import`) becomes the leader once they
    take part, when their name is that name (accents, case and the order of its words aside:
    Telegram's first name "Mai", last name "Trần Thị" is the workbook's "Trần Thị Mai") and the
    team has none."""
    if not unit.leader_name or unit.id is None:
        return False
    if not same_name(unit.leader_name, ctx.person.display_name):
        return False
    if any(m.role == "leader" for m, _p in await config.roster(ctx.session, unit_id=unit.id)):
        return False
    await config.set_leader(ctx.session, unit_id=unit.id, person_id=ctx.person.id)
    await ctx.audit("leader", unit_id=unit.id, before=unit.leader_name, after=ctx.person.id)
    unit.leader_name = None
    return True


def _apply(
    totals: dict[str, dict[int, int]], period: str, old: dict[int, int], new: dict[int, int]
) -> None:
    """The totals of `period` once `old` values left it and `new` ones entered."""
    if period not in totals:
        return  # a week nobody looks at in this answer
    row = totals[period]
    for ind, value in old.items():
        row[ind] = row.get(ind, 0) - value
    for ind, value in new.items():
        row[ind] = row.get(ind, 0) + value


def confirmation(
    headline: str,
    *,
    name: Span,
    unit: Unit,
    day: date,
    values: str,
    parsed: ParsedReport,
    progress: UnitProgress,
    reported: Sequence[Indicator] = (),
    thanks: int | None = None,
) -> Rich:
    """At most three lines, so that a team's group is not buried under confirmations: what
    was recorded (and a word of thanks), where the indicator just reported stands, and what
    was left out (or the note). The whole progress is one `/tien_do` away."""
    rich = Rich().add(
        "✅ ",
        fmt(headline, name=name, unit=b(unit.name), date=day.strftime("%d/%m")),
        ": ",
        values,
        *((" ", views.thanks(thanks)) if thanks is not None else ()),
    )
    rich.add(*views.focus(progress, reported=reported))
    if parsed.left_out:
        rich.add(
            "↪️ ",
            fmt(
                _("Not counted (not done): {parts}"),
                parts=b("; ".join(f"“{part}”" for part in parsed.left_out)),
            ),
        )
    elif parsed.note:
        rich.add("📝 ", i(parsed.note))
    return rich


async def canonical(ctx: Ctx, args: str) -> str | None:
    """The arguments of a report as the reader understood them ("ho=6 app=2"), or None."""
    unit = await ctx.unit()
    if unit is None:
        return None
    indicators = await config.indicators_for(ctx.session, unit=unit)
    parsed = parse_report(args, matcher_for(indicators), today=ctx.today)
    if isinstance(parsed, Problem):
        return parsed.suggestion
    return report_line(parsed.values, parsed.day, ctx.today)


def _refuse(
    ctx: Ctx, problem: Problem, indicators: Sequence[Indicator], *, tap: bool = False
) -> Rich:
    ctx.deps.observer.count("rejection", problem.code)
    return describe(
        problem,
        example=REPORT_EXAMPLE,
        indicator_codes=[i.code for i in indicators],
        command=_command(ctx),
        tap=("button" if ctx.msg.buttons else "reply") if tap else None,
        reading=views.values_line(_by_code_values(problem.suggestion or "", indicators),
                                  indicators) if tap else None,
    )  # fmt: skip


def _command(ctx: Ctx) -> str:
    """The report command as the member typed it (`/report` in English), else `/bao_cao`."""
    return "/" + (ctx.command if ctx.command in ("bao_cao", "report") else "bao_cao")


def _by_code_values(line: str, indicators: Sequence[Indicator]) -> dict[int, int]:
    ids = {ind.code: ind.id for ind in indicators if ind.id is not None}
    return {ids[k]: v for k, v in line_values(line).items() if ids.get(k) is not None}


async def _over_households(
    ctx: Ctx,
    unit: Unit,
    parsed: ParsedReport,
    by_code: dict[str, Indicator],
    old: dict[int, int],
    current: dict[int, int],
) -> Problem | None:
    """A household indicator may not pass the unit's household count."""
    households = await units.households_of(ctx.session, unit=unit)
    if households is None:
        return None
    for c, v in parsed.values.items():
        ind = by_code[c]
        if ind.kind != "households" or ind.id is None:
            continue
        before = current.get(ind.id, 0) - old.get(ind.id, 0)
        if before + v > households:
            return Problem(
                "over_households",
                {
                    "key": indicator_name(ind.name_vi, ind.name_en),
                    "current": views.number(before),
                    "value": views.number(v),
                    "households": views.number(households),
                    "room": views.number(max(0, households - before)),
                },
            )
    return None


async def last_in_window(ctx: Ctx, unit: Unit) -> Report | None:
    """The sender's last report sent, whichever day it is dated (`ngay=` dates one last week),
    as long as a report could still be dated in its week: the window `/bao_cao` allows. What
    `/huy` withdraws and "sửa lại" changes."""
    assert unit.id is not None  # noqa: S101 (stored)
    sent_day = local_date(ctx.msg.sent_at, ctx.tz)
    first, _last_day = report_window(sent_day)
    return await reports.last_of_person(
        ctx.session,
        person_id=ctx.person.id,
        unit_id=unit.id,
        weeks=sorted({week_key(first), week_key(sent_day)}),
    )


async def undo(ctx: Ctx) -> list[Reply]:
    unit = await ctx.unit()
    if unit is None:
        return ctx.reply(not_linked(ctx))
    last = await last_in_window(ctx, unit)
    if last is None:
        return ctx.reply(
            Rich().add("ℹ️ ", _("You have no report of this week or last week to withdraw."))
        )
    week = week_key(ctx.today)
    indicators = await config.indicators_for(ctx.session, unit=unit)
    old = await reports.withdraw(ctx.session, report=last, unit=unit)
    rich = Rich().add(
        "↩️ ",
        fmt(
            _("Withdrawn: the report of {date} by {name}"),
            date=last.report_date.strftime("%d/%m"),
            name=mention(ctx.person.id, ctx.person.display_name),
        ),
    )
    rich.add(views.values_line(old, indicators, sign="−"))
    progress = await unit_progress(ctx.session, unit=unit, week=week, indicators=indicators)
    return ctx.reply(rich.blank().extend(views.progress(progress)))


async def me(ctx: Ctx) -> list[Reply]:
    unit = await ctx.unit()
    if unit is None:
        return ctx.reply(not_linked(ctx))
    assert unit.id is not None  # noqa: S101 (stored)
    indicators = await config.indicators_for(ctx.session, unit=unit)
    latest, sums = await reports.of_person(
        ctx.session, person_id=ctx.person.id, unit_id=unit.id, limit=MY_REPORTS
    )
    rich = Rich().add(
        "🙋 ",
        fmt(
            _("Reports of {name} in {unit}"),
            name=mention(ctx.person.id, ctx.person.display_name),
            unit=b(unit.name),
        ),
    )
    if not latest:
        rich.add(_("No reports yet. Send one like this:"), " ", code(REPORT_EXAMPLE))
        return ctx.reply(rich)
    for rep, vals in latest:
        rich.add(f"• {rep.report_date.strftime('%d/%m')}: ", views.values_line(vals, indicators))
    rich.add(b(_("Total")), ": ", views.values_line(sums, indicators))
    return ctx.reply(rich)
