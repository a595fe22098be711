"""The national shape in a SQLite file: the official provinces and communes, villages under each
commune, members, and reports with their running totals, written in bulk (not through the
handlers: the point is to time the reads at scale, not to wait hours for the writes)."""

from __future__ import annotations

import random
import sqlite3
import time
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from handlers.periods import week_key

WEEK_END = date(2026, 11, 20)


@dataclass(frozen=True)
class Shape:
    villages_per_commune: int
    members: int
    reports: int
    communes: int | None = None  # None: all 3,321


def build(path: Path, shape: Shape, *, seed: int = 7) -> dict[str, float]:
    """Fills an already migrated and seeded database; returns seconds per step."""
    rng = random.Random(seed)  # noqa: S311 (made-up data, not secrets)
    timings: dict[str, float] = {}
    con = sqlite3.connect(path)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=OFF")
    con.execute("PRAGMA foreign_keys=OFF")
    cur = con.cursor()
    started = time.perf_counter()
    communes = cur.execute(
        "SELECT id, code FROM unit WHERE level='commune' ORDER BY id LIMIT ?",
        (shape.communes or -1,),
    ).fetchall()
    villages = [
        (cid, "village", f"{code}-{n + 1}", f"Thôn {n + 1}", f"thon {n + 1}", "",
         rng.randint(150, 600))
        for cid, code in communes
        for n in range(shape.villages_per_commune)
    ]  # fmt: skip
    cur.executemany(
        "INSERT INTO unit (parent_id, level, code, name, name_key, path, households, created_at)"
        " VALUES (?,?,?,?,?,?,?, '2026-01-01 00:00:00')",
        villages,
    )
    cur.execute(
        "UPDATE unit SET path = (SELECT p.path FROM unit p WHERE p.id = unit.parent_id)"
        " || unit.id || '/' WHERE level = 'village'"
    )
    village_ids = [r[0] for r in cur.execute("SELECT id FROM unit WHERE level='village'")]
    timings["villages"] = time.perf_counter() - started

    started = time.perf_counter()
    cur.executemany(
        "INSERT INTO chat (id, platform, kind, unit_id, active, created_at)"
        " VALUES (?, 'tg', 'group', ?, 1, '2026-01-01 00:00:00')",
        ((f"tg:-{1_000_000_000 + v}", v) for v in village_ids),
    )
    people = [
        (f"tg:{10_000_000 + n}", village_ids[n % len(village_ids)]) for n in range(shape.members)
    ]
    cur.executemany(
        "INSERT INTO person (id, platform, display_name, created_at)"
        " VALUES (?, 'tg', 'Thành viên', '2026-01-01 00:00:00')",
        ((p,) for p, _v in people),
    )
    cur.executemany(
        "INSERT INTO membership (person_id, unit_id, role, trained, joined_at)"
        " VALUES (?, ?, 'member', 0, '2026-01-01 00:00:00')",
        people,
    )
    timings["members"] = time.perf_counter() - started

    started = time.perf_counter()
    indicators = dict(cur.execute("SELECT code, id FROM indicator"))
    codes = ["ho", "app", "tt", "cks"]
    batch: list[tuple[object, ...]] = []
    values: list[tuple[int, int, int]] = []
    next_id = (cur.execute("SELECT coalesce(max(id), 0) FROM report").fetchone()[0]) + 1
    for n in range(shape.reports):
        person, village = people[rng.randrange(len(people))]
        day = WEEK_END - timedelta(days=rng.randrange(180))
        report_id = next_id + n
        batch.append((report_id, village, person, f"tg:-{1_000_000_000 + village}", f"b:{n}",
                      week_key(day), day.isoformat()))  # fmt: skip
        for code in rng.sample(codes, 2):
            values.append((report_id, indicators[code], 1))
        if len(batch) >= 50_000:
            _flush_reports(cur, batch, values)
    _flush_reports(cur, batch, values)
    timings["reports"] = time.perf_counter() - started

    started = time.perf_counter()
    cur.execute("DELETE FROM unit_total")
    cur.execute(
        "INSERT INTO unit_total (unit_id, indicator_id, period, value) "
        "SELECT r.unit_id, v.indicator_id, 'all', sum(v.value) FROM report r "
        "JOIN report_value v ON v.report_id = r.id WHERE r.withdrawn_at IS NULL "
        "GROUP BY r.unit_id, v.indicator_id"
    )
    cur.execute(
        "INSERT INTO unit_total (unit_id, indicator_id, period, value) "
        "SELECT r.unit_id, v.indicator_id, r.week, sum(v.value) FROM report r "
        "JOIN report_value v ON v.report_id = r.id WHERE r.withdrawn_at IS NULL "
        "GROUP BY r.unit_id, v.indicator_id, r.week"
    )
    for below in ("village", "commune"):  # roll up, level by level
        cur.execute(
            "INSERT INTO unit_total (unit_id, indicator_id, period, value) "
            "SELECT c.parent_id, t.indicator_id, t.period, sum(t.value) FROM unit_total t "
            "JOIN unit c ON c.id = t.unit_id WHERE c.level = ? "
            "GROUP BY c.parent_id, t.indicator_id, t.period",
            (below,),
        )
    con.commit()
    timings["totals"] = time.perf_counter() - started
    con.execute("ANALYZE")
    con.close()
    return timings


def _flush_reports(
    cur: sqlite3.Cursor, batch: list[tuple[object, ...]], values: list[tuple[int, int, int]]
) -> None:
    cur.executemany(
        "INSERT INTO report (id, unit_id, person_id, chat_id, message_key, week, report_date,"
        " source_text, created_at, updated_at)"
        " VALUES (?,?,?,?,?,?,?, '', '2026-11-20 00:00:00', '2026-11-20 00:00:00')",
        batch,
    )
    cur.executemany(
        "INSERT INTO report_value (report_id, indicator_id, value) VALUES (?,?,?)", values
    )
    batch.clear()
    values.clear()
