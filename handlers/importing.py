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
from typing import Literal

from openpyxl import Workbook
from sqlmodel.ext.asyncio.session import AsyncSession

from handlers import sheets
from handlers.context import indicator_name
from handlers.grammar import NAME_CHARS, VILLAGES_PER_COMMUNE
from handlers.i18n import _
from handlers.person_names import same_name
from handlers.views import merged_line, number, old_commune_line, split_commune_line
from storage import config, people, reports, units
from storage.folding import key, safe_name, village_key
from storage.models import Indicator, Unit

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
    line: str  # what to show, in the language in use


@dataclass
class Result:
    outcomes: list[Outcome] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)  # columns nobody reads
    notes: list[str] = field(default_factory=list)  # how a name was read (a merged province)
    # The file's villages whose team has no leader: (village, the leader the file names).
    leaderless: list[tuple[str, str | None]] = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(1 for o in self.outcomes if o.status == status)

    @property
    def ok(self) -> bool:
        return self.count("error") == 0

    def summary(self, *, applied: bool) -> list[str]:
        lines = [
            _("{rows} rows: {created} created, {updated} updated, {unchanged} unchanged, "
              "{errors} with errors.").format(
                rows=number(len(self.outcomes)),
                created=number(self.count("created")),
                updated=number(self.count("updated")),
                unchanged=number(self.count("unchanged")),
                errors=number(self.count("error")),
            )
        ]  # fmt: skip
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


async def read(filename: str, content: bytes, indicators: Sequence[Indicator]) -> tuple[
    list[Row], list[str]
]:  # fmt: skip
    """The rows of an .xlsx or .csv file and the columns it has that nothing reads. The file is
    read in a process of its own (handlers/sheets.py), so that no file can stall the bot."""
    try:
        table = await sheets.read(filename, content)
    except sheets.Unreadable as exc:
        raise ImportError_(unreadable(exc)) from exc
    return rows_of(table, indicators)


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


def rows_of(table: sheets.Table, indicators: Sequence[Indicator]) -> tuple[
    list[Row], list[str]
]:  # fmt: skip
    """The rows of a table read from a file, by its header row."""
    if not table:
        raise ImportError_(_("The file is empty."))
    by_header = {**HEADERS}
    for ind in indicators:
        for name in (ind.code, ind.name_vi, ind.name_en):
            for prefix in ("", "chi tieu ", "muc tieu ", "target "):
                by_header.setdefault(prefix + _header(name), f"target:{ind.code}")
    columns: dict[int, str] = {}
    ignored: list[str] = []
    for n, title in enumerate(table[0]):
        found = by_header.get(_header(title))
        if found is None:
            if str(title or "").strip():
                ignored.append(safe_name(str(title)))
            continue
        if found in columns.values():
            raise ImportError_(_("Two columns say “{name}”.").format(name=safe_name(str(title))))
        columns[n] = found
    named = set(columns.values())
    if "village" not in named:
        raise ImportError_(_("The first row has no column “Thôn” (the village's name)."))
    if "households" not in named:
        raise ImportError_(_("The first row has no column “Số hộ” (households)."))
    if "commune_code" not in named and "commune" not in named:
        raise ImportError_(_("The first row has no column “Mã xã” (or “Xã” with “Tỉnh”)."))
    rows: list[Row] = []
    for n, values in enumerate(table[1:], start=2):
        if not any(_text(v) for v in values):
            continue  # a blank line
        cells: dict[str, str] = {}
        targets: dict[str, str] = {}
        for i, what in columns.items():
            text = _text(values[i]) if i < len(values) else ""
            if what.startswith("target:"):
                if text:
                    targets[what.removeprefix("target:")] = text
            else:
                cells[what] = text
        rows.append(Row(n, cells, targets))
    return rows, ignored


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


async def run(
    session: AsyncSession,
    rows: Sequence[Row],
    *,
    actor_id: str,
    scope: Sequence[Unit] | None,
    indicators: Sequence[Indicator],
) -> Result:
    """Checks every row and writes what it asks in `session` (the caller commits only when
    the result is `ok` and it is no dry run). `scope`: the units the actor administers (None:
    the operator, everything)."""
    result = Result()
    known = _Known()
    seen: dict[tuple[int, str], int] = {}
    by_code = {ind.code: ind for ind in indicators}
    for row in rows:
        outcome = await _row(session, row, known, seen, by_code, actor_id=actor_id, scope=scope)
        result.outcomes.append(outcome)
    result.notes = list(known.merged.values())
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
    if created:
        return Outcome(row.number, "created", _("Row {row}: created {unit} — {changes}").format(
            row=row.number, unit=where, changes=detail))  # fmt: skip
    if changes:
        return Outcome(row.number, "updated", _("Row {row}: updated {unit} — {changes}").format(
            row=row.number, unit=where, changes=detail))  # fmt: skip
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


# --- the template -----------------------------------------------------------------------


def template(communes: Sequence[Unit], province: Unit | None) -> bytes:
    """A workbook ready to fill: the columns, an example row, and the province's communes
    (one row each, the village left to fill) so that nobody has to look codes up."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None  # noqa: S101 (a new workbook has one)
    sheet.title = "Thon"
    sheet.append(["Mã xã", "Xã", "Tỉnh", "Thôn", "Số hộ", "app", "cks", "Tổ trưởng"])
    sheet.append(["20791", "Xã Thăng Bình", "Thành phố Đà Nẵng", "Thôn Phú Mỹ", 350, 60, 40,
                  "Nguyễn Văn An"])  # fmt: skip
    for commune in communes:
        sheet.append([commune.code, commune.name, province.name if province else "", "", None])
    for column, width in zip("ABCDEFGH", (10, 28, 24, 24, 10, 8, 8, 24), strict=True):
        sheet.column_dimensions[column].width = width
    sheet.freeze_panes = "A2"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
