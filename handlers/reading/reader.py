"""Reading a `/bao_cao` the way a careful clerk would. Pure, no I/O.

A clerk understands what a person would understand (lists, a number before its word, "trong
đó", remarks in brackets, courtesy lines, date words, Telex leftovers, "1.000"), asks when a
person would ask (a key that only partly names an indicator, a number that may be a level, an
ordinal or a time, a negation mixed into a figure), and never writes down a number the member
did not mean (the village's size, a negated part, a superscript digit).

The outcome is a `ParsedReport` to store, or a `Problem`: a refusal, or a question that carries
the exact line to send (`Problem.suggestion`) when part of the text was understood.

Parsing runs on the folded text (no case, no accents), whose characters line up one to one
with the cleaned original, so whatever is quoted back is cut from the original as typed.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from typing import Literal

from handlers.grammar import MAX_NOTE, IndicatorMatcher, Problem, whole_number
from handlers.reading.dates import date_word_starts, read_date
from handlers.reading.loose import Loose, done_words, guided_code, read_loose
from handlers.reading.telex import decode_word
from handlers.reading.text import Text, Word, odd_digit, strip_invisible
from handlers.reading.vocabulary import (
    AGE,
    APPROXIMATE,
    COURTESY,
    DIGIT_WORDS,
    FILLER,
    MONEY,
    NEGATION_PAIRS,
    NEGATIONS,
    ORDINAL_WORDS,
    OTHER_THINGS,
    PEOPLE,
    QUANTITY,
    SIZE_MARKERS,
    SIZE_WORDS,
    UNIT_PAIRS,
    UNIT_WORDS,
    VISITS,
)
from storage.folding import clean, fold, key

# A note runs to the end of its line, or to a date key after it ("ghi_chu=… ngay=14/11").
_NOTE = re.compile(
    r"(?:^|(?<=[\s,;.]))ghi[\s_]*chu\b\s*[:=]?\s*(?P<note>[^\n]*?)(?=\s+ngay\s*=\s*\d|$)",
    re.MULTILINE,
)
_BRACKETS = re.compile(r"\((?P<inner>[^()\n]*)\)|\[(?P<inner2>[^\[\]\n]*)\]")
_PHONE = re.compile(r"(?<![\d.])(?:\+84|0)\d{9,10}(?![\d.])")
# "1." "2)" "a." "-" "•" "*" "+" at the start of a line; "1️⃣" keycaps.
_LIST_MARKER = re.compile(
    r"^\s*(?:(?P<n>\d{1,2})(?:\s*[.)](?!\d)|[/\-](?=\s))|\d\ufe0f?\u20e3|[a-e][.)](?=\s)|"
    r"[-•*+·▪►→>–]+)\s*"
)
_SENTENCE = re.compile(r"(?<!\d)\.(?=\s|$)|\.(?=\s)")
_SEGMENT = re.compile(r"[\n;,!?]")
_CONNECTOR = re.compile(
    r"(?:^|(?<=[\s,;.]))(?P<word>trong\s+do(?:\s+co)?|bao\s+gom|gom\s+co|gom|va|and|dong\s+thoi|"
    r"nhung\s+ma|nhung|but|tuy\s+nhien|con\s+lai)(?=\s|$)"
)
_JOINING = ("nhung", "but", "tuy", "con")
# Reasons found in the whole text to ask rather than record anything, in the order they are
# looked for; only with a question is the line of what was understood worth offering.
_DOUBTS: tuple[tuple[str, re.Pattern[str]], ...] = (
    # "… thì có tính không ạ?": a question, not a report
    ("ask_question", re.compile(r"\?|\b(?:the nao|co tinh khong|duoc khong|phai khong|sao a)\b")),
    # "hd 7 hộ (nhầm, 6 hộ)": which figure stands?
    (
        "ask_correction",
        re.compile(
            r"\b(?:nham|sua lai|xin sua|sua thanh|a khong|a quen|o khong)\b|\bsua\s*[:=]?\s*\d"
        ),
    ),
    # "ví dụ ho=12 app=5": the bot's example pasted back, not this member's work
    ("ask_example", re.compile(r"\b(?:vi du|vd|for example|example)\b")),
    # "(cộng dồn)", "từ đầu tháng": a running total, not new work
    (
        "ask_running",
        re.compile(
            r"\b(?:cong don|luy ke|tinh den nay|den nay|den gio|tu dau|tong den|ca thang|"
            r"thang nay|trong thang|tong so ho da|tong cong da|so far|in total)\b"
        ),
    ),
    # "báo cáo thay chị Lan", "chị Mai nói '…'": each member reports their own work
    (
        "ask_proxy",
        re.compile(
            r"\b(?:thay|dum|gium|bao cao ho)\s+(?:cho\s+)?"
            r"(?:anh|chi|em|co|chu|bac|ong|ba(?!\s+con)|ban)\b|"
            r"\b(?:anh|chi|em|co|chu|bac|ong|ba)\s+(?!quen\b|xin\b|da\b|moi\b|chua\b|se\b|gui\b|"
            r"muon\b|vua\b|can\b)\w+\s+(?:noi|bao|ke)\s*[:\"']"
        ),
    ),
)
_HOUSE = re.compile(r"\b(?:so\s+nha|nha\s+so|nha)\s+\d+[a-z]?\b")
_NUMBER_WORDS = re.compile(
    r"\b(?P<words>(?:(?:mot|hai|ba|bon|tu|nam|lam|sau|bay|tam|chin|muoi|linh|le)\s+)*"
    r"(?:mot|hai|ba|bon|tu|nam|lam|sau|bay|tam|chin|muoi))\s+(?=(?:ho|nguoi|ho so|luot)\b)"
)
_EACH = re.compile(r"\bmoi\s+(?:ho|nha|gia\s+dinh|nguoi)\b|\beach\b")
_COMMA_DECIMAL = re.compile(r"\d,\d")
# "Thôn Hà Lam gồm 410 hộ", "xóm có tổng 120 hộ": the village's size.
_VILLAGE_SIZE = re.compile(
    r"\b(?:thon|xom|ap|ban|lang|khu\s+pho|to\s+dan\s+pho)\b[^\d\n,;]{0,40}?\b(?:co|gom|la)\s+"
    r"(?:tong\s+)?(?:cong\s+)?(?:so\s+)?(?:la\s+)?(?P<n>\d[\d.]*)\s*(?:ho|households)\b"
)
_TIME = re.compile(
    r"(?<![\d.,])\d{1,2}\s?(?:h|g|gio)(?:\s?\d{2}(?:p|ph|phut)?)?\b|\b\d{1,2}:\d{2}\b"
)
_BARE_H = re.compile(r"(?P<n>\d{1,2})\s?h")
# Words that make a following "6h" a time of day.
_WHEN = re.compile(r"\b(?:luc|khoang|tu|den|sang|chieu|toi|trua|dem|gio|tam|hoi|toi\s+nay)\s*$")
_TOKEN = re.compile(r"[=:%]|[-+]?\d+(?:\.\d+)*|[^\W\d_]+(?:-[^\W\d_]+)*|\S")
_NUMBER = re.compile(r"^[-+]?\d+(?:\.\d+)*$")

MatchKind = Literal["sure", "partial", "other", "ambiguous", "fuzzy", "size", "none"]


@dataclass(frozen=True)
class ParsedReport:
    values: dict[str, int]  # indicator code -> number, in the order typed
    day: date | None = None  # from a date in the text, else None (the message's own date)
    note: str | None = None
    left_out: tuple[str, ...] = ()  # parts not counted (a negation), as typed


@dataclass(frozen=True)
class Match:
    kind: MatchKind
    code: str | None = None
    candidates: tuple[str, ...] = ()
    negated: bool = False
    typo: bool = False  # found by closeness to an alias, not by the alias itself


@dataclass
class Pair:
    key: list[Word]
    number: Word
    segment: int
    joined: bool  # in the same clause as another figure ("… nhưng 3 hộ chưa cài")
    before: Word | None  # the word right before the number, when nothing separates them
    after: list[Word] = field(default_factory=list)
    subset: bool = False  # after "trong đó": a part of a figure before it


# The careful reader's answers a reading by structure may overrule (handlers/reading/loose.py):
# a word it does not know, a figure it could not place. Its other questions stand.
_SECOND_READING = frozenset(
    {"unknown_key", "number_without_key", "empty", "missing_value", "ask_partial",
     "ask_trailing", "ask_bare", "ask_typo", "not_number", "ask_other", "ask_words",
     "ask_ordinal", "ask_date", "ask_correction", "ask_quantity", "negated",
     "ask_running", "ask_total", "ask_total_part", "duplicate"}
)  # fmt: skip


# Of those, where a sure second reading is stored: the careful reader only did not know a word.
# Elsewhere (a number after "tổ", "lần"; a key naming another thing; numbers in words) the
# second reading is offered for one tap.
# A key naming a thing the careful reader keeps apart ("tài khoản ngân hàng"), a figure it
# found negated or a quantity in words, a date it found among figures: the reading by
# structure weighs each of those itself (another thing, a negation, a share, an approximation
# make it unsure), so where it is sure it is stored.
_STORED_ON_SECOND_READING = frozenset(
    {"unknown_key", "number_without_key", "empty", "missing_value", "ask_partial",
     "ask_trailing", "ask_bare", "not_number", "ask_other", "negated", "ask_quantity",
     "ask_date", "duplicate"}
)  # fmt: skip


# Work of several days in one message ("cả tuần trước", "thứ 2 với thứ 3", "9-15/11"): one
# report is one day's, so which figures are of which day is asked.
_DAY_WORD = r"(?:hom|bua)\s+(?:nay|qua|kia|ni)|hnay|hqua"
_SEVERAL_DAYS = re.compile(
    rf"\b(?:{_DAY_WORD})\s+(?:voi|va|&|\+|,)\s*(?:{_DAY_WORD})\b|"
    r"\btong\s+(?:ca\s+)?tuan\b|\btuan\s+nay\s+(?:\w+\s+){0,3}tong\b|"
    r"\b(?:ca\s+tuan|suot\s+tuan|may\s+(?:bua|hom|ngay)\s+(?:nay|qua|roi)|tu\s+thu\s*\w+\s+den|"
    r"(?:thu\s*(?:[2-7]|hai|ba|tu|nam|sau|bay)|t[2-7]|cn)\s+(?:voi|va|&|\+|,)\s*"
    r"(?:thu\s*(?:[2-7]|hai|ba|tu|nam|sau|bay)|t[2-7]|cn))\b|"
    r"(?<![\d/])\d{1,2}\s*[-–]\s*\d{1,2}\s*/\s*\d{1,2}\b"
)


# "để xem lại sổ rồi báo sau", "chưa chắc": the member is not sure of the figures yet.
_HEDGE = re.compile(
    r"\b(?:xem\s+lai|nho\s+(?:khong\s+)?ro|(?:khong|ko|hk|k)\s+nho|\d+\s+hay\s+\d+|"
    r"bao\s+(?:lai\s+)?sau|check\s+lai|chinh\s+xac\s+sau|chua\s+chac|khong\s+chac|ko\s+chac|"
    r"kiem\s+tra\s+lai|de\s+(?:em|toi|tui|chi|anh)\s+(?:xem|coi|kiem)|hinh\s+nhu|chac\s+la|"
    r"not\s+sure)\b"
)
# What the reading by structure found that changes what a parsed figure means.
_CHANGES_MEANING = frozenset(
    {
        "people",
        "already had",
        "accounts",
        "something set up",
        "a day word left",
        "not done in a remark",
    }
)
# "đi 4 hộ": households counted in words, the way a story is told (not "ho 4 app 9").
_COUNTED_HOMES = re.compile(
    r"(?:\d+|\b(?:mot|hai|ba|bon|tu|nam|lam|sau|bay|tam|chin|muoi|muoi|chuc))\s*"
    r"(?:ho|nha|gia\s+dinh|can)\b(?!\s*[=:\d])"
)
_THINGS = re.compile(r"(?<![\d/.,:])\d+\s*(?:cái|chiếc)(?!\s*(?:app|ứng dụng|vneid))\b", re.I)
_LATER = re.compile(r"\b(?:hen|tuan\s+(?:sau|toi)|ngay\s+mai|mai|se|du\s+kien|quay\s+lai)\b")
_WHOLE_SPAN = re.compile(r"\b(?:tuan|thang)\s+(?:nay|ni)\b")
# "hôm tê", "bữa trước", "mấy hôm trước": a day, but which?
_A_DAY = re.compile(
    r"\b(?:thu\s*(?:[2-7]|hai|ba|tu|nam|sau|bay)|t[2-7]|cn|chu\s+nhat|hom\s+(?:qua|nay|kia))\b|"
    r"\d{1,2}/\d{1,2}"
)
_VAGUE_DAY = re.compile(
    r"\b(?:hom|bua|buoi)\s+(?:te|truoc|no|do|ay|kia\s+kia)\b|\bmay\s+hom\s+truoc\b|\bhom\s+bua\b|"
    r"\b(?:dau|giua)\s+tuan\b"
)
# Someone else's work: "(báo cáo) giùm mạ em", "hộ chị Lan", a message forwarded.
_PROXY = re.compile(
    r"(?:^\W*|\bbao\s*(?:cao\s+)?)(?:gium|dum|giup|thay|ho)\s+(?:cho\s+)?(?:ma|me|ba|bo|ong|anh|chi|"
    r"em|co|chu|bac|di|cau|mo|thim|vo|chong|con|ban|be)\b|"
    r"\b(?:chuyen\s+tin\s+nhan|chuyen\s+tiep|tin\s+nhan\s+cua|forwarded?|fwd)\b|"
    r"(?:^\W*|[,.;:]\s*)(?:ck|vk|chong|vo|ong\s+xa|ba\s+xa)\s+(?:em|e|toi|tui|minh|chi|c|anh|a)\s+"
    r"(?:co\s+|da\s+)?(?:di|cai|mo|lam|huong|ho\s+tro|giup|nop)\b"
)
# "…, anh Khoa cài vneid 5 nhà": a clause whose figure another named person did; "ổng đi 10
# hộ" (he, in the south's speech) likewise.
_OTHER_PERSON = re.compile(
    r"(?:^|[,.;:\n]\s*)(?:anh|chị|a|c|cô|chú|bác|ông|bà|mạ|mẹ|ba|bố)\s+[A-ZĐ][^\s,.;:]*\s+"
    r"(?:cài|cai|mở|mo|hướng|huong|đi|di|làm|lam|nộp|nop|hd|HD|giúp|giup)\b|"
    r"(?i:(?<!mấy )(?<!các )\b(?:ổng|bả|ảnh|ỗng)\s+(?:đã\s+|có\s+)?"
    r"(?:cài|mở|hướng|đi|làm|nộp|giúp)\S*(?:\s+\S+){0,2}\s+\d)"
)
# "tổng hợp ngày 19/11 (03 đ/c)": several members' work summed; "nhờ em báo dùm".
_SUMMARY = re.compile(
    r"\b(?:(?:ca\s+)?(?:to|nhom|doi|team)\s+(?:tui\s+|bon\s+)?(?:toi|em|e|minh|chung\s+em|"
    r"chung\s+toi|tui|ta)|(?:tui|bon)\s+(?:em|e|minh|tao|tui|toi))\s+"
    r"(?:hom\s+nay\s+|nay\s+|hnay\s+|da\s+)?(?:di|cai|mo|huong|ho\s+tro|giup|lam|duoc|dc|support|"
    r"tham|ghe|xuong|tiep\s+can)\b|"
    r"\btong\s+hop\b|\(\s*0?\d+\s*(?:d/c|dong\s+chi)\s*\)|"
    r"\bnho\s+(?:em|toi|tui|chau|con|minh|e)\s+(?:bao|gui)\s*(?:cao\s+)?(?:dum|gium|giup|ho)\b"
)
# The last sentence, a question, after figures: "… 3 nhà. Rứa là được chưa con?"
_TRAILING_QUESTION = re.compile(r"(?<=\w[.!\n])\s*[^.!?\n]*\?[\W_]*$")
# "tầm chục hộ", "khoảng 10 nhà", "hơn chục hộ", "gần 20 hộ": a count given as about so many.
_ABOUT = re.compile(
    r"\b(?P<word>tầm|khoảng|chừng|cỡ|gần|ngót|xấp xỉ|hơn|khoang)\s+(?:\d+|chục|mươi)"
    r"(?:\s+(?:mấy|may))?\s*(?:hộ|nhà|người|gia đình|căn|ho|nha|nguoi)\b"
)
# The south's "hổm" (some days back): folded, it is "hôm" (a day named).
_HOM_HOM = re.compile(r"\bhổm\b")
# A minus glued to a figure after a word on the same line ("tài khoản -2 hộ"); a bullet's dash
# starts its line or follows a colon.
_NEGATIVE = re.compile(r"(?P<key>[^\W\d_]+(?:[^\S\n][^\W\d_]+)?)[^\S\n]+(?P<value>[-−]\d+)\b")
_ACTIVATED = re.compile(
    r"\bKH\b(?=\s*(?:VNeID|VNEID|vneid|TK|tk|tài khoản|ĐDĐT|định danh|app|ứng dụng|mức))"
)


def _campaign(folded: str, matcher: IndicatorMatcher) -> tuple[int, int] | None:
    """Where a campaign or measure the plan does not have stands ("Gia đình số: 3 hộ đạt"),
    so that it is named and nothing of it is stored as another indicator."""
    for m in _CAMPAIGNS.finditer(folded):
        if matcher.exact(m.group()) is None:
            return m.start(), m.end()
    return None


def _without_sentence(text: str, span: tuple[int, int]) -> str:
    """The text without the sentence (or line, or clause) that holds `span`."""
    cleaned = clean(text)
    bounds = [m.end() for m in re.finditer(r"[.;\n!?]", cleaned)]
    start = max((b for b in bounds if b <= span[0]), default=0)
    end = min((b for b in bounds if b > span[1]), default=len(cleaned))
    return cleaned[:start] + " " + cleaned[end:]


def pasted_from(text: str) -> str | None:
    """The name a pasted chat message starts with ("Út Hiền⏎Hôm qua lúc 17:45⏎…",
    "[Zalo] Tư Hùng 16:20⏎…"), if it starts like one."""
    lines = [ln.strip() for ln in clean(text).split("\n") if ln.strip()]
    if len(lines) < 2:
        return None
    m = _HEADER.match(lines[0])
    if m is None or not all(w[:1].isupper() and w[1:] == w[1:].lower() for w in m["name"].split()):
        return None  # a name is written "Trần Thị Mai", never "BÁO CÁO" or "báo cáo"
    if _NOT_A_NAME.search(fold(m["name"])):
        return None
    if not (m["time"] or _HEADER_TIME.match(fold(lines[1]))):
        return None
    return m["name"]


_LATE = re.compile(
    r"\b(?:chưa|chua|chưa kịp|chua kip|không|khong|ko|hk|quên|quen)\s+(?:kịp\s+|kip\s+)?"
    r"(?:gửi|gui|báo|bao|nộp báo cáo)\b",
    re.IGNORECASE,
)
_RESENT = re.compile(
    r"\b(?:gửi|gui|báo|bao)\s+(?:lại|lai)\b(?:\s+(?:vì|vi|do|tại|tai)\s+[^:,.\n\d]{0,30})?|"
    r"\bmạng\s+(?:lag|yếu|chậm|lỗi|rớt)\b|\bmang\s+(?:lag|yeu|cham|loi|rot)\b",
    re.IGNORECASE,
)
# Campaigns and measures of 2025–2027 that a plan may or may not count (issue 29).
_CAMPAIGNS = re.compile(
    r"\b(?:gia\s+dinh\s+so|binh\s+dan\s+hoc\s+vu\s+so|hoc\s+vu\s+so|nguoi\s+dat\s+chuan|"
    r"dat\s+chuan|ky\s+nang\s+so|nguoi\s+dan\s+so|thanh\s+nien\s+so|cong\s+dan\s+so\s+dat)\b"
)
_PAIRS_ONLY = re.compile(
    r"^\s*(?:[a-z_]+\s*[=:]\s*[\d.]+[\s,;]*)+(?:ngay\s*=\s*\S+\s*)?(?:ghi[_ ]chu\s*[=:].*)?$",
    re.DOTALL,
)
_BLANK_KEY = re.compile(
    r"(?<![\w=])(?!ghi_chu\b)[A-Za-z_]+\s*=[ \t]*(?=[A-Za-z_]+\s*=|[,;\n]|$)", re.MULTILINE
)
_ALL_OF = re.compile(
    r"\b(\d{1,3})\s*/\s*(\d{1,3})(\s*(?:hộ|nhà|ho|nha|hs)\b)(?!\s*[=:])", re.IGNORECASE
)
_HEADER = re.compile(
    r"^(?:\[\w+\]\s*)?(?P<name>[^\W\d_]+(?:\s+[^\W\d_']+){0,4})"
    r"(?P<time>\s*[-–,]?\s*(?:\d{1,2}:\d{2}|\d{1,2}/\d{1,2}).*)?$"
)
_NOT_A_NAME = re.compile(r"\b(?:bao cao|kinh gui|ket qua|thon|xom|ap|to|ngay|hom|bua|tuan)\b")
_HEADER_TIME = re.compile(r"^(?:[a-z ]{0,12}?\s)?(?:luc\s+)?\d{1,2}:\d{2}\b")


def _part_of_all(m: re.Match[str]) -> str:
    """ "7/7 hộ": seven of seven; "18/11 ho=7" is a date, its first number above its second."""
    return m.group(1) + m.group(3) if int(m.group(1)) <= int(m.group(2)) else m.group()


def parse_report(
    text: str, matcher: IndicatorMatcher, *, today: date, author: str | None = None
) -> ParsedReport | Problem:
    """`author`: the sender's name; a pasted message under another name is not their work."""
    got = _parse_report(text, matcher, today=today, author=author)
    if (
        isinstance(got, ParsedReport)
        and got.note
        and not _NOTE.search(fold(text))
        and done_words(got.note, matcher)
    ):
        # "… cả 3 nhà cài vneid xong, nhà anh Hải mở thêm tài khoản Sacombank": work of an
        # indicator left in the words kept as a note; asked, with the structure's readings.
        loose = read_loose(text, matcher, today=today)
        line = report_line(got.values, got.day, today)
        others = [] if loose is None else [loose.values, *loose.others]
        lines = _lines(line, *(report_line(o, got.day, today) for o in others))
        args = {"readings": "|".join(lines)} if len(lines) > 1 else {}
        return Problem("ask_reading", args, suggestion=line)
    asked = _TRAILING_QUESTION.search(text)
    if isinstance(got, Problem) and got.suggestion is None and asked is not None:
        # "… cài VNeID cả 3 nhà. Vậy có được tính không con?": the report before the question
        # offered for one tap; the question's words ("không") are no part of it.
        before = parse_report(text[: asked.start()], matcher, today=today, author=author)
        line = _offered(before, today)
        if line:
            return Problem("ask_question", {}, suggestion=line)
    if not isinstance(got, ParsedReport) or not _COUNTED_HOMES.search(fold(text)):
        return got  # "ho 2 app 5" says what it means: app may count other days' homes
    guided = guided_code(matcher)
    visited = got.values.get(guided, 0) if guided is not None else 0
    over = [
        (code, value)
        for code, value in got.values.items()
        if code in matcher.household_codes and code != guided and value > visited > 0
    ]
    if over:
        # "đi 4 hộ mà cài VNeID được 9": nine people, or households of other days? Asked.
        code, value = over[0]
        return Problem(
            "ask_exceeds",
            {"key": code, "value": str(value), "visits": str(visited)},
            suggestion=report_line(got.values, got.day, today),
        )
    return got


