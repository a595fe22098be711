"""Flood control: a person sending commands faster than a person can is answered less, never
ignored.

The rule. Messages are counted per person *and chat*, by the time each message was sent
(`Incoming.sent_at`), in a sliding window: a message is answered when fewer than `limit` messages
from the same person in the same chat were sent in the `period` before it.

- Counting by the sending time, not by when the bot gets to a message, means a backlog (the bot
  was down, or the database was, and a hundred stored updates are worked off at once) is judged
  by how fast people wrote it, which was slowly: it is not a flood.
- Counting per chat means an admin linking thirty village groups in a minute (each village's
  `/lien_ket` is sent in its own group) is thirty people's worth of typing, not one spammer.
- A message is counted once, however often it is handled: an update the inbox retries while the
  database is away gets the same verdict each time instead of filling the window with itself.

What "answered less" means. A message over the limit is still processed in full, in its own
transaction like any other: a report is recorded, a `/huy` withdraws, a `/lien_ket` links. Only
its answer is held back. The first such message gets, instead of its own answer, one notice that
everything is still being recorded and when answers resume; the ones after it get no answer. The
first message answered again carries a line saying how many were handled without one.

Why not the alternatives. Dropping (what this module did before) loses reports: thirty members'
reports pasted by their leader in one go are not spam. Deferring a message to the inbox for later
keeps the answers but makes a report's effect wait on a timer, and a script that keeps sending
would build a queue that never drains; the cost being protected is the chat's (and the platform's
send budget), not the processing, which the inbox already does one update at a time.

Per process and in memory: with several workers each keeps its own count, which only makes the
limit looser by the number of workers, never stricter. A restart forgets the counts, which errs
the same way.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from datetime import datetime

MAX_TEXT = 4096  # no platform delivers a longer message; anything longer is not a person typing

_KEEP_KEYS = 50_000  # beyond this many (person, chat) pairs, idle ones are forgotten


@dataclass(frozen=True)
class Verdict:
    answer: bool  # send the command's own answer
    notice: bool = False  # instead of it, say once that answers are held back
    wait: float = 0.0  # seconds (of sending time) until answers resume
    unanswered: int = 0  # with an answer: how many messages before it went without one


ANSWER = Verdict(answer=True)


@dataclass
class _Stream:
    """One person in one chat: the sending times of the recent messages, and their verdicts."""

    times: list[float] = field(default_factory=list)  # sorted
    verdicts: dict[str, tuple[float, Verdict]] = field(default_factory=dict)  # by message key
    quiet: int = 0  # messages not answered since the last one that was
    latest: float = 0.0


@dataclass
class FloodGate:
    # Twenty commands a minute in one chat: more than anyone types, fewer than a script sends.
    limit: int = 20
    period: float = 60.0
    _streams: dict[tuple[str, str], _Stream] = field(default_factory=dict)
    _latest: float = 0.0

    def check(self, *, person: str, chat: str, sent_at: datetime, message_key: str) -> Verdict:
        """The verdict on one message; the same message asked about again gets the same one."""
        at = sent_at.timestamp()
        stream = self._streams.setdefault((person, chat), _Stream())
        known = stream.verdicts.get(message_key)
        if known is not None:
            return known[1]
        self._latest = max(self._latest, at)
        stream.latest = max(stream.latest, at)
        self._prune(stream)
        start = bisect.bisect_right(stream.times, at - self.period)
        end = bisect.bisect_right(stream.times, at)
        before = stream.times[start:end]  # sent within the period up to this one
        bisect.insort(stream.times, at)
        if len(before) < self.limit:
            verdict = Verdict(answer=True, unanswered=stream.quiet)
            stream.quiet = 0
        else:
            # Answers resume once the limit-th latest of them has left the window.
            wait = max(1.0, before[-self.limit] + self.period - at)
            verdict = Verdict(answer=False, notice=stream.quiet == 0, wait=wait)
            stream.quiet += 1
        stream.verdicts[message_key] = (at, verdict)
        if len(self._streams) > _KEEP_KEYS:
            self._forget()
        return verdict

    def _prune(self, stream: _Stream) -> None:
        """Times older than a period before the stream's latest can decide nothing any more."""
        horizon = stream.latest - self.period
        del stream.times[: bisect.bisect_right(stream.times, horizon)]
        for key in [k for k, (at, _v) in stream.verdicts.items() if at <= horizon]:
            del stream.verdicts[key]

    def _forget(self) -> None:
        horizon = self._latest - self.period
        for key in [k for k, s in self._streams.items() if s.latest <= horizon]:
            del self._streams[key]
