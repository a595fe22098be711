"""A province from one workbook (`tcns import`, `/nhap`): its villages, their households, their
own targets and their leaders, one row per village.

The file is read whole and checked whole before anything is written: with any error nothing
changes, and the answer names each row and why. A second import of the same file changes
nothing (every row "unchanged"). Every change is written to the audit log.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from openpyxl import Workbook
from openpyxl.styles import Font
from sqlmodel.ext.asyncio.session import AsyncSession

from handlers import sheets
from handlers.config_grammar import AFFILIATIONS
from handlers.context import indicator_name
from handlers.grammar import NAME_CHARS, VILLAGES_PER_COMMUNE, not_a_name
from handlers.i18n import _
from handlers.person_names import same_name
from handlers.team import affiliation_name
from handlers.views import merged_line, number, old_commune_line, split_commune_line
from storage import config, people, reports, units
from storage import roster as roster_store
from storage.folding import key, safe_name, village_key
from storage.models import Indicator, Membership, Person, Unit

# Header -> field, compared folded and without punctuation: "Mã xã", "MA XA", "mã_xã (*)".
HEADERS = {
    "ma xa": "commune_code",
    "ma xa phuong": "commune_code",
    "ma don vi": "commune_code",
    "xa": "commune",
    "xa phuong": "commune",
    "phuong xa": "commune",
    "ten xa": "commune",
    "tinh": "province",
    "tinh thanh pho": "province",
    "tinh thanh": "province",
    "thon": "village",
    "ten thon": "village",
    "thon to dan pho": "village",
    "thon ap ban": "village",
    "so ho": "households",
    "so ho gia dinh": "households",
    "tong so ho": "households",
    "to truong": "leader",
    "ten to truong": "leader",
    "to truong to cns": "leader",
    # Read and left aside: the template's example row says so there ("Ví dụ").
    "ghi chu": "note",
}


def _header(text: object) -> str:
    k = re.sub(r"\(.*?\)|[^\w ]", " ", key(str(text or "")))
    return " ".join(k.split())


class ImportError_(Exception):
    """The file cannot be read as an import at all (not its rows): one line why."""


@dataclass
class Row:
    number: int  # as the spreadsheet numbers it (the header is row 1)
    cells: dict[str, str]  # field -> text
    targets: dict[str, str]  # indicator code -> text


@dataclass
class Outcome:
    number: int
    status: Literal["created", "updated", "unchanged", "error"]
    line: str  # what to show before the change is made (a dry run), in the language in use
    done: str | None = None  # what to show once it is made, where that reads otherwise
    sheet: Literal["villages", "members"] = "villages"

    def shown(self, *, applied: bool) -> str:
        return self.done if applied and self.done is not None else self.line


@dataclass
class Result:
    outcomes: list[Outcome] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)  # columns nobody reads
    notes: list[str] = field(default_factory=list)  # how a name was read (a merged province)
    # The file's villages whose team has no leader: (village, the leader the file names).
    leaderless: list[tuple[str, str | None]] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # the template's example rows, left out

    def count(self, status: str, sheet: str | None = None) -> int:
        return sum(1 for o in self.outcomes if o.status == status and sheet in (None, o.sheet))

    @property
    def ok(self) -> bool:
        return self.count("error") == 0

    @property
    def changes(self) -> int:
        return self.count("created") + self.count("updated")

    def summary(self, *, applied: bool) -> list[str]:
        parts: list[str] = []
        for sheet in ("villages", "members"):
            if not any(o.sheet == sheet for o in self.outcomes):
                continue
            figures = {
                "created": number(self.count("created", sheet)),
                "updated": number(self.count("updated", sheet)),
                "unchanged": number(self.count("unchanged", sheet)),
            }
            if sheet == "villages":
                part = (_("{created} villages created, {updated} updated, {unchanged} unchanged")
                        if applied else
                        _("{created} villages to create, {updated} to update, {unchanged} "
                          "unchanged"))  # fmt: skip
            else:
                part = (_("{created} members added, {updated} updated, {unchanged} unchanged")
                        if applied else
                        _("{created} members to add, {updated} to update, {unchanged} "
                          "unchanged"))  # fmt: skip
            parts.append(part.format(**figures))
        if not self.outcomes:
            lines = [_("Nothing to import: the file has no filled-in rows.")]
        elif applied:
            lines = [_("Applied: {changes}.").format(changes="; ".join(parts))]
        else:
            lines = [
                _("{rows} rows: {changes}; {errors} with errors.").format(
                    rows=number(len(self.outcomes)),
                    changes="; ".join(parts),
                    errors=number(self.count("error")),
                )
            ]
        lines += self.skipped
        if self.ignored:
            lines.append(_("Columns not read: {names}").format(names=", ".join(self.ignored)))
        lines += self.notes
        lines += self.leader_lines()
        if not self.ok:
            lines.append(_("Nothing was changed: correct the rows above and import again."))
        elif not applied:
            lines.append(_("Dry run: nothing was changed."))
        return lines

    def leader_lines(self) -> list[str]:
        """The villages left without a leader, said to the admin who imports: those whose
        leader the file names (led once that person takes part) and those it names none for."""
        waiting = [f"{v} ({name})" for v, name in self.leaderless if name]
        unnamed = [v for v, name in self.leaderless if not name]
        lines: list[str] = []
        if waiting:
            lines.append(
                _("Not led yet, until the leader the file names takes part (a report in the "
                  "village's group, or /tham_gia with its code): {villages}")
                .format(villages=_some(waiting))
            )  # fmt: skip
        if unnamed:
            lines.append(
                _("No leader for {count} villages: {villages}. Name one in the column "
                  "“Tổ trưởng”, or in the village's group reply to that person's message with "
                  "/to_truong.").format(count=number(len(unnamed)), villages=_some(unnamed))
            )  # fmt: skip
        return lines


def _some(names: list[str], shown: int = 12) -> str:
    """The first names of a long list, and how many more."""
    text = ", ".join(names[:shown])
    if len(names) > shown:
        text += " " + _("and {count} more").format(count=number(len(names) - shown))
    return text


# --- reading the file -------------------------------------------------------------------


@dataclass
class Read:
    """What a file holds for an import: its villages' rows and its members' rows (the sheet
    "Thành viên"), the columns nothing reads, and the rows left out as the template's example."""

    rows: list[Row] = field(default_factory=list)
    members: list[Row] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