def _parse_report(
    text: str, matcher: IndicatorMatcher, *, today: date, author: str | None = None
) -> ParsedReport | Problem:
    if _THINGS.search(text):
        # "cài được 4 cái": four things (apps? phones?), not four households.
        unthinged = _parse_report(_THINGS.sub(" ", text), matcher, today=today, author=author)
        return Problem("ask_reading", {}, suggestion=_offered(unthinged, today))
    # "KH VNeID 6 hộ" in an officer's shorthand is "kích hoạt", not "không".
    text = _ACTIVATED.sub("kích hoạt", text)
    # "lăm hộ": five said the way "mười lăm" says it ("làm hộ" folds the same, and is no number).
    text = re.sub(r"\b(?<![,.]\s)lăm\b(?=\s+(?:hộ|nhà|hồ sơ|người|gia đình))", "năm", text)
    # "VNeID 7/7 hộ": all seven, not the 7th of July.
    text = _ALL_OF.sub(_part_of_all, text)
    # "tt= cks= dvc=2": the template's blanks left empty are nothing said, not a missing figure.
    text = _BLANK_KEY.sub("", text)
    # "bổ sung do chưa gửi", "quên báo", "gửi lại vì mạng lag": about the message, not the work.
    text = _LATE.sub(lambda m: " " * len(m.group()), text)
    text = _RESENT.sub(lambda m: " " * len(m.group()), text)
    folded = fold(text)
    other = _campaign(folded, matcher)
    if other is not None:
        # Named, and nothing of it stored; the rest of the message offered for one tap.
        name = clean(text)[other[0] : other[1]]
        rest = _without_sentence(text, other)
        others = parse_report(rest, matcher, today=today, author=author) if rest.strip() else None
        if isinstance(others, ParsedReport) and others.values:
            offered: str | None = report_line(others.values, others.day, today)
        else:
            offered = others.suggestion if isinstance(others, Problem) else None
        return Problem("unknown_campaign", {"key": name}, suggestion=offered)
    pasted = pasted_from(text)
    if pasted is not None and author is not None and key(pasted) != key(author):
        return Problem("ask_proxy")
    whole_span = _WHOLE_SPAN.search(folded) and _COUNTED_HOMES.search(folded)
    if _SEVERAL_DAYS.search(folded) or (whole_span and not _A_DAY.search(folded)):
        return Problem("ask_days")  # "tuần này em đi được 30 hộ": a week's work, not a day's
    cleaned = clean(text)
    vague = _VAGUE_DAY.search(folded) or _HOM_HOM.search(cleaned.lower())
    if vague and not _A_DAY.search(folded):
        return Problem("ask_which_day")  # "bữa hổm": some day back, which one?
    about = _ABOUT.search(cleaned.lower())
    if about is not None:
        # "tầm chục hộ chi đó": about ten; how many, exactly? (The rest offered for one tap.)
        exact = cleaned[: about.start("word")] + cleaned[about.end("word") :]
        guess = parse_report(exact, matcher, today=today, author=author)
        return Problem("ask_quantity", {"part": about.group()}, suggestion=_offered(guess, today))
    negative = _NEGATIVE.search(cleaned)
    if negative is not None:
        # "mở tài khoản -2 hộ": no figure is below zero; a correction is a reply or /huy.
        return Problem("negative", {"key": negative["key"], "value": negative["value"]})
    if _PROXY.search(folded) or _OTHER_PERSON.search(cleaned) or _SUMMARY.search(folded):
        return Problem("ask_proxy")
    careful = _careful(text, matcher, today=today)
    if isinstance(careful, ParsedReport) and careful.note and careful.day is None:
        # "ghi_chu=xóm Đình, làm hôm qua": the note dates the work; asked, not filed today.
        said = read_date(Text(clean(careful.note), fold(careful.note)), today)
        later = _LATER.search(fold(careful.note))  # "hẹn thứ 2 tuần sau": a plan, not the day
        if isinstance(said, date) and said != today and later is None:
            return Problem("ask_date", {}, suggestion=report_line(careful.values, said, today))
    known: list[Loose | None] = []

    def second() -> Loose | None:
        """The reading by structure, made once and only when asked for."""
        if not known:
            known.append(read_loose(text, matcher, today=today))
        return known[0]

    if (
        isinstance(careful, ParsedReport)
        and not careful.left_out
        and not _PAIRS_ONLY.match(folded)
    ):
        # Two sure readings that disagree: neither is stored, both are offered. (Key=value
        # pairs alone say what they mean: no second reading.)
        other_reading = second()
        if (
            other_reading is not None
            and other_reading.sure
            and other_reading.values
            and nonzero(other_reading.values) != nonzero(careful.values)
        ):
            first = report_line(careful.values, careful.day, today)
            alternative = report_line(
                other_reading.values, other_reading.day or careful.day, today
            )
            return Problem("ask_reading", {"readings": f"{first}|{alternative}"}, suggestion=first)
    if isinstance(careful, ParsedReport) and not _PAIRS_ONLY.match(folded):
        # "chỉ cho 17 người cài vneid": people counted where households are; asked.
        other_reading = second()
        line = report_line(careful.values, careful.day, today)
        if other_reading is not None and _CHANGES_MEANING.intersection(other_reading.why):
            return Problem("ask_reading", {}, suggestion=line)
        if (
            other_reading is not None
            and not careful.left_out
            and (
                set(other_reading.values) - set(careful.values)
                or any(
                    other_reading.values.get(c, v) != v and f"{c} twice" in other_reading.why
                    for c, v in careful.values.items()
                )  # "3 hộ lên Postmart với 1 hộ lên TikTok": two figures, one kept
            )
        ):
            # "đi hơn chục hộ, cài vneid 6 hộ": a figure the careful reading let fall (into a
            # note, as words) is never dropped without asking.
            return Problem("ask_reading", {}, suggestion=line)
    if isinstance(careful, ParsedReport) and careful.left_out:
        # Something left out as not done: the second reading must agree, or it is asked.
        other_reading = second()
        more = (
            other_reading is not None
            and other_reading.sure
            and set(other_reading.values) > set(careful.values)
        )
        if (
            more
            and other_reading is not None
            and not other_reading.denied
            and (other_reading.day or today) == (careful.day or today)
        ):
            # "bán nem chua lên Postmart": goods, not "chưa"; the structure finds no negation.
            return ParsedReport(values=other_reading.values, day=careful.day, note=careful.note)
        if other_reading is not None and (more or "people" in other_reading.why):
            line = report_line(other_reading.values, other_reading.day, today)
            return Problem("ask_reading", {}, suggestion=line)
    if _HEDGE.search(folded):
        # Whatever the reading, the member says it may change: one tap once they are sure.
        got = second() if isinstance(careful, Problem) else careful
        if got is None or not got.values:
            return careful if isinstance(careful, Problem) else Problem("ask_hedge")
        return Problem("ask_hedge", {}, suggestion=report_line(got.values, got.day, today))
    if not isinstance(careful, Problem) or careful.code not in _SECOND_READING:
        return careful
    if careful.code == "duplicate" and not _COUNTED_HOMES.search(folded):
        return careful  # "ho=3 ho 5": typed twice as keys, not a story whose structure tells
    typed_key = careful.args.get("key", "")
    if (
        careful.code == "unknown_key"
        and typed_key
        and re.search(rf"{re.escape(typed_key)}\s*=", clean(text))
    ):
        return careful  # "banh_mi=3": a key typed as a key, and unknown: named, not guessed
    loose = second()
    if loose is None:
        return careful
    if loose.sure and careful.code in _STORED_ON_SECOND_READING:
        return ParsedReport(values=loose.values, day=loose.day, note=loose.note)
    line = report_line(loose.values, loose.day, today)
    if careful.code == "duplicate":
        # "tmdt 2, lên sàn 1": said twice, and the structure does not settle it; "sáng 5 hộ,
        # chiều thêm 3 hộ": the ways a figure said twice reads, each a button.
        readings = _lines(line, *(report_line(o, loose.day, today) for o in loose.others))
        if len(readings) < 2:
            return careful
        return Problem("duplicate", {**careful.args, "readings": "|".join(readings)})
    also = (report_line(o, loose.day, today) for o in loose.others)
    if careful.code in ("missing_value", "not_number"):
        # "ho=12 app": the figure missing is said, not guessed; the rest offered for one tap
        # (and, where the words imply it, with the figure: one household, or all visited).
        lines = _lines(line, *also)
        if len(lines) > 1:
            return Problem(careful.code, {**careful.args, "readings": "|".join(lines)})
        return Problem(careful.code, careful.args, suggestion=line)
    if careful.suggestion == line:
        return careful
    # The careful reading's guess, and a figure said twice read the other ways (summed,
    # corrected, broken down): each reading a button.
    lines = _lines(line, careful.suggestion, *also)
    if len(lines) > 1:
        return Problem("ask_reading", {"readings": "|".join(lines)}, suggestion=line)
    return Problem("ask_reading", {}, suggestion=line)


