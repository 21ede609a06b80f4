"""Scorecard templates and the scoring of one employee for one period.

Arithmetic is exact (``Decimal``); scores are reported to two decimals, half-up. A KPI's contribution is
``weight × normalised value`` where the normalised value lies in [floor, cap] (default [0, 1]):

- ``target``: value / target for higher-is-better, target / value for lower-is-better;
- ``minmax``: position between the cohort's minimum and maximum (inverted for lower-is-better);
- ``percentile``: share of the cohort at or below the value (at or above for lower-is-better).
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from covenant.errors import InvalidArgument

HUNDRED = Decimal(100)
CENT = Decimal("0.01")


def q2(value: Decimal) -> Decimal:
    """Round to two decimals, half-up."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class Kpi:
    """One KPI of a scorecard. ``weight`` is in percent; weights of a scorecard sum to 100."""

    id: str
    label: str
    weight: Decimal
    direction: str = "higher"  # "higher" | "lower"
    normalisation: str = "target"  # "target" | "minmax" | "percentile"
    target: Decimal | None = None
    floor: Decimal = Decimal(0)
    cap: Decimal = Decimal(1)
    unit: str = ""  # "%" shows the raw value as a percentage in explanations

    def validate(self, where: str) -> None:
        if self.direction not in ("higher", "lower"):
            raise InvalidArgument("must be higher or lower", field=f"{where}.direction")
        if self.normalisation not in ("target", "minmax", "percentile"):
            raise InvalidArgument("must be target, minmax or percentile", field=f"{where}.normalisation")
        if self.normalisation == "target" and (self.target is None or self.target <= 0):
            raise InvalidArgument(
                "a positive target is required for target normalisation", field=f"{where}.target"
            )
        if self.weight <= 0:
            raise InvalidArgument("must be positive", field=f"{where}.weight")
        if not (Decimal(0) <= self.floor <= self.cap):
            raise InvalidArgument("need 0 <= floor <= cap", field=f"{where}.floor")


@dataclass(frozen=True)
class Scorecard:
    """A versioned scorecard template for a role (optionally narrowed to an org-unit subtree)."""

    id: str
    version: int
    role: str
    kpis: tuple[Kpi, ...]
    effective_from: date
    org_unit_prefix: str = ""
    formula: str = "weighted_sum"  # "weighted_sum" | "geometric" (penalises one very weak KPI)

    def validate(self) -> None:
        if not self.kpis:
            raise InvalidArgument("a scorecard needs at least one KPI", field="kpis")
        seen = set()
        for i, k in enumerate(self.kpis):
            k.validate(f"kpis[{i}]")
            if k.id in seen:
                raise InvalidArgument(f"duplicate KPI {k.id!r}", field=f"kpis[{i}].id")
            seen.add(k.id)
        total = sum((k.weight for k in self.kpis), Decimal(0))
        if total != HUNDRED:
            raise InvalidArgument(f"weights sum to {total}, not 100", field="kpis.weight")
        if self.formula not in ("weighted_sum", "geometric"):
            raise InvalidArgument("must be weighted_sum or geometric", field="formula")


@dataclass(frozen=True)
class Contribution:
    kpi: str
    label: str
    raw: Decimal | None
    normalised: Decimal
    points: Decimal
    weight: Decimal
    explanation: str


@dataclass(frozen=True)
class Score:
    employee_id: str
    total: Decimal
    contributions: tuple[Contribution, ...]
    scorecard_id: str
    scorecard_version: int
    missing: tuple[str, ...] = field(default_factory=tuple)


def _clamp(x: Decimal, lo: Decimal, hi: Decimal) -> Decimal:
    return max(lo, min(hi, x))


class Cohort:
    """Sorted values per KPI over everyone scored with the same scorecard in the period."""

    def __init__(self, values: Mapping[str, Sequence[Decimal]]) -> None:
        self._sorted = {k: sorted(v) for k, v in values.items()}

    def normalise(self, kpi: Kpi, value: Decimal) -> Decimal:
        vals = self._sorted.get(kpi.id, [])
        if kpi.normalisation == "target":
            assert kpi.target is not None
            if kpi.direction == "higher":
                x = value / kpi.target
            else:
                x = kpi.target / value if value > 0 else kpi.cap
        elif kpi.normalisation == "minmax":
            lo, hi = (vals[0], vals[-1]) if vals else (value, value)
            if hi == lo:
                x = Decimal(1)
            else:
                x = (value - lo) / (hi - lo)
                if kpi.direction == "lower":
                    x = 1 - x
        else:
            n = len(vals) or 1
            if kpi.direction == "higher":
                x = Decimal(bisect.bisect_right(vals, value)) / n
            else:
                x = Decimal(n - bisect.bisect_left(vals, value)) / n
        return _clamp(x, kpi.floor, kpi.cap)


def _fmt(kpi: Kpi, raw: Decimal) -> str:
    if kpi.unit == "%":
        return f"{q2(raw * HUNDRED).normalize():f}%"
    return f"{q2(raw).normalize():f}"


def score_employee(
    card: Scorecard, employee_id: str, metrics: Mapping[str, Decimal], cohort: Cohort
) -> Score:
    """Score one employee; a missing KPI counts as the floor and is listed in ``missing``."""
    contributions = []
    missing = []
    for kpi in card.kpis:
        raw = metrics.get(kpi.id)
        if raw is None:
            missing.append(kpi.id)
            norm = kpi.floor
            text = f"{kpi.label} no data → {q2(norm * kpi.weight)} of {kpi.weight.normalize():f}"
        else:
            norm = cohort.normalise(kpi, Decimal(raw))
            earned = q2(norm * kpi.weight)
            text = f"{kpi.label} {_fmt(kpi, Decimal(raw))} → {earned:.1f} of {kpi.weight.normalize():f}"
        contributions.append(
            Contribution(kpi.id, kpi.label, raw, norm, q2(norm * kpi.weight), kpi.weight, text)
        )
    if card.formula == "weighted_sum":
        total = q2(sum((c.normalised * c.weight for c in contributions), Decimal(0)))
    else:
        product = Decimal(1)
        for c in contributions:
            product *= Decimal(float(c.normalised) ** float(c.weight / HUNDRED))
        total = q2(product * HUNDRED)
    return Score(employee_id, total, tuple(contributions), card.id, card.version, tuple(missing))


def rank(scores: Sequence[tuple[str, Decimal]]) -> dict[str, int]:
    """Competition ranking (1, 2, 2, 4) by score descending; ties share a rank, listed by id."""
    ordered = sorted(scores, key=lambda s: (-s[1], s[0]))
    out: dict[str, int] = {}
    prev: Decimal | None = None
    current = 0
    for i, (emp, value) in enumerate(ordered, start=1):
        if value != prev:
            current, prev = i, value
        out[emp] = current
    return out
