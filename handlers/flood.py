"""Flood control: a person sending commands faster than a person can is slowed, with a word.

Per process and in memory: with several workers each keeps its own count, which only makes the
limit looser by the number of workers, never stricter."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

MAX_TEXT = 4096  # no platform delivers a longer message; anything longer is not a person typing


@dataclass
class FloodGate:
    # Twenty commands a minute: more than anyone types, fewer than a script sends.
    limit: int = 20
    period: float = 60.0
    clock: Callable[[], float] = time.monotonic
    _seen: dict[str, deque[float]] = field(default_factory=dict)
    _warned: dict[str, float] = field(default_factory=dict)

    def check(self, person: str) -> tuple[bool, float, bool]:
        """(allowed, seconds to wait, whether to tell them): told once per slow-down."""
        now = self.clock()
        times = self._seen.setdefault(person, deque())
        while times and now - times[0] >= self.period:
            times.popleft()
        if len(times) < self.limit:
            times.append(now)
            self._warned.pop(person, None)
            return True, 0.0, False
        wait = times[0] + self.period - now
        first = person not in self._warned
        self._warned[person] = now
        if len(self._seen) > 50_000:
            self._forget(now)
        return False, wait, first

    def _forget(self, now: float) -> None:
        for person in [p for p, t in self._seen.items() if not t or now - t[-1] >= self.period]:
            del self._seen[person]
            self._warned.pop(person, None)
