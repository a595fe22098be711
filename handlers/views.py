"""Renders progress, boards and reports into rich text, in the current language."""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from datetime import date, timedelta

from babel.numbers import format_decimal

from handlers import i18n
from handlers.context import indicator_name
from handlers.i18n import _
from handlers.periods import span_text
from handlers.progress import Board, UnitProgress
from handlers.richtext import Line, Rich, Span, b, fmt, i
from storage.merged_provinces import MERGED_ON, FormerCommune, FormerProvince
from storage.models import Indicator, Unit

BOARD_TOP = 20


def number(value: float, pattern: str = "#,##0.#") -> str:
    return _formatted(value, pattern, i18n.current())


@functools.lru_cache(maxsize=4096)
def _formatted(value: float, pattern: str, locale: str) -> str:
    # Babel parses the pattern and the locale's symbols on every call: a confirmation formats
    # a handful of the same small numbers again and again.
    return format_decimal(value, format=pattern, locale=locale)


def percent(value: float) -> str:
    return f"{number(value, '0.#')}%"


def merged_line(former: FormerProvince, province: Unit) -> str:
    """A province named as it was before 1 July 2025, and where it is now."""
    return _("{old} has been part of {new} since {date}.").format(
        old=former.name, new=province.name, date=MERGED_ON.strftime("%d/%m/%Y")
    )


def old_commune_line(former: FormerCommune, now: Unit) -> str:
    """A commune named by its code of before 1 July 2025, and the one it is part of now."""
    line = _("Commune code {old} ({name}, before {date}) is now part of {now} (code {code}).")
    return line.format(old=former.code, name=former.name, date=MERGED_ON.strftime("%d/%m/%Y"),
                       now=now.name, code=now.code)  # fmt: skip


def split_commune_line(former: FormerCommune, now: Sequence[Unit]) -> str:
    """An old commune divided between several of today's: which to write instead."""
    return _("Commune code {old} ({name}, before {date}) was divided between {communes}: write "
             "the code of the right one.").format(
        old=former.code, name=former.name, date=MERGED_ON.strftime("%d/%m/%Y"),
        communes=", ".join(f"{u.name} ({u.code})" for u in now),
    )  # fmt: skip


def grade_name(key: str) -> str:
    names = {
        "excellent": _("excellent"),
        "good": _("good"),
        "fair": _("fair"),
        "average": _("average"),
        "weak": _("weak"),
    }
    return names.get(key, key)


def week_label(week: str, start: date) -> str:
    """A week as people read it, by its dates ("tuần 23/11–29/11/2026"), never by its number;
    `week`, the stored key, stays for the callers."""
    return _("week {dates}").format(dates=span_text(start, start + timedelta(days=6)))


def values_line(values: Mapping[int, int], indicators: Sequence[Indicator], sign: str = "") -> str:
    by_id = {ind.id: ind for ind in indicators}
    parts = [
        f"{indicator_name(by_id[k].name_vi, by_id[k].name_en)} {sign}{number(v)}"
        for k, v in sorted(values.items(), key=lambda kv: by_id[kv[0]].position)
        if k in by_id
    ]
    return ", ".join(parts)


