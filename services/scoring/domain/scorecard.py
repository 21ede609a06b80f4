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
from typing import NamedTuple

from covenant.errors import InvalidArgument

HUNDRED = Decimal(100)
CENT = Decimal("0.01")


def q2(value: Decimal) -> Decimal:
    """Round to two decimals, half-up."""
    return value.quantize(CENT, ROUND_HALF_UP)


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


class Contribution(NamedTuple):
    """One KPI's part of a score. Immutable; a NamedTuple because a period makes one per employee and KPI."""

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


# How a KPI normalises: its method and direction folded into one small int (checked once per value).
_TARGET_UP, _TARGET_DOWN, _MINMAX_UP, _MINMAX_DOWN, _RANK_UP, _RANK_DOWN = range(6)


class _KpiRule:
    """How one KPI is normalised and explained against one cohort, with everything that does not depend on
    the employee worked out once (cohort bounds, labels, weight text, the "no data" contribution)."""

    __slots__ = (
        "cap",
        "floor",
        "id",
        "kpi",
        "label",
        "lo",
        "missing",
        "mode",
        "n",
        "percent",
        "span",
        "target",
        "vals",
        "weight",
        "weight_text",
    )

    def __init__(self, kpi: Kpi, vals: Sequence[Decimal]) -> None:
        self.kpi = kpi
        self.id, self.label, self.weight = kpi.id, kpi.label, kpi.weight
        self.weight_text = f"{kpi.weight.normalize():f}"
        self.floor, self.cap, self.target = kpi.floor, kpi.cap, kpi.target
        self.percent = kpi.unit == "%"
        if kpi.normalisation == "minmax":
            self.mode = _MINMAX_DOWN if kpi.direction == "lower" else _MINMAX_UP
        elif kpi.normalisation == "target":  # target and percentile: anything but "higher" is lower-is-better
            self.mode = _TARGET_UP if kpi.direction == "higher" else _TARGET_DOWN
        else:
            self.mode = _RANK_UP if kpi.direction == "higher" else _RANK_DOWN
        self.vals = vals
        self.lo = vals[0] if vals else None
        # minmax: no spread (or no cohort) normalises to 1
        self.span = None if not vals or vals[-1] == vals[0] else vals[-1] - vals[0]
        self.n = len(vals) or 1
        points = q2(kpi.floor * kpi.weight)
        self.missing = Contribution(
            kpi.id,
            kpi.label,
            None,
            kpi.floor,
            points,
            kpi.weight,
            f"{kpi.label} no data → {points} of {self.weight_text}",
        )

    def normalise(self, value: Decimal) -> Decimal:
        """The value's place in [floor, cap] (see the module docstring)."""
        mode = self.mode
        if mode == _TARGET_UP:
            assert self.target is not None
            x = value / self.target
        elif mode == _TARGET_DOWN:
            assert self.target is not None
            x = self.target / value if value > 0 else self.cap
        elif mode in (_MINMAX_UP, _MINMAX_DOWN):
            if self.span is None:
                x = Decimal(1)
            else:
                x = (value - self.lo) / self.span
                if mode == _MINMAX_DOWN:
                    x = 1 - x
        elif mode == _RANK_UP:  # percentile
            x = Decimal(bisect.bisect_right(self.vals, value)) / self.n
        else:  # _RANK_DOWN
            x = Decimal(self.n - bisect.bisect_left(self.vals, value)) / self.n
        # clamp exactly as max(floor, min(cap, x)): on a tie the bound itself is kept
        if not x < self.cap:
            x = self.cap
        return x if x > self.floor else self.floor


class Cohort:
    """Sorted values per KPI over everyone scored with the same scorecard in the period."""

    def __init__(self, values: Mapping[str, Sequence[Decimal]]) -> None:
        self._sorted = {k: sorted(v) for k, v in values.items()}

    def rule(self, kpi: Kpi) -> _KpiRule:
        return _KpiRule(kpi, self._sorted.get(kpi.id, []))

    def normalise(self, kpi: Kpi, value: Decimal) -> Decimal:
        return self.rule(kpi).normalise(value)


class CohortScorer:
    """Scores employees on one scorecard against one cohort; the per-KPI work that does not depend on the
    employee is done once here, so scoring a whole cohort costs little more than its arithmetic."""

    def __init__(self, card: Scorecard, cohort: Cohort) -> None:
        self.card = card
        self.rules = tuple(cohort.rule(kpi) for kpi in card.kpis)
        self.weighted_sum = card.formula == "weighted_sum"

    def score(self, employee_id: str, metrics: Mapping[str, Decimal]) -> Score:
        """Score one employee; a missing KPI counts as the floor and is listed in ``missing``."""
        contributions = []
        missing = []
        total = Decimal(0)
        for rule in self.rules:
            raw = metrics.get(rule.id)
            if raw is None:
                missing.append(rule.id)
                c = rule.missing
                total += c.normalised * c.weight
            else:
                value = raw if type(raw) is Decimal else Decimal(raw)
                norm = rule.normalise(value)
                product = norm * rule.weight
                total += product
                earned = product.quantize(CENT, ROUND_HALF_UP)
                shown = (value * HUNDRED if rule.percent else value).quantize(CENT, ROUND_HALF_UP)
                text = (
                    f"{rule.label} {shown.normalize():f}{'%' if rule.percent else ''} → {earned:.1f} "
                    f"of {rule.weight_text}"
                )
                c = Contribution(rule.id, rule.label, raw, norm, earned, rule.weight, text)
            contributions.append(c)
        if self.weighted_sum:
            total = q2(total)
        else:
            product = Decimal(1)
            for c in contributions:
                product *= Decimal(float(c.normalised) ** float(c.weight / HUNDRED))
            total = q2(product * HUNDRED)
        card = self.card
        return Score(employee_id, total, tuple(contributions), card.id, card.version, tuple(missing))


def score_employee(
    card: Scorecard, employee_id: str, metrics: Mapping[str, Decimal], cohort: Cohort
) -> Score:
    """Score one employee; a missing KPI counts as the floor and is listed in ``missing``."""
    return CohortScorer(card, cohort).score(employee_id, metrics)


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