async def read(filename: str, content: bytes, indicators: Sequence[Indicator]) -> Read:
    """What an .xlsx or .csv file holds for an import. The file is read in a process of its own
    (handlers/sheets.py), so that no file can stall the bot."""
    try:
        book = await sheets.read_book(filename, content)
    except sheets.Unreadable as exc:
        raise ImportError_(unreadable(exc)) from exc
    return tables_of(book.table, book.others, indicators)


def unreadable(exc: sheets.Unreadable) -> str:
    """Why the file could not be read, in one line."""
    values = {k: number(v) if isinstance(v, int) else v for k, v in exc.values.items()}
    too_big = _("File too large: {why}")
    words = {
        "too_big": lambda: too_big.format(why=_("more than {mb} MB.").format(**values)),
        "too_big_unpacked": lambda: too_big.format(
            why=_("its contents unpack to more than {mb} MB.").format(**values)
        ),
        "too_big_memory": lambda: too_big.format(why=_("it needs too much memory to read.")),
        "too_much_text": lambda: too_big.format(
            why=_("its cells hold more than {mb} million characters in all.").format(**values)
        ),
        "too_slow": lambda: too_big.format(
            why=_("it could not be read in {seconds} seconds.").format(**values)
        ),
        "too_many_rows": lambda: too_big.format(
            why=_("row {row} holds data, but a file has at most {count} rows: split it, or "
                  "delete what lies below the table.").format(**values)
        ),
        "too_long": lambda: too_big.format(
            why=_("the sheet goes on past row {row}, but a file has at most {count} rows: "
                  "delete what lies below the table, or split it.").format(**values)
        ),
        "cell_too_long": lambda: _(
            "Row {row}: a cell is longer than {count} characters; nothing was read."
        ).format(**values),
        "not_utf8": lambda: _("The CSV file is not UTF-8: save it as “CSV UTF-8”."),
        "not_csv": lambda: _("This CSV file cannot be read: save it again as “CSV UTF-8”."),
        "kind": lambda: _("Send an .xlsx or a .csv file."),
    }  # fmt: skip
    return words.get(exc.code, lambda: _("This is not an Excel workbook (.xlsx)."))()


MEMBERS_SHEET = "Thành viên"


def tables_of(
    table: sheets.Table, others: dict[str, sheets.Table], indicators: Sequence[Indicator]
) -> Read:
    """The import a file's tables make: the first sheet's villages (or, when the first sheet is
    itself a list of members, its members) and the members of its sheet "Thành viên"."""
    if not table:
        raise ImportError_(_("The file is empty."))
    members = next((t for name, t in others.items() if _header(name) == "thanh vien"), None)
    if _is_members_header(table[0]):
        read = Read()
        members = table
    else:
        read = rows_of(table, indicators)
    if members:
        found, ignored, skipped = _member_rows(members)
        read.members = found
        read.ignored += [f"{MEMBERS_SHEET}: {name}" for name in ignored]
        read.skipped += [_("“{sheet}”, row {row} is the template's example: left out.").format(
            sheet=MEMBERS_SHEET, row=n) for n in skipped]  # fmt: skip
    return read


def rows_of(table: sheets.Table, indicators: Sequence[Indicator]) -> Read:
    """The villages' rows of a table read from a file, by its header row. Blank rows and a
    commune's row the template lists with nothing filled in are no rows; the template's example
    row is left out, and said so."""
    if not table:
        raise ImportError_(_("The file is empty."))
    by_header = {**HEADERS}
    for ind in indicators:
        for name in (ind.code, ind.name_vi, ind.name_en):
            for prefix in ("", "chi tieu ", "muc tieu ", "target "):
                by_header.setdefault(prefix + _header(name), f"target:{ind.code}")
    columns, ignored = _columns(table[0], by_header)
    named = set(columns.values())
    if "village" not in named:
        raise ImportError_(_("The first row has no column “Thôn” (the village's name)."))
    if "households" not in named:
        raise ImportError_(_("The first row has no column “Số hộ” (households)."))
    if "commune_code" not in named and "commune" not in named:
        raise ImportError_(_("The first row has no column “Mã xã” (or “Xã” with “Tỉnh”)."))
    read = Read(ignored=ignored)
    notes = [i for i, what in columns.items() if what == "note"]
    for n, values in enumerate(table[1:], start=2):
        if not any(_text(v) for v in values):
            continue  # a blank line
        if _is_example(values, notes):
            read.skipped.append(_("Row {row} is the template's example: left out.").format(row=n))
            continue
        cells: dict[str, str] = {}
        targets: dict[str, str] = {}
        for i, what in columns.items():
            text = _text(values[i]) if i < len(values) else ""
            if what.startswith("target:"):
                if text:
                    targets[what.removeprefix("target:")] = text
            else:
                cells[what] = text
        if not targets and not any(cells.get(f) for f in ("village", "households", "leader")):
            continue  # a commune's row of the template, its village not filled in
        read.rows.append(Row(n, cells, targets))
    return read


