"""The demo's planted high-performer pattern (issue 21): a quarter of the credit officers make ~3 verified
visits a working day and win clearly more repeat purchases; the rest make ~1.5. Planted into the history
months' KPI values (constant per rep, so nobody's trend changes), then recovered by the scoring service's
performer profile of the last history month and checked against the plan, with the coaching-gap signals
the profile raises for everyone else."""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from covenant.demo.check import Check, compare
from covenant.demo.generator import World
from covenant.demo.scoring import MetricRow
from covenant.scoring.v1 import scoring_pb2 as spb

ROLE = "credit_officer"
OUTCOME = "repeat_purchase_rate"
DRIVER = "verified_visits"
WORKING_DAYS = 22  # per month: visits per day = monthly verified visits / 22
TOP_PER_DAY, REST_PER_DAY = 3.0, 1.5
OUTCOME_LIFT = 1.5  # high performers' repeat-purchase rate over what their level gives
TOLERANCE = 0.1  # recovered medians within 10% of the plan


def top_quartile_size(n: int) -> int:
    """How many of ``n`` distinct outcomes reach the 75th percentile (linear interpolation)."""
    return n - math.ceil(0.75 * (n - 1)) if n else 0


def planted_high_performers(world: World, attrition: set[str]) -> set[str]:
    """The credit officers with the high-performer habit: exactly the top quartile's size, seeded, never one
    of the reps planted with falling results (their outcome falls out of the top)."""
    staff = sorted(e.id for e in world.employees if e.role == ROLE)
    pool = [e for e in staff if e not in attrition]
    rnd = random.Random(world.seed * 6151 + 21)
    return set(rnd.sample(pool, k=min(len(pool), top_quartile_size(len(staff)))))


def plant_pattern(world: World, rows: Sequence[MetricRow], period: str, high: set[str]) -> list[MetricRow]:
    """``rows`` with the credit officers' history visits set to the habit (~3 or ~1.5 a day, constant per
    rep) and the high performers' repeat-purchase rate lifted. The demo month keeps its event-fed visits."""
    rnd = random.Random(world.seed * 7727 + 21)
    per_day = {
        e.id: (TOP_PER_DAY if e.id in high else REST_PER_DAY) * rnd.uniform(0.95, 1.05)
        for e in sorted(world.employees, key=lambda x: x.id)
        if e.role == ROLE
    }
    out = []
    for r in rows:
        if r.employee_id in per_day and r.period != period and r.metric == DRIVER:
            r = replace(r, value=f"{per_day[r.employee_id] * WORKING_DAYS:.1f}")
        elif r.employee_id in high and r.metric == OUTCOME:
            r = replace(r, value=f"{float(r.value) * OUTCOME_LIFT:.4f}")
        out.append(r)
    return out


def _raw(score: spb.EmployeeScore, kpi: str) -> float | None:
    for c in score.contributions:
        if c.kpi == kpi and c.raw_value:
            return float(c.raw_value)
    return None


def _near(value: float, planned: float) -> bool:
    return abs(value - planned) <= TOLERANCE * planned


def profile_checks(
    profile: spb.PerformerProfile,
    scores: Sequence[spb.EmployeeScore],
    signals: Sequence[spb.Signal],
    high: set[str],
) -> list[Check]:
    """The profile's top quartile is the planted high performers; its visit medians are the plan's; every
    other credit officer got a coaching-gap signal naming visits."""
    officers = [s for s in scores if s.role == ROLE]
    top = {s.employee_id for s in officers if (_raw(s, OUTCOME) or 0.0) >= profile.outcome_threshold}
    visits = next((k for k in profile.kpis if k.kpi == DRIVER), None)
    medians = set()
    if visits is not None:
        if _near(visits.top_median / WORKING_DAYS, TOP_PER_DAY):
            medians.add("top")
        if _near(visits.rest_median / WORKING_DAYS, REST_PER_DAY):
            medians.add("rest")
    coached = {s.employee_id for s in signals if s.kind == "coaching_gap" and "verified visits" in s.detail}
    return [
        compare("high performers (profile top quartile)", high, top),
        compare("profile visits/day medians (top, rest)", {"top", "rest"}, medians),
        compare("coaching-gap signals (visits)", {s.employee_id for s in officers} - high, coached),
    ]


def show_profile(c: Any, world: World, month: str, high: set[str], scores: Sequence[Any]) -> list[Check]:
    """Refresh the credit officers' profile for ``month``, print it against the plan, and check it."""
    profile = c.scoring.RefreshPerformerProfile(
        spb.RefreshPerformerProfileRequest(role=ROLE, period=month, outcome_kpi=OUTCOME, org_unit="/hq")
    )
    signals = c.scoring.ListSignals(spb.ListSignalsRequest(period=month, org_unit="/hq")).signals
    print(
        f"\nHigh-performer profile of {ROLE}s in {month} (top quartile on {OUTCOME} >= "
        f"{profile.outcome_threshold:.3f}: {profile.top_count} of {profile.top_count + profile.rest_count}):"
    )
    for k in profile.kpis:
        plan = ""
        if k.kpi == DRIVER:
            plan = (
                f"  = {k.top_median / WORKING_DAYS:.2f} vs {k.rest_median / WORKING_DAYS:.2f} a day "
                f"(planted {TOP_PER_DAY} vs {REST_PER_DAY})"
            )
        print(
            f"  {k.label:<28} top {k.top_median:8.3f} (IQR {k.top_iqr:.3f})  rest {k.rest_median:8.3f} "
            f"(IQR {k.rest_iqr:.3f})  Cliff's delta {k.cliffs_delta:+.2f}  d {k.cohens_d:+.2f}{plan}"
        )
    for s in [x for x in signals if x.kind == "coaching_gap"][:2]:
        print(f"  ! coaching gap: {s.employee_id} to {s.audience}: {s.detail}")
    checks = profile_checks(profile, scores, signals, high)
    for check in checks:
        print(check.line())
    return checks
