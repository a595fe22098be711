"""Guided reports under way (handlers/guided.py decides what they ask and say)."""

from __future__ import annotations

import json
from datetime import datetime

from sqlmodel import col, select, update
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import SelectOfScalar

from storage.models import Flow

Answers = dict[str, int | None]  # indicator code -> value, None when skipped

# `Flow.ask_id` while a reply request is on its way and its message id not known yet.
ASKING = "asking"


def ask_message(flow: Flow) -> str | None:
    """The id of the flow's reply request (ForceReply) in the chat; None when there is none or
    it is still on its way."""
    return None if flow.ask_id == ASKING else flow.ask_id


def _key(chat_id: str, person_id: str) -> str:
    return f"{chat_id} {person_id}"


async def open_for(session: AsyncSession, *, chat_id: str, person_id: str) -> Flow | None:
    stmt = select(Flow).where(Flow.open_key == _key(chat_id, person_id))
    return (await session.exec(_locked(stmt))).first()


async def get(session: AsyncSession, *, flow_id: int) -> Flow | None:
    return (await session.exec(_locked(select(Flow).where(Flow.id == flow_id)))).first()


def _locked(stmt: SelectOfScalar[Flow]) -> SelectOfScalar[Flow]:
    """The flow's row held until the transaction ends (PostgreSQL; SQLite has one writer
    anyway): a message id being kept (`remember`) or the sweep of silent flows waits for the
    step in hand instead of writing over it."""
    return stmt.with_for_update()


async def open_with_message(
    session: AsyncSession, *, chat_id: str, message_id: str
) -> Flow | None:
    """The open flow in the chat whose card or question this message is."""
    found = await session.exec(
        select(Flow).where(
            Flow.chat_id == chat_id,
            col(Flow.ended_at).is_(None),
            (col(Flow.card_id) == message_id) | (col(Flow.ask_id) == message_id),
        )
    )
    return found.first()


async def closed_since(
    session: AsyncSession, *, chat_id: str, person_id: str, since: datetime
) -> bool:
    """Whether one of the person's flows here ended unrecorded after `since`."""
    found = await session.exec(
        select(Flow.id)
        .where(
            Flow.chat_id == chat_id,
            Flow.person_id == person_id,
            col(Flow.ended_at) >= since,
            col(Flow.outcome).in_(("cancelled", "expired")),
        )
        .limit(1)
    )
    return found.first() is not None


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


def add_codes(flow: Flow, extra: list[str]) -> None:
    """More indicators asked, after the flow's own."""
    flow.codes = " ".join(codes(flow) + [c for c in extra if c not in codes(flow)])


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
    """Open flows nobody touched since `before`, oldest first; one being answered right now
    (its row locked) is left for the next sweep."""
    stmt = (
        select(Flow)
        .where(col(Flow.ended_at).is_(None), col(Flow.touched_at) < before)
        .order_by(col(Flow.touched_at))
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list((await session.exec(stmt)).all())


async def remember(
    session: AsyncSession, *, flow_id: int, slot: str, message_id: str, ask: int = 0
) -> bool:
    """The id of a message just sent for the flow, so that the next step edits or deletes it.
    False when the message is no longer wanted: the flow ended, or (a question) a later one
    was asked meanwhile or none is any more, the person having answered faster than this one
    was sent (or it was withdrawn: `Flow.asks` moved on). One
    conditional statement, so that it cannot undo a step written meanwhile."""
    stmt = update(Flow).where(col(Flow.id) == flow_id, col(Flow.ended_at).is_(None))
    if slot == "card":
        stmt = stmt.values(card_id=message_id)
    else:
        # Not once the flow stopped asking (the last answer came before its question was
        # out): a question nobody will answer would stay in the group.
        stmt = stmt.where(col(Flow.asks) == ask, col(Flow.mode).in_(("ask", "fix"))).values(
            ask_id=message_id
        )
    result = await session.exec(stmt)
    return bool(result.rowcount)
