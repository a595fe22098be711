"""The quarter's evaluation: for each unit of a scope (a commune's villages, a province's
communes), each indicator's attainment at the quarter's end (households done against the
households its target asks for), the score, grade and rank, and their change against the end of
the quarter before. Figures are the reports dated up to the quarter's last day, whenever the
evaluation is made; a parent's are the sums over its villages.

Units without a team (no linked chat, no member) are not ranked: they are named once as such.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_EVEN, Decimal

from sqlmodel.ext.asyncio.session import AsyncSession

from handlers import scoring, views
from handlers.context import indicator_name
from handlers.i18n import _
from handlers.progress import Board, BoardRow, grades_of, own_targets, target_for
from handlers.progress import score_of as village_score
from handlers.richtext import Rich, Span, b, fmt, i
from storage import config, reports, standings, units
from storage.models import Indicator, Unit

EVALUATION_TOP = 10  # rows read on a phone; the reader's own unit is added below them
NAMES_SHOWN = 15


@dataclass(frozen=True)
class Attainment:
    code: str
    done: int  # households, cumulative at the quarter's end
    needed: int  # households the target in force asks for

    @property
    def percent(self) -> float:
        return 100.0 * self.done / self.needed


@dataclass(frozen=True)
class Standing:
    score: float
    rank: int


@dataclass(frozen=True)
class EvaluationRow:
    unit: Unit
    households: int
    attainments: tuple[Attainment, ...]
    score: float
    grade: str
    rank: int
    before: Standing | None  # at the end of the quarter before; None: no report by then


@dataclass(frozen=True)
class Evaluation:
    scope: Unit
    first: date
    last: date
    indicators: tuple[Indicator, ...]  # the household indicators, in plan order
    rows: list[EvaluationRow]
    no_team: list[Unit]

    @property
    def compared(self) -> bool:
        """Whether any unit had a report before the quarter (a first quarter has no change)."""
        return any(r.before is not None for r in self.rows)

    def board(self, own_unit_id: int | None) -> Board:
        """The evaluation as a board, for the chart."""
        rows = [BoardRow(r.rank, r.unit, r.score, r.households, r.grade) for r in self.rows]
        return Board(scope=self.scope, rows=rows, own_unit_id=own_unit_id)


@dataclass
class _Sums:
    """A ranked unit's villages added up."""

    parts: list[tuple[float, int]]  # (score, households) of each village, now
    before: list[tuple[float, int]]
    done: dict[str, int]
    needed: dict[str, int]
    team: bool = False
    reported_before: bool = False


async def evaluate(session: AsyncSession, *, scope: Unit, first: date, last: date) -> Evaluation:
    """The evaluation of the quarter from `first` to `last` among `scope`'s children."""
    assert scope.id is not None  # noqa: S101 (stored)
    indicators = await config.indicators_for(session, unit=scope)
    household = tuple(ind for ind in indicators if ind.kind == "households")
    children = await units.children(session, unit_id=scope.id)
    villages = await units.villages_under(session, unit=scope)
    ids = [ind.id for ind in indicators if ind.id is not None]
    # Cumulative at the quarter's end and at the end of the one before, as the workbooks count
    # (one query each, every unit of the scope; a village's are its own reports).
    wanted = set(ids)
    now, then = [
        {uid: {k: n for k, n in sums.items() if k in wanted} for uid, sums in found.items()}
        for found in (
            await reports.sums_under(session, scope=scope, last=last),
            await reports.sums_under(session, scope=scope, last=first - timedelta(days=1)),
        )
    ]
    teams = await standings.with_team(session, unit_ids=[v.id for v in villages])
    own = await own_targets(session, unit_ids=sorted({a for v in villages for a in v.ids}))
    code_of = {ind.id: ind.code for ind in indicators}
    child_ids = {c.id for c in children}
    sums: dict[int, _Sums] = {}
    for v in villages:
        # The child of the scope the village is (a commune's village) or lies under.
        owner = next((a for a in v.ids if a in child_ids), None)
        if owner is None:
            continue
        acc = sums.setdefault(owner, _Sums([], [], {}, {}))
        done = {code_of[k]: n for k, n in now.get(v.id, {}).items()}
        households = v.households or 0
        score_now = village_score(v, v.households, now.get(v.id, {}), indicators, own)
        score_then = village_score(v, v.households, then.get(v.id, {}), indicators, own)
        acc.parts.append((score_now, households))
        acc.before.append((score_then, households))
        acc.team = acc.team or v.id in teams
        acc.reported_before = acc.reported_before or v.id in then
        for ind in household:
            target, _weight, _source = target_for(v, ind, own)
            if not target or not v.households:
                continue
            acc.needed[ind.code] = acc.needed.get(ind.code, 0) + scoring.needed(
                v.households, target
            )
            acc.done[ind.code] = acc.done.get(ind.code, 0) + done.get(ind.code, 0)
    ranked = [c for c in children if c.id in sums and sums[c.id].team]
    no_team = [c for c in children if c not in ranked]

    def score_of(unit: Unit, *, before: bool = False) -> float:
        acc = sums[unit.id or 0]
        parts = acc.before if before else acc.parts
        return parts[0][0] if unit.level == "village" else scoring.rollup(parts)

    scores = {c.id or 0: score_of(c) for c in ranked}
    names = {c.id or 0: c.name_key for c in ranked}
    ranks = {uid: r for r, uid in scoring.rank(scores, names)}
    # Last quarter's ranks among the units that were on the board then.
    earlier_ids = [c.id or 0 for c in ranked if sums[c.id or 0].reported_before]
    by_id = {c.id or 0: c for c in ranked}
    scores_then = {uid: score_of(by_id[uid], before=True) for uid in earlier_ids}
    ranks_then = {uid: r for r, uid in scoring.rank(scores_then, names)}
    grades = grades_of(await config.plan_for(session, unit=scope))
    rows = [
        EvaluationRow(
            unit=c,
            households=sum(h for _s, h in sums[c.id or 0].parts),
            attainments=tuple(
                Attainment(ind.code, sums[c.id or 0].done[ind.code], need)
                for ind in household
                if (need := sums[c.id or 0].needed.get(ind.code, 0)) > 0
            ),
            score=scores[c.id or 0],
            grade=scoring.grade(scores[c.id or 0], grades),
            rank=ranks[c.id or 0],
            before=(
                Standing(scores_then[c.id or 0], ranks_then[c.id or 0])
                if (c.id or 0) in scores_then
                else None
            ),
        )
        for c in ranked
    ]
    rows.sort(key=lambda r: (r.rank, r.unit.name_key))
    return Evaluation(scope, first, last, household, rows, no_team)


