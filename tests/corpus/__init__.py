"""The `/bao_cao` corpus: the cases, what the bot did with each, and the figures that judge it.

One implementation for `tests/test_corpus.py` (the router on SQLite),
`tests/test_corpus_telegram.py` (python-telegram-bot against the sandbox Bot API) and
`python -m tests.corpus_figures`.

What was stored is read from the database (`storage.reports`), never from the bot's reply; the
reply is only read for the `/bao_cao k=v …` lines it offers (an ask's suggestion, a refusal's
example) and for the length of a group confirmation.
"""

from __future__ import annotations

import re
import tomllib
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Literal, cast
from zoneinfo import ZoneInfo

from sqlmodel import col, select

import storage
from handlers.incoming import Deps
from storage import config, reports, units
from storage.db import SessionFactory, transaction
from storage.models import Report
from tests.harness import ChatRoom, Person

CORPUS = Path(__file__).with_name("reports.toml")
# Written by helper sessions playing volunteers, who had not read the reader's rules (issue 25).
VOLUNTEERS = Path(__file__).with_name("volunteers.toml")
CORPORA = (CORPUS, VOLUNTEERS)
PLAN = Path(storage.__file__).parent / "plans" / "national.toml"

# The bot's clock in every run: Friday 20 November 2026, 10:00 in Vietnam (ISO week 47).
NOW = datetime(2026, 11, 20, 3, 0, tzinfo=UTC)
TIMEZONE = ZoneInfo("Asia/Ho_Chi_Minh")
MESSAGE_DAY = date(2026, 11, 20)
MESSAGE_WEEK = "2026-W47"
WINDOW = (date(2026, 11, 9), date(2026, 11, 22))

SUPERADMIN = "tg:1"  # tests/conftest.py SUPERADMIN; corpus_figures builds its own Deps with it
ADMIN = Person(SUPERADMIN, "Trần Văn Quản")
VILLAGE = "Thôn Hà Lam"
LINK = f"/lien_ket xa=20791 thon={VILLAGE} ho=5000"
GROUP_CHAT = "tg:-1004747"
MEMBER_BASE = 900_000  # case n is sent by member tg:900000+n, new to the bot

# The asserted figures: of the reports a clerk would record, the share stored right directly,
# and the share stored right directly or after one tap on the reading offered.
DIRECT_SHARE = 0.80
RECORD_RIGHT_SHARE = 0.95
MAX_CONFIRMATION_LINES = 3

Expect = Literal["record", "ask", "refuse", "answer"]
Chat = Literal["group", "private"]
# answer: no report at all (a question, a greeting, nothing done); nothing stored, answered.
KINDS: tuple[Expect, ...] = ("record", "ask", "refuse", "answer")
_FIELDS = {"text", "expect", "values", "chat", "day", "note", "why", "sender"}
_PAIR = re.compile(r"^([a-z_]+)=(\d+)$")
# A copyable line in a reply: the command and nothing but key=value pairs after it.
_LINE = re.compile(r"/(?:bao_cao|report)(?:@\w+)?((?:[ \t]+[A-Za-z_]+=[^\s]*)+)")
_LINE_PAIR = re.compile(r"([A-Za-z_]+)=([^\s]*)")
_NOT_INDICATORS = {"ngay", "ghi_chu"}


class CorpusError(Exception):
    """The corpus file is malformed, or a run could not set its village up."""


def known_codes(plan: Path = PLAN) -> tuple[str, ...]:
    """The indicator codes of the national plan, which the corpus village uses."""
    with plan.open("rb") as f:
        data = tomllib.load(f)
    return tuple(str(ind["code"]) for ind in data["indicators"])


def parse_pairs(text: str, codes: Iterable[str]) -> dict[str, int]:
    """ "ho=12 app=5" -> {"ho": 12, "app": 5}; ValueError on anything else."""
    allowed = set(codes)
    pairs: dict[str, int] = {}
    for token in text.split():
        m = _PAIR.match(token)
        if m is None:
            raise ValueError(f"not a code=int pair: {token!r}")
        code, number = m.group(1), int(m.group(2))
        if code not in allowed:
            raise ValueError(f"unknown indicator code {code!r}")
        if code in pairs:
            raise ValueError(f"{code!r} twice")
        pairs[code] = number
    return pairs


