"""Guided reports: one tap to start, one question at a time, a confirmation, then the report.

For volunteers who would rather tap than type. A flow asks for each indicator in force for the
unit, in plan order; the answer comes by button, or by a typed number (read with the same
grammar as a report); at the end one message shows what will be recorded, with "Ghi" (record),
"Sửa" (change one value) and "Hủy" (cancel). "Ghi" stores through `report.record`, like a typed
report. Flows are rows (storage/flows.py): they survive a restart and expire after
`SILENCE` without an answer.

Where the platform has buttons (Telegram), the flow lives in one message with buttons, the
"card", edited from step to step. A group allows 20 messages a minute, shared by everyone in
it: there a guided report sends two (the offer under `/bao_cao` and the card) and edits the
card for everything else, its confirmation included. A number no button offers is typed: the
card's "Type a number" sends a reply request (ForceReply, aimed at the owner: the bot sees the
answer in privacy mode), deleted once answered; a reply to the card answers too. A card that
stops being the flow's (started again below, replaced by a typed report, closed for silence)
says so. In a private chat a typed answer brings the next question as a new card below it.
Without buttons (Zalo), each question is a text message and the answers are words: a number,
"bo qua", "huy", "ghi"/"dung", "sua".

Only the person who started a flow may press its buttons; a start button ("go") is anyone's.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from handlers import i18n, report, web_access
from handlers.context import Ctx, indicator_name
from handlers.grammar import Problem
from handlers.i18n import _
from handlers.incoming import Answer, Button, Buttons, Deps, Remember, Reply
from handlers.periods import report_window, week_key
from handlers.problems import REPORT_EXAMPLE
from handlers.progress import IndicatorProgress, unit_progress
from handlers.reading import parse_report
from handlers.reading.answer import answer_words, read_number
from handlers.richtext import Rich, Span, b, code, fmt, i, mention
from handlers.views import number, percent, values_line
from storage import config, flows, people, reports, units
from storage.folding import fold
from storage.models import Flow, Indicator, Unit

Command = Callable[[Ctx], Awaitable[list[Reply]]]

SILENCE = timedelta(minutes=30)
RECENT = timedelta(minutes=10)  # a flow closed this recently may still be on the person's mind
_SILENT_MINUTES = int(SILENCE.total_seconds() // 60)
COMMON = (0, 1, 2, 3, 5, 10)
START = report.START
UNDO = report.UNDO_PREFIX
# "g12:v5:3" answers 5 to question 3 (0-based) of flow 12, "g12:s:3" skips it, "g12:t:3"
# asks for it to be typed, "g12:ok" records … (see `_act`). A question's buttons name it: a
# second tap on a card not yet edited (Telegram's edit waits behind the group's pace) must not
# answer the next question too.
FLOW = "g"
_DATA = re.compile(rf"{FLOW}(\d+):(\w+)(?::(\d+))?")


def action(data: str) -> str | None:
    """What a flow's button does ("v5", "s", "ok", "e2" …), from its data; None for others."""
    m = _DATA.fullmatch(data)
    return m.group(2) if m else None


# The words that answer a flow, folded and without courtesy (`answer_words`).
_SKIP = frozenset(
    {"bo qua", "bo", "qua", "bq", "skip", "khong biet", "chua biet", "ko biet", "k biet", "next",
     "chua ro", "khong ro", "khong nho", "quen roi", "quen"}
)  # fmt: skip
_CANCEL = frozenset(
    {"huy", "huy bo", "thoi", "dung lai", "cancel", "stop", "ket thuc", "bo di", "thoi khoi",
     "khong bao cao nua", "thoi khong bao cao", "thoi khong", "thoi khong bao cao nua"}
)  # fmt: skip
_KIN = frozenset({"anh", "chi", "em", "co", "chu", "bac", "ong", "ba", "ban", "thay"})
# "dung" is "đúng" (right: record) as the questions ask for it; "dừng" (stop), typed with its
# accents, is told apart before folding (`_stops`).
_RECORD = frozenset(
    {"ghi", "dung", "ok", "oke", "okay", "gui", "luu", "xac nhan", "dong y", "chuan", "record",
     "yes", "ghi lai", "dung roi", "ghi di", "vang", "da", "co", "u", "uh", "um", "duoc",
     "dung vay", "chinh xac", "ghi vao"}
)  # fmt: skip
_CHANGE = frozenset(
    {"sua", "doi", "edit", "change", "sua lai", "sai", "sai roi", "chua dung", "khong dung"}
)
_BACK = frozenset({"quay lai", "back", "tro lai"})
_MORE = frozenset({"more", "them", "khac", "chi so khac", "them chi so", "them nua", "con nua"})


def _cancels(text: str) -> bool:
    """Stop the guided report: "huy", "Hủy ạ", "thôi không", and "dừng" or "đừng", typed with
    their accents, though both fold to "dung" (right: record). Not "anh Huy", a name."""
    if re.search(r"\b[dđ]ừng\b", unicodedata.normalize("NFC", text.lower())):
        return True
    raw = re.findall(r"[a-z0-9]+", fold(text))
    if len(raw) > 1 and raw[-1] == "huy" and raw[-2] in _KIN:
        return False
    # "thôi" is courtesy after an answer ("2 hộ thôi"), and a stop at the start.
    return answer_words(text) in _CANCEL or " ".join(raw) in _CANCEL


# The private chat's keyboard (Telegram), and what each key does.
KEY_REPORT, KEY_PROGRESS, KEY_BOARD, KEY_HELP = "📝", "📊", "🏆", "❓"