def _columns(header: list[object], by_header: dict[str, str]) -> tuple[dict[int, str], list[str]]:
    """Column index -> field, and the columns nothing reads."""
    columns: dict[int, str] = {}
    ignored: list[str] = []
    for n, title in enumerate(header):
        found = by_header.get(_header(title))
        if found is None:
            if str(title or "").strip():
                ignored.append(safe_name(str(title)))
            continue
        if found in columns.values():
            raise ImportError_(_("Two columns say “{name}”.").format(name=safe_name(str(title))))
        columns[n] = found
    return columns, ignored


# "Ví dụ", "VD", "Example", "e.g.": the template's example row says so in its first cell or in
# its note ("Ghi chú").
_EXAMPLE = re.compile(r"^(?:vd|vi du|example|e g)\b")


def _is_example(values: list[object], notes: Sequence[int]) -> bool:
    first = next((v for v in values if _text(v)), None)
    cells = [first, *(values[i] for i in notes if i < len(values))]
    return any(_EXAMPLE.match(_header(c)) for c in cells if c is not None)


def _text(value: object) -> str:
    """A cell as text: whole numbers without ".0", names made safe (storage/folding.py)."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return safe_name(str(value), limit=sheets.MAX_CELL)


# --- checking and applying --------------------------------------------------------------


@dataclass
class _Known:
    """What the rows refer to, looked up once per file."""

    provinces: dict[str, list[Unit]] = field(default_factory=dict)
    merged: dict[str, str] = field(default_factory=dict)  # a former province's name -> note
    communes: dict[tuple[str, str], list[Unit]] = field(default_factory=dict)
    villages: dict[int, dict[str, Unit]] = field(default_factory=dict)  # commune -> key -> unit
    # The members sheet's: the villages the importer administers, each team's roster.
    scope_villages: list[Unit] | None = None
    teams: dict[int, list[tuple[Membership, Person]]] = field(default_factory=dict)


async def run(
    session: AsyncSession,
    rows: Sequence[Row],
    *,
    actor_id: str,
    scope: Sequence[Unit] | None,
    indicators: Sequence[Indicator],
    members: Sequence[Row] = (),
) -> Result:
    """Checks every row and writes what it asks in `session` (the caller commits only when
    the result is `ok` and it is no dry run). `scope`: the units the actor administers (None:
    the operator, everything). The villages' rows first, so that the members' rows find the
    villages the same file makes."""
    result = Result()
    known = _Known()
    seen: dict[tuple[int, str], int] = {}
    by_code = {ind.code: ind for ind in indicators}
    for row in rows:
        outcome = await _row(session, row, known, seen, by_code, actor_id=actor_id, scope=scope)
        result.outcomes.append(outcome)
    listed: list[tuple[int, str, int]] = []
    for row in members:
        outcome = await _member(session, row, known, listed, actor_id=actor_id, scope=scope)
        result.outcomes.append(outcome)
    result.notes = list(known.merged.values())
    if result.ok and members:
        # A leader the villages' sheet names and the members' sheet lists: theirs at once, not
        # "until they join" (and a second import of the same file changes nothing).
        for commune_id, vkey in sorted(seen, key=lambda k: seen[k]):
            village = known.villages.get(commune_id, {}).get(vkey)
            if village is None or not village.leader_name:
                continue
            name = village.leader_name
            if await _leader(session, village, name, actor_id=actor_id):
                result.notes.append(
                    _("{village}: leader {name}, from the members sheet").format(
                        village=village.name, name=name
                    )
                )
    if result.ok:
        result.leaderless = await _leaderless(session, known, seen)
        await _audit_import(session, result, seen, actor_id=actor_id)
    return result


async def _leaderless(
    session: AsyncSession, known: _Known, seen: dict[tuple[int, str], int]
) -> list[tuple[str, str | None]]:
    """The file's villages whose team has no leader after it: (village, the name the file
    gives, if any)."""
    out: list[tuple[str, str | None]] = []
    for commune_id, vkey in sorted(seen, key=lambda k: seen[k]):
        village = known.villages.get(commune_id, {}).get(vkey)
        if village is not None and not await _has_leader(session, village):
            out.append((village.name, village.leader_name))
    return out


async def _audit_import(
    session: AsyncSession, result: Result, seen: dict[tuple[int, str], int], *, actor_id: str
) -> None:
    """One line in each commune's log for the import as a whole ("created=3 updated=2"):
    its many detailed lines are easy to lose among the rest."""
    status = {o.number: o.status for o in result.outcomes}
    by_commune: dict[int, dict[str, int]] = {}
    for (commune_id, _vkey), number_ in seen.items():
        counts = by_commune.setdefault(commune_id, {"created": 0, "updated": 0})
        if status.get(number_) in counts:
            counts[status[number_]] += 1
    for commune_id, counts in sorted(by_commune.items()):
        if counts["created"] or counts["updated"]:
            after = f"created={counts['created']} updated={counts['updated']}"
            await people.audit(
                session, actor_id=actor_id, action="import", unit_id=commune_id, after=after
            )


async def _row(
    session: AsyncSession,
    row: Row,
    known: _Known,
    seen: dict[tuple[int, str], int],
    by_code: dict[str, Indicator],
    *,
    actor_id: str,
    scope: Sequence[Unit] | None,
) -> Outcome:
    def error(reason: str) -> Outcome:
        line = _("Row {row}: {reason}").format(row=row.number, reason=reason)
        return Outcome(row.number, "error", line)

    commune = await _commune(session, row, known)
    if isinstance(commune, str):
        return error(commune)
    village_name = row.cells.get("village", "")
    if not village_name:
        return error(_("no village name (“Thôn”)"))
    for text in (village_name, row.cells.get("leader", "")):
        if len(text) > NAME_CHARS:
            return error(_("“{value}…” is longer than {count} characters").format(
                value=text[:30], count=NAME_CHARS))  # fmt: skip
        if text and not_a_name(text):
            return error(_("“{value}” is not a name: letters, without < or >").format(
                value=text[:30]))  # fmt: skip
    households = _count(row.cells.get("households", ""))
    if households is None:
        given = row.cells.get("households", "")
        if not given:
            return error(_("no household count (“Số hộ”)"))
        return error(_("the household count “{value}” is not a whole number of 0 or more")
                     .format(value=given))  # fmt: skip
    targets: dict[str, int] = {}
    for code, text in row.targets.items():
        ind = by_code[code]
        value = _count(text.removesuffix("%").strip())
        limit = 100 if ind.kind == "households" else None
        if value is None or (limit is not None and value > limit):
            return error(_("the target for {indicator} “{value}” is not a percent from 0 to 100")
                         .format(indicator=indicator_name(ind.name_vi, ind.name_en),
                                 value=text))  # fmt: skip
        targets[code] = value
    assert commune.id is not None  # noqa: S101 (stored)
    vkey = village_key(village_name)
    if (commune.id, vkey) in seen:
        return error(_("the same village as row {row}").format(row=seen[(commune.id, vkey)]))
    seen[(commune.id, vkey)] = row.number
    if scope is not None and not any(
        commune.path.startswith(u.path) or u.path.startswith(commune.path) for u in scope
    ):
        return error(_("{commune} is outside the units you administer").format(
            commune=commune.name))  # fmt: skip
    villages = await _villages(session, commune, known)
    village = villages.get(vkey)
    if (
        scope is not None
        and village is not None
        and not any(village.path.startswith(u.path) for u in scope)
    ):
        return error(_("{village} is outside the units you administer").format(
            village=village.name))  # fmt: skip
    where = f"{village.name if village else village_name}, {commune.name}"
    changes: list[str] = []
    created = village is None
    if village is None:
        if scope is not None and not any(commune.path.startswith(u.path) for u in scope):
            return error(_("a new village of {commune} needs an admin of the commune").format(
                commune=commune.name))  # fmt: skip
        if len(villages) >= VILLAGES_PER_COMMUNE:
            return error(_("{commune} already has {count} villages, as many as a commune may")
                         .format(commune=commune.name, count=VILLAGES_PER_COMMUNE))  # fmt: skip
        village = await units.create_village(session, commune=commune, name=village_name)
        villages[vkey] = village
        await people.audit(session, actor_id=actor_id, action="village", unit_id=village.id,
                           after=village.name)  # fmt: skip
    assert village.id is not None  # noqa: S101 (stored)
    if village.households != households:
        low = await _below_reports(session, village, households, by_code)
        if low is not None:
            return error(low)
        before = village.households
        await people.audit(
            session, actor_id=actor_id, action="households", unit_id=village.id,
            before=None if before is None else str(before), after=str(households),
        )  # fmt: skip
        village.households = households
        changes.append(
            _("households {value}").format(value=number(households))
            if before is None
            else _("households {before} → {after}").format(
                before=number(before), after=number(households)
            )
        )
    own = {t.indicator_id: t for t in await config.targets_at(session, unit_ids=[village.id])}
    for code, value in targets.items():
        ind = by_code[code]
        assert ind.id is not None  # noqa: S101 (stored)
        current = own.get(ind.id)
        if current is not None and current.percent == value:
            continue
        name = indicator_name(ind.name_vi, ind.name_en)
        await config.set_target(session, unit_id=village.id, indicator_id=ind.id, percent=value)
        shown = f"{value}%" if ind.kind == "households" else str(value)
        await people.audit(
            session, actor_id=actor_id, action="target", unit_id=village.id,
            before=None if current is None else f"{name} {current.percent}",
            after=f"{name} {value}",
        )  # fmt: skip
        changes.append(_("target {indicator} {value}").format(indicator=name, value=shown))
    changes += await _leader(session, village, row.cells.get("leader", ""), actor_id=actor_id)
    await session.flush()
    detail = "; ".join(changes)
    said = {"row": row.number, "unit": where, "changes": detail}
    if created:
        return Outcome(row.number, "created",
                       _("Row {row}: will create {unit} — {changes}").format(**said),
                       _("Row {row}: created {unit} — {changes}").format(**said))  # fmt: skip
    if changes:
        return Outcome(row.number, "updated",
                       _("Row {row}: will update {unit} — {changes}").format(**said),
                       _("Row {row}: updated {unit} — {changes}").format(**said))  # fmt: skip
    line = _("Row {row}: unchanged {unit}").format(row=row.number, unit=where)
    return Outcome(row.number, "unchanged", line)


def _count(text: str) -> int | None:
    """A whole number of 0 or more: "350", "1.200", "1,200", "350.0" from a sheet."""
    text = text.strip()
    if re.fullmatch(r"\d{1,3}(?:[.,]\d{3})+", text):
        return int(re.sub(r"[.,]", "", text))
    if re.fullmatch(r"\d+(?:\.0+)?", text):
        return int(float(text))
    return None


async def _commune(session: AsyncSession, row: Row, known: _Known) -> Unit | str:
    """The row's commune, or why there is none."""
    code = row.cells.get("commune_code", "")
    if code:
        if not code.isdigit():
            return _("the commune code “{code}” is not a number").format(code=code)
        found = known.communes.get(("code", code))
        if found is None:
            found = await units.by_code(session, level="commune", code=str(int(code)))
            if not found:
                # A code of before 1 July 2025 (a province's older list): the commune it is
                # part of now, said once in the summary; an old commune divided is an error.
                found, old = await units.communes_now(session, code=code)
                if old is not None and len(found) > 1:
                    return split_commune_line(old, found)
                if old is not None and found:
                    known.merged[f"xa:{code}"] = old_commune_line(old, found[0])
            known.communes[("code", code)] = found
        if not found:
            return _("no commune has the code {code}").format(code=code)
        return found[0]
    name, province_name = row.cells.get("commune", ""), row.cells.get("province", "")
    if not name:
        return _("no commune: give “Mã xã” (the official code), or “Xã” with “Tỉnh”")
    province: Unit | None = None
    if province_name:
        provinces = known.provinces.get(province_name)
        if provinces is None:
            provinces, former = await units.find_province(session, query=province_name)
            known.provinces[province_name] = provinces
            if former is not None and provinces:
                known.merged[province_name] = merged_line(former, provinces[0])
        if not provinces:
            return _("no province is called “{name}”").format(name=province_name)
        province = provinces[0]
    lookup = (province.path if province else "", name)
    communes = known.communes.get(lookup)
    if communes is None:
        communes = await units.find(
            session, level="commune", query=name, parent_path=province.path if province else None
        )
        known.communes[lookup] = communes
    if not communes:
        where = province.name if province else _("the country")
        return _("no commune “{name}” in {where}").format(name=name, where=where)
    if len(communes) > 1:
        codes = ", ".join(c.code for c in communes[:6])
        return _("“{name}” is more than one commune ({codes}): give “Mã xã” or “Tỉnh”").format(
            name=name, codes=codes
        )
    return communes[0]


