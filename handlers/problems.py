"""Rejections in the chat's language, each with a correct example to copy."""

from __future__ import annotations

from collections.abc import Sequence

from handlers.grammar import Problem
from handlers.i18n import _
from handlers.richtext import Rich, b, code, fmt

REPORT_EXAMPLE = "/bao_cao ho=12 app=5 tt=3 cks=1"
LINK_EXAMPLE = "/lien_ket tinh=Đà Nẵng xa=Thăng Bình thon=Thôn 3 ho=350"
HOUSEHOLDS_EXAMPLE = "/so_ho 350"


def _messages() -> dict[str, str]:
    # Built per call so each string is looked up in the language of the moment.
    return {
        "empty": _("The report has no indicator with a number."),
        "unknown_key": _("I do not know the indicator “{key}”."),
        "negative": _("“{key}” cannot be negative ({value})."),
        "not_number": _("“{key}” needs a number, not “{value}”."),
        "not_integer": _("“{key}” must be a whole number ({value})."),
        "too_large": _("“{key}” is too large ({value})."),
        "duplicate": _("“{key}” appears twice."),
        "missing_value": _("“{key}” has no number."),
        "number_without_key": _("The number {value} has no indicator in front of it."),
        "bad_date": _("I cannot read the date “{value}”; write it as DD/MM or DD/MM/YYYY."),
        "link_empty": _("Say which commune to link, as key=value pairs."),
        "link_unknown": _("I do not know “{key}”; use tinh=, xa=, thon= and ho=."),
        "link_missing_value": _("“{key}=” has no value."),
        "link_no_commune": _("The commune (xa=) is missing."),
        "name_too_long": _("“{key}”: a name has at most {count} characters."),
        "not_a_name": _("“{key}”: “{value}” is not a name; write it in letters, without < or >."),
        "one_number": _(
            "“{key}”: “{value}” holds more than one number; write one, without "
            "spaces (1200, not 1 200)."
        ),
        "too_many_villages": _(
            "{commune} already has {count} villages, as many as a commune "
            "may; nothing was created."
        ),
        "count_missing": _("Give the number of households."),
        "households_zero": _(
            "A village has at least one household: 0 would leave every target without a base."
        ),
        "over_households": _(
            "{key}: {current} households are recorded already; adding {value} would pass the "
            "{households} households of the village (at most {room} more)."
        ),
        "date_outside": _("The date {value} is outside this week and last week ({start}–{end})."),
        "config_empty": _("Give the settings as key=value pairs."),
        "config_syntax": _("I do not understand “{value}”; write key=value pairs."),
        "schedule_unknown": _("I do not know “{key}”; use nhac=, tong_hop= and xep_hang=."),
        "schedule_bad_time": _(
            "“{key}”: “{value}” is not a day and time; "
            "write e.g. thu6 16:00, T2 07:30 or cn 08:00."
        ),
        "target_range": _("“{key}”: a target share goes from 0 to 100 ({value})."),
        "affiliation_unknown": _(
            "I do not know the affiliation “{value}”; use doan, cong_an, truong_thon, can_bo_xa, "
            "dang_vien, phu_nu, cuu_chien_binh or khac."
        ),
        "yes_no": _("“{key}” takes co or khong, not “{value}”."),
        "member_unknown": _("I do not know “{key}”; use to= and tap_huan=."),
        "odd_digit": _(
            "“{value}” only looks like a digit; write numbers with the keyboard's 0–9."
        ),
        "village_size": _(
            "{value} looks like the village's number of households, not work done. It is not "
            "a report: an admin sets the households with /so_ho {value}."
        ),
        "negated": _("“{part}” is what was not done, so it is not counted."),
        "date_future": _("{value} has not come yet: a report is dated today or earlier."),
        "ask_negation": _(
            "“{part}” says what was not done, in the same sentence as a figure: I am not sure "
            "what to count."
        ),
        "ask_partial": _("“{part}”: I am not sure which indicator this is."),
        "ask_other": _("“{part}” names something else, not one of the indicators."),
        "ask_ambiguous": _("“{part}” could be any of {codes}: which one is it?"),
        "ask_typo": _("I am not sure I read “{part}” right."),
        "ask_reading": _("I am not sure I read this right."),
        "unknown_campaign": _(
            "“{key}” is not an indicator of this village's plan, so nothing of it was recorded."
        ),
        "ask_hedge": _("You are not sure of these figures yet: nothing was recorded."),
        "ask_which_day": _(
            "Which day was this? Send the report again with the date, for example ngay=18/11."
        ),
        "ask_days": _(
            "This covers several days; a report is one day's work. Send each day's figures on "
            "their own, with ngay=DD/MM."
        ),
        "ask_ordinal": _(
            "In “{part}”, {value} looks like a level, an ordinal or a place, not a count."
        ),
        "ask_percent": _("“{part}” is a share, not a number of households."),
        "ask_time": _("In “{part}”, {value} looks like a time, not a count."),
        "ask_trailing": _("I am not sure what “{part}” counts."),
        "ask_approximate": _("“{part}” is not an exact count: how many households exactly?"),
        "ask_people": _("“{part}” counts people; this indicator counts households."),
        "ask_exceeds": _(
            "{key} {value} is more than the {visits} households guided: are some of them "
            "people, or households of another day?"
        ),
        "ask_total": _("The total {value} is not the sum of the figures before it."),
        "ask_total_part": _("“{part}” looks like a total so far, not this report's work."),
        "ask_question": _("This looks like a question, so nothing was recorded."),
        "ask_correction": _(
            "The message corrects itself; send the right figures again, once, like this:"
        ),
        "ask_running": _(
            "This looks like a running total (so far, this month), not new work: report only "
            "what was done since your last report."
        ),
        "ask_proxy": _(
            "Each member reports their own work: ask them to send it, or send yours only."
        ),
        "ask_example": _("This looks like the example; send your own figures."),
        "ask_date": _(
            "A date stands after some of the figures: which figures are of that day? Send each "
            "day's figures on their own, with ngay=DD/MM."
        ),
        "ask_visits": _("“{part}” counts visits or accounts; this indicator counts households."),
        "ask_bare": _("“{part}”: households of which indicator?"),
        "ask_quantity": _("“{part}”: how many households is that exactly?"),
        "ask_words": _("I read the numbers written in words as digits: is this right?"),
        "below_reports": _(
            "{value} households is fewer than the {current} already recorded for {key}."
        ),
    }


