"""The second reading: by structure, when the careful reader (`reader`) found a word it does
not know around a figure. Pure, no I/O.

A number attaches to the indicator word nearest it in its clause — the key before it ("cài
vneid được 3"), or the indicator after it and its unit ("3 nhà cài vneid") — and a count of
households with no indicator word is households visited and guided ("đi được 7 nhà"). Words
that name no indicator and cannot change the meaning (people, particles, places, a pasted
header, emoticons) are skipped. What can change the meaning — a negation, people instead of
households, an approximation, a share, another thing, a figure left without an indicator —
makes the reading unsure: it is offered for one tap, never stored on its own.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

from handlers.grammar import MAX_NOTE, IndicatorMatcher, Problem, whole_number
from handlers.reading.dates import LAST_WEEK, read_date
from handlers.reading.telex import decode_word
from handlers.reading.text import Text, mask_place_names, strip_invisible
from handlers.reading.vocabulary import (
    AGE,
    APPROXIMATE,
    MONEY,
    NEGATION_PAIRS,
    NEGATIONS,
    ORDINAL_WORDS,
    OTHER_THINGS,
)
from storage.folding import clean, fold

# Words people shorten, as typed (folded): what they stand for.
SHORT = {
    "dc": "duoc", "đc": "duoc", "dk": "duoc", "đk": "duoc", "hok": "khong", "hong": "khong",
    "hem": "khong", "hk": "khong", "khg": "khong", "kg": "khong", "ko": "khong", "k": "khong",
    "chx": "chua", "cx": "cung", "r": "roi", "rui": "roi", "dzo": "vo",
    "zo": "vo", "wa": "qua", "ng": "nguoi", "hgd": "ho", "gd": "ho", "hđ": "hd",
    "tk": "tai khoan", "tktt": "tai khoan thanh toan",
    "hs": "ho so", "cd": "cong dan", "vneid": "vneid", "ewallet": "vi dien tu",
    "e-wallet": "vi dien tu", "wallet": "vi dien tu", "banking": "ngan hang",
    "install": "cai", "installed": "cai", "setup": "cai", "guide": "huong dan",
    "guided": "huong dan", "support": "ho tro", "supported": "ho tro", "visit": "tham",
    "visited": "tham", "signature": "chu ky so", "token": "chu ky so", "bank": "ngan hang",
    "account": "tai khoan", "accounts": "tai khoan", "open": "mo", "opened": "mo",
}  # fmt: skip
# What each kind of work is called, as any plan names it: the alias it is looked up by.
KINDS_OF_WORK = {
    "tai khoan": "thanh toan", "tai khoan thanh toan": "thanh toan", "chuyen khoan": "thanh toan",
    "ngan hang": "thanh toan", "tai khoan ngan hang": "thanh toan", "vi dien tu": "thanh toan",
    "vi": "thanh toan", "agribank": "thanh toan", "vietcombank": "thanh toan",
    "bidv": "thanh toan", "vietinbank": "thanh toan", "mb bank": "thanh toan",
    "sacombank": "thanh toan", "techcombank": "thanh toan", "mobile money": "thanh toan",
    "ho so": "ho so", "nop ho so": "ho so", "dvc": "ho so", "dich vu cong": "ho so",
    "khai sinh": "ho so", "vneid": "cai app", "ve en i ai di": "cai app", "cong dan": "cai app",
    "vn id": "cai app", "vnid": "cai app", "vn-id": "cai app", "vneld": "cai app",
    "tai khoan dddt": "cai app", "dddt": "cai app",
    "tai khoan dinh danh": "cai app", "dinh danh": "cai app", "dvctt": "ho so",
    "ho so dvc": "ho so", "ho so dvctt": "ho so", "vnied": "cai app", "ve no e ai di": "cai app",
    "ve ne ai di": "cai app", "vi en ai di": "cai app", "v neid": "cai app",
    # VNeID as voice typing spells it out: "vi en ây", "vê en i đi", "vi en"
    "vi en ay": "cai app", "vi en ay di": "cai app", "vi en ai": "cai app", "vi en": "cai app",
    "vi en i di": "cai app", "ve en i di": "cai app", "ve en": "cai app", "vi e en": "cai app",
    "app cong dan": "cai app", "dinh danh dien tu": "cai app", "cai dinh danh": "cai app",
    "ky so": "chu ky so", "chu ki so": "chu ky so", "cks": "chu ky so",
    "len san": "thuong mai dien tu", "vo so": "thuong mai dien tu", "shopee": "thuong mai dien tu",
    "tiktok": "thuong mai dien tu", "lazada": "thuong mai dien tu",
    "ban hang online": "thuong mai dien tu", "ban online": "thuong mai dien tu",
    "tmdt": "thuong mai dien tu", "postmart": "thuong mai dien tu",
    "ck so": "chu ky so",  # "ck số"; "ck" alone is a transfer, or a husband ("ck e đi 6 hộ")
    "e-sign": "chu ky so", "esign": "chu ky so", "smartca": "chu ky so", "vnpt-ca": "chu ky so",
    "vnpt ca": "chu ky so", "chu ky dien tu": "chu ky so", "mysign": "chu ky so",
    "app ngan hang": "thanh toan", "cai app ngan hang": "thanh toan",
    "ung dung ngan hang": "thanh toan", "e-mobile": "thanh toan",
    "e-mobile banking": "thanh toan", "mobile banking": "thanh toan",
}  # fmt: skip
# "cài" alone most likely means the citizen app, but not surely (cài Zalo, cài Sổ sức khỏe).
WEAK_WORK = {"cai": "cai app", "cai dat": "cai app", "kich hoat": "cai app"}
# Going door to door: a count of households with nothing else said is households guided.
VISITS = frozenset(
    {"di", "ghe", "tham", "go cua", "vo", "toi", "xuong", "den", "tiep can", "huong dan",
     "tuyen truyen", "ho tro", "giup", "man", "lam", "support", "visit", "guide", "hd", "hdan",
     "di duoc", "lo"}
)  # fmt: skip
HOUSEHOLDS = frozenset(
    {
        "ho",
        "nha",
        "ho dan",
        "ho gia dinh",
        "gia dinh",
        "can",
        "nha dan",
        "h",
        "households",
        "household",
        "ho kinh doanh",
        "shop",
        "shops",
        "cua hang",
        "tiem",
        "sap",
        "families",
        "co so",
        "ho san xuat",
    }
)
FILINGS = frozenset({"ho so", "bo ho so", "bo", "thu tuc"})
_PEOPLE = frozenset({"nguoi", "people", "person", "persons", "thanh vien", "nhan khau", "ca nhan"})
_NEGATION_WORDS = NEGATIONS | frozenset({"khong", "chua", "chang", "cha"})
_NOT_DONE = NEGATION_PAIRS | frozenset(
    {"di vang", "di lam", "khong chiu", "chua chiu", "tu choi", "khong co dien thoai",
     "khong co dt", "tu truoc", "co san", "da co tu truoc"}
)  # fmt: skip
# Whole-text reasons no second reading is tried: the careful reader's question stands.
_NEVER = re.compile(
    r"\?|\b(?:vi du|vd|thay cho|bao cao ho|may bua|may hom|ca tuan|suot tuan|"
    r"mot so|vai(?=\s+(?:ho|nha|gia dinh|chuc|tram|nguoi|can|ba|hai))|tong hop|chuyen tiep|"
    r"chuyen tin|tin nhan cua|forward|fw|fwd)\b|"
    r"\d\s*[-–]\s*\d+\s*/\s*\d|\bbao\s*cao\s+(?:gium|dum|giup|thay|ho)\b"
)
# "Hai Nhàn: …" then "Tư Hùng: …": a conversation pasted, whose report is whose?
# A clause about the future or a running total: its figures are not this report's work.
_NOT_NOW = frozenset(
    {"mai", "ngay mai", "sang mai", "chieu mai", "toi mai", "se", "du kien", "ke hoach", "hen",
     "tuan sau", "cong don", "luy ke", "tu dau", "tinh den", "den nay", "toi gio", "den gio",
     "ca to", "chac"}
)  # fmt: skip
# "định" is an intent only before what would be done ("định cài", "định đi"); "Đinh Văn Byưh"
# and "xóm Đình" are names.
_DOING = frozenset({"mo", "cai", "lam", "dang", "giup", "duoc", "dc", "tao", "kich", "ho tro"})
_INTENT = frozenset({"dinh", "tinh", "muon"})
_INTENDED = frozenset({"di", "cai", "lam", "mo", "qua", "sang", "ve", "nop", "ghe", "dang"})
# Work done with someone else: the count may be both's, and the other may report it too.
_JOINT = re.compile(
    r"\b(?:voi|vs|cung|va)\s+(?:chi|anh|em|co|chu|bac|ba|ong|ban|e|a|c|mấy|may|cac)\s+\w+|"
    r"\b(?:di\s+chung|hai\s+nguoi|ca\s+hai\s+(?:chi\s+em|anh\s+em|nguoi)|bao\s+chung)\b"
)
_SPEAKER = re.compile(r"^\s*[^\W\d][^\n:]{1,30}:\s", re.MULTILINE)
_WEEKDAYS = re.compile(
    r"(?<!ho\s)(?<!nha\s)(?<!lan\s)(?<!dot\s)(?<!lop\s)(?<!cu\s)(?<!to\s)"
    r"\b(?:thu\s*(?:[2-7]|hai|ba|tu|nam|sau|bay)|t[2-7]|cn|chu\s+nh[au]t)\b"
)
_PLACE_BEFORE = ORDINAL_WORDS | frozenset({"so", "ap", "xom", "to", "doi", "khu", "phong"})
_AFTER_NOT_COUNT = AGE | MONEY | frozenset({"tuoi", "g", "gio", "phut", "p", "km", "m", "%",
                                            "tieng", "buoi", "ngay", "thang",
                                            "phan", "tram", "nam"})  # fmt: skip
# Emoji end a clause the way a full stop does ("Chào cả tổ ☀️ Bữa qua đi 6 nhà").
_CLAUSE = re.compile(
    r"[\n;,.!?()\[\]{}|/\u2600-\u27bf\U0001f300-\U0001faff]|"
    r"\b(?:va|ma|nhung|con|sau do|with|and)\b|\b(?:voi|vs)\b(?=\s+\d)"
)
_TOKEN = re.compile(r"\d+(?:\.\d{3})*|[a-z]+(?:-[a-z]+)?|[:=%+]")
_NUMBER = re.compile(r"^\d+(?:\.\d{3})*$")
_LOOK_ALIKE = re.compile(r"(?<![^\W\d_])[lI|](?=\d)|(?<=\d)[lI|](?![^\W\d_])")
_LETTER_O = re.compile(r"(?<![a-z])(?:\d+[o]+\d*|[o]\d+)(?![a-z])")
_TIME = re.compile(
    r"(?<![\d.,])\d{1,2}\s?(?:h|g|gio)\s?\d{2}(?:p|ph|phut)?\b|\b\d{1,2}:\d{2}\b|"
    r"\b(?:luc|khoang|tu|den)\s+\d{1,2}\s?(?:h|g|gio)\b"
)
_HOURS_OR_HOUSEHOLDS = re.compile(r"(?<![\w.,:])\d{1,2}\s?h(?![\w])")
_DATE_INSIDE = re.compile(
    r"^\(\s*(?:(?:ngay\s+)?\d{1,2}\s*/\s*\d{1,2}(?:\s*/\s*\d{2,4})?|(?:ngay\s+|hom\s+)?"
    r"(?:thu\s*(?:[2-7]|hai|ba|tu|nam|sau|bay)|chu\s+nhat|cn|t[2-7]))\s*\)$"
)  # "(18/11)", "(thứ 3)": the day the work was done
# A word of a day the date reader did not read ("hôm tê", "bữa trước", "hôm đám giỗ").
# "hôm khác" (another day, to come), "hôm đó" (the day named), "hổm rày" (lately) say none.
_DAY_LEFT = re.compile(
    r"\b(?:hom|bua|hum)\b(?!\s+(?:nao|nay|ni|qua|khac|sau|do|day|ay|ray|te|no|kia)\b)"
)
MAX_SURE = 200  # more households than this in one report is checked by a person first


@dataclass
class Loose:
    values: dict[str, int]
    day: date | None
    sure: bool
    note: str | None = None
    why: list[str] = field(default_factory=list)  # what made it unsure
    denied: bool = False  # a word of negation stands anywhere in the message
    # An indicator said twice is summed ("sáng 6 hộ, chiều thêm 4 hộ"); it may instead be a
    # correction (the last stands) or a breakdown (the first): those readings, when they differ.
    others: list[dict[str, int]] = field(default_factory=list)


@dataclass
class _Tok:
    kind: str  # num, ind, weak, unit_h, unit_f, unit_p, neg, approx, other, visit, sep, word
    text: str
    value: str | None = None  # the indicator code, or the number as typed

    @property
    def num(self) -> bool:
        return self.kind == "num"


def guided_code(matcher: IndicatorMatcher) -> str | None:
    """The plan's indicator of households visited and guided, if it has one."""
    return matcher.exact("huong dan") or matcher.exact("ho")