def _offered(got: ParsedReport | Problem, today: date) -> str | None:
    """The `/bao_cao` line a reading offers for one tap: all of it, or the problem's guess."""
    if isinstance(got, ParsedReport):
        return report_line(got.values, got.day, today)
    return got.suggestion


def _lines(*lines: str | None) -> list[str]:
    """Each reading once, in the order given."""
    return list(dict.fromkeys(line for line in lines if line))


def _careful(text: str, matcher: IndicatorMatcher, *, today: date) -> ParsedReport | Problem:
    text = strip_invisible(text)
    odd = odd_digit(text)
    if odd is not None:
        return Problem("odd_digit", {"value": odd})
    t = Text(clean(text), fold(text))
    notes: list[str] = []
    # A note may say anything ("ghi chú: năm hộ ở xa hẹn lại"): its words are not figures.
    in_note = _NOTE.search(t.folded)
    words_used = _number_words(t, skip=(in_note.start(), in_note.end()) if in_note else None)
    for house in list(_HOUSE.finditer(t.folded)):
        t.blank(house.start(), house.end())  # "nhà số 12": an address, not a figure

    m = _NOTE.search(t.folded)
    if m:
        note = t.original[m.start("note") : m.end("note")].strip().strip("\"'").strip()
        if note:
            notes.append(note)
        t.blank(m.start(), m.end())
    doubt = _whole_text_doubt(t.folded)  # the note may say anything
    if doubt is not None:
        # Asked about whatever else the text holds: say why, and give the line if any.
        got = _after_notes(t, matcher, today, notes)
        line = (
            report_line(got.values, got.day, today)
            if isinstance(got, ParsedReport)
            else got.suggestion
        )
        return Problem(doubt, {}, suggestion=line if doubt == "ask_question" else None)
    got = _after_notes(t, matcher, today, notes)
    if words_used and isinstance(got, ParsedReport):
        # "hd năm hộ": read as 5, but a word is not a digit: confirm before recording.
        return Problem("ask_words", {}, suggestion=report_line(got.values, got.day, today))
    return got