def nonzero(values: Mapping[str, int]) -> dict[str, int]:
    """A zero adds nothing: "cks=0" stored or left out are the same report."""
    return {k: v for k, v in values.items() if v}


def pairs_text(values: Mapping[str, int]) -> str:
    return " ".join(f"{k}={v}" for k, v in values.items())


@dataclass(frozen=True)
class Case:
    number: int  # 1-based position in the file
    text: str
    expect: Expect
    values: dict[str, int]
    why: str
    chat: Chat = "group"
    day: date | None = None
    note: str | None = None
    # An ask's values are the line the reply must offer (reports.toml); in volunteers.toml
    # they are what the writer meant, which a question may or may not guess.
    line_required: bool = True
    # The member's name, where the text is their own message pasted under their name.
    sender: str | None = None

    @property
    def member(self) -> Person:
        name = self.sender or f"Thành viên {self.number}"
        return Person(f"tg:{MEMBER_BASE + self.number}", name)

    def expected(self) -> str:
        if self.expect == "record":
            text = f"record {pairs_text(self.values)}"
            if self.day is not None:
                text += f" day={self.day.isoformat()}"
            if self.note is not None:
                text += f" note={self.note!r}"
            return text
        if self.expect == "ask":
            return f"ask /bao_cao {pairs_text(self.values)}" if self.values else "ask"
        return "refuse"


def problems(raw: Mapping[str, Any], codes: Sequence[str] | None = None) -> list[str]:
    """Everything malformed in a loaded corpus file, one line each (empty: well formed)."""
    codes = tuple(codes) if codes is not None else known_codes()
    found: list[str] = []
    cases = raw.get("case")
    if not isinstance(cases, list) or not cases:
        return ["no [[case]] tables"]
    seen: dict[tuple[str, str], int] = {}
    for n, entry in enumerate(cases, start=1):
        where = f"case {n}"
        if not isinstance(entry, dict):
            found.append(f"{where}: not a table")
            continue
        extra = set(entry) - _FIELDS
        if extra:
            found.append(f"{where}: unknown fields {sorted(extra)}")
        text, expect, why = entry.get("text"), entry.get("expect"), entry.get("why")
        if not isinstance(text, str) or not text.strip():
            found.append(f"{where}: text missing")
            continue
        where = f"case {n} ({text[:40]!r})"
        if expect not in KINDS:
            found.append(f"{where}: expect must be one of {KINDS}, not {expect!r}")
        if not isinstance(why, str) or not why.strip():
            found.append(f"{where}: why missing")
        chat = entry.get("chat", "group")
        if chat not in ("group", "private"):
            found.append(f"{where}: chat must be group or private, not {chat!r}")
        key = (str(chat), text)
        if key in seen:
            found.append(f"{where}: same text as case {seen[key]}")
        seen[key] = n
        values = entry.get("values")
        if not isinstance(values, str):
            found.append(f'{where}: values missing (use "" for none)')
            continue
        try:
            pairs = parse_pairs(values, codes)
        except ValueError as exc:
            found.append(f"{where}: values: {exc}")
            continue
        if expect == "record" and not pairs:
            found.append(f"{where}: a record stores at least one indicator")
        if expect in ("refuse", "answer") and pairs:
            found.append(f'{where}: a refusal stores nothing, values must be ""')
        if expect != "record" and ("day" in entry or "note" in entry):
            found.append(f"{where}: day and note belong to records only")
        if "day" in entry:
            try:
                day = date.fromisoformat(str(entry["day"]))
            except ValueError:
                found.append(f"{where}: day {entry['day']!r} is not YYYY-MM-DD")
            else:
                if not WINDOW[0] <= day <= MESSAGE_DAY:
                    found.append(f"{where}: day {day} is outside {WINDOW[0]}–{MESSAGE_DAY}")
        if "note" in entry and not str(entry["note"]).strip():
            found.append(f"{where}: empty note")
        if not text.lstrip().startswith("/") and chat != "private":
            found.append(f"{where}: a group text starts with a command")
    return found


def load_cases(*paths: Path) -> list[Case]:
    """The cases of the files (default: every corpus), numbered on through them."""
    cases: list[Case] = []
    for path in paths or CORPORA:
        cases.extend(_load(path, start=len(cases) + 1))
    return cases