async def _villages(session: AsyncSession, commune: Unit, known: _Known) -> dict[str, Unit]:
    assert commune.id is not None  # noqa: S101 (stored)
    found = known.villages.get(commune.id)
    if found is None:
        children = await units.children(session, unit_id=commune.id)
        found = {village_key(u.name): u for u in children if u.level == "village"}
        known.villages[commune.id] = found
    return found


async def _below_reports(
    session: AsyncSession, village: Unit, households: int, by_code: dict[str, Indicator]
) -> str | None:
    """Households may not drop below what is already recorded as done."""
    assert village.id is not None  # noqa: S101 (stored)
    if village.households is None:
        return None
    current = (await reports.totals(session, unit_ids=[village.id]))[village.id]
    for ind in by_code.values():
        done = current.get(ind.id or 0, 0)
        if ind.kind == "households" and done > households:
            return _("{village} already counts {done} households for {indicator}, more than "
                     "{value}").format(village=village.name, done=number(done),
                                       indicator=indicator_name(ind.name_vi, ind.name_en),
                                       value=number(households))  # fmt: skip
    return None


async def _has_leader(session: AsyncSession, village: Unit) -> bool:
    assert village.id is not None  # noqa: S101 (stored)
    return any(m.role == "leader" for m, _p in await config.roster(session, unit_id=village.id))


