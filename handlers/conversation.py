"""Talking with the bot rather than commanding it: a tap on an offered reading, a reply to the
bot's own message (a correction, a question), and what a member types in a private chat
without any command word."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace
from datetime import timedelta

from handlers import offers, report, standing, views
from handlers.context import Ctx
from handlers.grammar import Problem
from handlers.i18n import _
from handlers.incoming import Answer, Reply
from handlers.periods import local_date, report_window, week_key
from handlers.problems import REPORT_EXAMPLE
from handlers.reading import line_values, parse_report
from handlers.reading.answer import answer_words
from handlers.richtext import Rich, b, code, fmt, mention
from storage import config, reports, units
from storage import offers as stored_offers
from storage.folding import clean, fold
from storage.models import Indicator, Offer, Report, Unit

# A typed "ghi" takes an offer made this recently.
FRESH = timedelta(minutes=30)
_ACCEPT_WORDS = frozenset(
    {"ghi", "ghi di", "ghi nhe", "ghi nha", "ghi giup", "ok", "oke", "okay", "okie", "uh", "u",
     "dung", "dung roi", "chinh xac", "co", "vang", "da", "da dung", "yes", "y", "record",
     "ghi lai", "dong y", "chuan", "chuan roi", "ghi vao", "ghi vao di", "luu"}
)  # fmt: skip
# A question to the bot: a question mark, or the words people ask with.
_QUESTION = re.compile(
    r"\?|\b(?:bao\s+nhieu|may\s+ho|duoc\s+may|dc\s+may|bn\s+(?:ho|roi)|the\s+nao|ra\s+sao|"
    r"chua\s+(?:a|vay|ha|nhi)$|khong\s+(?:a|vay|ha|nhi)$|con\s+thieu|con\s+bao|tien\s+do|"
    r"xem\s+(?:lai|ket\s+qua|tien\s+do)|how\s+many|how\s+much)\b"
)
_DIGIT = re.compile(r"\d")


def is_accept(text: str) -> bool:
    return answer_words(text) in _ACCEPT_WORDS or fold(text).strip() in (
        "👍",
        "✅",
        "(y)",
        "/-strong",
    )


def is_question(text: str) -> bool:
    return bool(_QUESTION.search(fold(text)))


# --- taps ------------------------------------------------------------------------------------


async def on_press(ctx: Ctx) -> list[Reply]:
    """ "✅ Ghi" / "✏️ Sửa" under an offered reading."""
    parsed = offers.parse(ctx.args)
    assert parsed is not None  # noqa: S101 (routed here by its data)
    kind, offer_id, index = parsed
    offer = await stored_offers.get(ctx.session, offer_id=offer_id)
    if offer is None:
        return _answer(ctx, _("This offer has expired; send the report again."), alert=True)
    if offer.person_id != ctx.person.id:
        return _answer(ctx, _("Only the member who sent that report can press this."), alert=True)
    if offer.done_at is not None:
        return _answer(ctx, _("Already done: nothing more was recorded."))
    if kind == offers.DECLINE:
        offer.done_at = ctx.now
        rich = (
            Rich()
            .add(
                "✏️ ",
                _("Then send the report again the way it should be read, for example:"),
            )
            .add(code(REPORT_EXAMPLE))
        )
        return [*_answer(ctx, ""), Reply(rich, quote=False, edit=_pressed(ctx))]
    readings = stored_offers.readings(offer)
    if index >= len(readings):
        return _answer(ctx, _("This offer has expired; send the report again."), alert=True)
    replies = await accept(ctx, offer, readings[index])
    return [*_answer(ctx, ""), *[replace(r, edit=_pressed(ctx), quote=False) for r in replies]]


def _pressed(ctx: Ctx) -> str | None:
    if ctx.msg.press_id is None:
        return None
    return ctx.msg.message_key.rsplit(":", 1)[-1]


def _answer(ctx: Ctx, text: str, *, alert: bool = False) -> list[Reply]:
    if ctx.msg.press_id is None:
        return ctx.reply(Rich().add("ℹ️ ", text)) if text else []
    return [Reply(Rich(), answer=Answer(ctx.msg.press_id, text[:200], alert))]


async def accept(ctx: Ctx, offer: Offer, line: str) -> list[Reply]:
    """What a tap (or a typed "ghi") records: through the same path as a typed report."""
    unit = await units.get(ctx.session, unit_id=offer.unit_id)
    if unit is None:
        return ctx.reply(report.not_linked(ctx))
    indicators = await config.indicators_for(ctx.session, unit=unit)
    offer.done_at = ctx.now
    if offer.kind == "fix" and offer.report_id is not None:
        return await _fix(ctx, unit, indicators, offer.report_id, line, source=offer.source_text)
    stored = await report.record(
        ctx,
        unit,
        indicators,
        args=line,
        message_key=offer.message_key,
        source=offer.source_text,
        confirmed=True,
    )
    if stored is None:
        return ctx.reply(Rich().add("ℹ️ ", _("Already done: nothing more was recorded.")))
    buttons = report.after_report(stored.report_id) if stored.report_id is not None else ()
    return [replace(r, buttons=buttons or stored.buttons) for r in ctx.reply(stored.rich)]


async def _fix(
    ctx: Ctx,
    unit: Unit,
    indicators: Sequence[Indicator],
    report_id: int,
    line: str,
    *,
    source: str,
    offer_undo: bool = True,
) -> list[Reply]:
    """The report's figures replaced by those of `line`, shown as before → after, with a
    button that puts the old ones back."""
    target = await reports.get(ctx.session, report_id=report_id)
    if target is None or target.withdrawn_at is not None or target.person_id != ctx.person.id:
        return ctx.reply(Rich().add("ℹ️ ", _("That report was withdrawn; send a new one.")))
    sent_day = local_date(ctx.msg.sent_at, ctx.tz)
    first, _last = report_window(sent_day)
    if target.report_date < first:
        return ctx.reply(
            Rich().add("ℹ️ ", _("That report is too old to change; send a new one for this week."))
        )
    parsed = parse_report(line, report.matcher_for(indicators), today=sent_day)
    if isinstance(parsed, Problem):
        return ctx.reply(Rich().add("⚠️ ", _("I could not read that; nothing was changed.")))
    by_code = {ind.code: ind for ind in indicators}
    after = {by_code[c].id or 0: v for c, v in parsed.values.items() if by_code[c].id is not None}
    before = await reports.values_of(ctx.session, report_id=report_id)
    day, was = parsed.day or target.report_date, target.report_date
    await reports.replace(
        ctx.session,
        report=target,
        unit=unit,
        week=week_key(day),
        report_date=day,
        values=after,
        note=target.note,
        source_text=source[:4096] or target.source_text,
    )
    # Dated both sides: a correction that only moves the report to another day is a change.
    await ctx.audit("report_fix", unit_id=unit.id,
                    before=offers.dated(_line(before, indicators), was),
                    after=offers.dated(_line(after, indicators), day))  # fmt: skip
    rich = Rich().add(
        "✏️ ",
        fmt(
            _("Changed for {name} ({date}): {change}"),
            name=mention(ctx.person.id, ctx.person.display_name),
            date=day.strftime("%d/%m"),
            change=views.change_line(before, after, indicators),
        ),
    )
    buttons = report.after_report(report_id)
    if offer_undo:
        old = offers.dated(_line(before, indicators), was)  # the day it had, not its new one
        buttons = await offers.make(
            ctx, unit, kind="fix", readings=[old], message_key=target.message_key,
            source=target.source_text, report_id=report_id, labels=["↩️ " + _("Put it back")],
        )  # fmt: skip
        buttons = (buttons[0][:1],)
    return [replace(r, buttons=buttons) for r in ctx.reply(rich)]


def _line(values: dict[int, int], indicators: Sequence[Indicator]) -> str:
    return " ".join(f"{ind.code}={values[ind.id]}" for ind in indicators if ind.id in values)


# --- replies to the bot ----------------------------------------------------------------------


def _reply_offer_id(ctx: Ctx) -> int | None:
    for data in ctx.msg.reply_to_data:
        parsed = offers.parse(data)
        if parsed is not None:
            return parsed[1]
    return None


def _reply_report_id(ctx: Ctx) -> int | None:
    for data in ctx.msg.reply_to_data:
        m = re.fullmatch(rf"{report.UNDO_PREFIX}(\d+)", data)
        if m is not None:
            return int(m[1])
    return None


async def on_reply(ctx: Ctx) -> list[Reply]:
    """A message answering one of the bot's own that no guided report was waiting for."""
    text = ctx.msg.text
    offer_id = _reply_offer_id(ctx)
    if offer_id is not None:
        offer = await stored_offers.get(ctx.session, offer_id=offer_id)
        mine = offer is not None and offer.person_id == ctx.person.id and offer.done_at is None
        if offer is not None and mine and is_accept(text):
            return await accept(ctx, offer, stored_offers.readings(offer)[0])
    if is_accept(text) and not _DIGIT.search(text):
        return []  # "Dạ", "ok" to a reminder: heard, nothing to answer in a group
    unit = await ctx.unit()
    if unit is None:
        return ctx.reply(report.not_linked(ctx))
    if is_question(text):
        return await standing.progress(ctx)
    report_id = _reply_report_id(ctx)
    if (report_id is not None and _DIGIT.search(fold(text))) or _spoken_figure(text):
        target = await reports.get(ctx.session, report_id=report_id) if report_id else None
        if target is not None and target.person_id == ctx.person.id:
            return await correct_by_reply(ctx, unit, target, text)
    if _DIGIT.search(text) or _spoken_figure(text):
        # Figures answering some other message of the bot's (a reminder, an offer): a report.
        return await _as_report(ctx, text)
    rich = (
        Rich()
        .add(
            "ℹ️ ",
            _(
                "Reply to a report's confirmation with the right figures to change it (for "
                "example: hd 8), or ask “được bao nhiêu rồi?”. To report, send:"
            ),
        )
        .add(code(REPORT_EXAMPLE))
    )
    return ctx.reply(rich)


