"""The scoring use cases (scorecard versions, metric intake, period scoring with ranks and signals,
calibration, scoped reads) over the in-memory store: the same service logic as
tests/integration/test_scoring_grpc.py, with no database and no gRPC."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from covenant.auth import Principal, parse_permissions
from covenant.db.outbox import new_event
from covenant.errors import InvalidArgument, NotFound, PermissionDenied
from covenant.rules.runtime import RuleRuntime
from services.scoring.actions import VOCABULARY
from services.scoring.app import default_scorecards
from services.scoring.intake import MetricInput
from services.scoring.service import ScoringService
from tests.support.fakes.scoring import FakeScoringStore
from tests.support.rules import shipped_runtime

TEAM = "/hq/futian/team-01"
NOW = datetime(2026, 11, 5, 2, tzinfo=UTC)
HR = Principal(
    "employees/HR1", employee_id="HR1", org_unit="/hq", permissions=parse_permissions({"scoring.*.*": "all"})
)
LEAD = Principal(
    "employees/L1",
    employee_id="L1",
    org_unit=TEAM,
    permissions=parse_permissions({"scoring.scores.calibrate": "team", "scoring.scores.read": "team"}),
)


@pytest.fixture(scope="module")
def rules() -> RuleRuntime:
    return shipped_runtime("scoring", VOCABULARY, "metrics-and-signals")


@pytest.fixture
def store() -> FakeScoringStore:
    return FakeScoringStore()


@pytest.fixture
def svc(rules: RuleRuntime, store: FakeScoringStore) -> ScoringService:
    service = ScoringService(None, rules, clock=lambda: NOW, stores=store.unit)  # type: ignore[arg-type]
    assert service.scorecards.seed(default_scorecards()) > 0
    return service


def record(svc: ScoringService, employee: str, period: str, request_id: str = "", **metrics: str) -> int:
    values = [
        MetricInput(employee, TEAM, "collector", period, m, Decimal(v), "set", "collections-system")
        for m, v in metrics.items()
    ]
    return svc.metrics.record(HR, values, request_id)


def test_collector_template_scores_exactly_with_explanation(svc: ScoringService) -> None:
    record(svc, "E1", "2026-10", recovery_rate="0.85", complaint_rate="0.04", compliance="90")
    record(svc, "E2", "2026-10", recovery_rate="0.95", complaint_rate="0.01", compliance="100")
    assert svc.periods.compute(HR, "2026-10", "/hq") == (2, 0)
    s, calibrations = svc.scores.get(HR, "E1", "2026-10")
    assert (s.score, s.scorecard_id, s.scorecard_version, calibrations) == ("78.00", "collector", 1, [])
    assert '"explanation": "recovery rate 85% \\u2192 34.0 of 40"' in s.contributions_json
    assert '"sources": ["collections-system"]' in s.contributions_json
    assert (s.rank_in_team, s.team_size) == (2, 2) and svc.scores.get(HR, "E2", "2026-10")[
        0
    ].rank_in_team == 1


def test_new_scorecard_version_leaves_old_periods_unchanged(
    svc: ScoringService, store: FakeScoringStore
) -> None:
    record(svc, "E1", "2026-10", recovery_rate="0.85", complaint_rate="0.04", compliance="90")
    record(svc, "E1", "2026-11", recovery_rate="0.85", complaint_rate="0.04", compliance="90")
    (current, defaults), *_ = svc.scorecards.list(HR, "collector")
    weights = {current.kpis[0].id: Decimal(50), current.kpis[2].id: Decimal(25)}
    new = dataclasses.replace(
        current,
        effective_from=date(2026, 11, 1),
        kpis=tuple(dataclasses.replace(k, weight=weights.get(k.id, k.weight)) for k in current.kpis),
    )
    assert svc.scorecards.create(HR, new, defaults).version == 2
    assert store.state.audit_log[-1]["subject"] == "scorecards/collector/versions/2"
    svc.periods.compute(HR, "2026-10", "/hq")
    svc.periods.compute(HR, "2026-11", "/hq")
    old, cur = svc.scores.get(HR, "E1", "2026-10")[0], svc.scores.get(HR, "E1", "2026-11")[0]
    assert (old.scorecard_version, old.score) == (1, "78.00")
    assert (cur.scorecard_version, cur.score) == (2, "77.50")  # 42.5 + 12.5 + 22.5


def test_three_falling_periods_raise_one_attrition_risk_event(
    svc: ScoringService, store: FakeScoringStore
) -> None:
    for period, rate in (("2026-07", "0.95"), ("2026-08", "0.90"), ("2026-09", "0.85"), ("2026-10", "0.80")):
        record(svc, "E7", period, recovery_rate=rate, complaint_rate="0.02", compliance="100")
        svc.periods.compute(HR, period, "/hq")
    svc.periods.compute(HR, "2026-10", "/hq")  # scoring the same period again must not raise the signal twice
    signals = svc.scores.signals(HR, "2026-10", "")
    assert [(s.employee_id, s.kind, s.rule_id) for s in signals] == [
        ("E7", "attrition_risk", "attrition-risk")
    ]
    assert [e.type for e in store.state.events] == ["scoring.attrition_risk"]
    assert svc.scores.get(HR, "E7", "2026-10")[0].change == "-2.00"


def test_calibration_needs_a_reason_is_shown_beside_and_never_ones_own(
    svc: ScoringService, store: FakeScoringStore
) -> None:
    record(svc, "E1", "2026-10", recovery_rate="0.85", complaint_rate="0.04", compliance="90")
    svc.periods.compute(HR, "2026-10", "/hq")
    with pytest.raises(InvalidArgument, match="reason"):
        svc.scores.calibrate(LEAD, "E1", "2026-10", "3", " ", "")
    row, cals = svc.scores.calibrate(LEAD, "E1", "2026-10", "3", "covered a sick colleague", "c1")
    _, cals2 = svc.scores.calibrate(LEAD, "E1", "2026-10", "3", "covered a sick colleague", "c1")
    assert row.score == "78.00" and [(c.adjustment, c.calibrated_by) for c in cals] == [("3", "employees/L1")]
    assert len(cals2) == 1 and [a["action"] for a in store.state.audit_log][-1] == "score.calibrated"
    self_lead = dataclasses.replace(LEAD, subject="employees/E1", employee_id="E1")
    with pytest.raises(PermissionDenied):
        svc.scores.calibrate(self_lead, "E1", "2026-10", "3", "mine", "")
    with pytest.raises(NotFound):
        svc.scores.calibrate(LEAD, "E1", "2026-09", "3", "no score", "")


def test_a_rep_reads_only_their_own_score_and_pages_follow_rank(svc: ScoringService) -> None:
    for i, rate in enumerate(("0.70", "0.95", "0.80")):
        record(svc, f"E{i + 1}", "2026-10", recovery_rate=rate, complaint_rate="0.02", compliance="95")
    assert svc.periods.compute(HR, "2026-10", "/hq")[0] == 3
    rep = Principal(
        "employees/E1",
        employee_id="E1",
        org_unit=TEAM,
        permissions=parse_permissions({"scoring.scores.read": "self"}),
    )
    assert svc.scores.get(rep, "E1", "2026-10")[0].employee_id == "E1"
    with pytest.raises(PermissionDenied, match="scoring.scores.read"):
        svc.scores.get(rep, "E2", "2026-10")
    seen, after = [], None
    while rows := svc.scores.list(HR, "2026-10", "", after, 2):
        assert len(rows) <= 2
        seen += [(r.employee_id, r.rank_in_team) for r, _ in rows]
        after = (rows[-1][0].org_unit, rows[-1][0].rank_in_team, rows[-1][0].employee_id)
    assert seen == [("E2", 1), ("E3", 2), ("E1", 3)]
    assert [r.employee_id for r, _ in svc.scores.list(rep, "2026-10", "", None, 10)] == ["E1"]


def test_a_retried_record_replays_and_a_reused_request_id_is_refused(
    svc: ScoringService, store: FakeScoringStore
) -> None:
    assert record(svc, "E1", "2026-10", "batch-1", calls="5") == 1
    assert record(svc, "E1", "2026-10", "batch-1", calls="5") == 1
    assert len(store.state.metric_values) == 1
    with pytest.raises(InvalidArgument, match="request_id"):
        record(svc, "E1", "2026-10", "batch-1", calls="6")


def test_events_become_metric_values_as_the_pack_says(svc: ScoringService, store: FakeScoringStore) -> None:
    at = datetime(2026, 10, 31, 20, tzinfo=UTC)  # 1 November in Shanghai
    events = [
        new_event(
            "attendance.visit_verified",
            source="attendance",
            subject="employees/E1",
            org_unit=TEAM,
            occurred_at=at,
        ),
        new_event(
            "compliance.case_opened",
            source="compliance",
            org_unit=TEAM,
            data={"employee_id": "E1"},
            occurred_at=at,
        ),
        new_event(
            "attendance.visit_verified",
            source="attendance",
            subject="employees/",
            org_unit=TEAM,
            occurred_at=at,
        ),
    ]
    with store.unit() as unit:
        assert svc.metrics.of_events(unit, events) == 3
    assert [
        (m["period"], m["metric"], m["value"], m["mode"], m["rule_id"]) for m in store.state.metric_values
    ] == [
        ("2026-11", "verified_visits", "1", "add", "verified-visit"),
        ("2026-11", "compliance", "-20", "add", "compliance-case"),
        ("2026-11", "compliance_cases", "1", "add", "compliance-case"),
    ]
    assert store.state.profiles["E1"].org_unit == TEAM


def test_a_unit_that_fails_leaves_no_trace(
    svc: ScoringService, store: FakeScoringStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(InvalidArgument):
        svc.metrics.record(
            HR, [MetricInput("E1", TEAM, "collector", "2026-10", "x", Decimal(1), "sometimes", "s")], ""
        )
    with pytest.raises(InvalidArgument, match="org_unit"):
        svc.periods.compute(HR, "2026-10", "")
    assert store.state.metric_values == [] and store.state.scores == {}

    def fail(*_: object) -> None:  # fails inside the unit, after the request id and values were written
        raise RuntimeError("disk full")

    monkeypatch.setattr(store, "upsert_profiles", fail)
    with pytest.raises(RuntimeError):
        record(svc, "E1", "2026-10", request_id="r-fail", calls="3")
    assert store.state.metric_values == [] and store.state.requests == {}