async def _leader(session: AsyncSession, village: Unit, leader: str, *, actor_id: str) -> list[
    str
]:  # fmt: skip
    """The leader a row names, for a team that has none: kept by name until that person takes
    part, or made leader now when they are already in the team under that name (in any order
    of its words, with or without accents: "Mai Trần Thị" on Telegram is "Trần Thị Mai")."""
    assert village.id is not None  # noqa: S101 (stored)
    if not leader or await _has_leader(session, village):
        return []
    named = [p for _m, p in await config.roster(session, unit_id=village.id)
             if same_name(leader, p.display_name)]  # fmt: skip
    if len(named) == 1:  # two members of that name: which one is for an admin to say
        person = named[0]
        await config.set_leader(session, unit_id=village.id, person_id=person.id)
        await people.audit(
            session, actor_id=actor_id, action="leader", unit_id=village.id,
            before=village.leader_name, after=person.id,
        )  # fmt: skip
        village.leader_name = None
        return [_("leader {name}, already in the team").format(name=person.display_name)]
    if same_name(leader, village.leader_name or ""):
        return []
    await people.audit(
        session, actor_id=actor_id, action="leader", unit_id=village.id,
        before=village.leader_name, after=leader,
    )  # fmt: skip
    village.leader_name = leader
    return [_("leader {name} (until they join)").format(name=leader)]