def _load(path: Path, *, start: int) -> list[Case]:
    with path.open("rb") as f:
        raw = tomllib.load(f)
    codes = known_codes()
    found = problems(raw, codes)
    if found:
        raise CorpusError(f"{path.name}:\n" + "\n".join(found))
    cases: list[Case] = []
    for n, entry in enumerate(raw["case"], start=start):
        cases.append(
            Case(
                number=n,
                text=entry["text"],
                expect=cast(Expect, entry["expect"]),
                values=parse_pairs(entry["values"], codes),
                why=entry["why"],
                chat=cast(Chat, entry.get("chat", "group")),
                day=date.fromisoformat(entry["day"]) if "day" in entry else None,
                note=entry.get("note"),
                line_required=path == CORPUS,
                sender=entry.get("sender"),
            )
        )
    return cases


# --- what the bot did ------------------------------------------------------------------------


@dataclass(frozen=True)
class Stored:
    """A report as the database holds it."""

    values: dict[str, int]
    day: date
    week: str
    note: str | None

    def describe(self) -> str:
        text = f"stored {pairs_text(self.values) or '(no values)'} day={self.day.isoformat()}"
        return text + (f" note={self.note!r}" if self.note else "")


def suggestions(reply: str, codes: Sequence[str]) -> list[dict[str, int]]:
    """The indicator pairs of each well-formed `/bao_cao k=v …` line of a reply (the example
    of a refusal, the line an ask offers). A line with an unknown key or a value that is not
    a plain number is not a line one could send, and is left out."""
    allowed = set(codes)
    found: list[dict[str, int]] = []
    for m in _LINE.finditer(reply):
        body = m.group(1)
        cut = body.find("ghi_chu=")
        if cut >= 0:
            body = body[:cut]  # a note runs to the end of the line
        pairs: dict[str, int] = {}
        ok = True
        for key, value in _LINE_PAIR.findall(body):
            if key in _NOT_INDICATORS:
                continue
            if key not in allowed or not (value.isascii() and value.isdigit()) or key in pairs:
                ok = False
                break
            pairs[key] = int(value)
        if ok and pairs:
            found.append(pairs)
    return found


def _same_note(stored: str | None, expected: str) -> bool:
    return " ".join((stored or "").split()) == " ".join(expected.split())


