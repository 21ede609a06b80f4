"""High-performer profiles, coaching gaps and heat-map cells over scored KPI values. Pure Python (numpy).

A profile splits a role's people by an outcome KPI: the top quartile (outcome at or above the 75th
percentile, or at or below the 25th when lower is better) against the rest, and describes each process KPI
by both groups' medians, spreads (IQR) and effect sizes (Cliff's delta, Cohen's d; positive when the top
group's values are higher). See docs/analytics.md.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

MIN_PEOPLE = 8  # fewer than this and a quartile is two people: no profile


@dataclass(frozen=True)
class KpiProfile:
    kpi: str
    label: str
    direction: str  # "higher" or "lower" is better
    top_median: float
    rest_median: float
    top_iqr: float
    rest_iqr: float
    cliffs_delta: float  # P(top > rest) - P(top < rest), in [-1, 1]
    cohens_d: float  # (mean top - mean rest) / pooled SD


@dataclass(frozen=True)
class Profile:
    outcome_kpi: str
    threshold: float  # outcome value that puts a person in the top quartile
    top: tuple[str, ...]  # employee ids of the top quartile
    rest_count: int
    kpis: tuple[KpiProfile, ...]


@dataclass(frozen=True)
class Gap:
    kpi: str
    label: str
    value: float
    profile_value: float
    gap: float  # how far short of the profile, in the KPI's unit (always > 0)
    detail: str


def cliffs_delta(a: Sequence[float], b: Sequence[float]) -> float:
    """P(x > y) - P(x < y) for x from ``a``, y from ``b`` (0 when either is empty)."""
    if not len(a) or not len(b):
        return 0.0
    x, y = np.asarray(a, dtype=float), np.sort(np.asarray(b, dtype=float))
    below = np.searchsorted(y, x, side="left")  # ys smaller than each x
    above = len(y) - np.searchsorted(y, x, side="right")  # ys larger than each x
    return float((below.sum() - above.sum()) / (len(x) * len(y)))


def cohens_d(a: Sequence[float], b: Sequence[float]) -> float:
    """(mean a - mean b) over the pooled standard deviation (0 when it is undefined or zero)."""
    if len(a) < 2 or len(b) < 2:
        return 0.0
    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    pooled = ((len(x) - 1) * x.var(ddof=1) + (len(y) - 1) * y.var(ddof=1)) / (len(x) + len(y) - 2)
    if pooled <= 0:
        return 0.0
    return float((x.mean() - y.mean()) / np.sqrt(pooled))


def _iqr(v: np.ndarray) -> float:
    if not len(v):
        return 0.0
    q1, q3 = np.percentile(v, [25, 75])
    return float(q3 - q1)


def _median(v: np.ndarray) -> float:
    return float(np.median(v)) if len(v) else 0.0


def profile(
    values: Mapping[str, Mapping[str, float]],
    outcome: str,
    labels: Mapping[str, str],
    directions: Mapping[str, str],
) -> Profile | None:
    """The high-performer profile of ``values`` (employee -> KPI -> raw value) on ``outcome``; None when
    fewer than MIN_PEOPLE have an outcome value or everyone has the same one."""
    people = sorted(e for e, v in values.items() if outcome in v)
    if len(people) < MIN_PEOPLE:
        return None
    out = np.array([values[e][outcome] for e in people], dtype=float)
    lower = directions.get(outcome) == "lower"
    threshold = float(np.percentile(out, 25 if lower else 75))
    is_top = out <= threshold if lower else out >= threshold
    if is_top.all():
        return None
    top = [e for e, t in zip(people, is_top, strict=True) if t]
    rest = [e for e, t in zip(people, is_top, strict=True) if not t]
    kpis = []
    for kpi in sorted({k for e in people for k in values[e]} - {outcome}):
        a = np.array([values[e][kpi] for e in top if kpi in values[e]], dtype=float)
        b = np.array([values[e][kpi] for e in rest if kpi in values[e]], dtype=float)
        kpis.append(
            KpiProfile(
                kpi=kpi,
                label=labels.get(kpi, kpi),
                direction=directions.get(kpi, "higher"),
                top_median=_median(a),
                rest_median=_median(b),
                top_iqr=_iqr(a),
                rest_iqr=_iqr(b),
                cliffs_delta=cliffs_delta(a, b),
                cohens_d=cohens_d(a, b),
            )
        )
    return Profile(outcome, threshold, tuple(top), len(rest), tuple(kpis))


def _num(x: float) -> str:
    return f"{x:.3g}" if abs(x) < 1 else f"{x:.1f}"


def gaps(mine: Mapping[str, float], kpis: Sequence[KpiProfile], min_delta: float = 0.147) -> list[Gap]:
    """Where a person falls short of the profile's top-quartile median, on the KPIs that distinguish the top
    group (|Cliff's delta| at least ``min_delta``, a small effect, pointing the KPI's better way)."""
    out = []
    for k in kpis:
        if k.kpi not in mine:
            continue
        better_lower = k.direction == "lower"
        if (k.cliffs_delta <= -min_delta) if better_lower else (k.cliffs_delta >= min_delta):
            value = mine[k.kpi]
            short = (value - k.top_median) if better_lower else (k.top_median - value)
            if short > 0:
                detail = f"{k.label} {_num(value)} vs profile {_num(k.top_median)}"
                out.append(Gap(k.kpi, k.label, value, k.top_median, short, detail))
    return out


@dataclass(frozen=True)
class Cell:
    org_unit: str
    kpi: str  # "score" for the total score
    value: float
    people: int
    change: float | None  # vs the previous period's cell (None when it had none)


def heat_cells(
    current: Mapping[tuple[str, str], Sequence[float]], previous: Mapping[tuple[str, str], Sequence[float]]
) -> list[Cell]:
    """Mean per (org unit, KPI) and its change from the previous period's mean, ordered by unit then KPI."""
    out = []
    for unit, kpi in sorted(current):
        vals = current[(unit, kpi)]
        mean = float(np.mean(vals))
        before = previous.get((unit, kpi))
        change = None if not before else round(mean - float(np.mean(before)), 4)
        out.append(Cell(unit, kpi, round(mean, 4), len(vals), change))
    return out