def keyboard() -> tuple[tuple[str, ...], ...]:
    report_, progress = _("Report"), _("Progress")
    board, help_ = _("Leaderboard"), _("Help")
    return (
        (f"{KEY_REPORT} {report_}", f"{KEY_PROGRESS} {progress}"),
        (f"{KEY_BOARD} {board}", f"{KEY_HELP} {help_}"),
    )


async def with_keyboard(ctx: Ctx, replies: list[Reply]) -> list[Reply]:
    """In a private chat where the platform has them, the keyboard under the answer."""
    if not (ctx.is_private and ctx.msg.buttons) or not replies:
        return replies
    last = await web_access.with_form(ctx, replace(replies[-1], keys=keyboard()))
    return [*replies[:-1], last]


def pressed_key(text: str) -> str | None:
    """The command a key of `keyboard()` stands for (its label in either language), or None:
    "📝 bao cao ho=5" is a typed report, not a key."""
    return _KEYS().get(" ".join(text.split()))


@functools.cache
def _KEYS() -> dict[str, str]:
    commands = ("guided", "tien_do", "xep_hang", "huong_dan")
    found: dict[str, str] = {}
    for language in ("vi", "en"):
        with i18n.use(language):
            labels = [label for row in keyboard() for label in row]
        found.update(zip(labels, commands, strict=True))
    return found


def start_button() -> Buttons:
    return ((Button("📝 " + _("Report"), START),),)


# --- the state of a flow, read for one update --------------------------------------------


@dataclass
class _View:
    flow: Flow
    unit: Unit
    indicators: list[Indicator]  # the flow's, in its order
    all_indicators: list[Indicator]  # everything in force (for reading answers)
    owner: Span

    @property
    def codes(self) -> list[str]:
        return flows.codes(self.flow)

    @property
    def current(self) -> Indicator | None:
        step = self.flow.step
        return self.indicators[step] if 0 <= step < len(self.indicators) else None

    @property
    def more(self) -> list[Indicator]:
        """In force but not asked (no target here): offered at the confirmation."""
        asked = {ind.code for ind in self.indicators}
        return [ind for ind in self.all_indicators if ind.code not in asked]

    def ask_too(self, extra: Sequence[Indicator]) -> None:
        """`extra` asked after the flow's own questions."""
        flows.add_codes(self.flow, [ind.code for ind in extra])
        self.indicators.extend(extra)


async def _view(ctx: Ctx, flow: Flow) -> _View | None:
    unit = await units.get(ctx.session, unit_id=flow.unit_id)
    if unit is None:
        return None
    in_force = await config.indicators_for(ctx.session, unit=unit)
    by_code = {ind.code: ind for ind in in_force}
    asked = [by_code[c] for c in flows.codes(flow) if c in by_code]
    owner = await people.get_person(ctx.session, person_id=flow.person_id)
    name = owner.display_name if owner is not None else flow.person_id
    return _View(flow, unit, asked, in_force, mention(flow.person_id, name))


def _fresh(ctx: Ctx, flow: Flow) -> bool:
    return ctx.now - flow.touched_at < SILENCE


# --- what the flow says ---------------------------------------------------------------


def _need(item: IndicatorProgress | None, unit: Unit) -> Rich:
    """ "Thôn còn 120 hộ để đạt 80 %", or what stands in for it."""
    rich = Rich()
    if item is None or item.target is None:
        return rich
    if item.indicator.kind != "households":
        return rich.add(
            "🎯 ",
            fmt(
                _("Target: {target}; done so far: {done}"),
                target=b(number(item.target)),
                done=number(item.done),
            ),
        )
    if item.missing is None:
        return rich.add(
            "🎯 ", fmt(_("Target {target} (no household count yet)"), target=percent(item.target))
        )
    if item.missing <= 0:
        return rich.add(
            "🎉 ",
            fmt(_("{unit} has reached {target}"), unit=unit.name, target=percent(item.target)),
        )
    return rich.add(
        "🎯 ",
        fmt(
            _("{unit} needs {missing} more households to reach {target}"),
            unit=unit.name,
            missing=b(number(item.missing)),
            target=percent(item.target),
        ),
    )


def _question(ind: Indicator) -> str:
    return _("{indicator} today?").format(indicator=indicator_name(ind.name_vi, ind.name_en))


def _so_far(view: _View) -> Rich:
    given = flows.answers(view.flow)
    parts = []
    for ind in view.indicators:
        if ind.code in given:
            value = given[ind.code]
            shown = _("skipped") if value is None else number(value)
            parts.append(f"{indicator_name(ind.name_vi, ind.name_en)}: {shown}")
    return Rich().add("✔️ ", i("; ".join(parts))) if parts else Rich()


async def _step(ctx: Ctx, view: _View) -> Rich:
    ind = view.current
    assert ind is not None  # noqa: S101 (asking)
    progress = await unit_progress(
        ctx.session, unit=view.unit, week=week_key(ctx.today), indicators=view.all_indicators
    )
    item = next((it for it in progress.items if it.indicator.code == ind.code), None)
    n, total = view.flow.step + 1, len(view.indicators)
    rich = Rich().add(
        "📝 ",
        fmt(_("Report of {name} — question {n} of {total}"), name=view.owner, n=n, total=total),
    )
    rich.add(b(_question(ind)))
    rich.extend(_need(item, view.unit))
    rich.extend(_so_far(view))
    if ctx.msg.buttons and not ctx.is_private:
        rich.add(i(_("Press a number, or “Type a number” to answer with another.")))
    elif ctx.msg.buttons:
        rich.add(i(_("Press a number, or answer with another number.")))
    else:
        rich.add(i(_("Send a number, 0 if none, or 'skip'. 'cancel' stops.")))
        if n == 1:
            rich.add(
                fmt(
                    _("Faster next time, all in one line: {example}"),
                    example=code(REPORT_EXAMPLE),
                )
            )
    return rich