def title(first: date) -> str:
    return _("Evaluation of quarter {quarter}/{year}").format(
        quarter=(first.month - 1) // 3 + 1, year=first.year
    )


def tenths(value: float) -> Decimal:
    """A score as it is shown, to a tenth (half to even, as the shown figure is rounded)."""
    return Decimal(str(value)).quantize(Decimal("0.1"), ROUND_HALF_EVEN)


def _change(row: EvaluationRow) -> Span | str:
    if row.before is None:
        return i(_("first ranked this quarter"))
    # The change as the two shown figures differ, so that it adds up on paper.
    delta = tenths(row.score) - tenths(row.before.score)
    sign = "+" if delta > 0 else ("−" if delta < 0 else "±")
    return _("last quarter {score} points ({change}), rank {before} → {rank}").format(
        score=views.number(float(tenths(row.before.score)), "0.0"),
        change=f"{sign}{views.number(float(abs(delta)), '0.0')}",
        before=views.number(row.before.rank),
        rank=views.number(row.rank),
    )


def render(ev: Evaluation, *, own_unit_id: int | None, top: int = EVALUATION_TOP) -> Rich:
    """The evaluation for one chat, in the current language: the top rows and the reader's own
    unit below them, each with its change and its attainment per indicator."""
    rich = Rich().add(
        "🏅 ",
        fmt(
            _("{title} — {scope} ({first}–{last})"),
            title=b(title(ev.first)),
            scope=b(ev.scope.name),
            first=ev.first.strftime("%d/%m"),
            last=ev.last.strftime("%d/%m/%Y"),
        ),
    )
    if not ev.rows:
        rich.add(_("No units to rank yet."))
    else:
        measured = {a.code for r in ev.rows for a in r.attainments}
        legend = ", ".join(
            f"{ind.code} = {indicator_name(ind.name_vi, ind.name_en)}"
            for ind in ev.indicators
            if ind.code in measured
        )
        rich.add(
            i(
                _(
                    "Share of each target reached by {date} (households done ÷ households "
                    "the target asks for): {legend}"
                ).format(date=ev.last.strftime("%d/%m/%Y"), legend=legend)
            )
        )
        if not ev.compared:
            rich.add(i(_("The first quarter with reports: no quarter before to compare with.")))
    shown = ev.rows[:top]
    own = [r for r in ev.rows[top:] if r.unit.id == own_unit_id]
    for row in shown + own:
        if own and row is own[0]:
            rich.add("…")
        label = f"{row.rank}. {row.unit.name}"
        score = _("{score} points ({grade})").format(
            score=views.number(float(tenths(row.score)), "0.0"), grade=views.grade_name(row.grade)
        )
        if row.unit.id == own_unit_id:
            rich.add("👉 ", b(label), " — ", b(score))
        else:
            rich.add(b(label), " — ", score)
        if ev.compared:
            rich.add("    ", _change(row))
        if row.attainments:
            rich.add(
                "    ",
                " · ".join(f"{a.code} {views.percent(a.percent)}" for a in row.attainments),
            )
    hidden = len(ev.rows) - len(shown) - len(own)
    if hidden > 0:
        rich.add(i(_("… and {count} more").format(count=views.number(hidden))))
    if ev.no_team:
        names = [u.name for u in ev.no_team[:NAMES_SHOWN]]
        if len(ev.no_team) > NAMES_SHOWN:
            names.append(
                _("… and {count} more").format(count=views.number(len(ev.no_team) - NAMES_SHOWN))
            )
        rich.add(
            "🏠 ",
            b(_("No team yet ({count})").format(count=views.number(len(ev.no_team)))),
            ": ",
            ", ".join(names),
        )
    return rich


def evaluated_quarter(period: str) -> tuple[date, date]:
    """The first and last day of the quarter "2026-Q4"."""
    year, quarter = int(period[:4]), int(period[-1])
    first = date(year, 3 * quarter - 2, 1)
    after = date(year + 1, 1, 1) if quarter == 4 else date(year, 3 * quarter + 1, 1)
    return first, after - timedelta(days=1)
