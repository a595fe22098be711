"""Dates in a report: `ngay=DD/MM`, a date anywhere, date words ("hôm qua", "bữa qua",
"thứ 2", "ngày 20") and the future refused with the right year. Pure."""

from __future__ import annotations

import re
from datetime import date, timedelta

from handlers.grammar import Problem, parse_date
from handlers.reading.telex import decode_word
from handlers.reading.text import Text
from handlers.reading.vocabulary import DIGIT_WORDS
from storage.folding import fold

_DATE_KEY = re.compile(
    r"(?:^|(?<=[\s,;:(]))(?:ngay|mung|mong|hom|bua)\b\s*[:=]?\s*(?P<value>\d[^\s,;:)]*)"
)
_BARE_DATE = re.compile(
    r"(?<!duong\s)(?<!pho\s)(?<!so\s)(?<!ngo\s)(?<!hem\s)(?<!kiet\s)(?<![\d/.\-])"
    r"(?P<value>\d{1,2}/\d{1,2}(?:/\d{2,4})?|\d{4}-\d{2}-\d{2})(?![\d/])"
)
_DATE_WORDS: tuple[tuple[re.Pattern[str], int | None], ...] = (
    (re.compile(r"\b(?:ngay\s*[:=]?\s*)?(?:hom\s+nay|homnay|hnay|today)\b"), 0),
    (re.compile(r"\b(?:sang|trua|chieu|toi|dem)\s+nay\b|\b(?:bua|hom)\s+(?:nay|ni)\b"), 0),
    (re.compile(r"\bbua\s+qua\b|\b(?:hum|hom|bua)\s+(?:wa|qa)\b|\bhqa\b"), 1),
    (re.compile(r"\bhum\s+kia\b"), 2),
    (re.compile(r"\bbua\s+kia\b"), 2),
    (re.compile(r"\b(?:ngay\s*[:=]?\s*)?(?:hom\s+qua|homqua|hqua|yesterday)\b"), 1),
    (re.compile(r"\b(?:sang|trua|chieu|toi|dem)\s+qua\b"), 1),
    (re.compile(r"\b(?:ngay\s*[:=]?\s*)?hom\s+kia\b"), 2),
    (re.compile(r"\b(?:hn|hnay|hom\s+nai|bua\s+nai)\b"), 0),
    (re.compile(r"\b(?:hq|hwa|hom\s+wa)\b"), 1),
    (re.compile(r"\b(?:ngay\s+mai|tomorrow|ngay\s+kia)\b"), None),
)
# "thứ 2: 5" alone may be a list's second item; "hôm thứ tư: 8 hộ" is a day.
_WEEKDAY = re.compile(
    r"(?<!lan\s)(?<!tuan\s)(?<!dot\s)(?<!buoi\s)(?<!ho\s)(?<!nha\s)(?<!lop\s)(?<!cu\s)\b"
    r"(?:(?:ngay|hom|bua)\s+thu\s*(?P<said>[2-7]|hai|ba|tu|nam|sau|bay)\b|"
    r"(?:thu\s*(?P<n>[2-7]|hai|ba|tu|nam|sau|bay)|(?P<cn>chu\s+nh[au]t|cn)|t(?P<t>[2-7]))\b"
    r"(?!\s*[:=]\s*\d))"
)


# "của hôm qua chứ không phải hôm nay": the day denied is not the day.
_DENIED = re.compile(
    r"\b(?:chu\s+)?(?:khong|ko|k|hong)\s+phai\s+(?:la\s+)?(?:cua\s+)?(?:hom|bua|ngay)\s+(?:nay|qua|kia|ni)\b"
)
# Telex or VNI leftovers of date words ("hoom qua", "ho6m nay") are read as the words.
_DAY_VOCABULARY = frozenset(
    [
        "hom",
        "nay",
        "qua",
        "kia",
        "ngay",
        "thu",
        "tuan",
        "truoc",
        "bua",
        "sang",
        "chieu",
        "toi",
        "trua",
        "roi",
        "vua",
        "chu",
        "nhat",
        "mai",
    ]
)
_WORD = re.compile(r"\b[a-z][a-z0-9]*\b")


def _typed_day(m: re.Match[str]) -> str:
    word = m.group()
    decoded = decode_word(word)
    if decoded != word and decoded in _DAY_VOCABULARY and len(decoded) <= len(word):
        return decoded.ljust(len(word))
    return word


# A pasted message's time line ("Hôm qua lúc 20:15"): its words are relative to that day.
_STAMP = re.compile(
    r"^[^\S\n]*(?P<w>hom\s+qua|hqua|hom\s+kia)[^\S\n]*(?:luc[^\S\n]*)?\d{1,2}:\d{2}[^\S\n]*$",
    re.MULTILINE,
)


