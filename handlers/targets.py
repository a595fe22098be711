"""`/chi_tieu` and `/lich`: targets and schedules, set on a unit and inherited below it."""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import cache

from handlers import roles
from handlers.admin import denied
from handlers.config_grammar import JOB_KEYS, JOBS, When, parse_schedule, parse_targets, parse_when
from handlers.context import Ctx, indicator_name
from handlers.grammar import Problem
from handlers.i18n import _
from handlers.incoming import Answer, Button, Buttons, Reply
from handlers.problems import describe
from handlers.progress import own_targets, target_for
from handlers.report import matcher_for, not_linked
from handlers.richtext import Rich, b, code, fmt, i
from handlers.views import number
from storage import config, units
from storage.models import Indicator, Schedule, Unit
from storage.reference import load_plan_file

TARGETS_EXAMPLE = "/chi_tieu app=60 cks=40"
SCHEDULE_EXAMPLE = "/lich nhac=thu6 16:00 tong_hop=thu2 07:30 xep_hang=thu2 08:00"


@cache
def default_schedule() -> dict[str, When]:
    """The national plan's times, for units where nobody set any."""
    spec = load_plan_file()["schedule"]
    out: dict[str, When] = {}
    for written, value in spec.items():
        when = parse_when(value)
        if written not in JOB_KEYS or when is None:
            raise ValueError(f"national.toml: bad schedule entry {written} = {value!r}")
        out[JOB_KEYS[written]] = when
    missing = set(JOBS) - set(out)
    if missing:
        raise ValueError(f"national.toml: no time for {', '.join(sorted(missing))}")
    return out


def resolve_schedule(
    unit: units.Placed, rows: Sequence[Schedule]
) -> dict[str, tuple[When, int | None]]:
    """Job -> (time, id of the unit that set it, or None for the default): the nearest unit
    up the tree that set a time wins. `rows` may hold other units' rows too."""
    ids = units.path_ids(unit)
    out: dict[str, tuple[When, int | None]] = {
        job: (when, None) for job, when in default_schedule().items()
    }
    mine = [r for r in rows if r.unit_id in ids]
    for row in sorted(mine, key=lambda r: ids.index(r.unit_id)):  # nearest last, so it wins
        out[row.job] = (When(row.weekday, row.minute), row.unit_id)
    return out


async def effective_schedule(ctx: Ctx, unit: Unit) -> dict[str, tuple[When, Unit | None]]:
    """Job -> (time, the unit that set it, or None for the default)."""
    ids = units.path_ids(unit)
    rows = await config.schedule_rows(ctx.session, unit_ids=ids)
    chain = {u.id: u for u in await units.by_ids(ctx.session, ids=ids)}
    return {
        job: (when, chain.get(source) if source is not None else None)
        for job, (when, source) in resolve_schedule(unit, rows).items()
    }


def day_name(weekday: int) -> str:
    names = [_("Monday"), _("Tuesday"), _("Wednesday"), _("Thursday"), _("Friday"),
             _("Saturday"), _("Sunday")]  # fmt: skip
    return names[weekday]


def job_name(job: str) -> str:
    return {
        "reminders": _("Reminder"),
        "summaries": _("Leader summary"),
        "leaderboards": _("Leaderboard"),
        "digest": _("Commune digest for its admins"),
    }[job]


def _source(here: Unit, source: Unit | None) -> str:
    if source is None:
        return _("default")
    if source.id == here.id:
        return _("set here")
    return _("inherited from {unit}").format(unit=source.name)


# "/chi_tieu app=65 tat_ca": the unit's target for every unit below it too (those that set
# their own go back to inheriting it).
_ALL = re.compile(r"(?<![\w=])(?:t[aấ]t[_ ]+c[aả]|all)(?![\w=])", re.IGNORECASE)
PRESS = "ct:"  # "ct:<unit id>:<code>.<code>": the unit's targets for these, to every unit below
_SHOWN_BELOW = 10


def split_all(args: str) -> tuple[str, bool]:
    """The arguments without the word `tat_ca` ("tất cả", "all"), and whether it was there.
    The rest is left as typed: what it holds is for the grammar to judge."""
    if not _ALL.search(args):
        return args, False
    return " ".join(_ALL.sub(" ", args).split()), True


def _shown(ind: Indicator, value: int) -> str:
    return f"{value}%" if ind.kind == "households" else str(value)