def _after_notes(
    t: Text, matcher: IndicatorMatcher, today: date, notes: list[str]
) -> ParsedReport | Problem:
    size = _VILLAGE_SIZE.search(t.folded)
    if size is not None:
        return Problem("village_size", {"value": size.group("n")})
    if _date_inside_figures(t.folded):
        return Problem("ask_date", {})
    day = read_date(t, today)
    if isinstance(day, Problem):
        return day
    for bracket in list(_BRACKETS.finditer(t.folded)):
        group = "inner" if bracket.group("inner") is not None else "inner2"
        if _CONNECTOR.match(t.folded[bracket.start(group) : bracket.end(group)].lstrip()):
            # "9 hộ (trong đó 3 hộ cài app)": a figure inside the figure, not a remark.
            inside = t.folded[bracket.start() + 1 : bracket.end() - 1]
            t.folded = f"{t.folded[: bracket.start()]},{inside} {t.folded[bracket.end() :]}"
            continue
        inner = t.cut(bracket.start(group), bracket.end(group))
        # A bracket that held only a date word was read above: nothing left for the note.
        if inner and t.folded[bracket.start(group) : bracket.end(group)].strip():
            notes.append(inner)
        t.blank(bracket.start(), bracket.end())

    comma = _COMMA_DECIMAL.search(t.folded)
    if comma is not None:
        # "1,5" is one and a half in Vietnamese, never a list of one and five.
        line_start = t.folded.rfind("\n", 0, comma.start()) + 1
        number = re.match(r"[\d,]+", t.folded[comma.start() :])
        end = comma.start() + (number.end() if number else 1)
        start = len(t.folded[: comma.start()].rstrip("0123456789"))
        key_text = t.cut(line_start, start).rstrip(" =:") or "?"
        return Problem("not_integer", {"key": key_text, "value": t.cut(start, end)})
    hours: list[int] = []
    for m in list(_TIME.finditer(t.folded)):
        bare = _BARE_H.fullmatch(m.group())
        if bare and not _WHEN.search(t.folded[max(0, m.start() - 14) : m.start()]):
            hours.append(int(bare["n"]))  # "6h 3app": six o'clock, or six households (h = hộ)?
        t.blank(m.start(), m.end())  # "lúc 16h", "8:30": when, not how many
    for m in list(_PHONE.finditer(t.folded)):
        notes.append(t.cut(m.start(), m.end()))  # a phone number is a remark, not a figure
        t.blank(m.start(), m.end())

    pairs, remarks, problem = _pairs(t, matcher)
    if problem is not None:
        return problem
    notes.extend(remarks)
    got = _decide(t, pairs, matcher, day=day, today=today, note="; ".join(notes)[:MAX_NOTE])
    guided = matcher.exact("ho")
    if hours and isinstance(got, ParsedReport) and guided is not None:
        # A bare "6h" with no word of time before it: never dropped silently, both offered.
        line = report_line(got.values, got.day, today)
        households = report_line({guided: hours[0], **got.values}, got.day, today)
        if guided not in got.values:
            return Problem("ask_reading", {"readings": f"{households}|{line}"}, suggestion=line)
    return got


