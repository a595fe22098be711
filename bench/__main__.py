"""`python -m bench [--quick] [--parts ingest,presses,guided,boards,memory,fanout,dashboard]`:
ingest against a bare echo bot, button presses of guided reports (many groups, and eight
members of one group under Telegram's limits), boards at national scale at two
report volumes, peak memory of `tcns run` over the national dataset, a leaderboard round to
thousands of groups at ten times Telegram's limits, a commune's web dashboard. Prints each
table and writes BENCHMARKS.md. `--quick` is a smoke run of every part (CI runs it); its
figures mean nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime
from pathlib import Path

from sqlmodel import select

from bench import bomb, cost, dashboard, fanout, guided, ingest, memory, pages, presses
from bench.groups import fresh_database
from bench.national import Shape, build
from handlers import i18n
from handlers.progress import board, unit_progress
from handlers.summary import weekly_summary
from storage import config, db
from storage.models import Unit

FULL = [
    Shape(villages_per_commune=22, members=340_000, reports=1_000_000),
    Shape(villages_per_commune=22, members=340_000, reports=10_000_000),
]
QUICK = [
    Shape(villages_per_commune=22, members=20_000, reports=50_000, communes=150),
    Shape(villages_per_commune=22, members=20_000, reports=500_000, communes=150),
]


async def _timed(fn: Callable[[], Awaitable[object]], runs: int) -> float:
    """Median milliseconds over `runs` after one warm-up."""
    await fn()
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        await fn()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


PARTS = ("ingest", "presses", "guided", "boards", "memory", "fanout", "dashboard", "pages", "bomb")
Table = list[tuple[str, dict[str, float]]]  # (column heading, figure -> value)


async def measure(
    shape: Shape, workdir: Path, *, memory_seconds: float | None
) -> tuple[dict[str, float], dict[str, float] | None]:
    path = workdir / f"national-{shape.reports}.db"
    await fresh_database(path)
    built = build(path, shape)
    engine = db.create_engine(f"sqlite+aiosqlite:///{path}")
    sessions = db.session_factory(engine)
    figures = {f"build {k} (s)": v for k, v in built.items()}
    async with sessions() as session:
        village = (await session.exec(select(Unit).where(Unit.level == "village").limit(1))).one()
        commune = (await session.exec(select(Unit).where(Unit.id == village.parent_id))).one()
        province = (await session.exec(select(Unit).where(Unit.id == commune.parent_id))).one()
        provinces = list((await session.exec(select(Unit).where(Unit.level == "province"))).all())
        indicators = await config.indicators_for(session, unit=village)
        week = "2026-W47"
        with i18n.use("vi"):
            figures["commune board (ms)"] = await _timed(
                lambda: board(session, unit=village, indicators=indicators), 7
            )
            figures["province board (ms)"] = await _timed(
                lambda: board(session, unit=province, indicators=indicators), 3
            )

            async def national() -> None:
                for p in provinces:
                    await board(session, unit=p, indicators=indicators)

            figures["national rollup (ms)"] = await _timed(national, 1)
            figures["leader summary (ms)"] = await _timed(
                lambda: weekly_summary(
                    session, unit=village, today=date(2026, 11, 20), indicators=indicators
                ),
                7,
            )
            figures["/tien_do (ms)"] = await _timed(
                lambda: unit_progress(session, unit=village, week=week, indicators=indicators), 7
            )
    await engine.dispose()
    held = None
    if memory_seconds is not None:
        held = await memory.measure(path, workdir, seconds=memory_seconds)
    path.unlink(missing_ok=True)
    return figures, held


async def _cost(workdir: Path, *, reports: int) -> dict[str, float]:
    url = await fresh_database(workdir / "cost.db")
    return (await cost.measure(url, reports=reports)).figures()


def _print(title: str, table: Table) -> None:
    print(f"\n{title}")  # noqa: T201 (a benchmark prints)
    for heading, figures in table:
        print(f"  {heading}:")  # noqa: T201
        for name, value in figures.items():
            print(f"    {name:<30} {value:12,.2f}")  # noqa: T201


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--quick", action="store_true", help="small shapes, for a smoke run")
    parser.add_argument(
        "--parts", default=",".join(PARTS), help="comma-separated: " + ", ".join(PARTS)
    )
    parser.add_argument("--out", default="BENCHMARKS.md")
    args = parser.parse_args()
    parts = [p for p in args.parts.split(",") if p]
    unknown = set(parts) - set(PARTS)
    if unknown:
        parser.error(f"unknown parts: {', '.join(sorted(unknown))}")
    workdir = Path(tempfile.mkdtemp(prefix="tcns-bench-"))
    sections: list[tuple[str, Table]] = []
    if "ingest" in parts:
        load = ingest.Load(4, 5) if args.quick else ingest.Load(16, 20)
        heading = f"{load.groups} groups × {load.per_group} reports"
        trials = 1 if args.quick else 3
        table = [(heading, asyncio.run(ingest.measure(load, workdir, trials=trials)))]
        _print("Ingest", table)
        sections.append(("Ingest", table))
        cost = asyncio.run(_cost(workdir, reports=50 if args.quick else 500))
        table = [("one report, a new member", cost)]
        _print("Cost of a report", table)
        sections.append(("Cost of a report", table))
        base = os.environ.get("TCNS_BENCH_POSTGRES_URL")
        if base:
            table = [(heading, asyncio.run(ingest.measure_postgres(load, workdir, base)))]
            _print("Ingest on PostgreSQL", table)
            sections.append(("Ingest on PostgreSQL", table))
    if "presses" in parts:
        taps = presses.Load(5, 1) if args.quick else presses.Load(40, 2)
        heading = f"{taps.groups} groups tapping at once"
        table = [(heading, asyncio.run(presses.measure(taps, workdir)))]
        _print("Button presses", table)
        sections.append(("Button presses", table))
    if "guided" in parts:
        table = asyncio.run(guided.measure_both(2 if args.quick else 8, workdir,
                                                paced=not args.quick))  # fmt: skip
        _print("Guided reports in one group", table)
        sections.append(("Guided reports in one group", table))
    if "boards" in parts or "memory" in parts:
        boards: Table = []
        held: Table = []
        for n, shape in enumerate(QUICK if args.quick else FULL):
            seconds = (10.0 if args.quick else 60.0) if n == 0 and "memory" in parts else None
            figures, memory_figures = asyncio.run(measure(shape, workdir, memory_seconds=seconds))
            boards.append((f"{shape.reports:,} reports", figures))
            if memory_figures is not None:
                held.append((f"{shape.reports:,} reports", memory_figures))
        if "boards" in parts:
            _print("Boards at scale", boards)
            sections.append(("Boards at scale", boards))
        if held:
            _print("Memory of tcns run", held)
            sections.append(("Memory of tcns run", held))
    if "fanout" in parts:
        round_ = fanout.Round(5, 10, 10) if args.quick else fanout.Round(250, 20, 10)
        heading = f"{round_.communes * round_.per:,} groups, limits × {round_.scale}"
        table = [(heading, asyncio.run(fanout.measure(round_, workdir)))]
        _print("Fan-out", table)
        sections.append(("Fan-out", table))
    if "dashboard" in parts:
        figures = asyncio.run(dashboard.measure(workdir, runs=5 if args.quick else 30))
        table = [("20 villages, 10,000 reports", figures)]
        _print("Dashboard", table)
        sections.append(("Dashboard", table))
    if "pages" in parts:
        figures = asyncio.run(pages.measure(workdir, seconds=3 if args.quick else 30))
        heading = f"{pages.GROUPS} groups, {pages.REPORTS_PER_SECOND} reports/s"
        table = [(heading, figures)]
        _print("Pages beside the chats", table)
        sections.append(("Pages beside the chats", table))
    if "bomb" in parts:
        table = [("a 5 KB workbook claiming A1:XFD1048576", asyncio.run(bomb.measure(workdir)))]
        _print("A dimension bomb", table)
        sections.append(("A dimension bomb", table))
    write_report(Path(args.out), sections, quick=args.quick, parts=parts)
    return 0


def write_report(
    path: Path, sections: list[tuple[str, Table]], *, quick: bool, parts: list[str]
) -> None:
    command = "python -m bench" + (" --quick" if quick else "")
    if parts != list(PARTS):
        command += f" --parts {','.join(parts)}"
    lines = [
        "# Benchmarks",
        "",
        f"Run on {datetime.now(UTC):%Y-%m-%d} on {platform.machine()}, {os.cpu_count()} cores, "
        f"Python {sys.version.split()[0]}, SQLite {__import__('sqlite3').sqlite_version}.",
        f"Command: `{command}`.",
    ]
    for title, table in sections:
        lines += ["", f"## {title}", "", DESCRIPTIONS[title], ""]
        lines.append("| figure | " + " | ".join(h for h, _f in table) + " |")
        lines.append("|---|" + "---|" * len(table))
        for name in table[0][1]:
            cells = " | ".join(f"{f[name]:,.2f}" for _h, f in table)
            lines.append(f"| {name} | {cells} |")
    lines += ["", "## Goals in this run", ""]
    lines += [f"- {verdict}" for verdict in verdicts(dict(sections))]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def verdicts(sections: dict[str, Table]) -> list[str]:
    """Each goal of issue 7 against this run's figures (read them with the note on the run)."""
    out: list[str] = []

    def say(what: str, value: float, goal: float, unit: str, *, most: bool) -> None:
        met = value <= goal if most else value >= goal
        bound = "≤" if most else "≥"
        out.append(f"{what}: {value:,.2f}{unit} (goal {bound} {goal:g}{unit}) — "
                   f"{'met' if met else 'not met'}")  # fmt: skip

    for heading, figures in sections.get("Ingest", []):
        say(f"ingest ratio, {heading}", figures["tcns ÷ echo"], 0.5, "", most=False)
    for heading, figures in sections.get("Button presses", []):
        say(f"press answered, slowest, {heading}", figures["answered max (ms)"], 1000, " ms",
            most=True)  # fmt: skip
    for heading, figures in sections.get("Guided reports in one group", []):
        say(f"messages into the group per guided report, {heading}",
            figures["messages sent per report"], 2, "", most=True)  # fmt: skip
        say(f"answers of 429, {heading}", figures["answers of 429"], 0, "", most=True)
        say(f"press answered, slowest, {heading}", figures["press → answered max (s)"], 1, " s",
            most=True)  # fmt: skip
    for heading, figures in sections.get("Boards at scale", []):
        say(f"commune board, {heading}", figures["commune board (ms)"], 50, " ms", most=True)
        say(f"national rollup, {heading}", figures["national rollup (ms)"], 5000, " ms",
            most=True)  # fmt: skip
    for heading, figures in sections.get("Memory of tcns run", []):
        say(f"peak RSS of tcns run, {heading}", figures["peak RSS (MB)"], 250, " MB", most=True)
    for heading, figures in sections.get("Dashboard", []):
        say(f"commune dashboard, slowest of the 95 %, {heading}", figures["commune p95 (ms)"],
            200, " ms", most=True)  # fmt: skip
    for heading, figures in sections.get("Pages beside the chats", []):
        say(f"reports' p95 with 50 people's pages a second, {heading}",
            figures["50 people's links: reports p95 (ms)"], 1000, " ms", most=True)  # fmt: skip
    for heading, figures in sections.get("A dimension bomb", []):
        for name, value in figures.items():
            if name.endswith("(s)"):
                goal = 1 if "report" in name else 2
                say(f"{heading}: {name.removesuffix(' (s)')}", value, goal, " s", most=True)
            elif "RSS" in name:
                say(f"{heading}: {name.removesuffix(' (MB)')}", value, 300, " MB", most=True)
    for heading, figures in sections.get("Fan-out", []):
        say(f"fan-out, {heading}", figures["achieved ÷ ceiling"], 0.9, "", most=False)
        say(f"answers of 429, {heading}", figures["answers of 429"], 0, "", most=True)
    return out