# --- the members sheet ("Thành viên") ------------------------------------------------------

MEMBER_HEADERS = {
    "thon": "village",
    "ten thon": "village",
    "thon to dan pho": "village",
    "thon ap ban": "village",
    "ma thon": "village_code",
    "ma xa": "commune_code",
    "ma xa phuong": "commune_code",
    "xa": "commune",
    "xa phuong": "commune",
    "ten xa": "commune",
    "tinh": "province",
    "tinh thanh pho": "province",
    "ho va ten": "name",
    "ho ten": "name",
    "ten thanh vien": "name",
    "thanh vien": "name",
    "dien thoai": "phone",
    "so dien thoai": "phone",
    "sdt": "phone",
    "so dt": "phone",
    "doan the": "affiliation",
    "to chuc": "affiliation",
    "to chuc doan the": "affiliation",
    "da tap huan": "trained",
    "tap huan": "trained",
    "ghi chu": "note",
}


def _is_members_header(header: list[object]) -> bool:
    """A first sheet that is itself a list of members: names, and no households."""
    fields = {MEMBER_HEADERS.get(_header(t)) for t in header} | {HEADERS.get(_header(t))
                                                                 for t in header}  # fmt: skip
    return "name" in fields and "households" not in fields


def _member_rows(table: sheets.Table) -> tuple[list[Row], list[str], list[int]]:
    """The members' rows, the columns nothing reads and the example rows left out."""
    columns, ignored = _columns(table[0], MEMBER_HEADERS)
    named = set(columns.values())
    if "name" not in named:
        raise ImportError_(_("The sheet “{sheet}” has no column “Họ và tên” (the member's "
                             "name).").format(sheet=MEMBERS_SHEET))  # fmt: skip
    if "village" not in named and "village_code" not in named:
        raise ImportError_(_("The sheet “{sheet}” has no column “Thôn” or “Mã thôn”.").format(
            sheet=MEMBERS_SHEET))  # fmt: skip
    notes = [i for i, what in columns.items() if what == "note"]
    rows: list[Row] = []
    examples: list[int] = []
    for n, values in enumerate(table[1:], start=2):
        if not any(_text(v) for v in values):
            continue
        if _is_example(values, notes):
            examples.append(n)
            continue
        cells = {what: _text(values[i]) if i < len(values) else "" for i, what in columns.items()}
        if not cells.get("name") and not cells.get("phone"):
            continue  # a row with only its village (or a number) filled in: nobody yet
        rows.append(Row(n, cells, {}))
    return rows, ignored, examples


async def _member(
    session: AsyncSession,
    row: Row,
    known: _Known,
    listed: list[tuple[int, str, int]],
    *,
    actor_id: str,
    scope: Sequence[Unit] | None,
) -> Outcome:
    """One member on their village team's roster: added (a person not seen on any platform
    yet, until they are: handlers/roster.py), or the member of that name updated."""

    def error(reason: str) -> Outcome:
        line = _("“{sheet}”, row {row}: {reason}").format(sheet=MEMBERS_SHEET, row=row.number,
                                                       reason=reason)  # fmt: skip
        return Outcome(row.number, "error", line, sheet="members")

    name = row.cells.get("name", "")
    if not name:
        return error(_("no name (“Họ và tên”)"))
    if len(name) > NAME_CHARS:
        return error(_("“{value}…” is longer than {count} characters").format(
            value=name[:30], count=NAME_CHARS))  # fmt: skip
    if not_a_name(name):
        return error(_("“{value}” is not a name: letters, without < or >").format(
            value=name[:30]))  # fmt: skip
    if not any(ch.isalpha() for ch in name):
        return error(_("“{value}” is not a person's name").format(value=name))
    phone = _phone(row.cells.get("phone", ""))
    if phone is False:
        return error(_("the phone number “{value}” is not one (10 digits, as 0912 345 678)")
                     .format(value=row.cells.get("phone", "")))  # fmt: skip
    trained = _yes_no(row.cells.get("trained", ""))
    if isinstance(trained, str):
        return error(_("“{value}” under “Đã tập huấn” is neither yes nor no (“có” / “không”)")
                     .format(value=trained))  # fmt: skip
    affiliation, other = _affiliation(row.cells.get("affiliation", ""))
    village = await _member_village(session, row, known, scope)
    if isinstance(village, str):
        return error(village)
    assert village.id is not None  # noqa: S101 (stored)
    if scope is not None and not any(village.path.startswith(u.path) for u in scope):
        return error(_("{village} is outside the units you administer").format(
            village=village.name))  # fmt: skip
    for unit_id, other_name, number_ in listed:
        if unit_id == village.id and same_name(other_name, name):
            return error(_("the same person as row {row}").format(row=number_))
    listed.append((village.id, name, row.number))
    team = known.teams.get(village.id)
    if team is None:
        team = known.teams[village.id] = await roster_store.team(session, unit_id=village.id)
    found = next(((m, p) for m, p in team if same_name(p.display_name, name)), None)
    notes = [other] if other else []
    if found is None:
        m, person = await roster_store.add_listed(
            session, unit_id=village.id, name=name, phone=phone or None,
            affiliation=affiliation, trained=bool(trained),
        )  # fmt: skip
        team.append((m, person))
        await people.audit(session, actor_id=actor_id, action="roster", unit_id=village.id,
                           after=name)  # fmt: skip
        said = {"sheet": MEMBERS_SHEET, "row": row.number, "name": name, "unit": village.name}
        tail = f" — {'; '.join(notes)}" if notes else ""
        return Outcome(row.number, "created",
                       _("“{sheet}”, row {row}: will add {name} to {unit}").format(**said) + tail,
                       _("“{sheet}”, row {row}: added {name} to {unit}").format(**said) + tail,
                       sheet="members")  # fmt: skip
    m, person = found
    changes: list[str] = []
    before = f"{m.affiliation or '-'} trained={m.trained}"
    if phone and phone != m.phone:
        m.phone = phone
        changes.append(_("phone number"))
    if affiliation is not None and affiliation != m.affiliation:
        m.affiliation = affiliation
        changes.append(affiliation_name(affiliation))
    if isinstance(trained, bool) and trained != m.trained:
        m.trained = trained
        changes.append(_("trained") if trained else _("not trained"))
    after = f"{m.affiliation or '-'} trained={m.trained}"
    if after != before:
        # The log keeps what the team's details were and are; never a phone number.
        await people.audit(session, actor_id=actor_id, action="member", unit_id=village.id,
                           before=before, after=f"{after} ({person.id})")  # fmt: skip
    await session.flush()
    said = {"sheet": MEMBERS_SHEET, "row": row.number, "name": person.display_name,
            "unit": village.name, "changes": "; ".join(changes + notes)}  # fmt: skip
    if changes:
        return Outcome(row.number, "updated",
                       _("“{sheet}”, row {row}: will update {name} ({unit}) — {changes}")
                       .format(**said),
                       _("“{sheet}”, row {row}: updated {name} ({unit}) — {changes}")
                       .format(**said), sheet="members")  # fmt: skip
    line = _("“{sheet}”, row {row}: unchanged {name} ({unit})").format(**said)
    return Outcome(row.number, "unchanged", line, sheet="members")