def read_loose(text: str, matcher: IndicatorMatcher, *, today: date) -> Loose | None:
    """The reading by structure, or None when there is nothing to read this way."""
    text = strip_invisible(text)
    t = Text(clean(text), fold(text))
    mask_place_names(t)
    names = (m.group().strip(" :") for m in _SPEAKER.finditer(t.original))
    if _LOOK_ALIKE.search(t.original):
        return None  # "ho=l2": a letter l where a digit should be, read by no one
    speakers = {
        name
        for name in names
        if len(name.split()) > 1 and all(w[:1].isupper() for w in name.split())
    }
    if _NEVER.search(t.folded) or len(_WEEKDAYS.findall(t.folded)) > 1 or len(speakers) > 1:
        return None  # several days, a total so far, a plan: the careful reader's question
    note = None
    m = re.search(r"(?:^|(?<=[\s,;.]))ghi[\s_]*chu\b\s*[:=]?\s*(?P<note>[^\n]*)", t.folded)
    if m is not None:
        note = t.original[m.start("note") : m.end("note")].strip()[:MAX_NOTE] or None
        t.blank(m.start(), m.end())
    away = False
    for m in list(re.finditer(r"\((?!\s*(?:trong\s+do|gom|bao\s+gom))[^()\n]*\)", t.folded)):
        if _DATE_INSIDE.search(m.group()):
            continue  # "thứ Năm (12/11/2026)": the day the work was done
        inside = _tokens(m.group()[1:-1], matcher)
        # "9 hộ (2 hộ vắng nhà đi rẫy)": households not reached, inside the figure's remark.
        away = away or (any(k.num for k in inside) and any(k.kind == "neg" for k in inside))
        t.blank(m.start(), m.end())  # "tt 4 (3 Agribank, 1 MoMo)": a remark, or a breakdown
    if _VNI_INSIDE.search(t.folded):
        # "nga2y 17 d9i 6 ho65": the words as the keyboard should have made them, dates too.
        decoded = _VNI_WORD.sub(lambda m: decode_word(m.group()), t.folded)
        t = Text(decoded, decoded)
    spoken_day = _SPOKEN_DAY.sub(lambda m: _day_digits(m, t.original), t.folded)
    if spoken_day != t.folded:
        t = Text(spoken_day, spoken_day)  # "ngày mười bảy": the date as digits, in both
    last_week = bool(LAST_WEEK.search(t.folded))
    day = read_date(t, today)
    if isinstance(day, Problem):
        return None
    for m in list(_TIME.finditer(t.folded)):
        t.blank(m.start(), m.end())  # "lúc 16h", "08:15": when, not how many
    day_left = _DAY_LEFT.search(t.folded)

    folded = _spoken_numbers(t.folded)
    tokens = _tokens(folded, matcher)
    why: list[str] = []
    if away:
        why.append("not done in a remark")  # of the 9 households, 2 were away: 9, or 7?
    if day_left is not None:
        why.append("a day word left")  # "hôm tê", "bữa hổm", "hôm trước": which day, surely?
    if _HOURS_OR_HOUSEHOLDS.search(folded):
        why.append("hours or households")  # "6h 3app": six o'clock, or six households?
    if _JOINT.search(fold(text)):
        why.append("together with someone")  # "em với chị Hoa đi chung 10 nhà": whose count?
    if last_week and day is None:
        why.append("last week, no day")
        day = today - timedelta(days=today.weekday() + 1)  # offered as last week's Sunday
    guided = guided_code(matcher)
    filings = matcher.exact("ho so")
    values: dict[str, int] = {}
    said: dict[str, list[int]] = {}
    totals: set[str] = set()
    tokens, fixed = corrected(tokens)
    visits = any(t.kind in ("visit", "ind") for t in tokens)
    if fixed:
        why.append("corrected")
    if _LETTER_O.search(folded):
        why.append("a letter O for a zero")  # "ho=1O": 10, surely, but asked
    for clause in _split(tokens):
        found = _attach(
            clause, why, guided=guided, filings=filings, earlier=bool(values), visits=visits,
            all_of=values.get(guided) if guided is not None else None,
        )  # fmt: skip
        if found is None:
            return None
        for code, value, total in found:
            said.setdefault(code, []).append(value)
            if total:
                totals.add(code)
                values[code] = value  # "tổng hướng dẫn 5 hộ": the total stands
                continue
            if code in totals:
                continue
            if code in values and values[code] == value and code == guided:
                continue  # "đi 3 nhà, giúp 3 nhà mở tài khoản": the same households
            if code in values:
                why.append(f"{code} twice")
                if code != guided and values[code] != value:
                    values[code] += value  # "3 hộ lên Voso, 1 hộ lên Shopee": 4 (asked)
            else:
                values[code] = value
    values = {c: v for c, v in values.items() if c in matcher.codes}
    if not values:
        return None
    if not any(t.kind in ("unit_h", "visit") for t in tokens) and any(
        t.kind == "ind" and ("tai khoan" in t.text or "ngan hang" in t.text) for t in tokens
    ):
        why.append("bare accounts")  # "tài khoản ngân hàng 3": a person's, or households?
    if any(v > MAX_SURE for c, v in values.items() if c in matcher.household_codes):
        why.append("large")
    denied = any(t.kind == "neg" for t in tokens)
    others = _other_readings(values, said, guided) if any(" twice" in w for w in why) else []
    unfigured = [
        w.removesuffix(" without a figure")
        for w in why
        if w.endswith(" without a figure") and not w.startswith("an ")
    ]
    others += _implied_readings(values, unfigured, guided, matcher, said)
    return Loose(values, day, sure=not why, note=note, why=why, denied=denied, others=others)