def _step_buttons(flow: Flow, *, typed: bool = True) -> Buttons:
    """The question's buttons; `typed`: with "Type a number" (a group's way to a reply
    request, which a private chat does not need)."""
    prefix, step = f"{FLOW}{flow.id}:", f":{flow.step}"
    row = [Button("⏭ " + _("Skip"), f"{prefix}s{step}")]
    if typed:
        row.append(Button("✍️ " + _("Type a number"), f"{prefix}t{step}"))
    row.append(Button("✖️ " + _("Cancel"), f"{prefix}x"))
    return (tuple(Button(str(v), f"{prefix}v{v}{step}") for v in COMMON), tuple(row))


def _values(view: _View) -> dict[str, int]:
    """The answers given, of the indicators still in force (a plan may change mid-flow)."""
    given = flows.answers(view.flow)
    return {i.code: v for i in view.indicators if (v := given.get(i.code)) is not None}


def _confirm(ctx: Ctx, view: _View, problem: Rich | None = None) -> Rich:
    values = _values(view)
    by_code = {ind.code: ind for ind in view.indicators}
    ids = {by_code[c].id: v for c, v in values.items() if c in by_code}
    rich = Rich().add(
        "📋 ",
        fmt(
            _("To be recorded for {name} ({unit}), {date}:"),
            name=view.owner,
            unit=b(view.unit.name),
            date=ctx.today.strftime("%d/%m"),
        ),
    )
    rich.add(values_line({k: v for k, v in ids.items() if k is not None}, view.indicators, "+"))
    skipped = [
        indicator_name(ind.name_vi, ind.name_en)
        for ind in view.indicators
        if ind.code not in values
    ]
    if skipped:
        rich.add("⏭ ", fmt(_("Skipped: {names}"), names="; ".join(skipped)))
    more = [indicator_name(ind.name_vi, ind.name_en) for ind in view.more]
    if more:
        rich.add("➕ ", fmt(_("Not asked (no target here): {names}"), names="; ".join(more)))
    if problem is not None:
        rich.blank().extend(problem)
    if not ctx.msg.buttons:
        rich.add(
            i(
                _(
                    "Send 'record' (or 'ok') to record, 'change' to change a value, 'cancel' "
                    "to cancel."
                )
            )
        )
        if more:
            rich.add(i(_("Send 'more' to answer the indicators not asked.")))
    return rich


def _confirm_buttons(flow: Flow, *, can_record: bool = True, more: bool = False) -> Buttons:
    prefix = f"{FLOW}{flow.id}:"
    row = [Button("✏️ " + _("Change"), f"{prefix}e"), Button("✖️ " + _("Cancel"), f"{prefix}x")]
    if can_record:
        row.insert(0, Button("✅ " + _("Record"), f"{prefix}ok"))
    if more:
        return (tuple(row), (Button("➕ " + _("Other indicators"), f"{prefix}m"),))
    return (tuple(row),)


def _choose(ctx: Ctx, view: _View) -> Rich:
    given = flows.answers(view.flow)
    rich = Rich().add("✏️ ", _("Which value do you want to change?"))
    if not ctx.msg.buttons:
        for n, ind in enumerate(view.indicators, 1):
            value = given.get(ind.code)
            shown = _("skipped") if value is None else number(value)
            rich.add(f"{n}. {indicator_name(ind.name_vi, ind.name_en)}: {shown}")
        rich.add(i(_("Send its number in this list.")))
    return rich


def _choose_buttons(view: _View) -> Buttons:
    given = flows.answers(view.flow)
    prefix = f"{FLOW}{view.flow.id}:"
    keys = []
    for n, ind in enumerate(view.indicators):
        value = given.get(ind.code)
        shown = "–" if value is None else number(value)
        name = indicator_name(ind.name_vi, ind.name_en)
        keys.append(Button(f"{name[:40]}: {shown}", f"{prefix}e{n}"))
    rows = [tuple(keys[n : n + 2]) for n in range(0, len(keys), 2)]
    rows.append((Button("↩️ " + _("Back"), f"{prefix}c"),))
    return tuple(rows)


# --- replies ----------------------------------------------------------------------------


