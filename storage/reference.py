"""Reference data loaded on first start: the official unit list and the default indicators."""

from __future__ import annotations

import tomllib
from importlib import resources
from typing import Any

from sqlmodel import func, select
from sqlmodel.ext.asyncio.session import AsyncSession
from vietnam_provinces import Province, Ward

from storage.folding import unit_key
from storage.models import Indicator, Unit


def load_plan_file(name: str = "national.toml") -> dict[str, Any]:
    with (resources.files("storage") / "plans" / name).open("rb") as fh:
        return tomllib.load(fh)


async def ensure_reference_data(session: AsyncSession) -> None:
    """Idempotent: loads what is missing; of what exists, only the national indicators'
    aliases grow (never shrink) to the release's list."""
    await _ensure_units(session)
    await _ensure_indicators(session)


async def _ensure_units(session: AsyncSession) -> None:
    count = (
        await session.exec(select(func.count()).select_from(Unit).where(Unit.level == "province"))
    ).one()
    if count:
        return
    provinces: dict[int, Unit] = {}
    for p in sorted(Province.iter_all(), key=lambda p: int(p.code)):
        unit = Unit(
            level="province", code=str(int(p.code)), name=p.name, name_key=unit_key(p.name)
        )
        provinces[int(p.code)] = unit
        session.add(unit)
    await session.flush()
    communes: list[Unit] = []
    for w in sorted(Ward.iter_all(), key=lambda w: int(w.code)):
        parent = provinces[int(w.province_code)]
        communes.append(
            Unit(
                parent_id=parent.id,
                level="commune",
                code=str(int(w.code)),
                name=w.name,
                name_key=unit_key(w.name),
            )
        )
    session.add_all(communes)
    await session.flush()
    for unit in provinces.values():
        unit.path = f"/{unit.id}/"
    by_id = {u.id: u for u in provinces.values()}
    for unit in communes:
        assert unit.parent_id is not None  # noqa: S101 (set just above)
        unit.path = f"{by_id[unit.parent_id].path}{unit.id}/"
    await session.flush()


async def _ensure_indicators(session: AsyncSession) -> None:
    existing = set((await session.exec(select(Indicator.code))).all())
    plan = load_plan_file()
    rows = {ind.code: ind for ind in (await session.exec(select(Indicator))).all()}
    for position, spec in enumerate(plan["indicators"]):
        if spec["code"] in existing:
            # A newer release may know more ways people write an indicator: add those, keep
            # every alias a deployment has (a province's plan may have added its own).
            row = rows[spec["code"]]
            known = [a for a in row.aliases.splitlines() if a]
            added = [a for a in spec.get("aliases", []) if a not in known]
            if added:
                row.aliases = "\n".join(known + added)
            continue
        session.add(
            Indicator(
                code=spec["code"],
                name_vi=spec["name_vi"],
                name_en=spec["name_en"],
                kind=spec["kind"],
                aliases="\n".join(spec.get("aliases", [])),
                position=position,
                default_target=spec.get("target"),
                weight=float(spec.get("weight", 1.0)),
            )
        )
    await session.flush()
