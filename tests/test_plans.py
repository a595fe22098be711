"""Plans: each shipped one applies cleanly; a broken one is refused with file, line and reason."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlmodel import select

from handlers.incoming import Deps
from handlers.plans import PlanError, apply_plan, load_plan, resolve_unit, shipped_plans
from storage import config, db
from storage.models import Indicator, PlanApplication, Target

WHERE = {
    "national": "tinh:1",
    "quang_nam_3220_2024": "tinh:48",
    "hau_giang_124_2022": "tinh:92",
    "quang_tri_115_2022": "tinh:44",
}


def test_every_shipped_plan_is_covered() -> None:
    assert sorted(WHERE) == shipped_plans()


@pytest.mark.parametrize("name", sorted(WHERE))
async def test_shipped_plan_applies(deps: Deps, name: str) -> None:
    label, text, plan = load_plan(name)
    async with db.transaction(deps.sessions) as session:
        unit = await resolve_unit(session, WHERE[name])
        await apply_plan(session, plan=plan, label=label, text=text, unit=unit, actor="test")
        # Applying twice is the same as once.
        await apply_plan(session, plan=plan, label=label, text=text, unit=unit, actor="test")
    async with deps.sessions() as session:
        applied = await session.get(PlanApplication, unit.id)
        assert applied is not None
        assert applied.name == plan.name
        assert applied.team_min == plan.team.min_size
        assert json.loads(applied.grades)[0] == [plan.grades.xuat_sac, "excellent"]
        targets = (await session.exec(select(Target).where(Target.unit_id == unit.id))).all()
        assert len(targets) == sum(1 for i in plan.indicators if i.target is not None)


async def test_plan_indicators_are_scoped_to_their_unit(deps: Deps) -> None:
    label, text, plan = load_plan("hau_giang_124_2022")
    async with db.transaction(deps.sessions) as session:
        can_tho = await resolve_unit(session, "tinh:92")
        await apply_plan(session, plan=plan, label=label, text=text, unit=can_tho, actor="t")
        inside = await resolve_unit(session, "xa:31150")  # a commune of Cần Thơ
        outside = await resolve_unit(session, "xa:20791")  # Thăng Bình, Đà Nẵng
        codes_in = {i.code for i in await config.indicators_for(session, unit=inside)}
        codes_out = {i.code for i in await config.indicators_for(session, unit=outside)}
    assert {"kns", "mo_hinh"} <= codes_in
    assert not {"kns", "mo_hinh"} & codes_out
    async with deps.sessions() as session:
        kns = (await session.exec(select(Indicator).where(Indicator.code == "kns"))).one()
        assert kns.kind == "households"


def test_plan_by_path(tmp_path: Path) -> None:
    path = tmp_path / "p.toml"
    path.write_text('name = "Thử"\n[team]\nmin_size = 5\nmax_size = 7\n', encoding="utf-8")
    label, _text, plan = load_plan(str(path))
    assert label == str(path)
    assert plan.team.min_size == 5


BROKEN = [
    ('name = "x"\nteam = 3\n', 2, "team: Input should be a valid dictionary"),
    (
        'name = "x"\n[team]\nmin_size = 9\nmax_size = 5\n',
        2,
        "team: min_size 9 is above max_size 5",
    ),
    (
        'name = "x"\n\n[[indicators]]\ncode = "ho"\n\n[[indicators]]\ncode = "app"\nweight = -1\n',
        8,
        "indicators[1].weight: Input should be greater than 0",
    ),
    (
        'name = "x"\n[[indicators]]\ncode = "Ho"\n',
        3,
        "indicators[0].code: String should match pattern",
    ),
    ('name = "x"\n[schedule]\nreminder = "thu9 16:00"\n', 3, "is not a day and time"),
    ('name = "x"\n[grades]\nxuat_sac = 50\ntot = 80\n', 2, "grades must go down"),
    ('name = "x"\ncolour = "blue"\n', 2, "colour: Extra inputs are not permitted"),
    ('name = "x\n', 1, "not valid TOML"),
    ("[team]\nmin_size = 4\n", 1, "name: Field required"),
    (
        'name = "x"\n[[indicators]]\ncode = "ho"\n[[indicators]]\ncode = "ho"\n',
        5,
        "indicators[1].code: 'ho' appears twice",
    ),
    # A national indicator's share named by its code only: refused by `tcns plan check` too.
    (
        'name = "x"\n[[indicators]]\ncode = "app"\ntarget = 150\n',
        4,
        "150 is a share of households",
    ),
]


@pytest.mark.parametrize(("text", "line", "reason"), BROKEN)
def test_broken_plan_is_refused_precisely(
    tmp_path: Path, text: str, line: int, reason: str
) -> None:
    path = tmp_path / "broken.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(PlanError) as caught:
        load_plan(str(path))
    assert caught.value.file == str(path)
    assert caught.value.line == line, str(caught.value)
    assert reason.replace("Value error, ", "") in caught.value.reason
    assert str(caught.value).startswith(f"{path}:{line}: ")


@pytest.mark.parametrize(
    ("text", "line", "reason"),
    [
        ('name = "x"\n[[indicators]]\ncode = "moi"\ntarget = 5\n', 3, "not a known indicator"),
        (
            'name = "x"\n[[indicators]]\ncode = "dvc"\nname_vi = "a"\nname_en = "b"\n'
            'kind = "households"\n',
            6,
            "is a count indicator",
        ),
    ],
)
async def test_plan_refused_at_apply_changes_nothing(
    deps: Deps, tmp_path: Path, text: str, line: int, reason: str
) -> None:
    path = tmp_path / "broken.toml"
    path.write_text(text, encoding="utf-8")
    label, body, plan = load_plan(str(path))

    async def apply() -> None:
        async with db.transaction(deps.sessions) as session:
            unit = await resolve_unit(session, "tinh:48")
            await apply_plan(session, plan=plan, label=label, text=body, unit=unit, actor="t")

    with pytest.raises(PlanError) as caught:
        await apply()
    assert caught.value.line == line
    assert reason in caught.value.reason
    async with deps.sessions() as session:
        assert (await session.exec(select(PlanApplication))).first() is None
        assert (await session.exec(select(Target))).first() is None


async def test_unit_references(deps: Deps) -> None:
    async with deps.sessions() as session:
        assert (await resolve_unit(session, "tinh:4")).name == "Cao Bằng"
        assert (await resolve_unit(session, "xa:4")).level == "commune"
        assert (await resolve_unit(session, "20791")).name == "Xã Thăng Bình"
        with pytest.raises(LookupError, match="ambiguous"):
            await resolve_unit(session, "4")
        with pytest.raises(LookupError, match="no unit"):
            await resolve_unit(session, "xa:99999")
