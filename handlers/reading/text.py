"""The text a report is read from: cleaned of what means nothing to a reader, and folded
with its characters aligned to the original, so what is quoted back is the member's words."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

_INVISIBLE = re.compile("[\u00ad\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff]")


def strip_invisible(text: str) -> str:
    """Zero-width characters, BOMs, word joiners and direction marks, which phones and
    copy-paste leave in a text and which mean nothing to a reader; keycap emoji ("5️⃣", "🔟")
    are the digits they show."""
    text = _KEYCAP.sub(lambda m: f" {m.group(1)} ", text).replace("\U0001f51f", " 10 ")
    return _INVISIBLE.sub("", text)


_KEYCAP = re.compile("([0-9])\ufe0f?\u20e3")


def odd_digit(text: str) -> str | None:
    """A character that looks like a digit but is none of ours: superscripts ("10³" is not 103),
    circled or other scripts' digits. Full-width digits are a keyboard's and are fine."""
    for ch in text:
        if ch.isascii() or "\uff10" <= ch <= "\uff19":
            continue
        if unicodedata.category(ch) in ("Nd", "No", "Nl"):
            return ch
    return None


@dataclass(frozen=True)
class Word:
    text: str  # folded
    start: int
    end: int


@dataclass
class Text:
    original: str
    folded: str

    def cut(self, start: int, end: int) -> str:
        return " ".join(self.original[start:end].split())

    def blank(self, start: int, end: int) -> None:
        self.folded = self.folded[:start] + " " * (end - start) + self.folded[end:]


# A place word, then a name in capitals ("ở Hòa Vang", "xóm Vắng", "ấp Mỹ Không"): the name's
# words are no indicator, unit or negation ("Vang nha" is no "vắng nhà", not at home).
_PLACE_WORD = re.compile(
    r"\b(?:ở|o|xã|thôn|ấp|xóm|bản|làng|buôn|khu|phường|huyện|tỉnh|sóc|plei|phum|quận)\s+",
    re.IGNORECASE,
)
_NAME_WORD = re.compile(r"[^\W\d_]+[^\S\n]*")


def mask_place_names(t: Text) -> None:
    """Blanks the folded text of place names said after a place word (the original keeps them)."""
    for place in _PLACE_WORD.finditer(t.original):
        at = end = place.end()
        while (word := _NAME_WORD.match(t.original, end)) is not None and word.group()[
            0
        ].isupper():
            end = word.end()
        name = t.original[at:end].strip()
        if not name or (name.isupper() and len(name) <= 5):
            continue  # "ở UBND", "xã CAX": an abbreviation, read as such
        masked = re.sub(r"\S", "x", t.folded[at : at + len(name)])
        t.folded = t.folded[:at] + masked + t.folded[at + len(name) :]