def progress(p: UnitProgress, *, warn_team: bool = False, week: str | None = None) -> Rich:
    """`warn_team`: flag a team outside the plan's size, for the leader and admins only;
    `week`: the figures are as they stood at the end of that week ("week 47 (16/11–22/11)")."""
    rich = Rich()
    if week is not None and p.households:
        rich.add("📊 ", fmt(_("Progress of {unit} ({households} households) at the end of {week}"),
                            unit=b(p.unit.name), households=number(p.households),
                            week=week))  # fmt: skip
    elif week is not None:
        rich.add("📊 ", fmt(_("Progress of {unit} at the end of {week}"), unit=b(p.unit.name),
                            week=week))  # fmt: skip
    elif p.households:
        rich.add(
            "📊 ",
            fmt(
                _("Progress of {unit} ({households} households)"),
                unit=b(p.unit.name),
                households=number(p.households),
            ),
        )
    else:
        rich.add("📊 ", fmt(_("Progress of {unit}"), unit=b(p.unit.name)))
    for item in p.items:
        name = indicator_name(item.indicator.name_vi, item.indicator.name_en)
        if item.indicator.kind == "households" and p.households:
            pct = item.percent or 0.0
            line = fmt(
                _("{name}: {done}/{households} households ({percent})"),
                name=b(name),
                done=number(item.done),
                households=number(p.households),
                percent=percent(pct),
            )
            if item.target is not None and item.needed is not None:
                if item.missing:
                    tail = fmt(
                        _(" — target {target} = {needed}, {missing} households still missing"),
                        target=percent(item.target),
                        needed=number(item.needed),
                        missing=b(number(item.missing)),
                    )
                else:
                    tail = fmt(_(" — target {target} reached ✅"), target=percent(item.target))
                line = line + tail
            rich.add("• ", line)
        elif item.indicator.kind == "count" and item.target:
            rich.add(
                "• ",
                fmt(
                    _("{name}: {done}/{target} (this week {week})")
                    if week is None
                    else _("{name}: {done}/{target} ({week} in the week)"),
                    name=b(name),
                    done=number(item.done),
                    target=number(item.target),
                    week=number(item.this_week),
                ),
            )
        else:
            rich.add(
                "• ",
                fmt(
                    _("{name}: {done} (this week {week})")
                    if week is None
                    else _("{name}: {done} ({week} in the week)"),
                    name=b(name),
                    done=number(item.done),
                    week=number(item.this_week),
                ),
            )
    if p.summed:
        rich.add(i(_("Targets and gaps here are the sums of the villages', each village with "
                     "the target in force for it; what one village does beyond its target "
                     "fills no other village's gap.")))  # fmt: skip
        if p.apart:
            rich.add(i(_("{count} villages work to a target other than the one in force here: "
                         "/chi_tieu shows which.").format(count=number(p.apart))))  # fmt: skip
    if p.households:
        rich.add(
            fmt(
                _("Score: {score} — {grade}"),
                score=b(number(p.score, "0.0")),
                grade=grade_name(p.grade),
            )
        )
    else:
        rich.add(
            i(_("No household count yet: an admin sets it with /so_ho 350 (or ho= in /lien_ket)."))
        )
    if p.team is not None:
        rich.extend(team(p, warn=warn_team))
    return rich


def focus(p: UnitProgress, *, reported: Sequence[Indicator] = ()) -> Line:
    """The one figure that matters now: where the household indicator just reported stands
    (of those reported, the one furthest from its target), else the indicator furthest from
    its target, with how many households are still missing."""
    if not p.households:
        return (
            Span("ℹ️ "),
            *fmt(_("No household count yet: an admin sets it with {example}."), example=b(
                "/so_ho 350")),
        )  # fmt: skip
    codes = {ind.code for ind in reported}
    mine = [
        item
        for item in p.items
        if item.indicator.code in codes and item.indicator.kind == "households" and item.needed
    ]
    behind = [item for item in mine if item.missing]
    if mine and not behind:
        done = mine[0]
        return (
            Span("🎉 "),
            *fmt(
                _("{name}: {done}/{households} households, the target {target} is reached"),
                name=b(indicator_name(done.indicator.name_vi, done.indicator.name_en)),
                done=number(done.done),
                households=number(p.households),
                target=percent(done.target or 0),
            ),
        )
    if not behind:
        behind = [
            item
            for item in p.items
            if item.indicator.kind == "households" and item.needed and item.missing
        ]
    if not behind:
        if any(item.target for item in p.items):
            return (Span("🎉 "), Span(_("Every target is reached.")))
        return (Span("📊 "), *fmt(_("Score: {score}"), score=b(number(p.score, "0.0"))))
    worst = min(behind, key=lambda item: item.done / (item.needed or 1))
    return (
        Span("📊 "),
        *fmt(
            _("{name}: {done}/{households} households, {missing} more to reach {target}"),
            name=b(indicator_name(worst.indicator.name_vi, worst.indicator.name_en)),
            done=number(worst.done),
            households=number(p.households),
            missing=b(number(worst.missing or 0)),
            target=percent(worst.target or 0),
        ),
    )