async def targets(ctx: Ctx) -> list[Reply]:
    unit = await ctx.unit()
    if unit is None or unit.id is None:
        return ctx.reply(not_linked(ctx))
    indicators = await config.indicators_for(ctx.session, unit=unit)
    notice: Rich | None = None
    buttons: Buttons = ()
    if ctx.args.strip():
        if not await roles.is_admin_of(ctx, unit):
            return ctx.reply(denied())
        args, to_all = split_all(ctx.args)
        by_code = {ind.code: ind for ind in indicators}
        wanted: dict[str, int | None] | Problem = {}
        if args or not to_all:
            wanted = parse_targets(args, matcher_for(indicators))
        if isinstance(wanted, Problem):
            return ctx.reply(
                describe(
                    wanted, example=TARGETS_EXAMPLE, indicator_codes=[i.code for i in indicators]
                )
            )
        for key, value in wanted.items():
            if value is not None and value > 100 and by_code[key].kind == "households":
                return ctx.reply(
                    describe(
                        Problem("target_range", {"key": key, "value": str(value)}),
                        example=TARGETS_EXAMPLE,
                    )
                )
        own = {t.indicator_id: t for t in await config.targets_at(ctx.session, unit_ids=[unit.id])}
        for key, value in wanted.items():
            ind = by_code[key]
            assert ind.id is not None  # noqa: S101 (stored)
            before = own.get(ind.id)
            await config.set_target(
                ctx.session, unit_id=unit.id, indicator_id=ind.id, percent=value
            )
            await ctx.audit(
                "target",
                unit_id=unit.id,
                before=f"{key}={before.percent}" if before is not None else f"{key}=-",
                after=f"{key}={value}" if value is not None else f"{key}=-",
            )
        # `tat_ca` alone: every target in force here, to every unit below.
        chosen = [by_code[c] for c in wanted] if wanted else list(indicators)
        if to_all:
            notice = _applied(unit, await _clear_below(ctx, unit, chosen))
        else:
            given = [ind for ind in chosen if wanted.get(ind.code) is not None]
            notice, buttons = await _kept_below(ctx, unit, given, wanted)
    rich = await _targets_view(ctx, unit)
    if notice is not None and notice.lines:
        rich.blank().extend(notice)
    return [Reply(rich, quote=not ctx.is_private, buttons=buttons)]


async def _kept_below(
    ctx: Ctx, unit: Unit, chosen: Sequence[Indicator], wanted: dict[str, int | None]
) -> tuple[Rich, Buttons]:
    """After a target is set: the units below that keep their own for it (the unit's figures
    add each of them up with its own), and how to give them this one."""
    ids = [ind.id for ind in chosen if ind.id is not None]
    kept = await config.targets_below(ctx.session, scope=unit, indicator_ids=ids)
    rich = Rich()
    if not kept:
        return rich, ()
    by_id = {ind.id: ind for ind in chosen}
    names = list(dict.fromkeys(below.name for _t, below in kept))
    listed = ", ".join(names[:_SHOWN_BELOW])
    if len(names) > _SHOWN_BELOW:
        listed += " " + _("… and {count} more").format(count=number(len(names) - _SHOWN_BELOW))
    rich.add(
        "ℹ️ ",
        fmt(
            _("{names} keep their own target (shown above): the figures of {unit} add up each "
              "of them with its own."),
            names=b(listed),
            unit=unit.name,
        ),
    )  # fmt: skip
    codes = [by_id[t.indicator_id].code for t, _u in kept]
    codes = list(dict.fromkeys(codes))
    line = " ".join(f"{c}={wanted[c]}" for c in codes if wanted.get(c) is not None)
    example = f"/chi_tieu {line} tat_ca"
    rich.add(fmt(_("To give all of them this target: {example}"), example=code(example)))
    data = f"{PRESS}{unit.id}:{'.'.join(codes)}"
    if not ctx.msg.buttons or len(data.encode()) > 64:
        return rich, ()
    return rich, ((Button("✅ " + _("Apply to all"), data),),)


async def _clear_below(
    ctx: Ctx, unit: Unit, chosen: Sequence[Indicator]
) -> list[tuple[Unit, Indicator, int]]:
    """Every unit below that set its own target for these goes back to inheriting; each
    change audited like any other. Returns what was removed."""
    assert unit.id is not None  # noqa: S101 (stored)
    by_id = {ind.id: ind for ind in chosen}
    ids = [ind_id for ind_id in by_id if ind_id is not None]
    kept = await config.targets_below(ctx.session, scope=unit, indicator_ids=ids)
    removed: list[tuple[Unit, Indicator, int]] = []
    for target, below in kept:
        assert below.id is not None  # noqa: S101 (stored)
        ind = by_id[target.indicator_id]
        await config.set_target(
            ctx.session, unit_id=below.id, indicator_id=target.indicator_id, percent=None
        )
        await ctx.audit(
            "target",
            unit_id=below.id,
            before=f"{ind.code}={target.percent}",
            after=f"{ind.code}=-",
        )
        removed.append((below, ind, target.percent))
    return removed


def _applied(unit: Unit, removed: Sequence[tuple[Unit, Indicator, int]]) -> Rich:
    rich = Rich()
    if not removed:
        return rich.add("✅ ", fmt(_("No unit under {unit} had a target of its own."),
                                   unit=b(unit.name)))  # fmt: skip
    names = list(dict.fromkeys(below.name for below, _ind, _value in removed))
    shown = ", ".join(names[:_SHOWN_BELOW])
    if len(names) > _SHOWN_BELOW:
        shown += " " + _("… and {count} more").format(count=number(len(names) - _SHOWN_BELOW))
    return rich.add(
        "✅ ",
        fmt(
            _("The targets of {unit} now hold for every unit under it: {names} no longer keep "
              "their own."),
            unit=b(unit.name),
            names=shown,
        ),
    )  # fmt: skip