def _implied_readings(
    values: dict[str, int],
    unfigured: list[str],
    guided: str | None,
    matcher: IndicatorMatcher,
    said: dict[str, list[int]],
) -> list[dict[str, int]]:
    """An indicator named with no figure: the households counted again beside it ("đi 6 hộ,
    hướng dẫn 2 hộ mở TK Vietinbank": 2), one household ("nhà bà Út mở tài khoản"), or every
    household visited ("cả mấy nhà đều cài VNeID"). Offered, never stored untapped."""
    codes = [c for c in dict.fromkeys(unfigured) if c in matcher.codes and c not in values]
    if not codes:
        return []
    ways: list[dict[str, int]] = []
    again = said.get(guided, [])[1:] if guided is not None else []
    if again and guided is not None:
        ways.append({guided: said[guided][0], **dict(zip(codes, again, strict=False))})
    ways.append({c: 1 for c in codes})
    visited = values.get(guided) if guided is not None else None
    if visited is not None and visited > 1:
        ways.append({c: visited for c in codes})
    return [{**values, **way} for way in ways]


def _other_readings(
    values: dict[str, int], said: dict[str, list[int]], guided: str | None
) -> list[dict[str, int]]:
    """A figure said twice, read the other ways: the later one correcting the earlier (the
    households visited kept, or corrected too), the two summed, the first alone."""
    twice = {c: v for c, v in said.items() if c in values and len(v) > 1}
    ways = (
        {c: v[-1] if c != guided else v[0] for c, v in twice.items()},
        {c: v[-1] for c, v in twice.items()},
        {c: sum(v) for c, v in twice.items()},
        {c: v[0] for c, v in twice.items()},
    )
    others: list[dict[str, int]] = []
    for way in ways:
        other = {**values, **way}
        if other != values and other not in others:
            others.append(other)
    return others


