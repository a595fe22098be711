"""`python -m bench [--quick]`: builds the national shape at two report volumes, times the reads
that must not grow with the reports, prints a table and writes BENCHMARKS.md.

Only the boards benchmark exists so far (see BENCHMARKS.md for what is still to come).
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

from bench.national import Shape, build
from handlers import i18n
from handlers.progress import board, unit_progress
from handlers.summary import weekly_summary
from storage import config, db
from storage.models import Unit
from storage.reference import ensure_reference_data

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


async def measure(shape: Shape, workdir: Path) -> dict[str, float]:
    path = workdir / f"national-{shape.reports}.db"
    engine = db.create_engine(f"sqlite+aiosqlite:///{path}")
    await db.upgrade(engine)
    sessions = db.session_factory(engine)
    async with db.transaction(sessions) as session:
        await ensure_reference_data(session)
    await engine.dispose()
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
    path.unlink(missing_ok=True)
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--quick", action="store_true", help="small shape, for a smoke run")
    parser.add_argument("--out", default="BENCHMARKS.md")
    args = parser.parse_args()
    shapes = QUICK if args.quick else FULL
    workdir = Path(tempfile.mkdtemp(prefix="tcns-bench-"))
    results = []
    for shape in shapes:
        figures = asyncio.run(measure(shape, workdir))
        results.append((shape, figures))
        print(f"{shape.reports:>12,} reports:", flush=True)  # noqa: T201 (a benchmark prints)
        for name, value in figures.items():
            print(f"    {name:<24} {value:10.1f}")  # noqa: T201
    write_report(Path(args.out), results, quick=args.quick)
    return 0


def write_report(
    path: Path, results: list[tuple[Shape, dict[str, float]]], *, quick: bool
) -> None:
    names = list(results[0][1])
    header = "| figure | " + " | ".join(f"{s.reports:,} reports" for s, _f in results) + " |"
    lines = [
        "# Benchmarks",
        "",
        f"Run on {datetime.now(UTC):%Y-%m-%d} on {platform.machine()}, {os.cpu_count()} cores, "
        f"Python {sys.version.split()[0]}, SQLite {__import__('sqlite3').sqlite_version}.",
        f"Command: `python -m bench{' --quick' if quick else ''}`.",
        "",
        "## Boards at scale",
        "",
        "Shape: " + ", ".join(
            f"{(s.communes or 3321):,} communes × {s.villages_per_commune} villages, "
            f"{s.members:,} members" for s, _f in results[:1]
        ) + ". Reads are the median of several runs after a warm-up.",
        "",
        header,
        "|---|" + "---|" * len(results),
    ]  # fmt: skip
    for name in names:
        lines.append(f"| {name} | " + " | ".join(f"{f[name]:,.1f}" for _s, f in results) + " |")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