def _whole_text_doubt(folded: str) -> str | None:
    """A reason found in the whole text to ask instead of recording anything."""
    return next((reason for reason, pattern in _DOUBTS if pattern.search(folded)), None)


def _number_words(t: Text, *, skip: tuple[int, int] | None = None) -> bool:
    """Vietnamese number words before a unit ("năm hộ", "hai mươi hộ") become digits, in
    place and padded, so the text keeps its length; True when any did. Words inside `skip`
    (the note) stay words."""
    found = False
    for m in list(_NUMBER_WORDS.finditer(t.folded)):
        if skip is not None and skip[0] <= m.start("words") < skip[1]:
            continue
        value = spelled_number(m.group("words").split())
        if value is None:
            continue
        digits = str(value).ljust(m.end("words") - m.start("words"))
        t.folded = t.folded[: m.start("words")] + digits + t.folded[m.end("words") :]
        found = True
    return found


def spelled_number(words: Sequence[str]) -> int | None:
    """ "hai mươi lăm" = 25, "mười hai" = 12, "năm" = 5; None for what is no number."""
    total = 0
    current = 0
    for w in words:
        if w == "muoi":
            current = (current or 1) * 10
            total, current = total + current, 0
        elif w in ("linh", "le"):
            continue
        elif w in DIGIT_WORDS:
            current = current * 10 + DIGIT_WORDS[w] if current else DIGIT_WORDS[w]
        else:
            return None
    value = total + current
    return value if 0 < value <= 99 else None