@dataclass
class Outcome:
    case: Case
    replies: list[str]  # the plain text of each reply
    stored: Stored | None  # the report stored for the case's message, if any
    stray: int = 0  # other live reports of the case's member (there must be none)
    codes: tuple[str, ...] = field(default_factory=known_codes)
    # Nothing stored, a reading offered, the member tapped the one they meant: what was then
    # stored (the member taps only a reading equal to what they meant; none: no tap).
    tapped: Stored | None = None
    offered: int = 0  # readings offered for one tap

    @property
    def reply(self) -> str:
        return "\n".join(r for r in self.replies if r.strip()).strip()

    @property
    def answered(self) -> bool:
        return bool(self.reply)

    def stored_as_expected(self) -> bool:
        s, c = self.stored, self.case
        if s is None or self.stray or c.expect != "record":
            return False
        if nonzero(s.values) != nonzero(c.values):
            return False
        if c.day is not None and s.day != c.day:
            return False
        if c.day is None and s.week != MESSAGE_WEEK:
            return False
        return c.note is None or _same_note(s.note, c.note)

    def tapped_as_expected(self) -> bool:
        s, c = self.tapped, self.case
        if s is None or self.stray or self.stored is not None or not c.values:
            return False
        if nonzero(s.values) != nonzero(c.values):
            return False
        if c.expect == "record" and c.day is not None and s.day != c.day:
            return False
        return c.day is not None or s.week == MESSAGE_WEEK or c.expect == "ask"

    @property
    def wrongly_stored(self) -> bool:
        """Anything stored that should not be: other values, day or note for a record, and
        anything at all for an ask or a refusal; after a tap, anything but what was meant."""
        if self.stray:
            return True
        if self.tapped is not None and not self.tapped_as_expected():
            return True
        if self.stored is None:
            return False
        return not self.stored_as_expected()

    @property
    def lines_offered(self) -> list[dict[str, int]]:
        return suggestions(self.reply, self.codes)

    @property
    def read_right(self) -> bool:
        """Directly: a record stored as meant; an ask or refusal stored nothing and answered."""
        c = self.case
        if c.expect == "record":
            return self.stored_as_expected() and self.answered
        if self.stored is not None or self.stray or not self.answered:
            return False
        if c.expect == "answer":
            return True
        if c.expect == "ask":
            return (
                not c.values
                or nonzero(c.values) in [nonzero(p) for p in self.lines_offered]
                or self.tapped_as_expected()
                or not c.line_required
            )
        return bool(self.lines_offered)  # a refusal shows a correct example

    @property
    def right_after_tap(self) -> bool:
        """A record stored as meant once the member tapped the reading offered."""
        return self.case.expect == "record" and self.answered and self.tapped_as_expected()

    @property
    def confirmation_lines(self) -> int | None:
        """Lines of the answer to a report stored from a group (None: not such a case)."""
        if self.case.chat != "group" or self.stored is None:
            return None
        return len(self.reply.splitlines())

    @property
    def failing(self) -> bool:
        lines = self.confirmation_lines
        return (
            not (self.read_right or self.right_after_tap)
            or self.wrongly_stored
            or not self.answered
            or (lines is not None and lines > MAX_CONFIRMATION_LINES)
        )

    def got(self) -> str:
        if self.stored is not None:
            text = self.stored.describe()
        elif self.tapped is not None:
            text = "after a tap " + self.tapped.describe()
        elif self.lines_offered:
            text = "nothing stored; lines " + " | ".join(pairs_text(p) for p in self.lines_offered)
        else:
            text = "nothing stored"
        if self.stray:
            text += f" (+{self.stray} other report)"
        if not self.answered:
            text += "; no answer"
        elif self.confirmation_lines is not None:
            text += f"; {self.confirmation_lines} lines"
        return text


# --- the figures -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Figures:
    cases: dict[str, int]
    right: dict[str, int]
    tapped: int  # records stored right after one tap
    wrongly_stored: int
    unanswered: int
    confirmations: int
    max_lines: int
    mean_lines: float
    by_why: dict[str, tuple[int, int]]  # tag -> (missed, cases)

    def share_right(self, kind: str) -> float:
        return self.right.get(kind, 0) / self.cases[kind] if self.cases.get(kind) else 1.0

    @property
    def share_understood(self) -> float:
        """Records stored right, directly or after one tap."""
        n = self.cases.get("record", 0)
        return (self.right.get("record", 0) + self.tapped) / n if n else 1.0

    def verdicts(self) -> list[str]:
        """The asserted properties that do not hold (empty: all hold)."""
        failed: list[str] = []
        if self.wrongly_stored:
            failed.append(f"{self.wrongly_stored} case(s) wrongly stored (must be 0)")
        if self.share_right("record") < DIRECT_SHARE:
            failed.append(
                f"records stored right directly {self.share_right('record'):.1%} "
                f"(must be ≥ {DIRECT_SHARE:.0%})"
            )
        if self.share_understood < RECORD_RIGHT_SHARE:
            failed.append(
                f"records stored right directly or after one tap {self.share_understood:.1%} "
                f"(must be ≥ {RECORD_RIGHT_SHARE:.0%})"
            )
        if self.unanswered:
            failed.append(f"{self.unanswered} message(s) got no answer (must be 0)")
        if self.max_lines > MAX_CONFIRMATION_LINES:
            failed.append(
                f"a group confirmation runs {self.max_lines} lines "
                f"(must be ≤ {MAX_CONFIRMATION_LINES})"
            )
        return failed


def figures(outcomes: Sequence[Outcome]) -> Figures:
    cases: Counter[str] = Counter(o.case.expect for o in outcomes)
    right: Counter[str] = Counter(o.case.expect for o in outcomes if o.read_right)
    lines = [n for o in outcomes if (n := o.confirmation_lines) is not None]
    tags: dict[str, list[int]] = {}
    for o in outcomes:
        tally = tags.setdefault(o.case.why, [0, 0])
        tally[0] += o.failing
        tally[1] += 1
    return Figures(
        cases=dict(cases),
        right=dict(right),
        tapped=sum(o.right_after_tap for o in outcomes),
        wrongly_stored=sum(o.wrongly_stored for o in outcomes),
        unanswered=sum(not o.answered for o in outcomes),
        confirmations=len(lines),
        max_lines=max(lines, default=0),
        mean_lines=sum(lines) / len(lines) if lines else 0.0,
        by_why={tag: (t[0], t[1]) for tag, t in tags.items()},
    )


