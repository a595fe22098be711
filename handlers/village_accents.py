"""A village named without accents (`/lien_ket thon=Thon Ha Lam`, typed on a phone without a
Vietnamese keyboard) is made as typed, and the admin is told so, with the accented name a near
match suggests and how to rename it: the chat's title ("Tổ CNS thôn Hà Lam"), or how villages
of that name are spelled elsewhere in the country."""

from __future__ import annotations

import re
from collections import Counter

from handlers.context import Ctx
from handlers.i18n import _
from handlers.richtext import Rich, b, code, fmt
from storage import units
from storage.folding import VILLAGE_WORDS, clean, fold, key, village_key

RENAME = "/doi_ten"
# The words before a village's name, as they are written: "thon" typed is "Thôn".
_WORDS = {
    "thon": "Thôn",
    "ap": "Ấp",
    "ban": "Bản",
    "khoi pho": "Khối phố",
    "to dan pho": "Tổ dân phố",
    "khu pho": "Khu phố",
}


def unaccented(name: str) -> bool:
    """Letters, and not one accent among them ("Thon Ha Lam"; not "Thôn 3", not "3")."""
    text = clean(name)
    return any(ch.isalpha() for ch in text) and fold(text) == text.lower() and text.isascii()


def _from_title(title: str, name: str) -> str | None:
    """The accented spelling of `name` in a chat's title, when the title holds it."""
    written, folded = clean(title), fold(title)
    for wanted in (key(name), village_key(name)):
        found = re.search(rf"(?<!\w){re.escape(wanted)}(?!\w)", folded)
        if found is not None:
            return written[found.start() : found.end()]
    return None


def _word(name: str) -> tuple[str, str]:
    """(the village word as it is written, or "", the rest): "Thon Ha Lam" → ("Thôn", "Ha Lam")."""
    k = key(name)
    for word in VILLAGE_WORDS:
        if k.startswith(word) and len(k) > len(word):
            return _WORDS[word.strip()], " ".join(name.split()[len(word.split()) :])
    return "", name


async def suggestion(ctx: Ctx, name: str) -> str | None:
    """The accented name a near match suggests for a name typed without accents; None when
    nothing does."""
    word, rest = _word(name)
    found = _from_title(ctx.chat.title or "", name) if not ctx.is_private else None
    if found is None:
        rest_key = village_key(name)
        keys = {key(name), rest_key, *(w + rest_key for w in VILLAGE_WORDS)}
        spelled = [n for n in await units.village_names(ctx.session, keys=sorted(keys))
                   if not unaccented(n) and village_key(n) == rest_key]  # fmt: skip
        if spelled:
            found = Counter(spelled).most_common(1)[0][0]
    if found is None:
        if rest and not any(ch.isalpha() for ch in rest) and word:
            return f"{word} {rest}"  # "Thon 3": "Thôn 3"
        return None
    if village_key(found) == village_key(name) and key(found) != village_key(name):
        suggested = found  # it says its own village word: "thôn Hà Lam"
    else:
        suggested = f"{word} {found}" if word else found
    suggested = suggested[:1].upper() + suggested[1:]
    return suggested if suggested != name else None


async def note(ctx: Ctx, name: str) -> Rich:
    """What the admin is told of a village just made under a name typed without accents."""
    if not unaccented(name):
        return Rich()
    better = await suggestion(ctx, name)
    if better is not None:
        return Rich().add(
            "🔤 ",
            fmt(
                _("“{name}” is written without accents. If its name is {better}, send this in "
                  "the village's group: {example}"),
                name=name,
                better=b(better),
                example=code(f"{RENAME} {better}"),
            ),
        )  # fmt: skip
    return Rich().add(
        "🔤 ",
        fmt(
            _("“{name}” is written without accents. To give it its name with accents, send "
              "{command} and the name in the village's group, for example {example}"),
            name=name,
            command=code(RENAME),
            example=code(f"{RENAME} Thôn Phú Mỹ"),
        ),
    )  # fmt: skip
