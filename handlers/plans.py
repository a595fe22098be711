"""Plans as data: a province's indicators, targets, weights, grades, team sizes and schedule in
a TOML file, validated with pydantic and applied to a unit (`tcns plan apply FILE --unit CODE`).

A refused plan names its file, the line and the reason, so whoever edits it can fix it.
"""

from __future__ import annotations

import functools
import json
import re
import tomllib
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from sqlmodel.ext.asyncio.session import AsyncSession

from handlers.config_grammar import JOB_KEYS, parse_when
from storage import config, people, units
from storage.models import Indicator, PlanApplication, Unit
from storage.reference import load_plan_file

GRADE_KEYS = ("xuat_sac", "tot", "kha", "trung_binh")
# The grade keys of plans, as scoring and the catalogues name them.
GRADE_NAMES = {"xuat_sac": "excellent", "tot": "good", "kha": "fair", "trung_binh": "average"}


class PlanError(Exception):
    def __init__(self, file: str, line: int, reason: str) -> None:
        super().__init__(f"{file}:{line}: {reason}")
        self.file, self.line, self.reason = file, line, reason


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class IndicatorSpec(_Strict):
    code: str = Field(pattern=r"^[a-z][a-z0-9_]{0,31}$")
    name_vi: str | None = Field(default=None, min_length=1, max_length=200)
    name_en: str | None = Field(default=None, min_length=1, max_length=200)
    kind: Literal["households", "count"] | None = None
    aliases: list[str] = Field(default_factory=list)
    # Percent of households for a household indicator; a plain count for a count indicator.
    target: int | None = Field(default=None, ge=0, le=100_000)
    weight: float | None = Field(default=None, gt=0, le=100)

    @model_validator(mode="after")
    def _new_needs_names(self) -> IndicatorSpec:
        given = [self.name_vi is not None, self.name_en is not None, self.kind is not None]
        if any(given) and not all(given):
            raise ValueError("a new indicator needs name_vi, name_en and kind together")
        if self.kind == "households" and self.target is not None and self.target > 100:
            raise ValueError(f"target {self.target} is a share of households: 0 to 100")
        return self


class TeamSpec(_Strict):
    min_size: int = Field(default=4, ge=1, le=100)
    max_size: int = Field(default=8, ge=1, le=100)
    villages_with_team: int | None = Field(default=None, ge=0, le=100)
    members_trained: int | None = Field(default=None, ge=0, le=100)

    @model_validator(mode="after")
    def _ordered(self) -> TeamSpec:
        if self.min_size > self.max_size:
            raise ValueError(f"min_size {self.min_size} is above max_size {self.max_size}")
        return self


class GradeSpec(_Strict):
    xuat_sac: float = Field(default=90, ge=0, le=100)
    tot: float = Field(default=80, ge=0, le=100)
    kha: float = Field(default=65, ge=0, le=100)
    trung_binh: float = Field(default=50, ge=0, le=100)

    @model_validator(mode="after")
    def _descending(self) -> GradeSpec:
        values = [getattr(self, k) for k in GRADE_KEYS]
        if values != sorted(values, reverse=True):
            raise ValueError("grades must go down: xuat_sac ≥ tot ≥ kha ≥ trung_binh")
        return self

    def as_pairs(self) -> list[tuple[float, str]]:
        pairs = [(float(getattr(self, k)), GRADE_NAMES[k]) for k in GRADE_KEYS]
        return [*pairs, (0.0, "weak")]


class ScheduleSpec(_Strict):
    reminder: str | None = None
    summary: str | None = None
    leaderboard: str | None = None
    digest: str | None = None

    @field_validator("reminder", "summary", "leaderboard", "digest")
    @classmethod
    def _when(cls, value: str | None) -> str | None:
        if value is not None and parse_when(value) is None:
            raise ValueError(f"{value!r} is not a day and time such as 'thu6 16:00'")
        return value


class Plan(_Strict):
    name: str = Field(min_length=1, max_length=300)
    source: str | None = Field(default=None, max_length=300)
    notes: str | None = None
    schedule: ScheduleSpec | None = None
    team: TeamSpec = Field(default_factory=TeamSpec)
    grades: GradeSpec = Field(default_factory=GradeSpec)
    indicators: list[IndicatorSpec] = Field(default_factory=list)


# --- loading -------------------------------------------------------------------------------