def describe(
    problem: Problem,
    *,
    example: str,
    indicator_codes: Sequence[str] = (),
    command: str = "/bao_cao",
    tap: str | None = None,
    reading: str | None = None,
) -> Rich:
    """The refusal or the question, what was not understood, and a line that would work: the
    one that records what was understood, when something was, else an example."""
    template = _messages().get(problem.code, _("I did not understand that."))
    icon = "❓ " if problem.code.startswith("ask_") else "⚠️ "
    rich = Rich().add(icon, fmt(template, **{k: b(v) for k, v in problem.args.items()}))
    if problem.code == "unknown_key" and indicator_codes:
        rich.add(fmt(_("Known indicators: {codes}"), codes=code(", ".join(indicator_codes))))
    if problem.suggestion and tap is not None:
        # One tap records it: "button" under the message, or "reply" ghi where there is none.
        if reading:
            rich.add("👉 ", fmt(_("I read: {reading}"), reading=b(reading)))
        if tap == "button":
            rich.add(_("Nothing was recorded yet: press ✅ Record if that is right, or send:"))
        else:
            rich.add(_("Nothing was recorded yet: reply “ghi” if that is right, or send:"))
        rich.add(code(f"{command} {problem.suggestion}"))
        return rich
    if problem.suggestion:
        rich.add(_("Nothing was recorded yet. To record what I understood, send:"))
        rich.add(code(f"{command} {problem.suggestion}"))
        return rich
    rich.add(fmt(_("Example: {example}"), example=code(example)))
    rich.add(_("Nothing was recorded."))
    return rich