def render_figures(fig: Figures, outcomes: Sequence[Outcome] = ()) -> str:
    total = sum(fig.cases.values())
    out = [f"cases: {total}"]
    for kind in KINDS:
        n = fig.cases.get(kind, 0)
        out.append(
            f"  {kind:<7} {n:>4} ({n / total:.0%})   read right {fig.right.get(kind, 0):>4}"
            f"  ({fig.share_right(kind):.1%})"
        )
    records = fig.cases.get("record", 0)
    out.append(
        f"records stored right: directly {fig.right.get('record', 0)} "
        f"({fig.share_right('record'):.1%}), after one tap {fig.tapped}; together "
        f"{fig.right.get('record', 0) + fig.tapped}/{records} ({fig.share_understood:.1%})"
    )
    out.append(f"wrongly stored: {fig.wrongly_stored}")
    out.append(f"unanswered: {fig.unanswered}")
    out.append(
        f"group confirmations: {fig.confirmations}, lines max {fig.max_lines}, "
        f"mean {fig.mean_lines:.1f} (limit {MAX_CONFIRMATION_LINES})"
    )
    kinds = {o.case.why: o.case.expect for o in outcomes}
    out.append("misses by shape (missed/cases):")
    for tag, (missed, n) in sorted(fig.by_why.items(), key=lambda kv: (-kv[1][0], kv[0])):
        label = f" [{kinds[tag]}]" if tag in kinds else ""
        out.append(f"  {missed:>3}/{n:<3} {tag}{label}")
    verdicts = fig.verdicts()
    out.append("verdict: " + ("all properties hold" if not verdicts else "; ".join(verdicts)))
    return "\n".join(out) + "\n"


def _cell(text: str, width: int) -> str:
    flat = text.replace("\n", "⏎ ")
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def failure_table(outcomes: Sequence[Outcome], *, limit: int = 400) -> str:
    failing = [o for o in outcomes if o.failing]
    rows = [f"{len(failing)} failing case(s):"]
    rows.append(f"{'#':>4}  {'text':<48}  {'expected':<34}  {'got':<46}  reply")
    for o in failing[:limit]:
        rows.append(
            f"{o.case.number:>4}  {_cell(o.case.text, 48):<48}  {_cell(o.case.expected(), 34):<34}"
            f"  {_cell(o.got(), 46):<46}  {_cell(o.reply or '—', 90)}"
        )
    if len(failing) > limit:
        rows.append(f"… and {len(failing) - limit} more")
    return "\n".join(rows) + "\n"


# --- reading back what was stored ------------------------------------------------------------


async def read_stored(
    sessions: SessionFactory, *, message_key: str, person_id: str
) -> tuple[Stored | None, int]:
    """The live report stored for the message, and how many other live reports its sender
    has (a fresh member per case: any is a report stored where it should not be)."""
    async with sessions() as session:
        live = (
            await session.exec(
                select(Report).where(
                    Report.person_id == person_id, col(Report.withdrawn_at).is_(None)
                )
            )
        ).all()
        stray = sum(1 for r in live if r.message_key != message_key)
        report = await reports.by_message_key(session, message_key=message_key)
        if report is None or report.id is None or report.withdrawn_at is not None:
            return None, stray
        unit = await units.get(session, unit_id=report.unit_id)
        names = {ind.id: ind.code for ind in await config.indicators_for(session, unit=unit)}
        raw = await reports.values_of(session, report_id=report.id)
        values = {names.get(i) or f"#{i}": v for i, v in raw.items()}
        return Stored(values, report.report_date, report.week, report.note), stray


