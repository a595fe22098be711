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