# --- figures ---------------------------------------------------------------------------------


def _words(t: Text, start: int, end: int) -> list[Word]:
    return [
        Word(m.group(), start + m.start(), start + m.end())
        for m in _TOKEN.finditer(t.folded[start:end])
    ]


def _clauses(t: Text) -> list[tuple[int, int, bool, bool]]:
    """(start, end, joined, subset) of each clause: lines, then , ; and full stops, then
    connectors ("và"; "nhưng" marks what follows as joined to what came before, "trong đó" as
    a part of it)."""
    out: list[tuple[int, int, bool, bool]] = []
    pos = 0
    for line in t.folded.split("\n"):
        m = _LIST_MARKER.match(line)
        if m and not re.match(r"^\s*[-+]\d", line):
            t.blank(pos, pos + m.end())
            if m.group("n"):
                # "1. hd 4 hộ 2. app 2 hộ": the next item's number, inside the same line.
                following = re.compile(rf"(?<=\s){int(m.group('n')) + 1}[.)/](?=\s)")
                inner = following.search(t.folded, pos + m.end(), pos + len(line))
                if inner is not None:
                    t.folded = t.folded[: inner.start()] + "\n" + t.folded[inner.start() + 1 :]
                    t.blank(inner.start() + 1, inner.end())
        line_end = pos + len(line)
        bounds = [pos]
        for sep in list(_SEGMENT.finditer(t.folded, pos, line_end)) + list(
            _SENTENCE.finditer(t.folded, pos, line_end)
        ):
            bounds.extend([sep.start(), sep.end()])
        bounds.append(line_end)
        bounds = sorted(bounds)
        for a, b in zip(bounds[0::2], bounds[1::2], strict=False):
            cuts = [(a, False, False)]
            for c in _CONNECTOR.finditer(t.folded, a, b):
                word = c.group("word")
                subset = word.startswith(("trong", "bao", "gom"))
                t.blank(c.start("word"), c.end("word"))
                cuts.append((c.start("word"), word.startswith(_JOINING), subset))
            for i, (start, joined, subset) in enumerate(cuts):
                end = cuts[i + 1][0] if i + 1 < len(cuts) else b
                out.append((start, end, joined, subset))
        pos = line_end + 1
    return out


def _is_courtesy(words: Sequence[Word]) -> bool:
    return all(w.text in COURTESY or not _is_word(w.text) for w in words)


def _pairs(t: Text, matcher: IndicatorMatcher) -> tuple[list[Pair], list[str], Problem | None]:
    """The (key, number) pairs of each clause, the remarks (lines without figures), and the
    first problem that makes the text unreadable as a report."""
    pairs: list[Pair] = []
    remarks: list[str] = []
    known = _known(matcher.vocabulary)
    for index, (start, end, joined, subset) in enumerate(_clauses(t)):
        words = [
            w
            if w.text in known or not w.text.isalpha()
            else Word(decode_word(w.text), w.start, w.end)
            for w in _words(t, start, end)
            if _meaningful(w.text)
        ]
        if not words:
            continue
        numbers = [w for w in words if _NUMBER.match(w.text)]
        if not numbers:
            problem = _no_figure(t, words, matcher)
            if problem is not None:
                return [], [], problem
            if not _is_courtesy(words):
                remarks.append(t.cut(words[0].start, words[-1].end))
            continue
        if _EACH.search(t.folded, start, end):
            remarks.append(t.cut(words[0].start, words[-1].end))  # "mỗi hộ 3 người"
            continue
        found = _clause_pairs(words, index, matcher, joined=joined)
        for pair in found:
            pair.subset = subset
        pairs.extend(found)
    return pairs, remarks, None


@lru_cache(maxsize=64)
def _known(vocabulary: frozenset[str]) -> frozenset[str]:
    """Words never taken for Telex leftovers: the indicators' own and the reader's."""
    return vocabulary | COURTESY | UNIT_WORDS | NEGATIONS


def _has_phrase(words: Sequence[str], phrases: Iterable[str]) -> bool:
    """Whether any of `phrases` stands in `words` as whole words."""
    padded = f" {' '.join(words)} "
    return any(f" {p} " in padded for p in phrases)


def _is_word(text: str) -> bool:
    return text.replace("-", "").isalpha()


def _meaningful(text: str) -> bool:
    return _is_word(text) or text in "=:%-+" or bool(_NUMBER.match(text))


def _no_figure(t: Text, words: Sequence[Word], matcher: IndicatorMatcher) -> Problem | None:
    """A clause without a number: "app" or "app: năm" is a figure missing its number; a longer
    clause is a remark."""
    seps = [i for i, w in enumerate(words) if w.text in "=:"]
    key_words = [w for w in words[: seps[0]]] if seps else list(words)
    rest = words[seps[0] + 1 :] if seps else []
    key_text = " ".join(w.text for w in key_words if _is_word(w.text))
    if not key_text:
        return None
    match = analyse(key_text.split(), matcher)
    said = {w.text for w in words}
    if match.kind != "none" and (said & QUANTITY or "khong ai" in " ".join(w.text for w in words)):
        # "cài app một nửa số hộ", "app gấp đôi": a quantity without its number.
        return Problem("ask_quantity", {"part": t.cut(words[0].start, words[-1].end)})
    if match.kind != "sure" or match.negated or any(w.text in NEGATIONS for w in rest):
        return None  # a remark, or "app: không", "tt hông có": none of it
    phrase = t.cut(key_words[0].start, key_words[-1].end)
    if rest:
        return Problem("not_number", {"key": phrase, "value": t.cut(rest[0].start, rest[-1].end)})
    if len([w for w in key_words if w.text not in FILLER]) <= 4:
        return Problem("missing_value", {"key": phrase})
    return None


