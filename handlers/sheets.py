"""A table from a file people send (.xlsx or .csv), read so that no file can exhaust the server.

What a file declares is not believed: a sheet that says it spans A1:XFD1048576 is read row by
row as it really is, at most MAX_COLUMNS wide, and reading stops as soon as it runs past
MAX_ROWS rows (its rows after that may only be blank, and not many). A workbook whose
parts unpack to more than MAX_UNPACKED bytes is not opened; a cell longer than MAX_CELL
characters is refused. The reading runs in a process of its own under a memory ceiling
(`read`), so a file that still misbehaves costs that process, never the bot's event loop.

Refusals are `Unreadable(code, values)`; the caller words them (a worker process has no
language).
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import io
import json
import sys
import zipfile
from dataclasses import dataclass, field
from typing import Any

MAX_BYTES = 5 * 1024 * 1024  # a province's workbook is a few hundred kilobytes
MAX_ROWS = 20_000  # a province has about 2,100 villages; a file ten times that is a mistake
MAX_COLUMNS = 64
MAX_CELL = 1_000  # characters
MAX_TEXT = (
    4_000_000  # characters in all the cells (one string repeated in every cell counts each time)
)
MAX_UNPACKED = 32 * 1024 * 1024  # bytes of XML inside a workbook
MAX_PARTS = 1_000
MAX_SHEETS = 8  # a workbook's villages, its members, a page of explanations: a few at most
# Blank rows read past the last allowed one, looking for the sheet's end, before giving up.
BLANK_TAIL = 1_000
MEMORY_CEILING = 768 * 1024 * 1024  # the reading process's address space
SECONDS = 30

Table = list[list[object]]


@dataclass(frozen=True)
class Book:
    """A file's tables: its first sheet's, and (an .xlsx's) the other sheets' by their names."""

    table: Table
    others: dict[str, Table] = field(default_factory=dict)


class Unreadable(Exception):
    """Why a file cannot be read: `code` says which, `values` fill in its sentence."""

    def __init__(self, code: str, values: dict[str, Any] | None = None) -> None:
        super().__init__(code, values or {})
        self.code = code
        self.values = values or {}


def is_table(filename: str) -> bool:
    return filename.lower().endswith((".csv", ".xlsx", ".xlsm"))


def table(filename: str, content: bytes) -> Table:
    """The rows of the file's first sheet, blank ones included (their numbers are the
    spreadsheet's), each at most MAX_COLUMNS wide; trailing blank rows left out."""
    return book(filename, content, first_only=True).table


def book(filename: str, content: bytes, *, first_only: bool = False) -> Book:
    """Every sheet of the file, each as `table` reads the first (at most MAX_SHEETS, and
    MAX_TEXT characters in all of them)."""
    if len(content) > MAX_BYTES:
        raise Unreadable("too_big", {"mb": MAX_BYTES // (1024 * 1024)})
    name = filename.lower()
    budget = [MAX_TEXT]
    if name.endswith(".csv"):
        return Book(_bounded(_csv_rows(content), budget))
    if name.endswith((".xlsx", ".xlsm")):
        sheets = [
            (title, _bounded(rows, budget))
            for title, rows in _xlsx_sheets(content, 1 if first_only else MAX_SHEETS)
        ]
        first = sheets[0][1] if sheets else []
        return Book(first, {title: rows for title, rows in sheets[1:]})
    raise Unreadable("kind")


def _csv_rows(content: bytes) -> Any:
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise Unreadable("not_utf8") from exc
    sample = text[:4096]
    try:
        dialect: Any = (
            csv.Sniffer().sniff(sample, delimiters=",;\t") if sample.strip() else "excel"
        )
    except csv.Error:
        dialect = "excel"
    try:
        yield from csv.reader(io.StringIO(text), dialect)
    except csv.Error as exc:
        raise Unreadable("not_csv") from exc


def _xlsx_sheets(content: bytes, limit: int) -> Any:
    """(title, its rows) of the workbook's first `limit` sheets, each read as it is needed."""
    try:
        parts = zipfile.ZipFile(io.BytesIO(content)).infolist()
    except (zipfile.BadZipFile, ValueError) as exc:
        raise Unreadable("not_xlsx") from exc
    if len(parts) > MAX_PARTS or sum(p.file_size for p in parts) > MAX_UNPACKED:
        raise Unreadable("too_big_unpacked", {"mb": MAX_UNPACKED // (1024 * 1024)})
    from openpyxl import load_workbook  # the parent process never needs it

    try:
        workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
        worksheets: list[Any] = list(workbook.worksheets[:limit])
        if not worksheets:
            raise Unreadable("not_xlsx")
    except Unreadable:
        raise
    except Exception as exc:  # zip, XML or openpyxl's own: the file is not a workbook
        raise Unreadable("not_xlsx") from exc
    try:
        for sheet in worksheets:
            yield str(getattr(sheet, "title", "") or ""), _xlsx_rows(sheet)
    finally:
        workbook.close()


def _xlsx_rows(sheet: Any) -> Any:
    # The declared dimension is the sheet's claim, not its content: forget it, or every
    # missing row and column up to it is made up.
    if hasattr(sheet, "reset_dimensions"):
        sheet.reset_dimensions()
    from openpyxl.utils.escape import unescape

    try:
        for row in sheet.iter_rows(max_col=MAX_COLUMNS, values_only=True):
            # Excel writes a control character in a cell as _x0007_: read as Excel shows it
            # (the names' cleaner then removes it).
            yield [unescape(v) if isinstance(v, str) and "_x" in v else v for v in row]
    except Unreadable:
        raise
    except Exception as exc:
        raise Unreadable("not_xlsx") from exc


def _bounded(rows: Any, budget: list[int]) -> Table:
    """The rows, bounded; `budget` holds the characters the file's cells may still have."""
    out: Table = []
    blank_run = 0
    known_blank: object = None  # openpyxl fills a gap with one and the same empty row
    for number, values in enumerate(rows, start=1):
        if values is known_blank or not any(v is not None and v != "" for v in values):
            known_blank = values
            if number > MAX_ROWS + 1:
                blank_run += 1
                if blank_run > BLANK_TAIL:
                    # Blank further than anyone leaves a sheet, and still not its end.
                    raise Unreadable("too_long", {"count": MAX_ROWS, "row": number})
            out.append([])
            continue
        if number > MAX_ROWS + 1:
            raise Unreadable("too_many_rows", {"count": MAX_ROWS, "row": number})
        cells = [_cell(v, number) for v in list(values)[:MAX_COLUMNS]]
        while cells and cells[-1] is None:
            cells.pop()
        budget[0] -= sum(len(c) for c in cells if isinstance(c, str))
        if budget[0] < 0:
            raise Unreadable("too_much_text", {"mb": MAX_TEXT // 1_000_000})
        out.append(cells)
    while out and not out[-1]:
        out.pop()
    return out


def _cell(value: object, row: int) -> object:
    if isinstance(value, str) and len(value) > MAX_CELL:
        raise Unreadable("cell_too_long", {"row": row, "count": MAX_CELL})
    return value


# --- in a process of its own --------------------------------------------------------------


def _plain(value: object) -> object:
    """A cell as JSON carries it: dates and times as the text `str` gives them."""
    return value if value is None or isinstance(value, bool | int | float | str) else str(value)


def _json_rows(rows: Table) -> list[list[object]]:
    return [[_plain(v) for v in row] for row in rows]


def _main() -> None:
    """`python -m handlers.sheets NAME`: the file on standard input, the table (or why not) as
    JSON on standard output, under a memory ceiling."""
    with contextlib.suppress(ImportError, ValueError, OSError):
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CEILING, MEMORY_CEILING))
    try:
        found = book(sys.argv[1], sys.stdin.buffer.read(MAX_BYTES + 1))
        answer: dict[str, Any] = {
            "rows": _json_rows(found.table),
            "others": [[title, _json_rows(rows)] for title, rows in found.others.items()],
        }
    except Unreadable as exc:
        answer = {"code": exc.code, "values": exc.values}
    except MemoryError:
        answer = {"code": "too_big_memory", "values": {}}
    except Exception:
        answer = {"code": "not_readable", "values": {}}
    sys.stdout.write(json.dumps(answer, ensure_ascii=True))


async def read(filename: str, content: bytes, *, seconds: float = SECONDS) -> Table:
    """`table`, computed in a process of its own (see `read_book`)."""
    return (await read_book(filename, content, seconds=seconds)).table


async def read_book(filename: str, content: bytes, *, seconds: float = SECONDS) -> Book:
    """`book`, computed in a process of its own under a memory ceiling and a time limit: the
    event loop waits for nothing but the answer, and a file that misbehaves costs only that
    process."""
    if len(content) > MAX_BYTES:
        raise Unreadable("too_big", {"mb": MAX_BYTES // (1024 * 1024)})
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "handlers.sheets", filename,
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    try:
        out, _err = await asyncio.wait_for(child.communicate(content), seconds)
    except TimeoutError:
        child.kill()
        await child.wait()
        raise Unreadable("too_slow", {"seconds": int(seconds)}) from None
    try:
        answer = json.loads(out)
    except ValueError:
        answer = {"code": "too_big_memory" if child.returncode else "not_readable", "values": {}}
    if "rows" in answer:
        rows: Table = answer["rows"]
        others = {str(title): list(table) for title, table in answer.get("others", [])}
        return Book(rows, others)
    raise Unreadable(str(answer["code"]), dict(answer["values"]))


if __name__ == "__main__":
    _main()