@dataclass
class _Out:
    """The replies of one step, built in order."""

    ctx: Ctx
    replies: list[Reply]

    @property
    def buttons(self) -> bool:
        return self.ctx.msg.buttons

    @property
    def group(self) -> bool:
        return not self.ctx.is_private

    def answer(self, text: str = "", *, alert: bool = False) -> None:
        if self.ctx.msg.press_id is not None:
            self.replies.append(
                Reply(Rich(), answer=Answer(self.ctx.msg.press_id, text[:200], alert))
            )

    def text(self, rich: Rich, *, quote: bool = False) -> None:
        self.replies.append(Reply(rich, quote=quote and self.group))

    def card(
        self,
        flow: Flow,
        rich: Rich,
        buttons: Buttons,
        *,
        fresh: bool = False,
        retire: Rich | None = None,
    ) -> None:
        """The flow's message with buttons: the pressed one (or the kept one) edited, or a new
        one (`fresh`: at the bottom of the chat, where the person is looking). The old one then
        loses its buttons, and says `retire` instead of what it said (given when it is no
        longer the flow's; a private chat's last question keeps its text)."""
        if not self.buttons:
            self.text(rich, quote=True)
            return
        if not self.group and self.ctx.msg.press_id is None:
            fresh = True  # a typed answer in a private chat: the next question below it
        target = None if fresh else (self._pressed() or flow.card_id)
        if fresh and flow.card_id is not None:
            self.replies.append(Reply(retire or Rich(), quote=False, edit=flow.card_id))
        assert flow.id is not None  # noqa: S101 (stored)
        # Kept once sent, and when an edit finds its message gone and it is sent anew.
        remember = Remember(flow.id, "card") if buttons else None
        self.replies.append(
            Reply(rich, quote=False, buttons=buttons, edit=target, remember=remember)
        )

    def ask(self, flow: Flow, view: _View, note: Rich | None = None) -> None:
        """In a group, the question as a reply request aimed at the owner; the previous one
        goes. `note` (an answer not taken, and why) comes first in it: asked again, the
        question replaces itself instead of leaving one more message in the group."""
        if not (self.buttons and self.group):
            return
        self.drop_ask(flow)
        ind = view.current
        if ind is None:
            return
        assert flow.id is not None  # noqa: S101 (stored)
        rich = Rich().add(
            "✍️ ",
            view.owner,
            ": ",
            b(_question(ind)),
            " ",
            _("Answer this message with a number."),
        )
        hint = _("{indicator}: for example 5").format(
            indicator=indicator_name(ind.name_vi, ind.name_en)
        )
        if note is not None:
            rich = Rich(list(note.lines)).extend(rich)
        typed = self.ctx.msg.press_id is None
        flow.asks += 1
        flow.ask_id = flows.ASKING  # on its way: a reply to the bot's message answers
        remember = Remember(flow.id, "ask", flow.asks)
        self.replies.append(Reply(rich, quote=typed, ask=hint[:64], remember=remember))

    def drop_ask(self, flow: Flow) -> None:
        """The reply request goes: deleted, or (still on its way) deleted once it is out."""
        if flow.ask_id is None:
            return
        sent = flows.ask_message(flow)
        if sent is not None:
            self.replies.append(Reply(Rich(), delete=sent))
        flow.ask_id = None
        flow.asks += 1  # one still on its way is no longer wanted (`flows.remember`)

    def retire(self, flow: Flow, rich: Rich, buttons: Buttons = ()) -> None:
        """The flow's card, where the platform has one, says `rich` instead of its question
        or confirmation, with `buttons` instead of the flow's (a flow ended elsewhere)."""
        if self.buttons and flow.card_id is not None:
            self.replies.append(Reply(rich, quote=False, buttons=buttons, edit=flow.card_id))

    def _pressed(self) -> str | None:
        if self.ctx.msg.press_id is None:
            return None
        return self.ctx.msg.message_key.rsplit(":", 1)[-1]


# --- starting ---------------------------------------------------------------------------


async def report_command(ctx: Ctx) -> list[Reply]:
    """`/bao_cao`: typed, it ends the sender's open flow here and records the typed report;
    alone, it offers the guided report (the template and a button, or on a platform without
    buttons the first question)."""
    if ctx.args.strip() or ctx.msg.edited:
        answer = await report.report(ctx)
        stored = await reports.by_message_key(ctx.session, message_key=ctx.msg.message_key)
        # The guided report ends only once the typed one is stored: a refused line keeps it.
        closing = [] if ctx.msg.edited or stored is None else await _replaced(ctx)
        return [*closing, *answer]
    unit = await ctx.unit()
    if unit is None:
        return ctx.reply(report.not_linked(ctx))
    open_flow = await flows.open_for(ctx.session, chat_id=ctx.chat.id, person_id=ctx.person.id)
    if not ctx.msg.buttons or (open_flow is not None and _fresh(ctx, open_flow)):
        return await start(ctx)  # the first question, or the open report again
    indicators = await config.indicators_for(ctx.session, unit=unit)
    rich = report.template(indicators)
    rich.add("👇 ", _("Or press the button to be asked one question at a time."))
    return [Reply(rich, quote=not ctx.is_private, buttons=start_button())]


async def _replaced(ctx: Ctx) -> list[Reply]:
    flow = await flows.open_for(ctx.session, chat_id=ctx.chat.id, person_id=ctx.person.id)
    if flow is None:
        return []
    flows.end(flow, "replaced", now=ctx.now)
    out = _Out(ctx, [])
    out.drop_ask(flow)
    rich = Rich().add("↪️ ", _("Guided report closed: the typed report below replaces it."))
    if flow.card_id is not None and ctx.msg.buttons:
        out.replies.append(Reply(rich, quote=False, edit=flow.card_id))
    elif not ctx.msg.buttons:
        out.text(rich)
    return out.replies


async def start(ctx: Ctx) -> list[Reply]:
    """A guided report for the sender (or presser): a new one, or the open one continued."""
    out = _Out(ctx, [])
    unit = await ctx.unit()
    if unit is None:
        if ctx.msg.press_id is not None:
            out.answer(_("This chat is not linked to a village or commune yet."), alert=True)
            return out.replies
        return ctx.reply(report.not_linked(ctx))
    flow = await flows.open_for(ctx.session, chat_id=ctx.chat.id, person_id=ctx.person.id)
    if flow is not None and not _fresh(ctx, flow):
        flows.end(flow, "expired", now=ctx.now)
        out.drop_ask(flow)
        expired = await _view(ctx, flow)
        out.retire(flow, _expired_notice(expired.owner if expired is not None else ""))
        flow = None
    if flow is not None:
        view = await _view(ctx, flow)
        if view is not None:
            out.answer(_("Your report is still open: here it is again."))
            flow.touched_at = ctx.now
            moved = fmt(_("{name}'s guided report goes on in the card below."), name=view.owner)
            await _show(out, view, fresh=True, retire=Rich().add("⬇️ ", moved))
            return out.replies
    indicators = await config.indicators_for(ctx.session, unit=unit)
    if not indicators:
        nothing = _("No indicators are in force here yet.")
        if ctx.msg.press_id is None:
            return ctx.reply(Rich().add("ℹ️ ", nothing))
        out.answer(nothing, alert=True)
        return out.replies
    assert unit.id is not None  # noqa: S101 (stored)
    flow = await flows.start(
        ctx.session,
        chat_id=ctx.chat.id,
        person_id=ctx.person.id,
        unit_id=unit.id,
        codes=[ind.code for ind in await _first_asked(ctx, unit, indicators)],
        now=ctx.now,
    )
    view = await _view(ctx, flow)
    assert view is not None  # noqa: S101 (just made)
    out.answer()
    await _show(out, view, fresh=True)
    return out.replies


