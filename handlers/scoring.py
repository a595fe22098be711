"""Scores, grades and ranks of PRODUCT.md. Pure."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

# (lowest score, grade key), best first; the plan may replace them.
DEFAULT_GRADES: tuple[tuple[float, str], ...] = (
    (90.0, "excellent"),
    (80.0, "good"),
    (65.0, "fair"),
    (50.0, "average"),
    (0.0, "weak"),
)


@dataclass(frozen=True)
class Goal:
    """One household indicator's target share (percent) and weight."""

    percent: int
    weight: float = 1.0


def needed(households: int, percent: int) -> int:
    """Households that reach `percent` of `households` (rounded up: 50 % of 7 is 4)."""
    return math.ceil(households * percent / 100 - 1e-9)


def score(done: Mapping[str, int], households: int | None, goals: Mapping[str, Goal]) -> float:
    """100 · Σ wᵢ·min(1, cᵢ/tᵢ) / Σ wᵢ over indicators with a target; 0 without households."""
    weights = sum(g.weight for g in goals.values() if g.percent > 0)
    if not households or weights <= 0:
        return 0.0
    acc = 0.0
    for code, goal in goals.items():
        if goal.percent <= 0:
            continue
        share = done.get(code, 0) / households
        acc += goal.weight * min(1.0, share / (goal.percent / 100))
    return 100.0 * acc / weights


def rollup(parts: Sequence[tuple[float, int]]) -> float:
    """A higher unit's score: its villages' scores weighted by their households."""
    weight = sum(h for _, h in parts if h > 0)
    if weight <= 0:
        return 0.0
    return sum(s * h for s, h in parts if h > 0) / weight


def grade(value: float, grades: Sequence[tuple[float, str]] = DEFAULT_GRADES) -> str:
    for lowest, name in grades:
        if value >= lowest - 1e-9:
            return name
    return grades[-1][1]


def rank(scores: Mapping[int, float], names: Mapping[int, str]) -> list[tuple[int, int]]:
    """(rank, unit id) best first; equal scores share a rank (1, 2, 2, 4), names break ties."""
    ordered = sorted(scores, key=lambda uid: (-round(scores[uid], 6), names.get(uid, "")))
    out: list[tuple[int, int]] = []
    previous: float | None = None
    current = 0
    for position, uid in enumerate(ordered, start=1):
        value = round(scores[uid], 6)
        if value != previous:
            current = position
            previous = value
        out.append((current, uid))
    return out