_SPOKEN_FIGURE = re.compile(
    r"\b(?:mot|hai|ba|bon|tu|nam|lam|sau|bay|tam|chin|muoi|chuc)\s+(?:ho|nha|hs|ho so|gia dinh)\b"
)


def _spoken_figure(text: str) -> bool:
    return bool(_SPOKEN_FIGURE.search(fold(text)))


async def correct_by_reply(ctx: Ctx, unit: Unit, target: Report, text: str) -> list[Reply]:
    """A reply to a report's confirmation with figures: that report corrected (the figures
    named replaced, the others kept)."""
    indicators = await config.indicators_for(ctx.session, unit=unit)
    cut = report.correcting(text)
    body = clean(text)[cut:] if cut is not None else text
    sent_day = local_date(ctx.msg.sent_at, ctx.tz)
    parsed = parse_report(body, report.matcher_for(indicators), today=sent_day)
    if isinstance(parsed, Problem):
        if parsed.suggestion is None:
            return ctx.reply(
                Rich()
                .add(
                    "❓ ", _("I could not read the correction; nothing was changed. For example:")
                )
                .add(code("hd 8, app 2"))
            )
        values = line_values(parsed.suggestion)
        day = target.report_date
        ask = True
    else:
        values = dict(parsed.values)
        day = parsed.day or target.report_date  # "nhầm, ngày 13/11: hd 8": the day too
        ask = False
    assert target.id is not None  # noqa: S101 (stored)
    before = await reports.values_of(ctx.session, report_id=target.id)
    by_code = {ind.code: ind for ind in indicators}
    after = dict(before)
    for c, v in values.items():
        if c in by_code and by_code[c].id is not None:
            after[by_code[c].id or 0] = v
    line = offers.dated(_line(after, indicators), day)
    if ask:
        rich = Rich().add(
            "✏️ ",
            fmt(_("Change the report? {change}"), change=views.change_line(before, after,
                                                                              indicators)),
        )  # fmt: skip
        buttons = await offers.make(
            ctx, unit, kind="fix", readings=[line], message_key=target.message_key,
            source=text, report_id=target.id, labels=["✅ " + _("Change it")],
        )  # fmt: skip
        return [replace(r, buttons=buttons) for r in ctx.reply(rich)]
    return await _fix(ctx, unit, indicators, target.id, line, source=text)