async def _first_asked(ctx: Ctx, unit: Unit, indicators: list[Indicator]) -> list[Indicator]:
    """The indicators with a target here, asked first; the others wait for "➕" at the
    confirmation (a volunteer should not answer six questions when four count). All of them
    when none has a target."""
    progress = await unit_progress(
        ctx.session, unit=unit, week=week_key(ctx.today), indicators=indicators, team=False
    )
    targeted = {it.indicator.code for it in progress.items if it.target is not None}
    return [ind for ind in indicators if ind.code in targeted] or indicators


async def _show(
    out: _Out, view: _View, *, fresh: bool = False, retire: Rich | None = None
) -> None:
    """The flow as it stands now: the question, the choice of what to change, or the
    confirmation. A reply request for an earlier question goes (one is sent only when asked
    for, `_act`'s "t")."""
    flow, ctx = view.flow, out.ctx
    out.drop_ask(flow)
    if flow.mode in ("ask", "fix") and view.current is not None:
        buttons = _step_buttons(flow, typed=out.group)
        out.card(flow, await _step(ctx, view), buttons, fresh=fresh, retire=retire)
        return
    if flow.mode == "choose":
        out.card(flow, _choose(ctx, view), _choose_buttons(view), fresh=fresh, retire=retire)
        return
    flow.mode = "confirm"
    buttons = _confirm_buttons(flow, more=bool(view.more))
    out.card(flow, _confirm(ctx, view), buttons, fresh=fresh, retire=retire)


# --- answers ----------------------------------------------------------------------------


async def on_press(ctx: Ctx) -> list[Reply]:
    """A button of the bot's was pressed (`ctx.args` is its data)."""
    data = ctx.args
    if data == START:
        return await start(ctx)
    if data.startswith(UNDO) and data[len(UNDO) :].isdigit():
        return await _undo(ctx, int(data[len(UNDO) :]))
    m = _DATA.fullmatch(data)
    out = _Out(ctx, [])
    if m is None:
        out.answer()
        return out.replies
    flow = await flows.get(ctx.session, flow_id=int(m.group(1)))
    if flow is None or flow.chat_id != ctx.chat.id:
        out.answer(_("This report is already closed."), alert=True)
        return out.replies
    if flow.person_id != ctx.person.id:
        owner = await people.get_person(ctx.session, person_id=flow.person_id)
        name = owner.display_name if owner is not None else "?"
        out.answer(
            _("This is {name}'s report. Press “Report” to start your own.").format(name=name[:60]),
            alert=True,
        )
        return out.replies
    if flow.ended_at is not None or not _fresh(ctx, flow):
        if flow.ended_at is None:
            flows.end(flow, "expired", now=ctx.now)
            out.drop_ask(flow)
            waited = _(
                "This report waited more than {minutes} minutes and was closed; nothing "
                "was recorded. Press “Report” to start again."
            )
            out.answer(waited.format(minutes=_SILENT_MINUTES), alert=True)
            view = await _view(ctx, flow)
            notice = _expired_notice(view.owner if view is not None else "")
            # The card says so, with the button to start again, instead of its question.
            out.replies.append(
                Reply(notice, quote=False, buttons=start_button(), edit=out._pressed())
            )
        elif flow.outcome == "recorded":
            # A second tap on "Ghi": its message already shows the report, with its undo.
            out.answer(_("This report is already recorded."))
        else:
            # A tap before the card's closing edit reached it: that edit is on its way.
            out.answer(_("This report is already closed."), alert=True)
        return out.replies
    view = await _view(ctx, flow)
    if view is None:
        out.answer()
        return out.replies
    if m.group(3) is not None and (
        flow.mode not in ("ask", "fix") or int(m.group(3)) != flow.step
    ):
        out.answer(_("Already answered"))  # a second tap on a question already moved on
        return out.replies
    await _act(out, view, m.group(2))
    return out.replies