_SPOKEN_DIGITS = {"mot": 1, "hai": 2, "ba": 3, "bon": 4, "tu": 4, "nam": 5, "lam": 5, "sau": 6,
                  "bay": 7, "tam": 8, "chin": 9}  # fmt: skip
_SPOKEN = re.compile(
    r"\b(?P<n>(?:(?:mot|hai|ba|bon|tu|nam|lam|sau|bay|tam|chin|muoi|muoi|mươi|chuc|mot chuc|"
    r"linh|le|mot|mốt)\s+)*(?:mot|hai|ba|bon|tu|nam|lam|sau|bay|tam|chin|muoi|chuc|mot))"
    r"(?=\s+(?:ho|nha|gia dinh|ho so|hs|nguoi|can|cai|vneid|app|bo)\b)"
)
# Before these a lone number word is a number whatever comes before it ("một hộ").
_SURE_UNITS = re.compile(r"\s+(?:ho|gia dinh|ho so|hs|bo)\b")


def spoken(words: Sequence[str]) -> int | None:
    """ "mười lăm" 15, "hai mốt" 21, "một chục" 10, "bảy" 7; None when it is no number ("tầm
    chục" is about ten, not eighty)."""
    if len(words) > 1 and words[0] == "tam" and words[1] == "chuc":
        return None
    total, current, tens = 0, 0, False
    for n, w in enumerate(words):
        if w == "muoi" or w == "chuc":
            current = (current or 1) * 10
            tens = True
        elif w in ("linh", "le"):
            continue
        elif w == "mot" and n > 0:
            if not tens:
                current *= 10  # "hai mốt" said short: 21
            current += 1
            tens = True
        elif w in _SPOKEN_DIGITS:
            d = _SPOKEN_DIGITS[w]
            if tens:
                current += d
            elif current and w in ("lam", "tu"):
                current = current * 10 + d  # "hai lăm" said short: 25
                tens = True
            elif current:
                return None  # "hai ba hộ": two or three, not 23
            else:
                current = d
        else:
            return None
    total += current
    return total if 0 < total <= 99 else None


# One number word alone is also a common word ("sau" after, "ba" father, "năm" year): a
# number only after a word that asks for a count.
_COUNTING = frozenset(
    [
        "duoc",
        "dc",
        "con",
        "them",
        "di",
        "co",
        "giup",
        "tham",
        "cai",
        "mo",
        "hd",
        "vneid",
        "app",
        "them",
        "la",
        "gom",
        "huong",
        "dan",
        "lo",
        "ho",
        "tro",
        "ca",
    ]
)


_SPOKEN_DAY = re.compile(
    r"\b(?P<key>ngay|mung|mong)\s+(?P<n>(?:muoi|hai|ba|bon|nam|sau|bay|tam|chin|mot|mot|lam|tu|"
    r"chin)(?:\s+(?:muoi|mot|hai|ba|bon|tu|nam|lam|sau|bay|tam|chin))*)\b"
)


def _day_digits(m: re.Match[str], original: str) -> str:
    """ "ngày mười bảy" -> "ngày 17" (the text keeps no alignment here: `t` is rebuilt); "mừng
    lắm" (so glad) is no "mùng lăm"."""
    words = m.group("n").split()
    value = spoken(words)
    if value is None or value > 31 or words == ["lam"]:
        return m.group()
    if original[m.start() : m.start() + 4].lower() in ("mừng", "mưng"):
        return m.group()
    return f"{m.group('key')} {value}".ljust(len(m.group()))


def _spoken_numbers(folded: str) -> str:
    def digits(m: re.Match[str]) -> str:
        words = m.group("n").split()
        before = folded[: m.start()].split()
        unit = _SURE_UNITS.match(folded, m.end())
        # Before "nhà", only the number words that are no other common word read alone
        # ("sáu nhà" / "sau nha", "từ nhà", "làm nhà", "tầm nhà", "năm nhà", "bà nhà").
        plain = words[0] in ("mot", "hai", "bon", "bay", "chin", "muoi")
        alone = len(words) == 1 and ((unit is None and not plain) or words[0] in ("lam", "tu"))
        if alone and (not before or before[-1] not in _COUNTING):
            return m.group("n")
        value = spoken(words)
        return str(value) if value is not None else m.group("n")

    return _SPOKEN.sub(digits, folded)


# VNI typing left unconverted puts tone digits inside and after words ("d9i", "ho65",
# "nha2"): in a text with such words, a word with digits is a VNI word, not a key and a number.
_VNI_INSIDE = re.compile(r"\b[a-z]+[1-9][a-z]+[1-9]*\b")
_VNI_WORD = re.compile(r"\b[a-z]+[1-9][a-z1-9]*\b")
_TOKEN_VNI = re.compile(r"[a-z]+[1-9][a-z1-9]*|\d+(?:\.\d{3})*|[a-z]+(?:-[a-z]+)?|[:=%+]")


def _words(folded: str, known: frozenset[str], *, vni: bool) -> list[str]:
    out: list[str] = []
    text = _LETTER_O.sub(lambda m: m.group().replace("o", "0"), folded)
    for raw in (_TOKEN_VNI if vni else _TOKEN).findall(text):
        word = raw
        if (
            (raw.isalpha() and raw not in known and raw not in SHORT)
            or not raw.isalnum()
            or (vni and not raw.isdigit() and not raw.isalpha())
        ):
            word = decode_word(raw)
        out.extend(SHORT.get(word, word).split())
    return out


# A household named by who lives there ("nhà anh Hải", "hộ bà Chín"): one household.
_NAMED_HOME = re.compile(r"\b(?:nha|ho)\s+(?:ong|ba|anh|chi|co|chu|bac|di|cu|thim|mo|o|me)\s+\w")


def done_words(text: str, matcher: IndicatorMatcher) -> bool:
    """True when the text names a household and work of an indicator done for it ("nhà anh Hải
    mở thêm tài khoản Sacombank"): a remark that holds a figure, not a breakdown or a brand."""
    folded = fold(text)
    if not _NAMED_HOME.search(folded):
        return False
    tokens = _tokens(_spoken_numbers(folded), matcher)
    named = any(t.kind == "ind" for t in tokens)
    return named and not any(t.kind == "neg" for t in tokens)


