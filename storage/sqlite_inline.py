"""SQLite on the event loop's own thread, behind the interface SQLAlchemy's aiosqlite dialect
expects (`create_async_engine(..., async_creator=connect)`).

aiosqlite runs each call on a thread of its own and wakes the loop for every result: a report's
ten statements cost some forty such round trips, most of what it spends. SQLite's calls on a
local file take microseconds, so tcns makes them in place. What this relies on: nothing in tcns
awaits anything but the database while a SQLite transaction holds the write lock (the chart of a
leaderboard is drawn on a thread, but before its round writes), so one connection never waits
for another of the same process. Another process holding the lock (a `tcns jobs run`) is waited
for as before, up to the busy timeout, with the loop held meanwhile.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Generator, Iterable, Sequence
from typing import Any


class Cursor:
    def __init__(self, cursor: sqlite3.Cursor) -> None:
        self._cursor = cursor

    def __await__(self) -> Generator[Any, None, Cursor]:
        return self._ready().__await__()

    async def _ready(self) -> Cursor:
        return self

    async def __aenter__(self) -> Cursor:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        self._cursor.close()

    @property
    def description(self) -> Any:
        return self._cursor.description

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    @property
    def arraysize(self) -> int:
        return self._cursor.arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._cursor.arraysize = value

    async def execute(self, sql: str, parameters: Sequence[Any] | None = None) -> Cursor:
        if parameters is None:
            self._cursor.execute(sql)
        else:
            self._cursor.execute(sql, parameters)
        return self

    async def executemany(self, sql: str, parameters: Iterable[Sequence[Any]]) -> Cursor:
        self._cursor.executemany(sql, parameters)
        return self

    async def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()

    async def fetchone(self) -> Any:
        return self._cursor.fetchone()

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        return self._cursor.fetchmany(size if size is not None else self._cursor.arraysize)

    async def close(self) -> None:
        self._cursor.close()


class _Queue:
    """What the dialect's isolation-level setter puts its call on: run at once."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._connection = connection

    def put_nowait(self, item: tuple[asyncio.Future[Any], Callable[[], Any]]) -> None:
        future, function = item
        try:
            future.set_result(function())
        except Exception as exc:
            future.set_exception(exc)


class Connection:
    def __init__(self, connection: sqlite3.Connection) -> None:
        self._conn = connection
        self._connection: sqlite3.Connection | None = connection  # the dialect looks at it
        self._tx = _Queue(connection)

    @property
    def isolation_level(self) -> str | None:
        return self._conn.isolation_level

    def cursor(self) -> Cursor:
        # aiosqlite's cursor() is awaited or entered; this one can be either.
        return Cursor(self._conn.cursor())

    async def commit(self) -> None:
        self._conn.commit()

    async def rollback(self) -> None:
        self._conn.rollback()

    async def close(self) -> None:
        if self._connection is not None:
            self._connection = None
            self._conn.close()

    def stop(self) -> None:
        if self._connection is not None:
            self._connection = None
            self._conn.close()

    async def create_function(self, *args: Any, **kwargs: Any) -> None:
        self._conn.create_function(*args, **kwargs)


def creator(path: str) -> Callable[[], Any]:
    """The `async_creator` of an engine on the SQLite file at `path`."""

    async def connect() -> Connection:
        # The same arguments aiosqlite gives sqlite3; the loop is the only thread using it.
        return Connection(sqlite3.connect(path, check_same_thread=False))

    return connect