async def _member_village(
    session: AsyncSession, row: Row, known: _Known, scope: Sequence[Unit] | None
) -> Unit | str:
    """The village a member's row names, or why there is none: by its code ("Mã thôn"), by its
    name in the commune the row names, or by its name alone when only one village of the file
    (or of the units the importer administers) has it."""
    name = row.cells.get("village", "")
    code = row.cells.get("village_code", "") or (name if re.fullmatch(r"\d+-\d+", name) else "")
    if code:
        coded = await units.by_code(session, level="village", code=code)
        if not coded:
            return _("no village has the code {code}").format(code=code)
        return coded[0]
    if not name:
        return _("no village (“Thôn” or “Mã thôn”)")
    wanted = village_key(name)
    if row.cells.get("commune_code") or row.cells.get("commune"):
        commune = await _commune(session, row, known)
        if isinstance(commune, str):
            return commune
        found = (await _villages(session, commune, known)).get(wanted)
        if found is None:
            return _("no village “{name}” in {commune}").format(name=name, commune=commune.name)
        return found
    candidates = {
        v.id: v for villages in known.villages.values() for k, v in villages.items() if k == wanted
    }
    if not candidates and scope is not None:
        if known.scope_villages is None:
            known.scope_villages = [
                u for unit in scope for u in await units.subtree(session, unit=unit)
                if u.level == "village"
            ]  # fmt: skip
        candidates = {v.id: v for v in known.scope_villages if village_key(v.name) == wanted}
    if len(candidates) == 1:
        return next(iter(candidates.values()))
    if not candidates:
        return _("no village “{name}” is known: give its code (“Mã thôn”, as 20791-3) or its "
                 "commune (“Mã xã”)").format(name=name)  # fmt: skip
    return _("“{name}” is more than one village: give its code (“Mã thôn”) or its commune "
             "(“Mã xã”)").format(name=name)  # fmt: skip


def _phone(text: str) -> str | Literal[False] | None:
    """A Vietnamese phone number as digits ("0912345678"); None when none is given; False
    when it is not one. A number cell loses its leading 0 in Excel: it is put back."""
    if not text:
        return None
    digits = re.sub(r"[\s.\-()]", "", text)
    if digits.startswith("+84"):
        digits = "0" + digits[3:]
    elif digits.startswith("84") and len(digits) == 11:
        digits = "0" + digits[2:]
    if not digits.isdigit():
        return False
    if len(digits) == 9 and not digits.startswith("0"):
        digits = "0" + digits
    return digits if 10 <= len(digits) <= 11 and digits.startswith("0") else False


_TRAINED = frozenset({"co", "yes", "roi", "da", "1", "x", "true", "da tap huan", "co tap huan"})
_UNTRAINED = frozenset({"khong", "no", "chua", "0", "false", "chua tap huan"})


def _yes_no(text: str) -> bool | str | None:
    """Yes or no; None when the cell is empty; the text itself when it is neither."""
    folded = _header(text)
    if not folded:
        return None
    if folded in _TRAINED:
        return True
    if folded in _UNTRAINED:
        return False
    return text


