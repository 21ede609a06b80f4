"""Reward redemptions: the state machine, eligibility and expiry arithmetic."""

from __future__ import annotations

import math
from collections.abc import Mapping

from covenant.errors import FailedPrecondition

REDEMPTION_TRANSITIONS: Mapping[str, frozenset[str]] = {
    "RESERVED": frozenset({"APPROVED", "REJECTED", "CANCELLED"}),
    "APPROVED": frozenset({"FULFILLED", "CANCELLED"}),
    "FULFILLED": frozenset(),
    "REJECTED": frozenset(),
    "CANCELLED": frozenset(),
}
# Ending in one of these refunds the reserved points and returns the unit to stock.
REFUNDING = frozenset({"REJECTED", "CANCELLED"})


def check_transition(current: str, target: str) -> None:
    if target not in REDEMPTION_TRANSITIONS.get(current, frozenset()):
        raise FailedPrecondition(f"a {current} redemption cannot become {target}")


def eligible(rank: int, population: int, top_percent: int) -> bool:
    """Whether place ``rank`` of ``population`` is inside the top ``top_percent`` (at least one place)."""
    if top_percent <= 0:
        return True
    if rank <= 0 or population <= 0:
        return False
    return rank <= max(1, math.ceil(population * top_percent / 100))


def expirable(earned_before_cutoff: int, spent: int, already_expired: int, balance: int) -> int:
    """Points that lapse: earned before the cutoff, not spent since (oldest points are spent first), not
    expired already, and never more than the balance."""
    return max(0, min(balance, earned_before_cutoff - spent - already_expired))