_TOML_LINE = re.compile(r"line (\d+)")


def key_lines(text: str) -> dict[tuple[str | int, ...], int]:
    """Where each table, array item and key starts: ("indicators", 2, "target") -> line."""
    positions: dict[tuple[str | int, ...], int] = {}
    counters: dict[str, int] = {}
    current: tuple[str | int, ...] = ()
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if line.startswith("[["):
            name = line[2 : line.find("]]")].strip()
            counters[name] = counters.get(name, -1) + 1
            current = (name, counters[name])
            positions[current] = number
        elif line.startswith("["):
            current = tuple(line[1 : line.find("]")].strip().split("."))
            positions[current] = number
        elif "=" in line and not line.startswith("#"):
            positions[(*current, line.split("=", 1)[0].strip().strip("\"'"))] = number
    return positions


def _line_of(text: str, loc: tuple[str | int, ...]) -> int:
    positions = key_lines(text)
    for cut in range(len(loc), 0, -1):
        if loc[:cut] in positions:
            return positions[loc[:cut]]
    return 1


def shipped_plans() -> list[str]:
    folder = resources.files("storage") / "plans"
    return sorted(
        p.name.removesuffix(".toml") for p in folder.iterdir() if p.name.endswith(".toml")
    )


def read_plan_text(ref: str) -> tuple[str, str]:
    """(label, text) of a plan file given by path, or by the name of a shipped plan."""
    path = Path(ref)
    if path.is_file():
        return str(path), path.read_text(encoding="utf-8")
    shipped = resources.files("storage") / "plans" / f"{ref.removesuffix('.toml')}.toml"
    if shipped.is_file():
        return f"plans/{shipped.name}", shipped.read_text(encoding="utf-8")
    raise PlanError(
        ref, 0, f"no such file, nor a shipped plan (shipped: {', '.join(shipped_plans())})"
    )


def parse_plan(label: str, text: str) -> Plan:
    try:
        data: dict[str, Any] = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        m = _TOML_LINE.search(str(exc))
        raise PlanError(label, int(m.group(1)) if m else 1, f"not valid TOML: {exc}") from exc
    try:
        plan = Plan.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = tuple(first["loc"])
        where = ".".join(f"[{p}]" if isinstance(p, int) else str(p) for p in loc).replace(
            ".[", "["
        )
        reason = first["msg"].removeprefix("Value error, ")
        raise PlanError(
            label, _line_of(text, loc), f"{where}: {reason}" if where else reason
        ) from exc
    seen: set[str] = set()
    for index, spec in enumerate(plan.indicators):
        if spec.code in seen:
            line = _line_of(text, ("indicators", index, "code"))
            raise PlanError(label, line, f"indicators[{index}].code: {spec.code!r} appears twice")
        seen.add(spec.code)
        # A national indicator's target, named by its code only: its kind is the nation's.
        kind = spec.kind or _NATIONAL_KINDS().get(spec.code)
        if kind == "households" and spec.target is not None and spec.target > 100:
            line = _line_of(text, ("indicators", index, "target"))
            raise PlanError(
                label,
                line,
                f"indicators[{index}].target: {spec.target} is a share of households: 0 to 100",
            )
    return plan


@functools.cache
def _NATIONAL_KINDS() -> dict[str, str]:
    return {i["code"]: i["kind"] for i in load_plan_file()["indicators"]}


def load_plan(ref: str) -> tuple[str, str, Plan]:
    label, text = read_plan_text(ref)
    return label, text, parse_plan(label, text)


# --- applying ------------------------------------------------------------------------------


async def resolve_unit(session: AsyncSession, ref: str) -> Unit:
    """`tinh:48`, `xa:20791`, a village code `20791-3`, or a bare code when it is unambiguous."""
    level_of = {"tinh": "province", "xa": "commune", "thon": "village"}
    prefix, _, code = ref.partition(":")
    levels = [level_of[prefix]] if code and prefix in level_of else list(level_of.values())
    code = code if code and prefix in level_of else ref
    found: list[Unit] = []
    for level in levels:
        found += await units.by_code(session, level=level, code=code)
    if not found and "province" in levels:
        now, former = await units.find_province(session, query=code)
        if former is not None and now:
            raise LookupError(
                f"{former.name} (code {former.code}) has been part of {now[0].name} "
                f"(tinh:{now[0].code}) since 01/07/2025"
            )
    if not found:
        raise LookupError(f"no unit with code {ref!r}")
    if len(found) > 1:
        names = ", ".join(f"{u.level} {u.name}" for u in found)
        raise LookupError(f"code {ref!r} is ambiguous ({names}); write tinh:{code} or xa:{code}")
    return found[0]


