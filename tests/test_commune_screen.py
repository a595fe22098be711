"""A commune's first screen (issue 26): its villages, the ones behind first — score and grade,
who of the team reported this week and the week before, days since the last report, the weakest
indicator, "chưa có tổ" — on the dashboard and in the commune's `/tong_hop`. Every figure is
checked against what the test itself sent (the commune of tests/test_parent_sums.py)."""

from __future__ import annotations

from datetime import date, timedelta

from handlers import dashboard as dashboards
from handlers import i18n
from handlers.periods import week_start
from handlers.weblinks import Pass
from storage import units
from storage.folding import key
from tests.harness import Person
from tests.test_parent_sums import (
    ADMIN,
    CODES,
    LAN,
    NAMES,
    TEAMED,
    VILLAGES,
    Commune,
    _weeks_of_reports,
    at,
    n,
    pct,
    week_of,
)
from tests.test_parent_sums import commune as commune  # the fixture


def _members(c: Commune, village: str) -> set[str]:
    """Who is in the team: the leader made by reply, and everyone who reported there."""
    reporters = {who.id for name, who, _day, _v in _ledger(c) if name == village}
    return reporters | ({LAN.id} if village == "Thôn Hà Lam" else set())


def _ledger(c: Commune) -> list[tuple[str, Person, date, dict[str, int]]]:
    return SENT_BY[id(c)]


SENT_BY: dict[int, list[tuple[str, Person, date, dict[str, int]]]] = {}


async def _story(c: Commune) -> None:
    """The reports of tests/test_parent_sums.py, with who sent them kept as well."""
    sent: list[tuple[str, Person, date, dict[str, int]]] = []
    original = c.report

    async def report(village: str, who: Person, line: str) -> None:
        await original(village, who, line)
        _name, day, values = c.sent[-1]
        sent.append((village, who, day, values))

    c.report = report  # type: ignore[method-assign]
    SENT_BY[id(c)] = sent
    await _weeks_of_reports(c)


def _weakest(c: Commune, village: str, *, until: date | None = None) -> tuple[str, float] | None:
    gaps = []
    for code in CODES:
        needed, done = c.needed(village, code), c.done(village, code, until=until)
        if needed and done < needed:
            gaps.append((done / needed, done - needed, code))  # as far: the more short first
    if not gaps:
        return None
    ratio, _short, code = min(gaps)
    return NAMES[code], 100 * ratio


def _behind_first(c: Commune, *, until: date | None = None) -> list[str]:
    return sorted(TEAMED, key=lambda name: c.score(name, until=until))


async def test_the_communes_first_screen_shows_who_is_behind(commune: Commune) -> None:
    c = commune
    await _story(c)
    today = date(2026, 11, 26)  # a Thursday of week 48
    c.clock.now = at("2026-11-26T09:00")
    week, before = week_of(today), week_of(today - timedelta(days=7))
    async with c.deps.sessions() as session:
        [commune_unit] = await units.by_code(session, level="commune", code="20791")
        granted = Pass(commune_unit.id or 0, "admin", c.clock.now + timedelta(days=1), "vi")
        with i18n.use("vi"):
            d = await dashboards.build(session, unit=commune_unit, granted=granted, today=today)

    teamless = sorted(
        (name for name, _h, _o in VILLAGES if name not in TEAMED),
        key=lambda name: units_key(name),
    )
    assert [line.unit.name for line in d.villages] == [*_behind_first(c), *teamless]
    for line in d.villages:
        name = line.unit.name
        if name not in TEAMED:
            assert not line.team
            continue
        members = _members(c, name)
        reported = {who.id for v, who, day, _x in _ledger(c) if v == name and week_of(day) == week}
        earlier = {
            who.id for v, who, day, _x in _ledger(c) if v == name and week_of(day) == before
        }
        assert (line.members, line.reported, line.reported_before) == (
            len(members),
            len(reported & members),
            len(earlier & members),
        ), name
        assert line.score is not None
        assert round(line.score, 1) == round(c.score(name), 1), name
        last = max(day for v, _who, day, _x in _ledger(c) if v == name)
        assert line.days_since(today) == (today - last).days
        weakest = _weakest(c, name)
        if weakest is None:
            assert line.weakest is None
        else:
            assert line.weakest is not None
            assert (line.weakest.name, round(line.weakest.share, 1)) == (
                weakest[0],
                round(weakest[1], 1),
            ), name
        # An admin sees who has not reported this week, by name.
        names = {who.id: who.name for v, who, _d, _x in _ledger(c) if v == name}
        names[LAN.id] = LAN.name
        assert sorted(line.missing) == sorted(names[p] for p in members - reported), name

    # The commune's /tong_hop: the last finished week (47), the same order as its board then.
    out = await c.room.say(ADMIN, "/tong_hop")
    sunday = week_start(today) - timedelta(days=1)
    assert "🏘️ Các thôn, chậm nhất trước" in out, out
    listed = out.split("Các thôn, chậm nhất trước")[1]
    order = _behind_first(c, until=sunday)
    positions = [listed.index(f"• {name}:") for name in order]
    assert positions == sorted(positions), listed
    for name in TEAMED:
        members = _members(c, name)
        reported = {
            who.id for v, who, day, _x in _ledger(c) if v == name and week_of(day) == before
        }
        said = next(x for x in listed.splitlines() if x.startswith(f"• {name}:"))
        score = c.score(name, until=sunday)
        assert f"{n(round(score, 1))} điểm" in said, said
        assert f"{len(reported & members)}/{len(members)} đã báo cáo" in said, said
        weakest = _weakest(c, name, until=sunday)
        if weakest is not None:
            assert f"yếu nhất: {weakest[0]} (đạt {pct(weakest[1])} chỉ tiêu)" in said, said
    for name in teamless:
        assert f"▫️ {name} — chưa có tổ" in listed


def units_key(name: str) -> str:
    return key(name)


async def test_a_communes_roster_lists_its_villages_teams(commune: Commune) -> None:
    c = commune
    await _story(c)
    out = await c.room.say(ADMIN, "/danh_sach")
    members = {name: _members(c, name) for name in TEAMED}
    total = sum(len(m) for m in members.values())
    assert f"Các tổ của Xã Thăng Bình: {total} thành viên ở {len(VILLAGES)} thôn" in out, out
    assert f"• Thôn Hà Lam: {len(members['Thôn Hà Lam'])} thành viên, 0 đã tập huấn · " \
        f"tổ trưởng {LAN.name}" in out  # fmt: skip
    assert f"• Thôn Phú Mỹ: {len(members['Thôn Phú Mỹ'])} thành viên, 0 đã tập huấn · " \
        "chưa có tổ trưởng" in out  # fmt: skip
    for name, _h, _o in VILLAGES:
        if name not in TEAMED:
            assert f"▫️ {name} — chưa có tổ" in out
