"""`python -m tests.corpus_figures`: the `/bao_cao` corpus through the router on a temporary
SQLite database, and its figures (add `--failures` for the table of misses)."""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from pathlib import Path

from handlers.flood import FloodGate
from handlers.incoming import Deps
from storage import db
from storage.reference import ensure_reference_data
from tests.corpus import (
    CORPORA,
    NOW,
    SUPERADMIN,
    Outcome,
    failure_table,
    figures,
    load_cases,
    render_figures,
    run_dialogue,
)
from tests.harness import Clock


async def run(corpora: list[Path]) -> list[Outcome]:
    with tempfile.TemporaryDirectory(prefix="tcns-corpus-") as tmp:
        engine = db.create_engine(f"sqlite+aiosqlite:///{Path(tmp) / 'corpus.db'}")
        try:
            await db.upgrade(engine)
            sessions = db.session_factory(engine)
            async with db.transaction(sessions) as session:
                await ensure_reference_data(session)
            deps = Deps(
                sessions=sessions,
                superadmins=frozenset({SUPERADMIN}),
                clock=Clock(NOW),
                bot_usernames={"tcns_test_bot"},
                flood=FloodGate(limit=100_000),
            )
            return await run_dialogue(deps, load_cases(*corpora))
        finally:
            await engine.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.corpus_figures", description=__doc__)
    parser.add_argument(
        "--corpus",
        type=Path,
        action="append",
        help="a file of cases (TOML); again for more (default: every corpus of the project)",
    )
    parser.add_argument("--failures", action="store_true", help="also list every failing case")
    args = parser.parse_args(argv)
    outcomes = asyncio.run(run(args.corpus or list(CORPORA)))
    fig = figures(outcomes)
    sys.stdout.write(render_figures(fig, outcomes))
    if args.failures:
        sys.stdout.write("\n" + failure_table(outcomes))
    return 0 if not fig.verdicts() else 1


if __name__ == "__main__":
    raise SystemExit(main())