async def _act(out: _Out, view: _View, action: str) -> None:
    """One answer, from a button or in words: `v5`, `s` (skip), `x` (cancel), `ok` (record),
    `e` (choose what to change), `e2` (change the third), `c` (back to the confirmation)."""
    flow, ctx = view.flow, out.ctx
    flow.touched_at = ctx.now
    if action == "x":
        flows.end(flow, "cancelled", now=ctx.now)
        out.answer(_("Cancelled"))
        out.drop_ask(flow)
        text = Rich().add(
            "✖️ ",
            fmt(_("Guided report of {name} cancelled; nothing was recorded."), name=view.owner),
        )
        out.card(flow, text, ())
        return
    if action == "t":
        # In a group: the question as a reply request, for a number no button offers.
        if flow.mode in ("ask", "fix") and view.current is not None and flow.ask_id is None:
            out.ask(flow, view)
        out.answer(_("Reply to the question below with a number."))
        return
    if action == "ok":
        if flow.mode != "confirm":
            out.answer()
            return
        await _record(out, view)
        return
    if action == "m":
        extra = view.more
        if flow.mode != "confirm" or not extra:
            out.answer()
            return
        flow.mode, flow.step = "ask", len(view.indicators)
        view.ask_too(extra)
        out.answer()
        await _show(out, view)
        return
    if action == "e":
        flow.mode = "choose"
        out.answer()
        await _show(out, view)
        return
    if action == "c":
        flow.mode = "confirm"
        out.answer()
        await _show(out, view)
        return
    if action.startswith("e") and action[1:].isdigit():
        index = int(action[1:])
        if flow.mode != "choose" or index >= len(view.indicators):
            out.answer()
            return
        flow.mode, flow.step = "fix", index
        out.answer()
        await _show(out, view)
        return
    ind = view.current
    if flow.mode not in ("ask", "fix") or ind is None:
        out.answer()
        return
    if action == "s":
        value: int | None = None
    elif action.startswith("v") and action[1:].isdigit():
        value = int(action[1:])
    else:
        out.answer()
        return
    refused = await _over(ctx, view, ind.code, value) if value is not None else None
    if refused is not None:
        out.answer(_("More households than the village has left; nothing was recorded."),
                   alert=True)  # fmt: skip
        if out.ctx.msg.press_id is None:
            _repeat(out, view, refused)
        return
    flows.set_answer(flow, ind.code, value, now=ctx.now)
    out.answer(
        _("Skipped")
        if value is None
        else f"{indicator_name(ind.name_vi, ind.name_en)}: {number(value)}"
    )
    if flow.mode == "fix":
        flow.mode = "confirm"
    else:
        flow.step += 1
        if flow.step >= len(view.indicators):
            flow.mode = "confirm"
    await _show(out, view)


async def _record(out: _Out, view: _View) -> None:
    flow, ctx = view.flow, out.ctx
    values = _values(view)
    if not values:
        flows.end(flow, "cancelled", now=ctx.now)
        out.answer(_("Nothing to record"), alert=False)
        out.drop_ask(flow)
        rich = Rich().add("ℹ️ ", _("Every question was skipped: nothing was recorded."))
        out.card(flow, rich, start_button())
        return
    line = " ".join(f"{c}={v}" for c, v in values.items())
    stored = await report.record(
        ctx,
        view.unit,
        view.all_indicators,
        args=line,
        message_key=f"{flow.chat_id}:flow:{flow.id}",
        source=f"(guided) {line}",
    )
    if stored is None or stored.report_id is None:
        problem = stored.rich if stored is not None else Rich()
        out.answer(_("Not recorded"), alert=False)
        out.card(flow, _confirm(ctx, view, problem), _confirm_buttons(flow, can_record=False))
        return
    flows.end(flow, "recorded", now=ctx.now, report_id=stored.report_id)
    out.answer(_("Recorded"))
    out.drop_ask(flow)
    out.card(flow, stored.rich, report.after_report(stored.report_id))


async def _undo(ctx: Ctx, report_id: int) -> list[Reply]:
    """ "Hoàn tác" under a report's confirmation: withdraws that report, while a report could
    still be dated in its week, for its author only."""
    out = _Out(ctx, [])
    found = await reports.get(ctx.session, report_id=report_id)
    if found is None or found.chat_id != ctx.chat.id:
        out.answer(_("That report is not here."), alert=True)
        return out.replies
    if found.person_id != ctx.person.id:
        out.answer(_("Only the member who sent a report can undo it."), alert=True)
        return out.replies
    if found.withdrawn_at is not None:
        out.answer(_("That report was already withdrawn."), alert=True)
        out.replies.append(Reply(Rich(), edit=out._pressed()))
        return out.replies
    first, _last = report_window(ctx.today)
    if found.report_date < first:
        out.answer(_("Its week is closed: it can no longer be undone."), alert=True)
        out.replies.append(Reply(Rich(), edit=out._pressed()))
        return out.replies
    unit = await units.get(ctx.session, unit_id=found.unit_id)
    assert unit is not None  # noqa: S101 (foreign key)
    indicators = await config.indicators_for(ctx.session, unit=unit)
    old = await reports.withdraw(ctx.session, report=found, unit=unit)
    out.answer(_("Withdrawn"))
    rich = Rich().add(
        "↩️ ",
        fmt(
            _("Withdrawn: the report of {date} by {name}"),
            date=found.report_date.strftime("%d/%m"),
            name=mention(ctx.person.id, ctx.person.display_name),
        ),
    )
    rich.add(values_line(old, indicators, sign="−"))
    out.replies.append(
        Reply(rich, quote=False, edit=out._pressed(), buttons=start_button())
        if out._pressed() is not None
        else Reply(rich, quote=False)
    )
    return out.replies


def text_or(fallback: Command | None, *, command: bool = False) -> Command:
    """A message that may answer the sender's open flow here ("5", "bỏ qua", "ghi"); when it
    does not, `fallback` runs (None: nothing is said). `command`: the text also reads as a
    command without its slash ("tien do"), which runs unless the text is an answer."""

    async def run(ctx: Ctx) -> list[Reply]:
        flow = await flows.open_for(ctx.session, chat_id=ctx.chat.id, person_id=ctx.person.id)
        if flow is not None and not _answers_flow(ctx, flow):
            flow = None
        if flow is not None:
            answered = await _typed(ctx, flow, command=command)
            if answered is not None:
                return answered
        elif not ctx.is_private and ctx.msg.reply_to_bot is not None:
            other = await flows.open_with_message(
                ctx.session, chat_id=ctx.chat.id, message_id=ctx.msg.reply_to_bot
            )
            if other is not None and other.person_id != ctx.person.id:
                return await _not_yours(ctx, other)
        elif command and answer_words(ctx.msg.text) in _CANCEL and await _just_closed(ctx):
            # "huy" meant for a guided report that has just closed would otherwise withdraw
            # the last report this person recorded.
            rich = Rich().add(
                "ℹ️ ",
                _("There is no guided report open. To withdraw your last report, send /huy."),
            )
            return ctx.reply(rich)
        return await fallback(ctx) if fallback is not None else []

    return run


