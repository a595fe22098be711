"""APScheduler only ticks. What is due is computed from the schedules in the database, and what
was sent is in the outbox, so a restart neither skips a post nor repeats one: a due time missed
while the bot was down is caught up at the first tick after it returns (within its period)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from handlers.incoming import Deps
from scheduler import jobs
from scheduler.outbox import OutboxSender
from storage.leader import Leadership

log = logging.getLogger(__name__)

TICK_SECONDS = 60


class SchedulerService:
    """Ticks: queues what is due into the outbox and wakes the process's sender, which sends
    it with everything else (scheduler/outbox.py)."""

    def __init__(
        self, deps: Deps, sender: OutboxSender, leadership: Leadership | None = None
    ) -> None:
        self.deps = deps
        # With several workers on PostgreSQL exactly one ticks; the others keep asking.
        self.leadership = leadership
        self.tick_seconds = TICK_SECONDS
        self.sender = sender
        self.scheduler = AsyncIOScheduler(timezone=ZoneInfo(deps.timezone))

    async def tick(self) -> None:
        if self.leadership is not None and not await self.leadership.try_acquire():
            return
        try:
            if await jobs.run_due(self.deps, self.deps.clock()):
                self.sender.wake()
        except Exception:
            log.exception("scheduler: tick failed")

    async def start(self) -> None:
        self.scheduler.add_job(
            self.tick,
            "interval",
            seconds=self.tick_seconds,
            next_run_time=datetime.now(UTC),  # catch up at once after a restart
            max_instances=1,
            coalesce=True,
            misfire_grace_time=self.tick_seconds,
        )
        self.scheduler.start()

    async def stop(self) -> None:
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        if self.leadership is not None:
            await self.leadership.release()