async def apply_plan(
    session: AsyncSession, *, plan: Plan, label: str, text: str, unit: Unit, actor: str
) -> list[str]:
    """Writes the plan's indicators, targets and schedule at `unit`; returns what it did."""
    assert unit.id is not None  # noqa: S101 (stored)
    done: list[str] = []
    existing = {i.code: i for i in await config.all_indicators(session)}
    positions = key_lines(text)
    for index, spec in enumerate(plan.indicators):
        ind = existing.get(spec.code)
        if ind is None:
            if spec.kind is None or spec.name_vi is None or spec.name_en is None:
                line = positions.get(("indicators", index, "code"), 1)
                raise PlanError(
                    label,
                    line,
                    f"indicators[{index}]: {spec.code!r} is not a known indicator; "
                    "a new one needs name_vi, name_en and kind",
                )
            ind = await config.add_indicator(
                session,
                indicator=Indicator(
                    code=spec.code,
                    name_vi=spec.name_vi,
                    name_en=spec.name_en,
                    kind=spec.kind,
                    aliases="\n".join(spec.aliases),
                    position=100 + index,
                    scope_unit_id=unit.id,
                ),
            )
            done.append(f"new indicator {spec.code} ({spec.kind}) for this unit and below")
        elif spec.kind is not None and spec.kind != ind.kind:
            line = positions.get(("indicators", index, "kind"), 1)
            raise PlanError(
                label, line, f"indicators[{index}]: {spec.code!r} is a {ind.kind} indicator"
            )
        if ind.kind == "households" and spec.target is not None and spec.target > 100:
            line = positions.get(("indicators", index, "target"), 1)
            raise PlanError(
                label,
                line,
                f"indicators[{index}].target: {spec.target} is a share of households: 0 to 100",
            )
    own = {t.indicator_id: t for t in await config.targets_at(session, unit_ids=[unit.id])}
    by_code = {i.code: i for i in await config.all_indicators(session)}
    planned = {spec.code for spec in plan.indicators if spec.target is not None}
    for ind_id in list(own):
        code = next((c for c, i in by_code.items() if i.id == ind_id), None)
        if code not in planned:
            await config.set_target(session, unit_id=unit.id, indicator_id=ind_id, percent=None)
    for spec in plan.indicators:
        if spec.target is None:
            continue
        ind = by_code[spec.code]
        assert ind.id is not None  # noqa: S101 (stored)
        await config.set_target(
            session, unit_id=unit.id, indicator_id=ind.id, percent=spec.target, weight=spec.weight
        )
        done.append(
            f"target {spec.code} = {spec.target}" + ("%" if ind.kind == "households" else "")
        )
    if plan.schedule is not None:
        for written in ("reminder", "summary", "leaderboard", "digest"):
            value = getattr(plan.schedule, written)
            job = JOB_KEYS[written]
            when = parse_when(value) if value else None
            if when is not None:
                await config.set_schedule(
                    session, unit_id=unit.id, job=job, weekday=when.weekday, minute=when.minute
                )
                done.append(f"schedule {job} = {value}")
    await config.save_plan_application(
        session,
        application=PlanApplication(
            unit_id=unit.id,
            name=plan.name,
            source=label,
            grades=json.dumps(plan.grades.as_pairs()),
            team_min=plan.team.min_size,
            team_max=plan.team.max_size,
            villages_with_team=plan.team.villages_with_team,
            members_trained=plan.team.members_trained,
        ),
    )
    done.append(
        f"team size {plan.team.min_size}–{plan.team.max_size}, grades "
        + ", ".join(f"{name} ≥ {floor:g}" for floor, name in plan.grades.as_pairs() if floor)
    )
    await people.audit(session, actor_id=actor, action="plan", unit_id=unit.id, after=plan.name)
    return done


async def unit_label(session: AsyncSession, unit: Unit) -> str:
    chain = await units.by_ids(session, ids=units.path_ids(unit))
    by_id = {u.id: u.name for u in chain}
    return ", ".join(by_id[i] for i in reversed(units.path_ids(unit)) if i in by_id)
