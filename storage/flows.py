"""Guided reports under way (handlers/guided.py decides what they ask and say)."""

from __future__ import annotations

import json
from datetime import datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Flow

Answers = dict[str, int | None]  # indicator code -> value, None when skipped


def _key(chat_id: str, person_id: str) -> str:
    return f"{chat_id} {person_id}"


async def open_for(session: AsyncSession, *, chat_id: str, person_id: str) -> Flow | None:
    found = await session.exec(select(Flow).where(Flow.open_key == _key(chat_id, person_id)))
    return found.first()


async def get(session: AsyncSession, *, flow_id: int) -> Flow | None:
    return await session.get(Flow, flow_id)


async def start(
    session: AsyncSession,
    *,
    chat_id: str,
    person_id: str,
    unit_id: int,
    codes: list[str],
    now: datetime,
) -> Flow:
    flow = Flow(
        chat_id=chat_id,
        person_id=person_id,
        unit_id=unit_id,
        open_key=_key(chat_id, person_id),
        codes=" ".join(codes),
        started_at=now,
        touched_at=now,
    )
    session.add(flow)
    await session.flush()
    return flow


def codes(flow: Flow) -> list[str]:
    return flow.codes.split()


def answers(flow: Flow) -> Answers:
    raw = json.loads(flow.answers)
    return {str(k): (int(v) if v is not None else None) for k, v in raw.items()}


def set_answer(flow: Flow, code: str, value: int | None, *, now: datetime) -> None:
    current = answers(flow)
    current[code] = value
    flow.answers = json.dumps(current, sort_keys=True)
    flow.touched_at = now


def end(flow: Flow, outcome: str, *, now: datetime, report_id: int | None = None) -> None:
    flow.open_key = None
    flow.ended_at, flow.outcome, flow.touched_at = now, outcome, now
    flow.report_id = report_id


async def silent_since(session: AsyncSession, *, before: datetime, limit: int) -> list[Flow]:
    """Open flows nobody touched since `before`, oldest first."""
    stmt = (
        select(Flow)
        .where(col(Flow.ended_at).is_(None), col(Flow.touched_at) < before)
        .order_by(col(Flow.touched_at))
        .limit(limit)
    )
    return list((await session.exec(stmt)).all())


async def remember(
    session: AsyncSession, *, flow_id: int, slot: str, message_id: str, ask: int = 0
) -> bool:
    """The id of a message just sent for the flow, so that the next step edits or deletes it.
    False when the message is no longer wanted: the flow ended, or (a question) a later one
    was asked meanwhile, the person having answered faster than this one was sent."""
    flow = await session.get(Flow, flow_id)
    if flow is None or flow.ended_at is not None:
        return False
    if slot == "card":
        flow.card_id = message_id
        return True
    if ask != flow.asks:
        return False
    flow.ask_id = message_id
    return True