def _clause_pairs(
    words: list[Word], index: int, matcher: IndicatorMatcher, *, joined: bool
) -> list[Pair]:
    """Pairs in one clause, key first ("hộ 12, app 5") or number first ("8 hộ được hướng
    dẫn")."""
    number_first = bool(_NUMBER.match(words[0].text)) or (
        words[0].text in "-+" and len(words) > 1 and bool(_NUMBER.match(words[1].text))
    )
    pairs: list[Pair] = []
    current: list[Word] = []
    pending: Pair | None = None  # number first: the number waiting for its words
    previous: Word | None = None
    for n, w in enumerate(words):
        if w.text in "=:" and not pairs and pending is None and current:
            following = words[n + 1] if n + 1 < len(words) else None
            heading = not matcher.vocabulary.intersection(c.text for c in current)
            if following is not None and not _NUMBER.match(following.text) and heading:
                # "Thôn Hà Lam: hướng dẫn 5 hộ": what stands before the colon is a heading.
                current = []
                previous = w
                continue
        if _NUMBER.match(w.text):
            before = previous if previous is not None and _is_word(previous.text) else None
            if number_first:
                if pending is not None:
                    pending.key = current
                    pairs.append(pending)
                pending = Pair([], w, index, joined, before)
                current = []
            else:
                pairs.append(Pair(current, w, index, joined, before))
                current = []
        elif w.text == "%" and (pending or pairs):
            (pending or pairs[-1]).after.append(w)
        elif w.text in "=:-+":
            pass
        else:
            current.append(w)
        previous = w
    if number_first:
        if pending is not None:
            pending.key = current
            pairs.append(pending)
        return pairs
    if current:
        if not pairs:
            return pairs
        pairs[-1].after.extend(current)
    # Key first, "app 5 hộ tt 3": the unit word after a number belongs to that number.
    for earlier, later in itertools.pairwise(pairs):
        moved = _leading_units(later.key)
        if moved < len(later.key):  # "… 12 hộ, hộ 3": a lone "hộ" is the next key itself
            earlier.after.extend(later.key[:moved])
            later.key = later.key[moved:]
        elif later.after and _leading_units(later.after) == len(later.after):
            # "app 3 hộ / 5 hộ": both "hộ" are units; the 5 has no indicator of its own.
            earlier.after.extend(later.key)
            later.key, later.after = later.after, []
    return pairs


def _leading_units(words: Sequence[Word]) -> int:
    i = 0
    while i < len(words):
        pair = f"{words[i].text} {words[i + 1].text}" if i + 1 < len(words) else ""
        if pair in UNIT_PAIRS:
            i += 2
        elif words[i].text in UNIT_WORDS:
            i += 1
        else:
            break
    return i


# --- what a key means --------------------------------------------------------------------------


def analyse(words: Sequence[str], matcher: IndicatorMatcher) -> Match:
    """What a key's words name: one indicator for sure, one only partly, two at once, another
    thing, the village's size, nothing, or something close to an alias (a typo)."""
    words = [w for w in words if w]
    if not words:
        return Match("none")
    phrase = " ".join(words)
    exact = matcher.exact(phrase)
    if exact is not None:
        return Match("sure", exact)
    match = _spans(words, matcher)
    if match.kind == "none":
        near = matcher.near(phrase) or matcher.near(
            " ".join(w for w in words if w not in COURTESY) or phrase
        )
        if near is not None:
            code, score = near
            return Match("sure" if score >= 85 else "fuzzy", code, typo=True)
    return match


def _spans(words: Sequence[str], matcher: IndicatorMatcher) -> Match:
    if _is_size(words):
        return Match("size")
    covered = [False] * len(words)
    strong: list[str] = []
    weak: list[str] = []
    i = 0
    while i < len(words):
        found = None
        for length in range(min(matcher.longest, len(words) - i), 0, -1):
            candidate = " ".join(words[i : i + length])
            code = matcher.exact(candidate)
            if code is not None:
                found = (length, code, matcher.is_weak(candidate))
                break
        if found is None:
            i += 1
            continue
        length, code, is_weak = found
        (weak if is_weak else strong).append(code)
        for j in range(i, i + length):
            covered[j] = True
        i += length
    rest = [w for w, c in zip(words, covered, strict=True) if not c]
    negated = _negated(rest)
    rest = [w for w in rest if w not in NEGATIONS]
    codes = list(dict.fromkeys(strong or weak))
    if not codes:
        return Match("none", negated=negated)
    if len(codes) > 1:
        return Match("ambiguous", candidates=tuple(codes), negated=negated)
    if _has_phrase(words, OTHER_THINGS):
        return Match("other", codes[0], negated=negated)
    if all(w in COURTESY or w in UNIT_WORDS or not _is_word(w) for w in rest):
        return Match("sure", codes[0], negated=negated)
    return Match("partial", codes[0], negated=negated)


def _negated(words: Sequence[str]) -> bool:
    if any(w in NEGATIONS for w in words):
        return True
    return _has_phrase(words, NEGATION_PAIRS)


def _is_size(words: Sequence[str]) -> bool:
    if not _has_phrase(words, SIZE_MARKERS):
        return False
    return all(w in SIZE_WORDS or w in UNIT_WORDS for w in words)


# --- deciding ----------------------------------------------------------------------------------


def _number(pair: Pair, phrase: str) -> int | Problem:
    return whole_number(pair.number.text, phrase)


@dataclass
class _Verdict:
    keep: list[tuple[str, int]] = field(default_factory=list)
    left_out: list[Pair] = field(default_factory=list)
    left_out_text: list[str] = field(default_factory=list)
    subsets: list[bool] = field(default_factory=list)

    def add(self, code: str, value: int, pair: Pair) -> None:
        self.keep.append((code, value))
        self.subsets.append(pair.subset)

    unsure: list[tuple[Pair, str, Match]] = field(default_factory=list)