async def withdraw_all(sessions: SessionFactory, *, person_id: str) -> None:
    """Takes the member's reports back out of the totals once read, so that every case meets
    the village as the corpus assumes it: nothing recorded yet, far from 5000 households."""
    async with transaction(sessions) as session:
        live = (
            await session.exec(
                select(Report).where(
                    Report.person_id == person_id, col(Report.withdrawn_at).is_(None)
                )
            )
        ).all()
        for report in live:
            unit = await units.get(session, unit_id=report.unit_id)
            if unit is not None:
                await reports.withdraw(session, report=report, unit=unit)


def join_code(reply: str) -> str:
    m = re.search(r"/tham_gia ([A-Z0-9]{4,})", reply)
    if m is None:
        raise CorpusError(f"no join code in: {reply!r}")
    return m.group(1)


def check_clock(now: datetime) -> None:
    if now.astimezone(TIMEZONE).date() != MESSAGE_DAY:
        raise CorpusError(f"the corpus is dated {MESSAGE_DAY}; the bot's clock says {now}")


# --- the dialogue run: the router, a real database --------------------------------------------


async def run_dialogue(deps: Deps, cases: Sequence[Case]) -> list[Outcome]:
    """Every case through `handlers.router`, each from a new member: group cases in one linked
    group, private ones in the member's own chat after `/tham_gia`."""
    check_clock(deps.clock())
    group = ChatRoom(deps, GROUP_CHAT, title=f"Tổ CNS {VILLAGE.lower()}")
    linked = await group.say(ADMIN, LINK)
    if VILLAGE not in linked:
        raise CorpusError(f"could not link the corpus village: {linked!r}")
    code = join_code(await group.say(ADMIN, "/ma_tham_gia"))
    codes = known_codes()
    outcomes: list[Outcome] = []
    for case in cases:
        person = case.member
        room = group
        if case.chat == "private":
            room = ChatRoom(deps, person.id, kind="private")
            joined = await room.say(person, f"/tham_gia {code}")
            if VILLAGE not in joined:
                raise CorpusError(f"case {case.number}: could not join: {joined!r}")
        message_id, replies = await room.send(person, case.text)
        key = f"{room.chat_id}:{message_id}"
        stored, stray = await read_stored(deps.sessions, message_key=key, person_id=person.id)
        outcome = Outcome(case, [r.rich.plain() for r in replies], stored, stray, codes)
        if stored is None and case.values and case.expect in ("record", "ask"):
            await _tap(deps, room, person, case, replies, outcome, key)
        outcomes.append(outcome)
        await withdraw_all(deps.sessions, person_id=person.id)
    return outcomes


_OFFER = re.compile(r"^k(\d+)\.(\d)$")


def reading(line: str) -> tuple[dict[str, int], date | None]:
    """ "ho=5 app=2 ngay=18/11/2026" -> ({"ho": 5, "app": 2}, 2026-11-18)."""
    values = {
        k: int(v) for k, v in re.findall(r"([a-z_]+)=(\d+)", line) if k not in _NOT_INDICATORS
    }
    day = re.search(r"ngay=(\d{1,2})/(\d{1,2})(?:/(\d{4}))?", line)
    if day is None:
        return values, None
    return values, date(int(day[3] or MESSAGE_DAY.year), int(day[2]), int(day[1]))


async def _tap(
    deps: Deps,
    room: ChatRoom,
    person: Person,
    case: Case,
    replies: Sequence[Any],
    outcome: Outcome,
    key: str,
) -> None:
    """The member reads the readings offered and taps the one they meant, if there is one
    (never another: a person does not confirm figures they did not mean)."""
    from storage import offers  # the test reads the offer the button names, as a person reads it

    meant_day = case.day or MESSAGE_DAY
    for reply in replies:
        for row in reply.buttons:
            for button in row:
                m = _OFFER.match(button.data)
                if m is None:
                    continue
                outcome.offered += 1
                async with deps.sessions() as session:
                    offer = await offers.get(session, offer_id=int(m[1]))
                    lines = offers.readings(offer) if offer is not None else []
                n = int(m[2])
                if n >= len(lines):
                    continue
                values, day = reading(lines[n])
                if nonzero(values) != nonzero(case.values) or (day or MESSAGE_DAY) != meant_day:
                    continue
                await room.press(person, button.data, message_id=900_000 + case.number)
                outcome.tapped, outcome.stray = await read_stored(
                    deps.sessions, message_key=key, person_id=person.id
                )
                return
