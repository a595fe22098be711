"""/tien_do and /xep_hang read the running totals: their cost does not grow with the reports."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from handlers.incoming import Deps
from tests.conftest import SUPERADMIN
from tests.harness import ChatRoom, Person

ADMIN = Person(SUPERADMIN, "Quản trị")


@contextmanager
def statements(engine: AsyncEngine) -> Iterator[list[str]]:
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, sql: str, *_args: Any) -> None:
        seen.append(sql)

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", record)


def _touches_reports(sql: str) -> bool:
    return re.search(r"\b(FROM|JOIN)\s+(report|report_value)\b", sql, re.I) is not None


async def test_progress_and_board_cost_is_flat(deps: Deps) -> None:
    engine = deps.sessions.kw["bind"]
    rooms = []
    for n in range(3):
        room = ChatRoom(deps, f"tg:-50{n}")
        assert "Thôn" in await room.say(ADMIN, f"/lien_ket xa=20791 thon=Thôn {n} ho=100000")
        rooms.append(room)

    counts: list[tuple[int, int]] = []
    for batch in (10, 200):
        for k in range(batch):
            await rooms[k % 3].say(
                Person(f"tg:{900 + k % 7}", "Thành viên"), "/bao_cao ho=1 dvc=2"
            )
        # Once the configuration is cached (the first answers read it from the database).
        await rooms[0].say(ADMIN, "/tien_do")
        await rooms[0].say(ADMIN, "/xep_hang")
        with statements(engine) as progress_sql:
            await rooms[0].say(ADMIN, "/tien_do")
        with statements(engine) as board_sql:
            await rooms[0].say(ADMIN, "/xep_hang")
        assert not any(_touches_reports(s) for s in progress_sql + board_sql)
        counts.append((len(progress_sql), len(board_sql)))
    # The same number of statements after 10 reports as after 210.
    assert counts[0] == counts[1]