def _decide(
    t: Text,
    pairs: list[Pair],
    matcher: IndicatorMatcher,
    *,
    day: date | None,
    today: date,
    note: str,
) -> ParsedReport | Problem:
    if not pairs:
        return Problem("empty")
    verdict = _Verdict()
    sizes: list[str] = []
    totals: list[int] = []
    bare: list[tuple[Pair, int, Match]] = []
    for pair in pairs:
        key_words = [w for w in pair.key if _is_word(w.text)]
        phrase = t.cut(key_words[0].start, key_words[-1].end) if key_words else ""
        if not key_words:
            if _says_not(pair.after):
                verdict.left_out.append(pair)
                continue
            return Problem("number_without_key", {"value": pair.number.text})
        texts = [w.text for w in key_words]
        match = analyse(texts, matcher)
        if match.kind == "none" and _leading_units(key_words):
            # Number first, "8 hộ dân được hướng dẫn": unit words lead the key.
            match = analyse(texts[_leading_units(key_words) :], matcher)
        last_in_clause = pair is pairs[-1] or pairs[pairs.index(pair) + 1].segment != pair.segment
        if (
            match.kind == "none"
            and last_in_clause
            and any(w.text not in UNIT_WORDS for w in pair.after if _is_word(w.text))
        ):
            # "Nộp 2 hồ sơ trực tuyến": a verb before the number, the indicator after it.
            flipped = analyse([w.text for w in pair.after if _is_word(w.text)], matcher)
            if flipped.kind == "sure" and all(w.text in COURTESY for w in key_words):
                match, pair.after = flipped, []
        value = _number(pair, phrase)
        if isinstance(value, Problem):
            return value
        following = _following(pair)
        if following in AGE or following in MONEY:
            continue  # "bà 80 tuổi", "2 triệu": an age or money, said in passing
        if match.code in matcher.household_codes and (
            following in VISITS or _following(pair, 2) == "tai khoan"
        ):
            verdict.unsure.append((pair, "ask_visits", match))  # "hd 5 lượt": visits
            continue
        after_number = all(w.start >= pair.number.end for w in key_words)
        if (
            match.code == "ho"
            and after_number
            and all(w in UNIT_WORDS or w in COURTESY for w in texts)
        ):
            bare.append((pair, value, match))  # "app 3 hộ, 5 hộ": 5 of what?
            continue
        if match.kind == "size":
            sizes.append(str(value))
            continue
        if texts[0] in ("tong", "total", "cong") and len(texts) <= 2 and match.kind == "none":
            totals.append(value)  # "…, tổng 8": the sum of the figures before it
            continue
        if match.negated or _says_not(pair.after):
            verdict.left_out.append(pair)
            continue
        if match.kind == "none" and pair.before is not None and pair.before.text in ORDINAL_WORDS:
            verdict.unsure.append((pair, "ask_ordinal", match))  # "tổ 3 hướng dẫn 5 hộ"
            continue
        if match.kind == "none" and _has_phrase(texts, OTHER_THINGS):
            verdict.unsure.append((pair, "ask_other", match))  # "cài Zalo 3 hộ"
            continue
        if (
            match.kind == "none"
            and any(w in PEOPLE for w in texts)
            and all(w in PEOPLE or w in COURTESY for w in texts)
        ):
            continue  # "hd 5 hộ, 12 người": how many people, said in passing
        if "tong" in texts and match.kind in ("sure", "partial") and len(texts) > 1:
            verdict.unsure.append((pair, "ask_total_part", match))  # "tổng số hộ đã hd là 30"
            continue
        if match.kind == "none" and any(w.text == "%" for w in pair.after):
            continue  # "đạt 80% kế hoạch": a share said in passing, not a figure
        if match.kind == "none":
            return Problem("unknown_key", {"key": phrase})
        trailing = [w.text for w in pair.after if w.text not in COURTESY | UNIT_WORDS]
        # "ho 6 app k": no app; the 6 stands, the rest is not counted.
        if trailing and trailing[-1] in NEGATIONS and match.kind == "sure" and match.code:
            verdict.add(match.code, value, pair)
            tail = [w for w in pair.after if w.text in trailing]
            verdict.left_out_text.append(t.cut(tail[0].start, tail[-1].end))
            continue
        if trailing and pair is pairs[-1] and matcher.exact(" ".join(trailing)) is not None:
            tail = [w for w in pair.after if w.text in trailing]
            return Problem("missing_value", {"key": t.cut(tail[0].start, tail[-1].end)})
        reason = _doubt(pair, match, matcher)
        if reason is not None:
            verdict.unsure.append((pair, reason, match))
            # A guess at the key goes into the line to send; a number that may be a level,
            # an ordinal, a share or a time does not.
            if match.code is not None and reason in ("ask_partial", "ask_typo", "ask_trailing"):
                verdict.add(match.code, value, pair)
            continue
        assert match.code is not None  # noqa: S101 (a sure match names its indicator)
        verdict.add(match.code, value, pair)

    for pair, value, match in bare:
        if any(code != "ho" for code, _v in verdict.keep) or len(bare) > 1:
            verdict.unsure.append((pair, "ask_bare", match))
        else:
            verdict.add("ho", value, pair)  # "/bao_cao 5 hộ": households guided
    seen: dict[str, int] = {}
    kept: list[tuple[str, int]] = []
    for (code, value), subset in zip(verdict.keep, verdict.subsets, strict=True):
        if code in seen and subset and value <= seen[code]:
            continue  # "5 hộ, trong đó 2 hộ người cao tuổi": the 2 are among the 5
        if code in seen:
            return Problem("duplicate", {"key": code})
        seen[code] = value
        kept.append((code, value))
    verdict.keep = kept
    line = report_line(verdict.keep, day, today)
    if sizes:
        # The village's size beside real figures: say so, and give the line for the figures.
        return Problem("village_size", {"value": sizes[0]}, suggestion=line)
    if totals and totals != [sum(v for _c, v in verdict.keep)]:
        return Problem("ask_total", {"value": str(totals[0])}, suggestion=line)
    if verdict.unsure:
        pair, reason, match = verdict.unsure[0]
        key_words = [w for w in pair.key if _is_word(w.text)] or [pair.number]
        args = {
            "part": t.cut(
                min(key_words[0].start, pair.number.start), max(pair.number.end, key_words[-1].end)
            ),
            "value": pair.number.text,
        }
        if match.candidates:
            args["codes"] = ", ".join(match.candidates)
        return Problem(reason, args, suggestion=line)
    if verdict.left_out:
        joined = any(
            p.joined or any(q.segment == p.segment for q in pairs if q not in verdict.left_out)
            for p in verdict.left_out
        )
        part = _part(t, verdict.left_out[0])
        if not verdict.keep:
            return Problem("negated", {"part": part})
        if joined:
            return Problem("ask_negation", {"part": part}, suggestion=line)
    values = dict(verdict.keep)
    if not values:
        return Problem("empty")
    return ParsedReport(
        values=values,
        day=day,
        note=note or None,
        left_out=(*(_part(t, p) for p in verdict.left_out), *verdict.left_out_text),
    )


_PLACE_WORDS = frozenset({"xom", "ap", "thon", "lang", "ban", "khu", "doi", "canh", "phum"})


def _says_not(words: Sequence[Word]) -> bool:
    """A negation among the words after a figure ("3 hộ chưa cài"); "xóm Chùa" is a place."""
    return any(
        w.text in NEGATIONS and not (n and w.text == "chua" and words[n - 1].text in _PLACE_WORDS)
        for n, w in enumerate(words)
    )


def _following(pair: Pair, count: int = 1) -> str | None:
    """The word(s) right after the pair's number, whichever side of it the key stood."""
    later = sorted((w for w in (*pair.key, *pair.after) if w.start >= pair.number.end),
                   key=lambda w: w.start)[:count]  # fmt: skip
    return " ".join(w.text for w in later) if len(later) == count else None


def _date_inside_figures(folded: str) -> bool:
    """ "app 3 hộ + 1 hộ hôm qua": a date word after a figure, on a line of several figures,
    may date only some of them."""
    for line in folded.split("\n"):
        if len(re.findall(r"\d+", line)) < 2:
            continue
        for start in date_word_starts(line):
            before, after = line[:start], line[start:]
            # Figures on both sides of it, or added up ("3 hộ + 1 hộ hôm qua").
            if re.search(r"\d", before) and (re.search(r"\d", after) or "+" in before):
                return True
    return False


def _part(t: Text, pair: Pair) -> str:
    words = [*pair.key, pair.number, *pair.after]
    start = min(w.start for w in words)
    end = max(w.end for w in words)
    return t.cut(start, end)


def _doubt(pair: Pair, match: Match, matcher: IndicatorMatcher) -> str | None:
    """Why a figure cannot be recorded without asking, or None when it can."""
    if pair.before is not None and pair.before.text in ORDINAL_WORDS and not match.typo:
        return "ask_ordinal"
    if pair.before is not None and pair.before.text in APPROXIMATE:
        return "ask_approximate"  # "trên 15 hộ" is more than 15: how many exactly?
    after = [w.text for w in pair.after]
    if match.code in matcher.household_codes and any(w in PEOPLE for w in after[:2]):
        return "ask_people"  # "cài app 5 người": people, and the indicator counts households
    if "%" in after or "phan" in after or "percent" in after:
        return "ask_percent"
    if after and after[0] in ("h", "g", "gio", "phut", "am", "pm"):
        return "ask_time"
    if match.kind == "ambiguous":
        return "ask_ambiguous"
    if match.kind == "other":
        return "ask_other"
    if match.kind == "partial":
        return "ask_partial"
    if match.kind == "fuzzy":
        return "ask_typo"
    if any(w not in COURTESY and w not in UNIT_WORDS and _is_word(w) for w in after):
        return "ask_trailing"
    return None


def nonzero(values: dict[str, int]) -> dict[str, int]:
    return {k: v for k, v in values.items() if v}


def line_values(line: str) -> dict[str, int]:
    """The indicator figures of a report line (`report_line`'s inverse): "ho=5 app=2
    ngay=18/11" -> {"ho": 5, "app": 2}."""
    return {k: int(v) for k, v in re.findall(r"([a-z_]+)=(\d+)", line) if k != "ngay"}


def report_line(
    values: Sequence[tuple[str, int]] | dict[str, int], day: date | None, today: date
) -> str | None:
    """The exact arguments of a `/bao_cao` that records what was understood."""
    if not values:
        return None
    pairs = values.items() if isinstance(values, dict) else values
    parts = [f"{code}={value}" for code, value in dict(pairs).items()]
    if day is not None and day != today:
        parts.append(f"ngay={day.strftime('%d/%m')}")
    return " ".join(parts)
