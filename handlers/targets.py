"""`/chi_tieu` and `/lich`: targets and schedules, set on a unit and inherited below it."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache

from handlers import roles
from handlers.admin import denied
from handlers.config_grammar import JOB_KEYS, JOBS, When, parse_schedule, parse_targets, parse_when
from handlers.context import Ctx, indicator_name
from handlers.grammar import Problem
from handlers.i18n import _
from handlers.incoming import Reply
from handlers.problems import describe
from handlers.progress import own_targets, target_for
from handlers.report import matcher_for, not_linked
from handlers.richtext import Rich, b, fmt, i
from storage import config, units
from storage.models import Schedule, Unit
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


async def targets(ctx: Ctx) -> list[Reply]:
    unit = await ctx.unit()
    if unit is None or unit.id is None:
        return ctx.reply(not_linked(ctx))
    indicators = await config.indicators_for(ctx.session, unit=unit)
    if ctx.args.strip():
        if not await roles.is_admin_of(ctx, unit):
            return ctx.reply(denied())
        wanted = parse_targets(ctx.args, matcher_for(indicators))
        if isinstance(wanted, Problem):
            return ctx.reply(
                describe(
                    wanted, example=TARGETS_EXAMPLE, indicator_codes=[i.code for i in indicators]
                )
            )
        by_code = {ind.code: ind for ind in indicators}
        for code, value in wanted.items():
            if value is not None and value > 100 and by_code[code].kind == "households":
                return ctx.reply(
                    describe(
                        Problem("target_range", {"key": code, "value": str(value)}),
                        example=TARGETS_EXAMPLE,
                    )
                )
        own = {t.indicator_id: t for t in await config.targets_at(ctx.session, unit_ids=[unit.id])}
        for code, value in wanted.items():
            ind = by_code[code]
            assert ind.id is not None  # noqa: S101 (stored)
            before = own.get(ind.id)
            await config.set_target(
                ctx.session, unit_id=unit.id, indicator_id=ind.id, percent=value
            )
            await ctx.audit(
                "target",
                unit_id=unit.id,
                before=f"{code}={before.percent}" if before is not None else f"{code}=-",
                after=f"{code}={value}" if value is not None else f"{code}=-",
            )
    return ctx.reply(await _targets_view(ctx, unit))


async def _targets_view(ctx: Ctx, unit: Unit) -> Rich:
    indicators = await config.indicators_for(ctx.session, unit=unit)
    own = await own_targets(ctx.session, unit_ids=units.path_ids(unit))
    chain = {u.id: u for u in await units.by_ids(ctx.session, ids=units.path_ids(unit))}
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
