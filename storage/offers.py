"""Readings waiting for their author's one tap (handlers/offers.py decides what they say)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlmodel import col, delete, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Offer

# An offer nobody tapped is of no use after this; older ones are removed as new ones come.
KEPT = timedelta(days=2)


async def create(
    session: AsyncSession,
    *,
    chat_id: str,
    person_id: str,
    unit_id: int,
    kind: str,
    message_key: str,
    readings: Sequence[str],
    source_text: str,
    now: datetime,
    report_id: int | None = None,
) -> Offer:
    await session.exec(delete(Offer).where(col(Offer.created_at) < now - KEPT))
    offer = Offer(
        chat_id=chat_id,
        person_id=person_id,
        unit_id=unit_id,
        kind=kind,
        message_key=message_key,
        report_id=report_id,
        readings=json.dumps(list(readings), ensure_ascii=False),
        source_text=source_text[:4096],
        created_at=now,
    )
    session.add(offer)
    await session.flush()
    return offer


async def get(session: AsyncSession, *, offer_id: int) -> Offer | None:
    found = await session.exec(select(Offer).where(Offer.id == offer_id).with_for_update())
    return found.first()


async def latest_open(
    session: AsyncSession, *, chat_id: str, person_id: str, since: datetime
) -> Offer | None:
    """The person's newest untapped offer in the chat made after `since` (a typed "ghi")."""
    found = await session.exec(
        select(Offer)
        .where(
            Offer.chat_id == chat_id,
            Offer.person_id == person_id,
            col(Offer.done_at).is_(None),
            col(Offer.created_at) >= since,
        )
        .order_by(col(Offer.created_at).desc(), col(Offer.id).desc())
        .limit(1)
        .with_for_update()
    )
    return found.first()


def readings(offer: Offer) -> list[str]:
    return [str(r) for r in json.loads(offer.readings)]
