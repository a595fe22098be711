"""Whether two written names are one person's name: "Trần Thị Mai" in a workbook and "Mai Trần
Thị" on Telegram (first name "Mai", last name "Trần Thị", as many Vietnamese set it), or
"tran thi mai" typed on a phone without accents. Pure: no I/O, nothing stored."""

from __future__ import annotations

from storage.folding import key


def name_words(name: str) -> tuple[str, ...]:
    """The name's words, folded: case, accents and spacing aside ("Đ" is "d")."""
    return tuple(key(name).replace(".", " ").split())


def same_name(a: str, b: str) -> bool:
    """The same words in the same order, or in the order the other way of writing a name gives:
    a family name moved from the front to the back (or back again). One word alone ("Mai") is
    too little to tell a person by, unless both are just that word."""
    x, y = name_words(a), name_words(b)
    if not x or len(x) != len(y):
        return False
    if x == y:
        return True
    if len(x) < 2:
        return False
    # Every rotation: "Mai Trần Thị" is "Trần Thị Mai" turned by one word or by two.
    return any(x[n:] + x[:n] == y for n in range(1, len(x)))
