"""The demo's scoring world against a real scoring service (issue 16): KPI history with planted attrition
risk, scores per rep with explanations and team ranks, checked both ways against the plan (the full demo
runs on the default ports in tests/e2e/test_demo.py)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from covenant.demo.cli import all_scores, conversion_drivers, explain, record_score_history
from covenant.demo.generator import generate
from covenant.demo.scoring import (
    CONVERSION_PER_VISIT,
    driver_check,
    periods_before,
    planted_attrition,
    scoring_checks,
)
from covenant.grpc.testing import running_service
from covenant.scoring.v1 import scoring_pb2 as spb
from covenant.scoring.v1 import scoring_pb2_grpc


@pytest.mark.parametrize("seed", [7, 11])
def test_scores_team_ranks_and_the_planted_attrition_risk_match_the_plan(
    db_url: str, tmp_path: Path, seed: int
) -> None:
    world = generate(seed, staff=60, places=50, days=1)
    period = "2026-11"
    planted = planted_attrition(world)
    assert len(planted) >= 2
    with running_service(
        "scoring", db_url=db_url, data_dir=tmp_path, env={"COVENANT_AUTH_MODE": "dev"}
    ) as svc:
        c = SimpleNamespace(scoring=scoring_pb2_grpc.ScoringServiceStub(svc.channel))
        assert record_score_history(c, world, period, planted) > 0  # type: ignore[arg-type]
        for month in [*periods_before(period, 3), period]:
            c.scoring.ComputeScores(spb.ComputeScoresRequest(period=month, org_unit="/hq"))
        scores = all_scores(c, period)  # type: ignore[arg-type]
        signals = c.scoring.ListSignals(spb.ListSignalsRequest(period=period, org_unit="/hq")).signals
        analysis = conversion_drivers(c, period)  # type: ignore[arg-type]
    visits = next(x for x in analysis.coefficients if x.kpi == "verified_visits")
    assert visits.ci_low <= CONVERSION_PER_VISIT <= visits.ci_high, visits
    assert driver_check(visits.estimate, visits.ci_low, visits.ci_high).ok
    assert not driver_check(0.01, 0.009, 0.011).ok  # an interval without the planted slope is a miss
    attrition = {s.employee_id for s in signals if s.kind == "attrition_risk"}
    checks = scoring_checks(
        world, planted, {s.employee_id: (s.org_unit, s.rank_in_team, s.team_size) for s in scores}, attrition
    )
    assert all(c.ok for c in checks), [c.line() for c in checks]
    assert attrition == planted
    lines = explain(scores[0])
    assert "rank" in lines[0] and len(lines) == 1 + len(scores[0].contributions) >= 4


def test_the_checks_fail_when_scoring_finds_something_else() -> None:
    world = generate(7, staff=60, places=50, days=1)
    planted = planted_attrition(world)
    staff = [e for e in world.employees if e.role != "team_lead"]
    scored = {e.id: (e.org_unit, 1, 1) for e in staff}  # every rank 1 of 1: teams are not ranked 1..n
    other = {staff[0].id} - planted or {staff[1].id}
    checks = {c.label: c for c in scoring_checks(world, planted, scored, other)}
    assert checks["scores (employees scored)"].ok
    assert not checks["team ranks (teams ranked 1..n)"].ok
    assert not checks["attrition-risk signals (employees)"].ok
    assert checks["attrition-risk signals (employees)"].unexpected == 1
    missing = scoring_checks(world, planted, {}, planted)
    assert not missing[0].ok and missing[0].found == 0


def test_the_planted_high_performer_profile_is_recovered(sqlite_url: str, tmp_path: Path) -> None:
    from covenant.demo.profiles import planted_high_performers, profile_checks, show_profile

    world = generate(7, staff=120, places=50, days=1)
    period = "2026-11"
    planted = planted_attrition(world)
    high = planted_high_performers(world, planted)
    assert len(high) >= 2
    with running_service(
        "scoring", db_url=sqlite_url, data_dir=tmp_path, env={"COVENANT_AUTH_MODE": "dev"}
    ) as svc:
        c = SimpleNamespace(scoring=scoring_pb2_grpc.ScoringServiceStub(svc.channel))
        record_score_history(c, world, period, planted)  # type: ignore[arg-type]
        for month in [*periods_before(period, 3), period]:
            c.scoring.ComputeScores(spb.ComputeScoresRequest(period=month, org_unit="/hq"))
        month = periods_before(period, 1)[0]
        checks = show_profile(c, world, month, high, all_scores(c, month))  # type: ignore[arg-type]
        assert [ch.label for ch in checks if not ch.ok] == []
        # the checks can fail: a plan with other high performers does not match
        profile = c.scoring.GetPerformerProfile(
            spb.GetPerformerProfileRequest(
                role="credit_officer", period=month, outcome_kpi="repeat_purchase_rate", org_unit="/hq"
            )
        )
        signals = c.scoring.ListSignals(spb.ListSignalsRequest(period=month, org_unit="/hq")).signals
        wrong = profile_checks(profile, all_scores(c, month), signals, set(sorted(high)[1:]))  # type: ignore[arg-type]
        assert not wrong[0].ok and not wrong[2].ok