def _affiliation(text: str) -> tuple[str | None, str | None]:
    """The affiliation a cell names ("Đoàn thanh niên", "Hội Phụ nữ", "Công an xã"), and a
    note when it names none the bot knows (kept as "other")."""
    folded = _header(text)
    if not folded:
        return None, None
    for words in sorted(AFFILIATIONS, key=len, reverse=True):
        if re.search(rf"\b{re.escape(words)}\b", folded):
            return AFFILIATIONS[words], None
    note = _("“{value}” kept as “{other}”").format(value=text, other=affiliation_name("other"))
    return "other", note


# --- the template -----------------------------------------------------------------------


VILLAGE_COLUMNS = ["Mã xã", "Xã", "Tỉnh", "Thôn", "Số hộ", "app", "cks", "Tổ trưởng", "Ghi chú"]
MEMBER_COLUMNS = ["Mã thôn", "Thôn", "Họ và tên", "Điện thoại", "Đoàn thể", "Đã tập huấn",
                  "Ghi chú"]  # fmt: skip
GUIDE_SHEET = "Hướng dẫn"


def template(communes: Sequence[Unit], province: Unit | None) -> bytes:
    """A workbook ready to fill: the villages' sheet with the province's communes (one row each,
    the village left to fill: a row left so is no row), a sheet that says what each column
    means, and the members' sheet. Each sheet's example row says "Ví dụ" in its note and is
    left out when the file is imported."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None  # noqa: S101 (a new workbook has one)
    sheet.title = "Thôn"
    sheet.append(VILLAGE_COLUMNS)
    sheet.append(["20791", "Xã Thăng Bình", "Thành phố Đà Nẵng", "Thôn Phú Mỹ", 350, 60, 40,
                  "Nguyễn Văn An", _example_note()])  # fmt: skip
    _mark_example(sheet)
    for commune in communes:
        sheet.append([commune.code, commune.name, province.name if province else "", "", None])
    for column, width in zip("ABCDEFGHI", (10, 28, 24, 24, 10, 8, 8, 24, 36), strict=True):
        sheet.column_dimensions[column].width = width
    sheet.freeze_panes = "A2"

    guide = book.create_sheet(GUIDE_SHEET)
    guide.append([_("Sheet"), _("Column"), _("Required"), _("What it holds")])
    for row in _guide():
        guide.append(row)
    for cell in guide[1]:
        cell.font = Font(bold=True)
    for column, width in zip("ABCD", (14, 16, 12, 90), strict=True):
        guide.column_dimensions[column].width = width

    members = book.create_sheet(MEMBERS_SHEET)
    members.append(MEMBER_COLUMNS)
    members.append(["20791-1", "Thôn Phú Mỹ", "Trần Thị Mai", "0912 345 678", "Đoàn thanh niên",
                    "có", _example_note()])  # fmt: skip
    _mark_example(members)
    for column, width in zip("ABCDEFG", (10, 24, 26, 16, 20, 12, 36), strict=True):
        members.column_dimensions[column].width = width
    members.freeze_panes = "A2"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _example_note() -> str:
    return _("Ví dụ (example) — this row is not imported")


def _mark_example(sheet: Any) -> None:
    """The example row (the second) in grey italics, and the header in bold."""
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for cell in sheet[2]:
        cell.font = Font(italic=True, color="808080")


def _guide() -> list[list[str]]:
    """What each column of the template means: (sheet, column, required, what it holds)."""
    yes, no = _("yes"), _("no")
    villages, members = "Thôn", MEMBERS_SHEET
    return [
        [villages, "Mã xã", yes, _("The commune's official code (as 20791). Or leave it out and "
                                   "give “Xã” and “Tỉnh”.")],
        [villages, "Xã", no, _("The commune's name; with “Tỉnh” when there is no “Mã xã”.")],
        [villages, "Tỉnh", no, _("The province's name.")],
        [villages, "Thôn", yes, _("The village's name (Thôn, Ấp, Bản, Tổ dân phố…). A commune's "
                                  "row left without it is not read.")],
        [villages, "Số hộ", yes, _("The village's households: a whole number.")],
        [villages, "app, cks…", no, _("The village's own target for an indicator, in percent "
                                      "of households (0–100); empty: the commune's.")],
        [villages, "Tổ trưởng", no, _("The team leader's full name; they lead at once when the "
                                      "sheet “Thành viên” lists them, else when they first take "
                                      "part.")],
        [villages, "Ghi chú", no, _("Anything; a row whose note starts with “Ví dụ” or “VD” is "
                                    "not imported.")],
        [members, "Mã thôn", no, _("The village's code (as 20791-3, in the bot's answer to "
                                   "/lien_ket). Or give “Thôn”.")],
        [members, "Thôn", no, _("The village's name, as in the sheet “Thôn” (add “Mã xã” "
                                "when two communes have a village of that name).")],
        [members, "Họ và tên", yes, _("The member's full name, family name first. Matched to "
                                      "the person when they join the group or speak to the bot.")],
        [members, "Điện thoại", no, _("The member's phone number; shown only to the team's "
                                      "leader and admins, in a private chat.")],
        [members, "Đoàn thể", no, _("Đoàn thanh niên, Công an, Trưởng thôn, Cán bộ xã, Đảng "
                                    "viên, Hội Phụ nữ, Cựu chiến binh or Khác.")],
        [members, "Đã tập huấn", no, _("“có” when the member has been trained, else “không”.")],
    ]  # fmt: skip
