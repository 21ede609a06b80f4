"""From fired rule actions to ledger entries: caps per calendar period, team sharing, reversals."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from covenant.errors import InvalidArgument
from services.points.domain.periods import CAP_PERIODS, key_for_date, local_date

# Ledger entry kinds; the first four count towards leaderboards and goals (what was earned), the rest
# only move the balance (what was spent, refunded or lapsed).
EARNING_KINDS = ("award", "reversal", "adjustment", "team_goal")
KINDS = (*EARNING_KINDS, "redemption", "refund", "expiry")


@dataclass(frozen=True)
class EventIn:
    """A business event, from the RPCs or another service's outbox."""

    id: str
    type: str
    employee_id: str
    org_unit: str
    occurred_at: datetime
    data: Mapping[str, Any] = field(default_factory=dict)

    def rule_input(self) -> dict[str, Any]:
        """What the rules see as ``event.*``."""
        return {**self.data, "type": self.type, "employee_id": self.employee_id, "org_unit": self.org_unit}


@dataclass(frozen=True)
class Award:
    """Points to pay before caps: who, how many, and which rule said so."""

    employee_id: str
    points: int
    reason: str
    rule_id: str
    pack_id: str
    pack_version: str
    caps: Mapping[str, int] = field(default_factory=dict)  # period ("day"/"week"/"month") -> cap


@dataclass(frozen=True)
class Reversal:
    """A fired ``reverse`` action: undo what ``event_id`` paid."""

    event_id: str
    reason: str
    rule_id: str
    pack_id: str
    pack_version: str


def split_points(total: int, weights: Mapping[str, float]) -> list[tuple[str, int]]:
    """Split ``total`` by weight with the largest-remainder method (sums exactly to ``total``).

    Ties on the remainder go to the larger weight, then to the smaller id, so the split is deterministic.
    """
    positive = {k: float(w) for k, w in weights.items() if float(w) > 0}
    whole = sum(positive.values())
    if not positive or total <= 0:
        return []
    exact = {k: total * w / whole for k, w in positive.items()}
    base = {k: int(v) for k, v in exact.items()}
    left = total - sum(base.values())
    order = sorted(positive, key=lambda k: (-(exact[k] - base[k]), -positive[k], k))
    for k in order[:left]:
        base[k] += 1
    return sorted(((k, v) for k, v in base.items() if v), key=lambda kv: kv[0])


def _recipients(params: Mapping[str, Any], event: EventIn, rule_id: str) -> list[tuple[str, int, str]]:
    """(employee, points, reason suffix) for one award action."""
    points = int(params["points"])
    to = str(params.get("to") or event.employee_id)
    split_by = params.get("split_by")
    if not split_by:
        return [(to, points, "")]
    raw = event.data.get(str(split_by))
    if not isinstance(raw, Mapping) or not raw:
        return [(to, points, "")]
    try:
        weights = {str(k): float(v) for k, v in raw.items()}
    except (TypeError, ValueError):
        raise InvalidArgument(
            f"rule {rule_id}: {split_by} must map employee ids to numbers", field=f"data.{split_by}"
        ) from None
    whole = sum(w for w in weights.values() if w > 0)
    return [
        (emp, pts, f" (shared: {weights[emp]:g} of {whole:g})") for emp, pts in split_points(points, weights)
    ]


def plan(fired: Iterable[Any], event: EventIn) -> tuple[list[Award], list[Reversal]]:
    """Awards and reversals the fired actions ask for (caps not yet applied)."""
    awards: list[Award] = []
    reversals: list[Reversal] = []
    for a in fired:
        if a.action == "award":
            caps = {CAP_PERIODS[k]: int(v) for k, v in a.params.items() if k in CAP_PERIODS and v is not None}
            reason = str(a.params.get("reason") or a.rule_id)
            for emp, pts, note in _recipients(a.params, event, a.rule_id):
                awards.append(Award(emp, pts, reason + note, a.rule_id, a.pack_id, a.pack_version, caps))
        elif a.action == "reverse":
            target = str(a.params.get("event_id") or "")
            if target:
                reason = str(a.params.get("reason") or f"reversed by {event.type} {event.id}")
                reversals.append(Reversal(target, reason, a.rule_id, a.pack_id, a.pack_version))
    return awards, reversals


def cap_keys(award: Award, at: datetime, tz: str) -> dict[str, str]:
    """period -> period key of each cap the award is subject to."""
    if not award.caps:
        return {}
    d = local_date(at, tz)
    return {period: key_for_date(period, d) for period in award.caps}


def apply_caps(points: int, caps: Mapping[str, int], used: Mapping[str, int]) -> int:
    """Trim ``points`` so that no cap period goes over its cap (``used`` is what the period already paid)."""
    for period, cap in caps.items():
        points = max(0, min(points, cap - used.get(period, 0)))
    return points


def reversal_amount(original: int, balance: int) -> int:
    """How much of ``original`` a reversal takes back: all of it, unless it was spent (balance stays >= 0)."""
    return max(0, min(original, balance))