def thanks(seed: int) -> str:
    """A word of thanks that does not repeat the same sentence every time."""
    words = (
        _("Thank you!"),
        _("Well done!"),
        _("Good work, keep it up!"),
        _("Thanks for the report!"),
        _("Nicely done!"),
    )
    return words[seed % len(words)]


def change_line(
    before: Mapping[int, int], after: Mapping[int, int], indicators: Sequence[Indicator]
) -> str:
    """ "Hộ được hướng dẫn 6 → 8" for each figure a correction changes."""
    by_id = {ind.id: ind for ind in indicators}
    parts = [
        f"{indicator_name(ind.name_vi, ind.name_en)} {number(before.get(k, 0))} → "
        f"{number(after.get(k, 0))}"
        for k, ind in sorted(by_id.items(), key=lambda kv: kv[1].position)
        if k is not None and before.get(k, 0) != after.get(k, 0)
    ]
    return ", ".join(parts) or _("no figure changes")


def _share(part: int, whole: int, goal: int | None) -> Line:
    line = fmt(
        _("{part}/{whole} ({percent})"),
        part=number(part),
        whole=number(whole),
        percent=percent(100.0 * part / whole if whole else 0.0),
    )
    if goal is not None:
        line += fmt(_(" — target {target}"), target=percent(goal))
    return line


def team(p: UnitProgress, *, warn: bool = False) -> Rich:
    t = p.team
    rich = Rich()
    if t is None:
        return rich
    low, high = t.size_range
    if p.unit.level == "village":
        size = fmt(
            _("Team: {count} members, {trained} trained (the plan asks for {low}–{high})"),
            count=number(t.members),
            trained=number(t.trained),
            low=low,
            high=high,
        )
        outside = not low <= t.members <= high  # none at all is a team still to gather
        rich.add("👥 ", size, " ⚠️" if warn and outside else "")
        return rich
    rich.add("👥 ", b(_("Villages with a team")), ": ", _share(t.villages_with_team, t.villages,
             t.villages_goal))  # fmt: skip
    rich.add("🎓 ", b(_("Members trained")), ": ", _share(t.trained, t.members, t.trained_goal))
    return rich


def board(bd: Board, *, top: int = BOARD_TOP) -> Rich:
    rich = Rich().add("🏆 ", fmt(_("Leaderboard — {scope}"), scope=b(bd.scope.name)))
    if not bd.rows:
        rich.add(_("No units to rank yet."))
        return rich.extend(unteamed(bd, top=top))
    shown = bd.rows[:top]
    own = [r for r in bd.rows[top:] if r.unit.id == bd.own_unit_id]
    for row in shown + own:
        if own and row is own[0]:
            rich.add("…")
        label = f"{row.rank}. {row.unit.name}"
        score_text = _("{score} points ({grade})").format(
            score=number(row.score, "0.0"), grade=grade_name(row.grade)
        )
        if row.unit.id == bd.own_unit_id:
            rich.add("👉 ", b(label), " — ", b(score_text))
        else:
            rich.add(label, " — ", score_text)
    hidden = len(bd.rows) - len(shown) - len(own)
    if hidden > 0:
        rich.add(i(_("… and {count} more").format(count=number(hidden))))
    rich.extend(unteamed(bd, top=top))
    return rich


def unteamed(bd: Board, *, top: int = BOARD_TOP) -> Rich:
    """The units without a team, after the ranked ones: named, never scored."""
    rich = Rich()
    shown = bd.unteamed[:top]
    own = [u for u in bd.unteamed[top:] if u.id == bd.own_unit_id]
    for unit in shown + own:
        if own and unit is own[0]:
            rich.add("…")
        if unit.id == bd.own_unit_id:
            rich.add("👉 ", b(unit.name), " — ", i(_("no team yet")))
        else:
            rich.add("– ", unit.name, " — ", i(_("no team yet")))
    hidden = len(bd.unteamed) - len(shown) - len(own)
    if hidden > 0:
        rich.add(i(_("… and {count} more without a team").format(count=number(hidden))))
    return rich