async def _typed(ctx: Ctx, flow: Flow, *, command: bool = False) -> list[Reply] | None:
    """A typed answer to the flow; None when the text is not one (it is then handled as if
    no flow were open)."""
    out = _Out(ctx, [])
    if not _fresh(ctx, flow):
        flows.end(flow, "expired", now=ctx.now)
        out.drop_ask(flow)
        view = await _view(ctx, flow)
        notice = _expired_notice(view.owner if view is not None else "")
        out.retire(flow, notice)  # the card stops asking
        out.text(notice, quote=True)
        return out.replies
    view = await _view(ctx, flow)
    if view is None:
        return None
    words = answer_words(ctx.msg.text)
    if _cancels(ctx.msg.text):
        await _act(out, view, "x")
        return out.replies
    if flow.mode == "confirm":
        change = re.fullmatch(r"(?:sua|doi)\s+(\d{1,2})", words)  # "sửa 2": straight to it
        if words in _RECORD:
            await _record(out, view)
        elif words in _MORE and view.more:
            await _act(out, view, "m")
        elif words in _CHANGE:
            await _act(out, view, "e")
        elif change is not None and 1 <= int(change[1]) <= len(view.indicators):
            flow.mode = "choose"
            await _act(out, view, f"e{int(change[1]) - 1}")
        elif command or _command_like(ctx):
            return None
        else:
            return _again(out, view)
        return out.replies
    if flow.mode == "choose":
        index = int(words) if words.isdigit() and "-" not in ctx.msg.text else 0
        if 1 <= index <= len(view.indicators):
            await _act(out, view, f"e{index - 1}")
        elif words in _RECORD or words in _BACK:
            await _act(out, view, "c")
        elif command:
            return None
        else:
            return _again(out, view)
        return out.replies
    ind = view.current
    if ind is None:
        return None
    if words in _SKIP:
        await _act(out, view, "s")
        return out.replies
    matcher = report.matcher_for(view.all_indicators)
    value = read_number(
        ctx.msg.text,
        ind.code,
        matcher,
        today=ctx.today,
        households=ind.kind == "households",
        english=i18n.current() == "en",
    )
    if value is not None:
        await _act(out, view, f"v{value}")
        return out.replies
    if await _several(out, view):
        return out.replies
    if command or _command_like(ctx):
        return None
    return _again(out, view)


async def _several(out: _Out, view: _View) -> bool:
    """A whole report typed as the answer ("ho=5 app=2", "5 hộ, cài app 2"): its figures
    answer their questions, and the flow goes on from the first still unanswered."""
    flow, ctx = view.flow, out.ctx
    parsed = parse_report(ctx.msg.text, report.matcher_for(view.all_indicators), today=ctx.today)
    asked = {ind.code for ind in view.indicators} | {ind.code for ind in view.more}
    if isinstance(parsed, Problem) or not parsed.values or parsed.left_out or parsed.note:
        return False
    if parsed.day is not None and parsed.day != ctx.today:
        return False
    current = view.current
    given = flows.answers(flow)
    # The figures must answer this question and others not answered yet: "5 hộ" answering
    # another question names the first indicator ("hộ" is its word), and would overwrite it.
    if current is None or current.code not in parsed.values or not set(parsed.values) <= asked:
        return False
    if any(c in given and c != current.code for c in parsed.values):
        return False
    for code_, value in parsed.values.items():
        refused = await _over(ctx, view, code_, value)
        if refused is not None:
            _repeat(out, view, refused)
            return True
    # Figures of indicators not asked (no target) are taken too: they were said.
    view.ask_too([ind for ind in view.more if ind.code in parsed.values])
    for code_, value in parsed.values.items():
        flows.set_answer(flow, code_, value, now=ctx.now)
    given = flows.answers(flow)
    later = [n for n, ind in enumerate(view.indicators) if ind.code not in given]
    if flow.mode == "fix" or not later:
        flow.mode = "confirm"
    else:
        flow.step = later[0]
    await _show(out, view)
    return True


async def _over(ctx: Ctx, view: _View, code_: str, value: int) -> Rich | None:
    """Why `value` cannot be the answer for a household indicator: more households than the
    village has left to count (said at the question, not only at "Ghi")."""
    ind = next((i for i in view.indicators if i.code == code_), None)
    if ind is None or ind.kind != "households" or value == 0:
        return None
    progress = await unit_progress(
        ctx.session, unit=view.unit, week=week_key(ctx.today), indicators=view.all_indicators
    )
    if not progress.households:
        return None
    item = next((it for it in progress.items if it.indicator.code == code_), None)
    done = item.done if item is not None else 0
    room = max(0, progress.households - done)
    if value <= room:
        return None
    return Rich().add(
        "⚠️ ",
        fmt(
            _("{value} is more than {unit} has left: {done} of its {households} households "
              "are counted for {indicator}, so at most {room}. Nothing was recorded; send the "
              "right number."),
            value=b(number(value)),
            unit=view.unit.name,
            done=number(done),
            households=number(progress.households),
            indicator=indicator_name(ind.name_vi, ind.name_en),
            room=b(number(room)),
        ),
    )  # fmt: skip


async def _not_yours(ctx: Ctx, flow: Flow) -> list[Reply]:
    """A reply to another member's question: whose it is, and how to report oneself."""
    owner = await people.get_person(ctx.session, person_id=flow.person_id)
    name = owner.display_name if owner is not None else "?"
    rich = Rich().add(
        "ℹ️ ",
        fmt(
            _("That question is for {name}; nothing was recorded. Press “Report” to report "
              "yourself."),
            name=mention(flow.person_id, name),
        ),
    )  # fmt: skip
    return [Reply(rich, quote=True, buttons=start_button())]