async def on_press(ctx: Ctx) -> list[Reply]:
    """ "Apply to all" under a target just set: the unit's targets for those indicators, to
    every unit below, by an admin of the unit."""
    press = ctx.msg.press_id
    assert press is not None  # noqa: S101 (a press)
    message = ctx.msg.message_key.rsplit(":", 1)[-1]
    found = re.fullmatch(r"(\d{1,12}):([\w.]+)", ctx.args.removeprefix(PRESS))
    unit = await units.get(ctx.session, unit_id=int(found[1])) if found else None
    if found is None or unit is None:
        return [Reply(Rich(), answer=Answer(press))]
    if not await roles.is_admin_of(ctx, unit):
        return [Reply(Rich(), answer=Answer(press, denied().plain()[:200], alert=True))]
    indicators = await config.indicators_for(ctx.session, unit=unit)
    codes = set(found[2].split("."))
    chosen = [ind for ind in indicators if ind.code in codes]
    rich = await _targets_view(ctx, unit)
    rich.blank().extend(_applied(unit, await _clear_below(ctx, unit, chosen)))
    return [
        Reply(Rich(), answer=Answer(press, _("Applied to all"))),
        Reply(rich, quote=False, edit=message),
    ]


async def _targets_view(ctx: Ctx, unit: Unit) -> Rich:
    indicators = await config.indicators_for(ctx.session, unit=unit)
    own = await own_targets(ctx.session, unit_ids=units.path_ids(unit))
    chain = {u.id: u for u in await units.by_ids(ctx.session, ids=units.path_ids(unit))}
    below: dict[int, list[str]] = {}
    by_id = {ind.id: ind for ind in indicators}
    for target, kept in await config.targets_below(ctx.session, scope=unit):
        if target.indicator_id in by_id:
            shown = _shown(by_id[target.indicator_id], target.percent)
            below.setdefault(target.indicator_id, []).append(f"{kept.name} ({shown})")
    rich = Rich().add("🎯 ", fmt(_("Targets of {unit}"), unit=b(unit.name)))
    for ind in indicators:
        value, _weight, source_id = target_for(unit, ind, own)
        name = indicator_name(ind.name_vi, ind.name_en)
        source = _source(unit, chain.get(source_id) if source_id is not None else None)
        if not value:
            shown = _("no target")
        elif ind.kind == "households":
            shown = _("{percent}% of households").format(percent=value)
        else:
            shown = str(value)
        rich.add("• ", b(name), f" ({ind.code}): {shown} — ", i(source))
        apart = below.get(ind.id or 0, [])
        if apart:
            listed = ", ".join(apart[:_SHOWN_BELOW])
            if len(apart) > _SHOWN_BELOW:
                more = len(apart) - _SHOWN_BELOW
                listed += " " + _("… and {count} more").format(count=number(more))
            rich.add("   ", i(_("own target kept by: {units}").format(units=listed)))
    rich.add(
        i(
            _("Change with {example}; app=mac_dinh returns to the inherited target.").format(
                example=TARGETS_EXAMPLE
            )
        )
    )
    return rich


async def schedule(ctx: Ctx) -> list[Reply]:
    unit = await ctx.unit()
    if unit is None or unit.id is None:
        return ctx.reply(not_linked(ctx))
    if ctx.args.strip():
        if not await roles.is_admin_of(ctx, unit):
            return ctx.reply(denied())
        wanted = parse_schedule(ctx.args)
        if isinstance(wanted, Problem):
            return ctx.reply(describe(wanted, example=SCHEDULE_EXAMPLE))
        current = await effective_schedule(ctx, unit)
        for job, when in wanted.items():
            await config.set_schedule(
                ctx.session,
                unit_id=unit.id,
                job=job,
                weekday=when.weekday if when else None,
                minute=when.minute if when else None,
            )
        # Logged as the times in force before and after: a time set to what it already was
        # (or put back to the inherited one it equals) changes nothing and is not logged.
        changed = await effective_schedule(ctx, unit)
        for job in wanted:
            (old, _src), (new, _now) = current[job], changed[job]
            await ctx.audit(
                "schedule",
                unit_id=unit.id,
                before=f"{job}={old.weekday}@{old.label()}",
                after=f"{job}={new.weekday}@{new.label()}",
            )
    rich = Rich().add("🗓️ ", fmt(_("Schedule of {unit}"), unit=b(unit.name)))
    for job, (when, source) in (await effective_schedule(ctx, unit)).items():
        if job == "digest" and unit.level == "village":
            continue  # a commune's, for its admins: nothing a village's chat sends
        rich.add(
            "• ",
            b(job_name(job)),
            f": {day_name(when.weekday)} {when.label()} — ",
            i(_source(unit, source)),
        )
    rich.add(i(_("Change with {example}").format(example=SCHEDULE_EXAMPLE)))
    return ctx.reply(rich)