_DATED_STAMP = re.compile(
    r"\[[^\S\n]*(?P<d>\d{1,2}/\d{1,2}(?:/\d{2,4})?)[^\S\n]*,?[^\S\n]*\d{1,2}:\d{2}[^\S\n]*\]|"
    r"\[[^\S\n]*\d{1,2}:\d{2}[^\S\n]*,?[^\S\n]*(?P<d2>\d{1,2}/\d{1,2}(?:/\d{2,4})?)[^\S\n]*\]"
)
_FIRST_FIGURE = re.compile(r"(?<![\d/:.])\d+(?![\d/:])\s*[^\W\d]")
_HUM = re.compile(r"\bhum(?=\s+(?:qua|nay|kia|wa|ni|bua)\b)")
# "tuần trước", "tuần rồi", "tuần r": last week, in both readers.
LAST_WEEK = re.compile(r"\btuan\s+(?:truoc|trc|roi|r|rui|vua\s+roi|qua)\b|\blast\s+week\b")
_ENGLISH_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_ENGLISH_DAY = re.compile(r"\b(?:on\s+|for\s+|last\s+)?(mon|tues|wednes|thurs|fri|satur|sun)day\b")


# "hôm 10 tháng 11", "ngày 16 tháng 11 năm 2026": a date in words, read as 10/11.
_MONTH_DATE = re.compile(
    r"(?<![\d/])(?P<d>[0-3]?\d)\s+thang\s+(?P<m>[01]?\d)\b(?:\s*,?\s*nam\s+(?P<y>20\d\d)\b)?"
)


def _month_date(m: re.Match[str]) -> str:
    if not (1 <= int(m["d"]) <= 31 and 1 <= int(m["m"]) <= 12):
        return m.group()
    value = f"{m['d']}/{m['m']}" + (f"/{m['y']}" if m["y"] else "")
    return value.ljust(len(m.group()))


_DAY_KEYS = frozenset({"mùng", "mồng", "mung", "mong", "hôm", "bữa", "hom", "bua"})
_COUNTED_AFTER = re.compile(r"\s*(?:ho|nha|nguoi|gia dinh|can|hs|ho so)\b")


def _is_date_key(m: re.Match[str], t: Text) -> bool:
    """ "mùng 5", "mồng 4", "ngày 18"; not "mừng 20" (glad) nor "mong 5 hộ nữa" (hoping)."""
    word = t.original[m.start() : m.start() + 4].lower()
    if word.startswith("ng"):
        return True
    if word not in ("mùng", "mồng", "mung", "mong") and word[:3] not in (
        "hôm",
        "bữa",
        "hom",
        "bua",
    ):
        return False  # "hôm 18 em đi": the 18th
    return _COUNTED_AFTER.match(t.folded, m.end()) is None or "/" in m["value"]


# "17.11", "17-11", "18.11.2026": a date, when its month is this one or the last (a range "3-5
# hộ" or a decimal is no date: a unit follows, or the month is far).
_DOTTED = re.compile(
    r"(?<![\d.,/\-])(?P<value>(?P<d>\d{1,2})[.\-](?P<m>\d{1,2})(?:[.\-](?:20)?\d{2})?)"
    r"(?![\d.,/\-]|\s*(?:ho|nha|nguoi|gia\s+dinh|can|hs|ho\s+so|h)\b)"
)


def _dotted(folded: str, today: date) -> re.Match[str] | None:
    last_month = (today.replace(day=1) - timedelta(days=1)).month
    for m in _DOTTED.finditer(folded):
        if 1 <= int(m["d"]) <= 31 and int(m["m"]) in (today.month, last_month):
            return m
    return None


def _is_weekday(m: re.Match[str], original: str) -> bool:
    """ "thứ tư", "thu tu"; not "tranh thủ tự đi" (folded the same)."""
    said = original[m.start() : m.end()].lower()
    return not re.search(r"thủ|thù|thụ|thú|thũ|từ|tử|tự|tú|tù", said)