def _tokens(folded: str, matcher: IndicatorMatcher) -> list[_Tok]:
    pieces = _CLAUSE.split(folded)
    seps = _CLAUSE.findall(folded)
    tokens: list[_Tok] = []
    known = matcher.vocabulary
    vni = bool(_VNI_INSIDE.search(folded))
    for n, piece in enumerate(pieces):
        tokens.extend(_classify(_words(piece, known, vni=vni), matcher))
        if n < len(seps):
            tokens.append(_Tok("sep", seps[n]))
    return tokens


def _classify(words: list[str], matcher: IndicatorMatcher) -> list[_Tok]:
    out: list[_Tok] = []
    i = 0
    while i < len(words):
        w = words[i]
        if _NUMBER.match(w):
            out.append(_Tok("num", w, w))
            i += 1
            continue
        found: tuple[int, tuple[str, str | None]] | None = None
        for length in range(min(5, len(words) - i), 0, -1):
            phrase = " ".join(words[i : i + length])
            if any(_NUMBER.match(x) for x in words[i : i + length]):
                continue
            known = _phrase_kind(phrase, matcher, single=length == 1)
            if known is not None:
                found = (length, known)
                break
        if found is None:
            out.append(_Tok("word", w))
            i += 1
            continue
        length, (kind, value) = found
        out.append(_Tok(kind, " ".join(words[i : i + length]), value))
        i += length
    return out


def _phrase_kind(
    phrase: str, matcher: IndicatorMatcher, *, single: bool
) -> tuple[str, str | None] | None:
    if phrase in _NOT_DONE:
        return "neg", None
    if phrase in _PERSONS:
        return "word", None  # "cán bộ" is no "căn" and no "bộ" (hồ sơ)
    if phrase in OTHER_THINGS and phrase not in KINDS_OF_WORK and phrase != "ngan hang":
        return "other", None
    if phrase in HOUSEHOLDS:
        return "unit_h", None
    if phrase in FILINGS:
        return "unit_f", None
    code = matcher.exact(phrase)
    if code is not None and not matcher.is_weak(phrase):
        return "ind", code
    if phrase in KINDS_OF_WORK:
        code = matcher.exact(KINDS_OF_WORK[phrase])
        if code is not None:
            return "ind", code
    if phrase in WEAK_WORK:
        code = matcher.exact(WEAK_WORK[phrase])
        if code is not None:
            return "weak", code
    if phrase in _PEOPLE:
        return "unit_p", None
    if phrase in VISITS:
        return "visit", None
    if not single:
        return None
    if phrase in _NEGATION_WORDS and phrase not in ("no", "not"):
        return "neg", None
    if phrase in APPROXIMATE:
        return "approx", None
    if len(phrase) >= 5:
        near = matcher.near(phrase)
        if near is not None and near[1] >= 88:
            return "ind", near[0]
    return None


# Words that hold an indicator's or a negation's letters but are neither: people ("cán bộ"),
# goods a household sells ("nem chua", "mắm tôm chà", "giò chả"), a report "bổ sung".
_PERSONS = frozenset(
    {"can bo", "cong an", "cong chuc", "vien chuc", "doan vien", "hoi vien", "nem chua",
     "canh chua", "me chua", "xoai chua", "mam tom cha", "gio cha", "cha ca", "cha lua",
     "cha gio", "cha que", "banh cha", "bo sung", "bao cao bo sung", "bo doi"}
)  # fmt: skip
# Opening or setting up something the plan does not name ("mở da lô pây"): what was it?
_OPENED = frozenset({"mo", "cai", "dung", "lap", "tao", "nap", "kich hoat"})
_SETTING_UP = frozenset({"mo", "lap", "dang ky"})
_PLACES = frozenset(
    {"xom", "ap", "thon", "ban", "lang", "khu", "to", "doi", "chua", "gan", "o", "phum", "canh",
     "den", "toi", "ngoi", "xa", "phuong", "huyen"}
)  # fmt: skip


_WHEN = frozenset({"luc", "khoang", "tu", "den", "sang", "chieu", "toi", "trua", "gio", "tam"})
# "nhà nào cũng", "tất cả", "cả mấy nhà đều": the figure is all of those visited.
_ALL = re.compile(r" (?:nha nao cung|ho nao cung|tat ca|ca (?:may|cac) (?:nha|ho)|deu|het) ")
_OBLIGATIONS = frozenset({"phai", "can", "chi tieu", "muc tieu", "ke hoach"})
_CORRECTED = frozenset({"nham", "dung ra", "dung ra la", "sua lai", "sua thanh", "chinh xac la"})


_BLANK = _Tok("word", "")


def _is_mark(tokens: list[_Tok], n: int) -> bool:
    """ "nhầm", "đúng ra", and "à không" / "à ko" opening what follows (not "à, không ai")."""
    tok = tokens[n]
    if tok.kind == "word" and tok.text in ("nham", "dung"):
        return True
    return (
        tok.kind == "neg"
        and tok.text in ("khong", "ko", "k", "hong")
        and n > 0
        and tokens[n - 1].text in ("a", "o", "ay")
        and n + 1 < len(tokens)
        and (tokens[n + 1].num or (n + 2 < len(tokens) and tokens[n + 2].num))
    )


def _key_of(tokens: list[_Tok], k: int) -> str | None:
    """The indicator a number stands beside ("app 4", "4 app", "cài app 6 hộ")."""
    for j in (k - 1, k + 1, k + 2):
        if 0 <= j < len(tokens) and tokens[j].kind == "ind":
            if j == k + 2 and tokens[k + 1].kind not in ("unit_h", "unit_f"):
                continue
            return tokens[j].value
    return None


def _denied_figures(out: list[_Tok]) -> bool:
    """ "3 hộ chứ không phải 5": the figure denied is no figure; "không phải 5 hộ cài VNeID mà
    là 3 hộ": the one after "mà là" takes its place and keeps the words between."""
    changed = False
    for n in range(len(out) - 2):
        if not (out[n].kind == "neg" and out[n + 1].text == "phai" and out[n + 2].num):
            continue
        end = n + 3
        if end < len(out) and out[end].kind in ("unit_h", "unit_f", "unit_p"):
            end += 1
        rest = next(
            (
                k
                for k in range(end, min(len(out), end + 6))
                if out[k].text == "la" and out[k - 1].text == "ma"
            ),
            None,
        )
        if rest is not None and rest + 1 < len(out) and out[rest + 1].num:
            for k in (*range(n, end), rest - 1, rest):
                out[k] = _BLANK
        elif n > 0 and out[n - 1].text == "chu":
            for k in range(n - 1, end):
                out[k] = _BLANK
        else:
            continue
        changed = True
    return changed


