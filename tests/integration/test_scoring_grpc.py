"""Scoring through real gRPC and a real database: exact explained scores, versioned templates, signals,
calibration, scopes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from sqlalchemy import text

from covenant.grpc.testing import RunningService, bearer, running_service
from covenant.scoring.v1 import scoring_pb2 as pb
from covenant.scoring.v1 import scoring_pb2_grpc
from tests.support.directory import employee, publish_employees

HR = {"scoring.*.*": "all"}
TEAM = "/hq/futian/team-01"


@pytest.fixture
def svc(db_url: str, tmp_path: Path) -> Iterator[RunningService]:
    with running_service("scoring", db_url=db_url, data_dir=tmp_path) as s:
        people = [employee(f"E{i}", TEAM, "collector", manager_id="L1") for i in range(1, 10)]
        publish_employees(s, people)  # as identity does
        yield s


def stub(svc: RunningService) -> scoring_pb2_grpc.ScoringServiceStub:
    return scoring_pb2_grpc.ScoringServiceStub(svc.channel)


def record(svc: RunningService, employee: str, period: str, **metrics: str) -> None:
    values = [
        pb.MetricValue(
            employee_id=employee,
            org_unit=TEAM,
            role="collector",
            period=period,
            metric=m,
            value=v,
            mode="set",
            source="collections-system",
        )
        for m, v in metrics.items()
    ]
    stub(svc).RecordMetrics(
        pb.RecordMetricsRequest(values=values), metadata=bearer(svc.tokens.user("HR1", "/hq", HR))
    )


def compute(svc: RunningService, period: str) -> pb.ComputeScoresResponse:
    return stub(svc).ComputeScores(
        pb.ComputeScoresRequest(period=period, org_unit="/hq"),
        metadata=bearer(svc.tokens.user("HR1", "/hq", HR)),
    )


def get(svc: RunningService, employee: str, period: str, token: str | None = None) -> pb.EmployeeScore:
    md = bearer(token or svc.tokens.user("HR1", "/hq", HR))
    return stub(svc).GetScore(pb.GetScoreRequest(employee_id=employee, period=period), metadata=md)


def test_collector_template_scores_exactly_with_explanation(svc: RunningService) -> None:
    record(svc, "E1", "2026-10", recovery_rate="0.85", complaint_rate="0.04", compliance="90")
    record(svc, "E2", "2026-10", recovery_rate="0.95", complaint_rate="0.01", compliance="100")
    assert compute(svc, "2026-10").scored == 2
    s = get(svc, "E1", "2026-10")
    assert s.score == "78.00" and s.scorecard_id == "collector" and s.scorecard_version == 1
    assert s.contributions[0].explanation == "recovery rate 85% → 34.0 of 40"
    assert [c.points for c in s.contributions] == ["34.00", "12.50", "31.50"]
    assert s.contributions[0].sources == ["collections-system"]
    assert (s.rank_in_team, s.team_size) == (2, 2) and get(svc, "E2", "2026-10").rank_in_team == 1


def test_new_template_version_leaves_old_periods_unchanged(svc: RunningService) -> None:
    record(svc, "E1", "2026-10", recovery_rate="0.85", complaint_rate="0.04", compliance="90")
    record(svc, "E1", "2026-11", recovery_rate="0.85", complaint_rate="0.04", compliance="90")
    md = bearer(svc.tokens.user("HR1", "/hq", HR))
    current = stub(svc).ListScorecards(pb.ListScorecardsRequest(role="collector"), metadata=md).scorecards[0]
    new = pb.Scorecard()
    new.CopyFrom(current)
    new.effective_from = "2026-11-01"
    new.kpis[0].weight, new.kpis[2].weight = "50", "25"  # recovery 50%, compliance 25%
    created = stub(svc).CreateScorecardVersion(pb.CreateScorecardVersionRequest(scorecard=new), metadata=md)
    assert created.version == 2
    compute(svc, "2026-10")
    compute(svc, "2026-11")
    old, cur = get(svc, "E1", "2026-10"), get(svc, "E1", "2026-11")
    assert (old.scorecard_version, old.score) == (1, "78.00")
    assert (cur.scorecard_version, cur.score) == (2, "77.50")  # 42.5 + 12.5 + 22.5


def test_weights_not_summing_to_100_are_rejected(svc: RunningService) -> None:
    md = bearer(svc.tokens.user("HR1", "/hq", HR))
    bad = pb.Scorecard(
        id="x",
        role="collector",
        effective_from="2026-01-01",
        kpis=[pb.Kpi(id="a", weight="60", target="1"), pb.Kpi(id="b", weight="30", target="1")],
    )
    with pytest.raises(grpc.RpcError) as err:
        stub(svc).CreateScorecardVersion(pb.CreateScorecardVersionRequest(scorecard=bad), metadata=md)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "weight" in err.value.details()


def test_three_falling_periods_raise_one_attrition_risk_event(svc: RunningService) -> None:
    for period, rate in (("2026-07", "0.95"), ("2026-08", "0.90"), ("2026-09", "0.85"), ("2026-10", "0.80")):
        record(svc, "E7", period, recovery_rate=rate, complaint_rate="0.02", compliance="100")
        compute(svc, period)
    compute(svc, "2026-10")  # scoring the same period again must not raise the signal twice
    md = bearer(svc.tokens.user("HR1", "/hq", HR))
    signals = stub(svc).ListSignals(pb.ListSignalsRequest(period="2026-10"), metadata=md).signals
    assert [(s.employee_id, s.kind, s.rule_id) for s in signals] == [
        ("E7", "attrition_risk", "attrition-risk")
    ]
    db = svc.host.ctx.db  # type: ignore[union-attr]
    with db.session() as session:
        n = session.execute(
            text("SELECT COUNT(DISTINCT event_id) FROM outbox WHERE event_type = 'scoring.attrition_risk'")
        ).scalar()
    assert n == 1


def test_calibration_without_reason_is_rejected_and_with_reason_is_shown_beside(svc: RunningService) -> None:
    record(svc, "E1", "2026-10", recovery_rate="0.85", complaint_rate="0.04", compliance="90")
    compute(svc, "2026-10")
    lead = bearer(
        svc.tokens.user("L1", TEAM, {"scoring.scores.calibrate": "team", "scoring.scores.read": "team"})
    )
    with pytest.raises(grpc.RpcError) as err:
        stub(svc).CalibrateScore(
            pb.CalibrateScoreRequest(employee_id="E1", period="2026-10", adjustment="3", reason=" "),
            metadata=lead,
        )
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "reason" in err.value.details()
    s = stub(svc).CalibrateScore(
        pb.CalibrateScoreRequest(
            employee_id="E1", period="2026-10", adjustment="3", reason="covered a sick colleague"
        ),
        metadata=lead,
    )
    assert (s.score, s.calibrated_score) == ("78.00", "81.00") and s.calibrations[
        0
    ].calibrated_by == "employees/L1"


def test_a_rep_cannot_read_a_peers_score(svc: RunningService) -> None:
    record(svc, "E1", "2026-10", recovery_rate="0.85", complaint_rate="0.04", compliance="90")
    record(svc, "E2", "2026-10", recovery_rate="0.95", complaint_rate="0.01", compliance="100")
    compute(svc, "2026-10")
    rep = svc.tokens.user("E1", TEAM, {"scoring.scores.read": "self"})
    assert get(svc, "E1", "2026-10", rep).score == "78.00"
    with pytest.raises(grpc.RpcError) as err:
        get(svc, "E2", "2026-10", rep)
    assert (
        err.value.code() == grpc.StatusCode.PERMISSION_DENIED and "scoring.scores.read" in err.value.details()
    )


def test_scores_page_by_keyset_in_rank_order(svc: RunningService) -> None:
    for i, rate in enumerate(("0.70", "0.95", "0.80")):
        record(svc, f"E{i + 1}", "2026-10", recovery_rate=rate, complaint_rate="0.02", compliance="95")
    assert compute(svc, "2026-10").scored == 3
    md = bearer(svc.tokens.user("HR1", "/hq", HR))
    seen, token, first = [], "", ""
    while True:
        page = stub(svc).ListScores(
            pb.ListScoresRequest(period="2026-10", page_size=2, page_token=token), metadata=md
        )
        seen += [(s.employee_id, s.rank_in_team) for s in page.scores]
        token = page.next_page_token
        first = first or token
        if not token:
            break
    assert seen == [("E2", 1), ("E3", 2), ("E1", 3)]
    with pytest.raises(grpc.RpcError) as err:  # a token of another period's list
        stub(svc).ListScores(pb.ListScoresRequest(period="2026-11", page_token=token or "x"), metadata=md)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "page_token" in (
        err.value.details() or ""
    )


def test_a_retried_record_metrics_adds_once_and_a_reused_request_id_is_refused(svc: RunningService) -> None:
    md = bearer(svc.tokens.user("HR1", "/hq", HR))

    def add(value: str) -> pb.RecordMetricsResponse:
        v = pb.MetricValue(
            employee_id="E1",
            org_unit=TEAM,
            role="collector",
            period="2026-10",
            metric="calls",
            value=value,
            mode="add",
            source="dialer",
        )
        return stub(svc).RecordMetrics(pb.RecordMetricsRequest(values=[v], request_id="batch-1"), metadata=md)

    assert add("5").recorded == 1
    assert add("5").recorded == 1  # the retry replays the recorded response
    with svc.host.ctx.db.session() as s:  # type: ignore[union-attr]
        assert s.execute(text("SELECT COUNT(*) FROM metric_values WHERE metric = 'calls'")).scalar() == 1
    with pytest.raises(grpc.RpcError) as err:
        add("6")
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "request_id" in err.value.details()