def read_date(t: Text, today: date) -> date | Problem | None:
    for said_date in reversed(list(_MONTH_DATE.finditer(t.folded))):
        # In both texts: a date is read from the words as typed.
        value, at, end = _month_date(said_date), said_date.start(), said_date.end()
        t.folded = t.folded[:at] + value + t.folded[end:]
        t.original = t.original[:at] + value + t.original[end:]
    stamp = _STAMP.search(t.folded)
    if stamp is not None:
        t.blank(stamp.start(), stamp.end())
        # "hôm nay" under "Hôm qua lúc 20:15" is yesterday.
        today -= timedelta(days=1 if "qua" in stamp["w"] else 2)
    sent = _DATED_STAMP.search(t.folded)
    sent_on = None
    if sent is not None:
        # "[18/11 17:45] Lan: …": a pasted message's time; its words of days are of that day.
        sent_on = date_value(sent["d"] or sent["d2"], today)
        t.blank(sent.start(), sent.end())
        if sent_on is not None and sent_on <= today:
            today = sent_on
    for denied in list(_DENIED.finditer(t.folded)):
        t.blank(denied.start(), denied.end())
    t.folded = _WORD.sub(_typed_day, t.folded)
    t.folded = _HUM.sub("hom", t.folded)  # "hum qua": the south's "hôm qua"
    found: date | None = None
    said: list[tuple[int, int]] = []  # (where, days back) of each word of a day
    for pattern, back in _DATE_WORDS:
        for word in list(pattern.finditer(t.folded)):
            if back is None:
                tomorrow = (today + timedelta(days=1)).strftime("%d/%m/%Y")
                return Problem("date_future", {"value": tomorrow})
            if back == 2 and "kìa" in t.original[word.start() : word.end()].lower():
                back = 3  # "hôm kìa": the day before "hôm kia"
            found = found or today - timedelta(days=back)
            said.append((word.start(), back))
            t.blank(word.start(), word.end())
    if len({back for _at, back in said}) > 1:
        # "sáng nay lên làng … hôm qua em hướng dẫn 13 hộ": the day that opens the figures
        # (the last said before the first count; else the first said after it).
        figure = _FIRST_FIGURE.search(t.folded)
        first = figure.start() if figure is not None else len(t.folded)
        before = [s for s in sorted(said) if s[0] < first]
        back = before[-1][1] if before else sorted(said)[0][1]
        found = today - timedelta(days=back)
    keyed = next((k for k in _DATE_KEY.finditer(t.folded) if _is_date_key(k, t)), None)
    m: re.Match[str] | None = keyed or _BARE_DATE.search(t.folded) or _dotted(t.folded, today)
    if m is not None:
        raw = t.original[m.start("value") : m.end("value")]
        explicit = date_value(fold(raw).rstrip("."), today)
        if explicit is None:
            return Problem("bad_date", {"value": raw})
        found = explicit
        t.blank(m.start(), m.end())
    elif re.search(r"(?:^|(?<=[\s,;]))ngay\s*[:=]", t.folded):
        raw = t.folded.split("ngay", 1)[1].strip(" :=").split("\n")[0][:20]
        return Problem("bad_date", {"value": raw.strip() or "?"})
    english = _ENGLISH_DAY.search(t.folded)
    if english is not None and found is None:
        index = _ENGLISH_DAYS.index(english.group(1)[:3])
        found = today - timedelta(days=(today.weekday() - index) % 7)
        t.blank(english.start(), english.end())
    wd = next((w for w in _WEEKDAY.finditer(t.folded) if _is_weekday(w, t.original)), None)
    if wd is not None and found is None:
        number = wd.group("said") or wd.group("n") or wd.group("t")
        weekday = 7 if wd.group("cn") else int(DIGIT_WORDS.get(number, number))
        # thứ 2 is Monday (0) … thứ 7 is Saturday (5), chủ nhật is Sunday (6).
        index = 6 if wd.group("cn") else weekday - 2
        found = today - timedelta(days=(today.weekday() - index) % 7)
        t.blank(wd.start(), wd.end())
        if LAST_WEEK.search(t.folded) and (today - found).days <= today.weekday():
            found -= timedelta(days=7)  # "thứ 6 tuần trước": not this week's Friday
        elif found == today:
            return Problem("ask_which_day")  # "thứ 6" said on a Friday: today, or last week's?
    elif wd is not None and not re.search(r"\d", t.folded[wd.end() : wd.end() + 3]):
        number = wd.group("said") or wd.group("n") or wd.group("t")
        index = 6 if wd.group("cn") else int(DIGIT_WORDS.get(number, number)) - 2
        if found is not None and found.weekday() != index:
            return Problem("ask_which_day")  # "hôm qua thứ 4" on a Friday: which of the two?
        t.blank(wd.start(), wd.end())  # "T4 18/11": the weekday of the date given
    if found is not None and found > today:
        return Problem("date_future", {"value": found.strftime("%d/%m/%Y")})
    return found if found is not None or sent_on is None or sent_on > today else sent_on


def date_value(raw: str, today: date) -> date | None:
    """DD/MM[/YYYY], YYYY-MM-DD, or DD alone ("ngày 20": this month's, or last month's
    when this month's has not come yet)."""
    iso = re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})", raw)
    if iso:
        try:
            return date(int(iso[1]), int(iso[2]), int(iso[3]))
        except ValueError:
            return None
    if raw.isdigit() and 1 <= int(raw) <= 31:
        month = today.replace(day=1)
        for _ in range(2):
            try:
                candidate = month.replace(day=int(raw))
            except ValueError:
                candidate = None
            if candidate is not None and candidate <= today:
                return candidate
            month = (month - timedelta(days=1)).replace(day=1)
        return None
    return parse_date(raw, today=today)


def date_word_starts(folded: str) -> list[int]:
    """Where date words ("hôm qua", "thứ 2" …) start in a folded text."""
    starts = [m.start() for pattern, _back in _DATE_WORDS for m in pattern.finditer(folded)]
    return sorted(starts)