def corrected(tokens: list[_Tok]) -> tuple[list[_Tok], bool]:
    """ "đi 8 nhà à nhầm 9 nhà": the number after "nhầm" takes the place of the one before it,
    which keeps its unit and indicator; "app 4, tt 2. À nhầm, app 3": the one named. True when
    something was corrected."""
    out = list(tokens)
    changed = _denied_figures(out)
    for n in range(len(out)):
        if not _is_mark(out, n):
            continue
        after = next((k for k in range(n + 1, min(len(out), n + 5)) if out[k].num), None)
        exclaimed = n == 0 or out[n - 1].kind == "sep" or out[n - 1].text in ("a", "o", "ay", "oi")
        if after is None or (
            not exclaimed
            and any(out[k].kind == "sep" and out[k].text not in ",:-" for k in range(n, after))
        ):
            continue  # "em gõ nhầm. Hướng dẫn vẫn 8 hộ": a remark, the next sentence its own
        key = _key_of(out, after)
        before = None
        if key is not None:
            before = next(
                (k for k in range(n - 1, -1, -1) if out[k].num and _key_of(out, k) == key), None
            )
        if before is None:
            before = next((k for k in range(n - 1, -1, -1) if out[k].num), None)
        if before is None:
            continue
        out[before] = out[after]
        last = after
        if key is not None and after + 1 < len(out) and out[after + 1].kind == "ind":
            last = after + 1
        for k in range(last, n - 1, -1):
            if out[k].kind != "sep":
                out[k] = _BLANK
        changed = True
    return out, changed


def _split(tokens: list[_Tok]) -> list[list[_Tok]]:
    clauses: list[list[_Tok]] = [[]]
    for tok in tokens:
        current = clauses[-1]
        if tok.kind == "sep":
            if current:
                clauses.append([])
        elif tok.kind == "neg" and tok.text == "chua" and current and current[-1].text in _PLACES:
            current.append(_Tok("word", tok.text))  # "xóm Chùa" is a place, not "chưa"
        elif tok.text == "nha" and tok.kind == "unit_h" and not (current and current[-1].num):
            current.append(_Tok("word", tok.text))  # a particle, unless it counts
        elif (
            tok.kind == "ind"
            and current
            and current[-1].kind == "weak"
            and current[-1].text in WEAK_WORK
            and current[-1].value != tok.value
        ):
            current[-1] = tok  # "cài ví ZaloPay": the verb of the thing named after it
        elif tok.kind == "ind" and tok.text == "vi" and current and current[-1].text in _PLACES:
            current.append(_Tok("word", tok.text))  # "xã Vị Thủy": a name
        elif tok.kind == "ind" and tok.text == "vi" and current and current[-1].text in _OPENED:
            current.append(tok)  # "mở ví 2": a wallet, surely
        elif tok.kind == "ind" and tok.text == "vi":
            current.append(_Tok("weak", tok.text, tok.value))  # "ví", or "vì" (because)?
        elif (
            tok.kind in ("ind", "weak")
            and current
            and current[-1].kind in ("ind", "weak")
            and current[-1].value == tok.value
        ):
            current[-1] = _Tok("ind" if "ind" in (tok.kind, current[-1].kind) else "weak",
                               f"{current[-1].text} {tok.text}", tok.value)  # fmt: skip
        else:
            current.append(tok)
    for clause in clauses:
        for n, tok in enumerate(clause):
            following = clause[n + 1] if n + 1 < len(clause) else None
            after_place = n > 0 and clause[n - 1].text in _PLACES
            if tok.kind == "approx" and (
                following is None or following.kind != "num" or after_place
            ):
                clause[n] = _Tok("word", tok.text)  # "chị Tám" is a name, "tầm" needs a number
    return [c for c in clauses if c]


# Words between a number's unit and its indicator: "6 hộ (được) cài vneid", "6 hộ thì cài".
_SIZE = frozenset({"thon", "xom", "ap", "ban", "lang", "tong so"})
_SIZE_SAID = frozenset({"co", "gom", "la", "minh", "tong", "toan", "ca", "toi", "lan"})
_LINKS = frozenset(
    {"duoc", "da", "thi", "co", "deu", "cung", "moi", "la", "vua", "mo", "nop", "lam", "len",
     "dung", "dang", "ky", "kich", "hoat", "chiu", "xong", "roi"}
)  # fmt: skip


Reading = tuple[dict[int, str], set[int]]  # number index -> code, indicator indexes used


def _plainly_installed(clause: list[_Tok], j: int) -> bool:
    """ "cài được 4 hộ", "4 hộ cài": "cài" next to its count, and nothing else installed named
    in the clause (cài Zalo, cài VssID are other things)."""
    if clause[j].text not in WEAK_WORK or any(t.kind == "other" for t in clause):
        return False
    after = clause[j + 1 : j + 3]
    before = clause[max(0, j - 2) : j]
    return any(t.num for t in after) or any(t.kind == "unit_h" for t in before)


def _also(clause: list[_Tok], k: int, i: int, counted: dict[int, str], claimed: set[int]) -> None:
    """ "3 hộ cài VNeID + mở ViettelMoney": the indicator joined to this one by "+" shares its
    number (kept as a second figure under the number's index, negated)."""
    j = k + 1
    if j + 1 < len(clause) and clause[j].text in ("+", "kem", "&"):
        n = j + 1
        while n < len(clause) and clause[n].kind == "word" and clause[n].text in _LINKS:
            n += 1
        if n < len(clause) and clause[n].kind == "ind" and n not in claimed:
            claimed.add(n)
            counted[-1 - i] = clause[n].value or ""


def _key_first(
    clause: list[_Tok],
    live: list[int],
    filings: str | None = None,
    guided: str | None = None,
) -> Reading:
    counted: dict[int, str] = {}
    claimed: set[int] = set()
    for j, tok in enumerate(clause):
        if tok.kind == "unit_f" and filings is not None:
            tok = _Tok("ind", tok.text, filings)  # "HS DVCTT: 06", "hồ sơ: 3"
        keyed = j + 1 < len(clause) and (
            clause[j + 1].text in ("=", ":") or (j == 0 and _opens_with_key(clause))
        )  # "ho=12", "hộ: 12", and "ho14 app6" opening the clause
        if tok.kind == "unit_h" and keyed and guided is not None:
            tok = _Tok("ind", tok.text, guided)  # "ho=12", "hộ: 12"
        if tok.kind not in ("ind", "weak"):
            continue
        k = j + 1
        while k < len(clause):
            here = clause[k]
            if here.kind in ("word", "visit", "approx") and here.text not in _PLACE_BEFORE:
                k += 1
            elif (
                here.text in _PLACE_BEFORE
                and k + 1 < len(clause)
                and clause[k + 1].num
                and (k + 1 not in live)
            ):
                k += 2  # "VNeID mức 2: 4": the level is passed over
            else:
                break
        if k < len(clause) and k in live and k not in counted:
            counted[k] = tok.value or ""
            claimed.add(j)
    return counted, claimed