async def undo_command(ctx: Ctx) -> list[Reply]:
    """`/huy` while a guided report is open here cancels that, not the last report recorded
    (which a second `/huy` withdraws as always)."""
    flow = await flows.open_for(ctx.session, chat_id=ctx.chat.id, person_id=ctx.person.id)
    if flow is not None and not _fresh(ctx, flow):
        flows.end(flow, "expired", now=ctx.now)  # long forgotten: /huy means the report
        flow = None
    if flow is None or ctx.msg.edited:
        return await report.undo(ctx)
    if not _command_like(ctx) and not _cancels(ctx.msg.text):
        # "anh Huy": read as "huy" by the router (courtesy, then the command), but a name.
        return await _typed(ctx, flow) or []
    view = await _view(ctx, flow)
    if view is None:
        return await report.undo(ctx)
    out = _Out(ctx, [])
    await _act(out, view, "x")
    out.text(
        Rich().add(
            "ℹ️ ", _("Reports already recorded stay; send /huy again to withdraw the last one.")
        ),
        quote=True,
    )
    return out.replies


async def edited_answer(ctx: Ctx) -> list[Reply]:
    """An answer edited after it was sent: the bot took the first version, and says so."""
    flow = await flows.open_for(ctx.session, chat_id=ctx.chat.id, person_id=ctx.person.id)
    if flow is None or not _answers_flow(ctx, flow):
        return []
    hint = _("An edited answer does not change what was taken; send 'change' (or press “Change”) "
             "at the end to change a value.")  # fmt: skip
    return ctx.reply(Rich().add("ℹ️ ", hint))


async def _just_closed(ctx: Ctx) -> bool:
    """Whether a guided report of the sender's here closed unrecorded in the last minutes."""
    return await flows.closed_since(
        ctx.session,
        chat_id=ctx.chat.id,
        person_id=ctx.person.id,
        since=ctx.now - RECENT,
    )


def _answers_flow(ctx: Ctx, flow: Flow) -> bool:
    """In a group with buttons, a message answers the flow as a reply to its question or its
    card — or to any message of the bot's while their ids are not known yet (the person
    answered before the bot had them, or keeping one failed)."""
    if ctx.is_private or not ctx.msg.buttons:
        return True
    asking = flow.mode in ("ask", "fix")
    if flow.card_id is None or (asking and flow.ask_id == flows.ASKING):
        return ctx.msg.reply_to_bot is not None
    return ctx.msg.reply_to_bot in (flow.card_id, flows.ask_message(flow))


def _command_like(ctx: Ctx) -> bool:
    return ctx.msg.text.lstrip().startswith("/")


def is_answer_word(text: str) -> bool:
    """Whether a text is one of the flow's answer words or a number ("huy" is also the undo
    command, "5" nothing at all): the router lets an open flow have it first."""
    words = answer_words(text)
    return (
        words in _CANCEL
        or words in _SKIP
        or words in _RECORD
        or words in _CHANGE
        or bool(re.fullmatch(r"[\d.,]+", words))
    )


def _again(out: _Out, view: _View) -> list[Reply]:
    """An answer that is no answer: said so, the flow unchanged."""
    if view.flow.mode == "confirm":
        hint = _("Send 'ok' to record, 'change' to change a value or 'cancel' to cancel.")
    elif view.flow.mode == "choose":
        hint = _("Send the number of the value to change, from the list.")
    else:
        hint = _("Send one number, for example 5 (0 if none), or 'skip'.")
    _repeat(
        out, view, Rich().add("❓ ", _("I did not get that; nothing was recorded."), " ", hint)
    )
    return out.replies


def _repeat(out: _Out, view: _View, note: Rich) -> None:
    """The question asked again after `note`: in a group, in place of the last one."""
    if out.buttons and out.group and view.flow.mode in ("ask", "fix"):
        out.ask(view.flow, view, note)
    else:
        out.text(note, quote=True)


def _expired_notice(owner: Span | str) -> Rich:
    return Rich().add(
        "⌛ ",
        fmt(
            _(
                "{name}: the guided report waited more than {minutes} minutes and was closed; "
                "nothing was recorded. Start again whenever you like."
            ),
            name=owner,
            minutes=_SILENT_MINUTES,
        ),
    )


# --- flows gone silent (the scheduler's tick) -------------------------------------------


@dataclass(frozen=True)
class Closed:
    """A flow that expired, and what to tell its chat."""

    chat_id: str
    flow_id: int
    rich: Rich
    buttons: Buttons
    card_id: str | None  # the flow's card: it says `rich`, with `buttons`, instead
    ask_id: str | None  # its reply request, to go


async def expire(
    session: AsyncSession, deps: Deps, *, now: datetime, limit: int = 500
) -> list[Closed]:
    """Ends the flows silent for `SILENCE`; each chat hears it once (the caller posts it)."""
    out: list[Closed] = []
    for flow in await flows.silent_since(session, before=now - SILENCE, limit=limit):
        flows.end(flow, "expired", now=now)
        chat = await people.get_chat(session, chat_id=flow.chat_id)
        person = await people.get_person(session, person_id=flow.person_id)
        language = (chat.language if chat is not None else None) or deps.default_locale
        name = person.display_name if person is not None else flow.person_id
        with i18n.use(language):
            rich = _expired_notice(mention(flow.person_id, name))
            buttons = start_button()
        assert flow.id is not None  # noqa: S101 (stored)
        ask_id = flows.ask_message(flow)
        out.append(Closed(flow.chat_id, flow.id, rich, buttons, flow.card_id, ask_id))
    return out