DESCRIPTIONS = {
    "A dimension bomb": (
        "A 5 KB workbook whose sheet claims A1:XFD1048576 with one cell in its last row "
        "(issue 23), through `tcns import` (its whole run, database start included, and the "
        "peak memory of it and its reading child) and as `/nhap` to `tcns run` on SQLite while "
        "another group reports (both answers timed from the file being sent). `python -m "
        "bench.bomb`. Goals: refused within 2 s, under 300 MB."
    ),
    "Pages beside the chats": (
        "Whether the web pages slow the chats that share their process (issue 23): `tcns run` "
        "(SQLite on a file) with 20 village groups of one commune reporting 10 times a second "
        "in all (open load), and the commune's dashboard asked for 50 times a second for the "
        "same time, through one leaked link (its per-link limit answers 429 after a burst) and "
        "through 50 people's links (every request a page to build). Latency: a report offered "
        "to the bot → its confirmation accepted by the sandbox; the same report load without "
        "pages beside it. `python -m bench.pages [SECONDS]`. Goal: reports' p95 under 1 s "
        "with pages."
    ),
    "Dashboard": (
        "The web dashboard (`/web/d/<pass>`, bot/pages.py) of a commune of 20 villages with "
        "10,000 reports and their running totals, and of one of its villages (a leader's), "
        "served over HTTP by the bot's aiohttp server on SQLite, the pass checked each time; "
        "after one warm-up request; `python -m bench.dashboard`. Goal: under 200 ms."
    ),
    "Button presses": (
        "Guided reports through `tcns run` (SQLite on a file) against the sandbox Bot API: in "
        "each group one member taps through a report — `/bao_cao`, the Report button, a button "
        "for each question (the four indicators with a target), Record — each tap leaving once "
        "the previous one's "
        "question is on the server; `python -m bench.presses N`. Latency: the press offered to "
        "the bot → its `answerCallbackQuery` accepted, and → the card edited. Goal: every press "
        "answered within 1 s."
    ),
    "Guided reports in one group": (
        "Eight members of one village group tap through guided reports at once — `/bao_cao`, "
        'the Report button, "1" for each question (the four indicators with a target), Record, '
        "each press once the "
        "card shows the previous one's step — through `tcns run` (SQLite on a file) against "
        "the sandbox Bot API enforcing Telegram's limits (30 messages a second, 20 a minute "
        "into a group; edits, deletions and answers to presses not counted). Messages, edits "
        "and deletions into the group per report; latency: the press offered to the bot → its "
        "`answerCallbackQuery` accepted, and → the card showing the next step. Twice: tcns at "
        "its default pace (Telegram's limits, an edit or a deletion taking a group slot as a "
        "message does), and with its group pace lifted. `python -m bench.guided [MEMBERS]`. "
        "Goals: at most 2 messages a report, no 429, every press answered within 1 s."
    ),
    "Ingest": (
        "Reports end to end through `tcns run` (python-telegram-bot, inbox, handlers, SQLite on a "
        "file, the reply accepted by the server) against a bare python-telegram-bot echo bot, "
        "both as processes polling the sandbox Bot API with sending limits lifted; closed load, "
        "one report in flight per group, its team of eight members taking turns (each has "
        "reported once before the measured part). Latency: update offered → answer accepted. "
        "Goal: tcns ÷ echo ≥ 0.5. tcns sends through PTB on aiohttp (`bot/aiohttp_request.py`), "
        "the echo bot through PTB's default httpx; the last two rows run the same echo bot on "
        "aiohttp, for how much of the ratio is the transport."
    ),
    "Cost of a report": (
        "`/bao_cao ho=2 app=1 tt=1` from a member the bot has not seen before, straight through "
        "`router.handle` on a SQLite file (no platform, no inbox): SQL statements and "
        "transactions per report counted by SQLAlchemy's engine events; `python -m bench.cost`."
    ),
    "Ingest on PostgreSQL": (
        "The same load and the same `tcns run` on a fresh PostgreSQL database, with "
        "`TCNS_WORKERS` 1, 2 and 4 (updates of different chats processed at once in one "
        "process). Run when `TCNS_BENCH_POSTGRES_URL` names a server."
    ),
    "Boards at scale": (
        "All 3,321 communes × 22 villages (73,062), 340,000 members, reports in bulk with their "
        "running totals. Reads are the median of several runs after a warm-up. Goals: commune "
        "board ≤ 50 ms, national rollup (34 province boards) ≤ 5 s, the same at both volumes."
    ),
    "Memory of tcns run": (
        "`tcns run` over the national dataset (the first volume above) with the scheduler "
        "ticking every 5 s against the sandbox Bot API; VmHWM sampled every 0.5 s. What it "
        "queued depends on the weekday of the run (a missed round is caught up). Goal ≤ 250 MB."
    ),
    "Fan-out": (
        "`tcns jobs run leaderboards` to village groups across the country, the sandbox enforcing "
        "Telegram's limits × 10 (300 messages/s, 200 a minute per group) and tcns told the same. "
        "Rate from the server's acceptance times. Goals: achieved ÷ ceiling ≥ 0.9, no 429."
    ),
}


if __name__ == "__main__":
    sys.exit(main())