_GAP = 6


def _number_first(
    clause: list[_Tok], live: list[int], far: set[int], guided: str | None = None
) -> Reading:
    counted: dict[int, str] = {}
    claimed: set[int] = set()
    for i in live:
        if _value_of_key(clause, i):
            continue  # "ho=12": the number of the key before it ("quên gửi: 5 hộ" has none)
        k = i + 1
        while (
            k < min(len(clause), i + 3) and clause[k].kind == "word" and clause[k].text in _LINKS
        ):
            k += 1
        if k < len(clause) and clause[k].kind in ("ind", "weak") and k not in claimed:
            counted[i] = clause[k].value or ""  # "9 hộ được hướng dẫn", "2 opened bank accounts"
            claimed.add(k)
            _also(clause, k, i, counted, claimed)
            continue
        if i + 1 >= len(clause) or clause[i + 1].kind not in ("unit_h", "unit_f", "unit_p"):
            continue
        k = i + 2
        # "2 hộ (làm bánh tráng đưa) lên Shopee": a few words may stand between.
        while k < len(clause) and k < i + 2 + _GAP and clause[k].kind in ("word", "visit"):
            k += 1
        if k < len(clause) and clause[k].kind in ("ind", "weak") and k not in claimed:
            counted[i] = clause[k].value or ""
            claimed.add(k)
            _also(clause, k, i, counted, claimed)
            if sum(t.text not in _LINKS for t in clause[i + 2 : k]) > 3:
                far.add(i)
    rest_counted, rest_claimed = _key_first(
        [t if n not in claimed else _Tok("word", t.text) for n, t in enumerate(clause)],
        [i for i in live if i not in counted],
        guided=guided,
    )
    counted.update(rest_counted)
    return counted, claimed | rest_claimed


def _opens_with_key(clause: list[_Tok]) -> bool:
    """ "ho14 app6 tt3": the clause opens with the households' key and its number."""
    return (
        len(clause) > 2
        and clause[0].text == "ho"
        and clause[1].num
        and clause[2].kind in ("ind", "weak")
    )


def _value_of_key(clause: list[_Tok], i: int) -> bool:
    """ "ho=12", "hộ: 12": the number is the key's before it; "quên gửi: 5 hộ" names its own."""
    if i < 2 or clause[i - 1].text not in ("=", ":") or clause[i - 2].kind == "num":
        return False
    unit = clause[i + 1].kind if i + 1 < len(clause) else None
    return clause[i - 2].kind != "word" or unit not in ("unit_h", "unit_f")


def _loose_ends(clause: list[_Tok], live: list[int], counted: dict[int, str],
                claimed: set[int]) -> int:  # fmt: skip
    """Figures and indicators a reading leaves without a partner (a first count of households
    is households visited, and has one)."""
    named = set(counted.values())
    ends = 0
    bare = 0
    for i in live:
        if i in counted:
            continue
        unit = clause[i + 1].kind if i + 1 < len(clause) else None
        if unit in ("unit_h", "unit_f") and bare == 0 and not counted_before(counted, i):
            bare += 1
            continue
        ends += 1
    for j, tok in enumerate(clause):
        alone = tok.kind in ("ind", "weak") and j not in claimed and tok.value not in named
        # "chữ ký số không có" is said, and has no figure
        if alone and not any(t.kind == "neg" for t in clause[j + 1 : j + 3]):
            ends += 1
    return ends


def _not_now(clause: list[_Tok]) -> bool:
    """A word of the future or of a running total among the clause's own words; a word after
    a place is a name ("xóm Đình" is no "định"), and a unit is no such word ("gia đình")."""
    words = [
        t.text if t.kind == "word" and not (n and clause[n - 1].text in _PLACES) else "|"
        for n, t in enumerate(clause)
    ]
    said = f" {' '.join(words)} "
    if any(f" {w} " in said for w in _NOT_NOW):
        return True
    return any(
        t.kind == "word"
        and t.text in _INTENT
        and n + 1 < len(clause)
        and (clause[n + 1].kind in ("visit", "ind", "weak") or clause[n + 1].text in _INTENDED)
        for n, t in enumerate(clause)
    )


def counted_before(counted: dict[int, str], i: int) -> bool:
    return any(0 <= k < i for k in counted)


def _key_before(clause: list[_Tok], i: int) -> int | None:
    """The indicator right before the number at `i` (only filler between), if any."""
    k = i - 1
    while k >= 0 and clause[k].kind == "word" and clause[k].text in _LINKS:
        k -= 1
    return k if k >= 0 and clause[k].kind in ("ind", "weak") else None


