"""Prometheus metrics, one registry per running bot (so several can live in one test process)."""

from __future__ import annotations

from datetime import UTC, datetime

from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest

from storage import inbox
from storage import outbox as outbox_store
from storage.db import SessionFactory


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.updates = Counter("tcns_updates", "Updates handled", ["platform"], registry=r)
        self.reports = Counter("tcns_reports", "Reports recorded or replaced", registry=r)
        self.rejections = Counter("tcns_rejections", "Reports refused", ["reason"], registry=r)
        self.sends = Counter("tcns_sends", "Messages sent", ["platform", "outcome"], registry=r)
        self.retries = Counter(
            "tcns_send_retries",
            "Sends put off: a 429 or a passing fault",
            ["platform"],
            registry=r,
        )
        self.skipped = Counter(
            "tcns_round_skipped",
            "Parts of a scheduled round that failed and were left out (a chart, a workbook)",
            ["job"],
            registry=r,
        )
        self.outbox_pending = Gauge("tcns_outbox_pending", "Posts waiting", registry=r)
        self.inbox_pending = Gauge("tcns_inbox_pending", "Updates waiting", registry=r)
        self.inbox_lag = Gauge("tcns_inbox_lag_seconds", "Age of the oldest waiting update",
                               registry=r)  # fmt: skip

    def count(self, event: str, label: str = "") -> None:
        """The handlers' Observer: "update"/platform, "report", "rejection"/reason,
        "skipped"/job."""
        if event == "update":
            self.updates.labels(label or "?").inc()
        elif event == "report":
            self.reports.inc()
        elif event == "rejection":
            self.rejections.labels(label or "?").inc()
        elif event == "skipped":
            self.skipped.labels(label or "?").inc()

    def sent(self, platform: str, outcome: str) -> None:
        self.sends.labels(platform, outcome).inc()
        if outcome == "retry":
            self.retries.labels(platform).inc()

    async def render(self, sessions: SessionFactory) -> bytes:
        async with sessions() as session:
            outbox = await outbox_store.pending_count(session)
            waiting, oldest = await inbox.backlog(session)
        self.outbox_pending.set(outbox)
        self.inbox_pending.set(waiting)
        if oldest is not None:
            self.inbox_lag.set((datetime.now(UTC) - oldest).total_seconds())
        else:
            self.inbox_lag.set(0)
        return generate_latest(self.registry)
