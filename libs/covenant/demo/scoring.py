"""The scoring part of the demo world: KPI history for the three months before the demo's month, with a
few reps whose results fall month after month (planted attrition risk), and the checks of what scoring
found against that plan. Pure functions; ``covenant.demo.cli`` records the values and reads the scores
through the public gRPC API.

Values are per scorecard KPI of ``services/scoring/default_scorecards.yaml``. A rep's "level" (1.0 = on
target) sets every KPI the demo records; KPIs fed by events (verified visits, points, compliance) get
their demo month from the events the demo sends. Unplanted reps keep one level through the history, so
whatever the cohort does, their own scores never fall three months in a row; planted reps fall from 1.0.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from covenant.demo.check import Check, compare
from covenant.demo.generator import World

# role -> KPI -> (value at level 1.0, True when lower is better)
KPIS: dict[str, dict[str, tuple[float, bool]]] = {
    "collector": {"recovery_rate": (1.0, False), "complaint_rate": (0.02, True)},
    "credit_officer": {
        "verified_visits": (22, False),
        "approval_quality": (1.0, False),
        "overdue_rate": (0.03, True),
        "repeat_purchase_rate": (0.6, False),
    },
    "wealth_adviser": {
        "aum_growth": (0.12, False),
        "verified_visits": (18, False),
        "suitability_exceptions": (2, True),
        "points": (400, False),
    },
}
FROM_EVENTS = {"verified_visits", "points"}  # the demo month gets these from the events it sends
PLANTED_LEVELS = (1.0, 0.75, 0.5, 0.2)  # three months of history, then the demo month
HISTORY = 3
# A planted driver: a credit officer's conversion rate in the history months rises with their verified
# visits, conversion = 0.05 + 0.004 × visits + noise (sd 0.01); the demo's driver analysis recovers it.
CONVERSION_BASE, CONVERSION_PER_VISIT, CONVERSION_NOISE = 0.05, 0.004, 0.01


@dataclass(frozen=True)
class MetricRow:
    employee_id: str
    org_unit: str
    role: str
    period: str
    metric: str
    value: str


def periods_before(period: str, n: int) -> list[str]:
    """The ``n`` months before ``period`` ("YYYY-MM"), oldest first."""
    year, month = map(int, period.split("-"))
    out = []
    for _ in range(n):
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
        out.append(f"{year:04d}-{month:02d}")
    return out[::-1]


def planted_attrition(world: World, share: float = 0.03) -> set[str]:
    """The reps whose results fall three months in a row (at least two, seeded)."""
    staff = sorted(e.id for e in world.employees if e.role in KPIS)
    rnd = random.Random(world.seed * 7919 + 16)
    return set(rnd.sample(staff, k=min(len(staff), max(2, round(len(staff) * share)))))


def _value(base: float, lower_is_better: bool, level: float) -> str:
    value = base * (2 - level) if lower_is_better else base * level
    return f"{value:.4f}"


def metric_rows(world: World, period: str, planted: set[str]) -> list[MetricRow]:
    """Every value the demo records: the history months and, for KPIs not fed by events, the demo month."""
    rnd = random.Random(world.seed * 104729 + 16)
    months = [*periods_before(period, HISTORY), period]
    rows = []
    for e in sorted(world.employees, key=lambda x: x.id):
        kpis = KPIS.get(e.role)
        if not kpis:
            continue
        steady = rnd.uniform(0.75, 1.0)  # unrounded: no two reps tie
        levels = PLANTED_LEVELS if e.id in planted else (steady,) * (HISTORY + 1)
        for month, level in zip(months, levels, strict=True):
            for kpi, (base, lower) in kpis.items():
                if month == period and kpi in FROM_EVENTS:
                    continue
                rows.append(MetricRow(e.id, e.org_unit, e.role, month, kpi, _value(base, lower, level)))
    return rows


def conversion_rows(world: World, period: str, rows: Iterable[MetricRow]) -> list[MetricRow]:
    """The planted driver: each credit officer's conversion rate of each history month, from that month's
    verified visits in ``rows`` (the values the demo records); not a scorecard KPI, so it changes no score."""
    rnd = random.Random(world.seed * 15485863 + 21)
    return [
        MetricRow(
            r.employee_id,
            r.org_unit,
            r.role,
            r.period,
            "conversion_rate",
            f"{CONVERSION_BASE + CONVERSION_PER_VISIT * float(r.value) + rnd.gauss(0, CONVERSION_NOISE):.5f}",
        )
        for r in rows
        if r.role == "credit_officer" and r.metric == "verified_visits" and r.period != period
    ]


def driver_check(estimate: float, ci_low: float, ci_high: float) -> Check:
    """The driver analysis found the planted conversion per verified visit when its 95% interval holds it."""
    found = ci_low <= CONVERSION_PER_VISIT <= ci_high
    miss = f"-{CONVERSION_PER_VISIT} not in [{ci_low:.4f}, {ci_high:.4f}] (estimate {estimate:.4f})"
    return Check("driver: conversion per verified visit", 1, int(found), 0, () if found else (miss,))


def scoring_checks(
    world: World,
    planted: set[str],
    scored: Mapping[str, tuple[str, int, int]],
    attrition: Iterable[str],
) -> list[Check]:
    """Everyone with a scorecard role scored; every team ranked 1..n; attrition risk for exactly the planted
    reps. ``scored`` maps employee -> (team, rank in team, team size)."""
    staff = {e.id for e in world.employees if e.role in KPIS}
    teams: dict[str, list[tuple[int, int]]] = {}
    for team, rank_in_team, size in scored.values():
        teams.setdefault(team, []).append((rank_in_team, size))
    ranked = {t for t, rs in teams.items() if sorted(r for r, _ in rs) == list(range(1, len(rs) + 1))}
    ranked &= {t for t, rs in teams.items() if all(size == len(rs) for _, size in rs)}
    expected_teams = {e.org_unit for e in world.employees if e.role in KPIS}
    return [
        compare("scores (employees scored)", staff, scored),
        compare("team ranks (teams ranked 1..n)", expected_teams, ranked),
        compare("attrition-risk signals (employees)", planted, attrition),
    ]
