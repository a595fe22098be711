"""One tap instead of typing again: a reading the bot is not sure of, offered to its author
with a ✅ button (Zalo, without buttons: reply "ghi"). What a tap does is kept in the database
(storage/offers.py); the button carries only the offer's id and the reading's place.

handlers/conversation.py acts on the taps; this module only makes the offers."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date

from handlers.context import Ctx
from handlers.i18n import _
from handlers.incoming import Button, Buttons
from storage import offers
from storage.models import Offer, Unit

ACCEPT = "k"  # "k12.0": take reading 0 of offer 12
DECLINE = "K"  # "K12": none of them; the member types it again
_DATA = re.compile(r"^(?P<kind>[kK])(?P<id>\d{1,12})(?:\.(?P<n>\d))?$")
MAX_READINGS = 4


def parse(data: str) -> tuple[str, int, int] | None:
    """(ACCEPT or DECLINE, offer id, reading index) of a button's data, None if not ours."""
    m = _DATA.match(data)
    if m is None:
        return None
    return m["kind"], int(m["id"]), int(m["n"] or 0)


def is_ours(data: str) -> bool:
    return parse(data) is not None


def dated(line: str, day: date) -> str:
    """The reading with its day written out in full, so a tap tomorrow files it where it was
    meant: a line without `ngay=` is the day of the message it was read from."""
    if re.search(r"(?:^|\s)ngay=", line):
        return line
    return f"{line} ngay={day.strftime('%d/%m/%Y')}"


async def make(
    ctx: Ctx,
    unit: Unit,
    *,
    kind: str,
    readings: Sequence[str],
    message_key: str,
    source: str,
    labels: Sequence[str] = (),
    report_id: int | None = None,
) -> Buttons:
    """Keeps the offer and returns its buttons (for the author only: `personal`)."""
    assert unit.id is not None  # noqa: S101 (stored)
    readings = list(readings)[:MAX_READINGS]
    offer = await offers.create(
        ctx.session,
        chat_id=ctx.chat.id,
        person_id=ctx.person.id,
        unit_id=unit.id,
        kind=kind,
        message_key=message_key,
        readings=readings,
        source_text=source,
        now=ctx.now,
        report_id=report_id,
    )
    return buttons(offer, labels)


def buttons(offer: Offer, labels: Sequence[str] = ()) -> Buttons:
    count = len(offers.readings(offer))
    if count == 1:
        label = labels[0] if labels else "✅ " + _("Record")
        return (
            (
                Button(label, f"{ACCEPT}{offer.id}.0", personal=True),
                Button("✏️ " + _("Change"), f"{DECLINE}{offer.id}", personal=True),
            ),
        )
    rows = tuple(
        (Button((labels[n] if n < len(labels) else f"✅ {n + 1}")[:60], f"{ACCEPT}{offer.id}.{n}",
                personal=True),)
        for n in range(count)
    )  # fmt: skip
    return (*rows, (Button("✏️ " + _("None of these"), f"{DECLINE}{offer.id}", personal=True),))
