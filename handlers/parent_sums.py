"""A parent's figures as the sums of its villages' (PRODUCT.md, "What a commune signs"): each
village's target in households worked out with the target in force for it (its own, else the
one it inherits), then added up; a parent's share is worked out from the sums, never from
rounded parts. An official who adds a column of village rows finds the commune's row. Pure."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from handlers import scoring


@dataclass(frozen=True)
class Part:
    """One village's figure for one indicator."""

    households: int | None
    done: int
    target: int | None  # in force for the village: a percent, or a count; None or 0: none


def needed(kind: str, part: Part) -> int | None:
    """What makes the village's target: households (rounded up, village by village), or the
    count itself; None without a target (or, for households, without a household count)."""
    if not part.target:
        return None
    if kind == "households":
        return scoring.needed(part.households, part.target) if part.households else None
    return part.target


def missing(kind: str, part: Part) -> int | None:
    need = needed(kind, part)
    return max(0, need - part.done) if need is not None else None


@dataclass(frozen=True)
class Sum:
    households: int  # of the villages that have a household count
    done: int
    needed: int | None  # None: no village has a target
    missing: int | None  # the villages' gaps added (one ahead of its target fills no other's)

    @property
    def share(self) -> float | None:
        """The target as a share of the households, in percent, from the sums."""
        if self.needed is None or not self.households:
            return None
        return 100.0 * self.needed / self.households


def add_up(kind: str, parts: Sequence[Part]) -> Sum:
    households = sum(p.households or 0 for p in parts)
    done = sum(p.done for p in parts)
    needs = [(needed(kind, p), p) for p in parts]
    counted = [(n, p) for n, p in needs if n is not None]
    if not counted:
        return Sum(households, done, None, None)
    return Sum(
        households,
        done,
        sum(n for n, _p in counted),
        sum(max(0, n - p.done) for n, p in counted),
    )
