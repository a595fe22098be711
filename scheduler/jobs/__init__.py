"""The scheduled jobs, one module each behind one protocol (`base.Job`): who is due, what each
post says, and putting it in the outbox.

A job never sends: it writes one outbox row per (job, period, chat), and a row that exists is
never written again, so running a job twice, or again after a crash, adds nothing.
"""

from __future__ import annotations

import logging
from datetime import datetime
from zoneinfo import ZoneInfo

from handlers import guided
from handlers.incoming import Deps
from handlers.periods import local_date
from handlers.richtext import Rich
from scheduler.jobs import digest, leaderboards, quarterly, reminders, summaries
from scheduler.jobs.base import Chunk, Job, Post, chunks, enqueue
from storage import rounds
from storage.db import transaction

log = logging.getLogger(__name__)

__all__ = ["JOBS", "Job", "Post", "enqueue", "run", "run_due"]

# In the order a tick runs them.
JOBS: dict[str, Job] = {
    job.name: job
    for job in (reminders.JOB, summaries.JOB, leaderboards.JOB, quarterly.JOB, digest.JOB)
}


async def run(deps: Deps, job: str, at: datetime) -> int:
    """Enqueues what `job` owes as of `at`; returns how many new posts went into the outbox.

    A chunk of chats at a time, each in its own transaction: at national scale (73,000 village
    groups) one transaction would hold every post in memory and keep SQLite's writer from the
    members' reports for minutes. A chunk enqueued before a crash stays enqueued; the rest is
    done at the next tick.
    """
    found = JOBS.get(job)
    if found is None:
        raise ValueError(f"unknown job {job!r}; one of {', '.join(JOBS)}")
    tz = ZoneInfo(deps.timezone)
    today = local_date(at, tz)
    async with deps.sessions() as session:
        chats = await rounds.linked_chats(session)
        period, due = await found.due(session, chats=chats, at=at, tz=tz)
        sent = await rounds.already_queued(session, job=job, period=period)
    todo = [c for c in due if c.chat_id not in sent]
    if not todo:
        return 0
    added = 0
    for linked in chunks(todo):
        async with transaction(deps.sessions) as session:
            chunk = await rounds.load(session, linked)
            part = Chunk(
                chats=chunk, today=today, deps=deps, period=period, queued=sent, linked=linked
            )
            posts = await found.posts(session, part)
            added += await enqueue(session, job=job, period=period, posts=posts)
    async with transaction(deps.sessions) as session:
        posts = await found.extra_posts(session, today=today, deps=deps, period=period)
        posts = [p for p in posts if p.job is not None or p.chat_id not in sent]
        added += await enqueue(session, job=job, period=period, posts=posts)
    if added:
        log.info("%s %s: %d posts queued", job, period, added)
    return added


async def close_silent_flows(deps: Deps, at: datetime) -> int:
    """Guided reports nobody answered for half an hour end, and their chats hear it once (one
    post per flow, in the transaction that ends it)."""
    async with transaction(deps.sessions) as session:
        closed = await guided.expire(session, deps, now=at)
        for flow in closed:
            period = f"f{flow.flow_id}"
            if flow.ask_id is not None:
                ask = Post(flow.chat_id, Rich(), delete_id=flow.ask_id)
                await enqueue(session, job=FLOWS, period=f"{period}q", posts=[ask])
            # The card, where there is one, becomes the notice (sent anew if it is gone).
            post = Post(flow.chat_id, flow.rich, buttons=flow.buttons, edit_id=flow.card_id)
            await enqueue(session, job=FLOWS, period=period, posts=[post])
    return len(closed)


FLOWS = "guided"  # the outbox's job name for those notices


async def run_due(deps: Deps, at: datetime) -> int:
    """Every job whose time has come; what is already queued is skipped."""
    total = 0
    try:
        total += await close_silent_flows(deps, at)
    except Exception:
        log.exception("closing silent guided reports failed")
    for job in JOBS:
        try:
            total += await run(deps, job, at)
        except Exception:
            log.exception("job %s failed", job)
    return total