async def _as_report(ctx: Ctx, text: str) -> list[Reply]:
    return await report.report(replace_args(ctx, text))


def replace_args(ctx: Ctx, args: str) -> Ctx:
    return replace(ctx, args=args, command="bao_cao")


# --- private chats -----------------------------------------------------------------------------

# Short forms of "báo cáo" the reader does not know; the full words it reads as courtesy.
_PREFIX = re.compile(r"^\W*(?:baocao|bcao|b\s*/\s*c|bc|report)\b\W*")


async def free_text(ctx: Ctx) -> list[Reply]:
    """A private message that is no command: "ghi" for an offer, a question, a report typed
    without any command word ("hd 5 app 2", "bcao: …"), or something else."""
    text = ctx.msg.text
    if is_accept(text):
        offer = await stored_offers.latest_open(
            ctx.session, chat_id=ctx.chat.id, person_id=ctx.person.id, since=ctx.now - FRESH
        )
        if offer is not None:
            return await accept(ctx, offer, stored_offers.readings(offer)[0])
    if ctx.msg.reply_to_bot is not None:
        return await on_reply(ctx)
    unit = await ctx.unit()
    folded = fold(text)
    prefix = _PREFIX.match(folded)
    body = clean(text)[prefix.end() :] if prefix else text
    if unit is not None and is_question(text) and not _DIGIT.search(folded):
        return await standing.progress(ctx)
    if unit is not None and (_DIGIT.search(folded) or _spoken_figure(text)):
        return await _as_report(ctx, body)
    rich = Rich().add(
        "❓ ", _("I did not understand that. Send huong dan (or /huong_dan) for help.")
    )
    if unit is None:
        rich.extend(report.join_hint())
    else:
        rich.add(fmt(_("To report, send for example: {example}"), example=b(REPORT_EXAMPLE)))
    return ctx.reply(rich)
