"""One typed answer to one question of a guided report (handlers/guided.py): a number read as
a report's figure would be, or the words of the flow ("bỏ qua", "ghi") without their courtesy."""

from __future__ import annotations

import re
from datetime import date

from handlers.grammar import IndicatorMatcher, Problem
from handlers.reading.reader import parse_report, spelled_number
from handlers.reading.vocabulary import ANSWER_COURTESY, DIGIT_WORDS, UNIT_PAIRS, UNIT_WORDS
from storage.folding import fold

_NUMBER_WORDS = frozenset({*DIGIT_WORDS, "muoi", "linh", "le"})
# None done: a negation and nothing but these around it ("không", "chưa có hộ nào ạ",
# "ko có ai"), or one of the English words.
_NEGATIONS = frozenset({"khong", "ko", "k", "kg", "chua", "kh"})
_AROUND_NONE = frozenset(
    {"co", "ho", "nao", "ai", "ca", "hien", "duoc", "lam", "gi", "dau", "nha", "a", "da", "em",
     "anh", "chi", "nhe", "roi", "nay", "hom", "tuan", "dan", "gia", "dinh", "thi", "vang"}
)  # fmt: skip
_NONE_EN = frozenset({"none", "zero", "no", "nothing", "nobody", "not yet", "no one"})
_ENGLISH = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
            "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12}  # fmt: skip
# After a number: people and visits, which are no count of households.
_NOT_HOUSEHOLDS = frozenset({"nguoi", "lan", "luot", "people", "person", "times", "visits"})
_DIGITS = re.compile(r"\d{1,3}(?:[.,]\d{3})+|\d{1,7}")
# "-3", "3/5", "8:30": no count of households, whatever the rest says.
_NOT_A_COUNT = re.compile(r"[-−–]\s*\d|\d\s*[/:]\s*\d")


def answer_words(text: str) -> str:
    """The text folded, its courtesy and punctuation dropped: "Bỏ qua ạ!" -> "bo qua"."""
    found = re.findall(r"[a-z0-9]+(?:[.,][0-9]{3})*", fold(text))
    kept = [w for w in found if w not in ANSWER_COURTESY]
    # "có" is courtesy around an answer, but also "yes": kept when it is all there is.
    return " ".join(kept) if kept else " ".join(found)


def _none(text: str) -> bool:
    raw = re.findall(r"[a-z0-9]+", fold(text))
    return bool(raw) and (
        " ".join(raw) in _NONE_EN
        or (any(w in _NEGATIONS for w in raw) and all(w in _NEGATIONS | _AROUND_NONE for w in raw))
    )


def read_number(
    text: str,
    code: str,
    matcher: IndicatorMatcher,
    *,
    today: date,
    households: bool = True,
    english: bool = False,
) -> int | None:
    """The one number of an answer to the question for `code`: "5", "5 hộ ạ", "năm", "mười
    hai", "1.200", "được 7 hộ rồi", "chưa có" (0); None when it is not exactly one count (then
    the question is asked again and nothing is stored). For a household indicator, "5 người"
    or "3 lượt" is none: people and visits are not households."""
    if _NOT_A_COUNT.search(text) or "=" in text:
        return None  # "ho=5" names its indicator: read as a whole report, not as this answer
    if _none(text):
        return 0
    words = answer_words(text).split()
    while words and words[-1] in UNIT_WORDS:
        if households and words[-1] in _NOT_HOUSEHOLDS:
            return None
        words.pop()
    if len(words) > 1 and f"{words[-2]} {words[-1]}" in UNIT_PAIRS:
        words = words[:-2]
    if len(words) == 1 and _DIGITS.fullmatch(words[0]):
        return int(re.sub(r"[.,]", "", words[0]))
    if english and len(words) == 1 and words[0] in _ENGLISH:  # "ten", but not "tên"
        return _ENGLISH[words[0]]
    if words and all(w in _NUMBER_WORDS for w in words):
        return spelled_number(words)
    # Anything longer goes through the report grammar, as if typed after the indicator's
    # code: "được 5 hộ", "hướng dẫn 5 hộ rồi".
    parsed = parse_report(f"{code} {text}", matcher, today=today)
    if isinstance(parsed, Problem) or set(parsed.values) != {code} or parsed.left_out:
        return None
    if parsed.day is not None and parsed.day != today:
        return None  # "5 hộ hôm qua": a guided report is today's; typed, it can be dated
    return parsed.values[code]