def _attach(
    clause: list[_Tok],
    why: list[str],
    *,
    guided: str | None,
    filings: str | None,
    earlier: bool,
    visits: bool = True,
    all_of: int | None = None,
) -> list[tuple[str, int, bool]] | None:
    """The (code, value, is a total) of one clause; unsure reasons go to `why`."""
    nums = [i for i, tok in enumerate(clause) if tok.kind == "num"]
    units_ = ("unit_h", "unit_f", "unit_p")
    said = f" {' '.join(t.text for t in clause)} "
    if nums and _not_now(clause):
        why.append("not now")  # "mai em đi tiếp chắc 10 nhà", "cả tổ từ đầu tuần 58 hộ"
        return []
    skipped: set[int] = set()
    for i in nums:
        before = clause[i - 1] if i > 0 else None
        after = clause[i + 1] if i + 1 < len(clause) else None
        near = [t.text for t in clause[max(0, i - 3) : i] if t.kind == "word"]
        if before is not None and before.kind == "word" and before.text in _PLACE_BEFORE:
            skipped.add(i)  # "xóm 3", "mức 2", "lần 2": a place or a level
        elif (
            before is not None
            and before.text == "ho so"
            and after is not None
            and after.kind in ("ind", "weak")
        ):
            skipped.add(i)  # "hộ số 12 cài app": an address?
            why.append("a number after a unit")
        elif (
            _SIZE.intersection(near)
            and _SIZE_SAID.intersection(near)
            and not any(t.kind == "visit" for t in clause[:i])
        ):
            skipped.add(i)  # "thôn mình 5000 hộ": the village's size
        elif any(t.kind == "word" and t.text in _OBLIGATIONS for t in clause[:i]):
            skipped.add(i)  # "mỗi người phải đi 500 hộ": what is asked, not what was done
        elif before is not None and before.text in ("moi", "each"):
            skipped.add(i)  # "mỗi nhà 1 hồ sơ"
        elif i >= 2 and clause[i - 2].text in ("moi", "each") and clause[i - 1].kind in units_:
            skipped.add(i)
        elif (
            after is not None
            and after.text == "h"
            and (
                any(t.text in _WHEN for t in clause[max(0, i - 2) : i])
                or (i + 2 < len(clause) and clause[i + 2].num)
            )
        ):
            skipped.add(i)  # "lúc 8h", "8h30": a time; "hd 8h" is 8 households
        elif (
            after is not None
            and after.num
            and i + 2 < len(clause)
            and clause[i + 2].text in _AFTER_NOT_COUNT
        ):
            skipped.add(i)  # "70-80 tuổi": a range of ages
        elif after is not None and after.kind == "word" and after.text in _AFTER_NOT_COUNT:
            skipped.add(i)  # an age, money, a time, a share
            if after.text in ("%", "phan"):
                why.append("share")
    live = [i for i in nums if i not in skipped]
    # Two ways to read a run of figures, key first ("cài được 4 hộ") or number first ("6 hộ
    # cài VNeID"): the one that leaves fewer figures and indicators without a partner.
    first = _key_first(clause, live, filings, guided)
    far: set[int] = set()
    second = _number_first(clause, live, far, guided)
    leading = (t.kind for t in clause if t.kind in ("num", "ind", "weak", "visit"))
    start_num = next(leading, "") == "num" and not _opens_with_key(clause)
    a, b = (second, first) if start_num else (first, second)
    chosen = min((a, b), key=lambda r: _loose_ends(clause, live, *r))
    counted, claimed = chosen
    for i, named_code in counted.items():
        unit = clause[i + 1].kind if i >= 0 and i + 1 < len(clause) else None
        filed = any(t.text == "nop" or "ho so" in t.text for t in clause)
        if named_code == filings and unit == "unit_h" and not (filed and clause[i].text == "1"):
            # "nói cho 6 nhà biết làm dịch vụ công": guided, or filed? ("1 hộ nộp hồ sơ": one)
            why.append("households for filings")
    both: set[int] = set()
    if chosen is second and far.intersection(counted):
        why.append("far")
    if chosen is second and guided is not None and guided not in counted.values() and not earlier:
        for i, named_code in counted.items():
            if named_code != guided and any(t.kind == "visit" for t in clause[max(0, i - 3) : i]):
                both.add(i)  # "support 6 hộ install VNeID": 6 visited, and 6 installed?
                why.append("visited and done")
    for j in claimed:
        if clause[j].kind == "weak" and not _plainly_installed(clause, j):
            why.append("weak")
    pairs: list[tuple[str, int, bool]] = []
    for i in live:
        after = clause[i + 1] if i + 1 < len(clause) else None
        code: str | None = counted.get(i)
        bare = False
        if code is None:
            if after is not None and after.kind == "unit_h" and guided is not None:
                code = guided  # going door to door: "đi được 7 nhà"
                bare = earlier or bool(pairs)  # "app 3 hộ, 5 hộ": 5 of what?
                talk = [t for t in clause if t.kind == "word" and t.text not in _LINKS]
                if not visits and talk:
                    bare = True  # "được 5 nhà rồi đó": no going, no guiding said
            elif after is not None and after.kind == "unit_f" and filings is not None:
                code = filings
            elif after is not None and after.kind == "unit_p":
                why.append("people")
                continue
            else:
                why.append("a number without an indicator")
                continue
        elif after is not None and after.kind == "unit_p":
            why.append("people")
        elif after is not None and after.kind == "ind" and after.text.startswith("tai khoan"):
            why.append("accounts")  # "mở được 4 tài khoản": accounts, and a home may open two
        value = whole_number(clause[i].text, code)
        if isinstance(value, Problem):
            return None
        tail = clause[i + 1 :]
        stop = next((n for n, t in enumerate(tail) if t.kind == "num"), len(tail))
        if stop < len(tail):
            # "… chứ không phải 5": a negation just before the next number is that number's.
            limit = max(0, stop - 3)
            while stop > limit and tail[stop - 1].kind in ("neg", "word"):
                stop -= 1
        if any(t.kind == "neg" for t in tail[:stop]):
            near_not = any(t.kind == "neg" for t in tail[: min(stop, 3)])
            if i in counted or not near_not:
                why.append("negated figure")  # "3 hộ làm nem chua …": not counted, but asked
            continue
        denied = [n for n in range(max(0, i - 3), i) if clause[n].kind == "neg"]
        if any(n + 1 < i and clause[n + 1].text == "phai" for n in denied) and not counted.get(i):
            continue  # "không phải 5 nhà": not the figure
        if any(t.kind == "neg" for t in clause[:i]) and code != guided:
            why.append("negation")
        if any(t.kind == "approx" for t in clause[max(0, i - 2) : i]):
            why.append("approximate")
        if any(t.kind == "other" for t in clause[max(0, i - 3) : i + 4]):
            why.append("another thing")
        total = any(t.text == "tong" for t in clause[max(0, i - 4) : i])
        if bare and not total:
            why.append("households of what")
        pairs.append((code, value, total))
        if i in both and guided is not None:
            pairs.append((guided, value, False))
        if -1 - i in counted:
            pairs.append((counted[-1 - i], value, False))  # "… + mở ViettelMoney": the same
    named = {code for code, _v, _t in pairs}
    negated = any(t.kind == "neg" for t in clause)
    texts = [t.text for t in clause]
    if nums and not any(t.kind in ("ind", "weak") for t in clause):
        opened = [n for n, t in enumerate(clause) if t.kind == "word" and t.text in _SETTING_UP]
        if any(
            t.kind in ("word", "visit") and t.text not in _LINKS
            for n in opened
            for t in clause[n + 1 :]
        ):
            why.append("something set up")
    if "co" in texts and texts[-1] == "roi" and not _DOING.intersection(texts):
        at = texts.index("co")
        if at + 1 < len(clause) and clause[at + 1].kind == "ind":
            why.append("already had")  # "3 hộ có tài khoản rồi": opened now, or had before?
    rest = not nums and clause[0].text == "lai" and not negated
    if rest and any(t.kind in ("ind", "weak", "visit") for t in clause):
        why.append("the rest")  # "9 nhà, 2 nhà đi vắng, còn lại hướng dẫn hết": 7, derived
    for j, tok in enumerate(clause):
        unused = (tok.kind == "ind" or (tok.kind == "weak" and live)) and (
            j not in claimed and tok.value not in named
        )
        if unused and tok.value != guided and not negated:
            why.append("an indicator without a figure")  # "… mở được tài khoản": 1?
            why.append(f"{tok.value} without a figure")
            if all_of is not None and tok.value is not None and _ALL.search(said):
                pairs.append((tok.value, all_of, False))  # "nhà nào cũng cài VNeID": all of them
    return pairs
