"""Driver analysis and the draft scorecard it makes, through real gRPC on SQLite and PostgreSQL: planted
coefficients are recovered within their 95% confidence intervals (fixed seed: such an
interval misses one draw in twenty), warnings fire on tiny and collinear samples,
and a draft changes nothing until a second person approves it and it is activated."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import grpc
import numpy as np
import pytest

from covenant.grpc.testing import RunningService, bearer, running_service
from covenant.scoring.v1 import scoring_pb2 as pb
from covenant.scoring.v1 import scoring_pb2_grpc
from tests.support.directory import employee, publish_employees

HR = {"scoring.*.*": "all"}
ROLE = "credit_officer"
PERIODS = ("2026-07", "2026-08", "2026-09")
VISITS, OVERDUE = 0.004, -0.5  # planted: conversion per verified visit, per unit of overdue rate


@pytest.fixture
def svc(db_url: str, tmp_path: Path) -> Iterator[RunningService]:
    with running_service("scoring", db_url=db_url, data_dir=tmp_path) as s:
        people = [employee(f"C{i:03d}", f"/hq/futian/team-0{i % 2 + 1}", ROLE) for i in range(100)]
        people += [employee(f"F{i:02d}", "/hq/futian/team-01", ROLE) for i in range(20)]
        publish_employees(s, people)  # as identity does
        yield s


def stub(svc: RunningService) -> scoring_pb2_grpc.ScoringServiceStub:
    return scoring_pb2_grpc.ScoringServiceStub(svc.channel)


def md(svc: RunningService, who: str = "HR1", grants: dict[str, str] = HR) -> tuple:
    return bearer(svc.tokens.user(who, "/hq", grants))


def plant(svc: RunningService, people: int, *, collinear: bool = False, seed: int = 1) -> None:
    """``people`` credit officers in two teams over three periods; conversion = 0.05 + 0.004·visits
    − 0.5·overdue + noise. ``collinear``: approval quality is a near copy of visits."""
    rng = np.random.default_rng(seed)
    values = []
    for i in range(people):
        team = f"/hq/futian/team-0{i % 2 + 1}"
        for period in PERIODS:
            visits = rng.uniform(5, 30)
            overdue = rng.uniform(0.0, 0.08)
            quality = visits / 30 + rng.normal(0, 0.001) if collinear else rng.uniform(0.5, 1.0)
            conversion = 0.05 + VISITS * visits + OVERDUE * overdue + rng.normal(0, 0.01)
            metrics = {
                "verified_visits": visits,
                "overdue_rate": overdue,
                "approval_quality": quality,
                "repeat_purchase_rate": rng.uniform(0, 1),
                "conversion_rate": conversion,
            }
            values += [
                pb.MetricValue(
                    employee_id=f"C{i:03d}",
                    org_unit=team,
                    role=ROLE,
                    period=period,
                    metric=m,
                    value=f"{v:.6f}",
                    mode="set",
                    source="crm",
                )
                for m, v in metrics.items()
            ]
    stub(svc).RecordMetrics(pb.RecordMetricsRequest(values=values), metadata=md(svc))


def analyse(svc: RunningService, *kpis: str, **extra: str) -> pb.DriverAnalysis:
    return stub(svc).CreateDriverAnalysis(
        pb.CreateDriverAnalysisRequest(
            role=ROLE,
            outcome="conversion_rate",
            period_from=PERIODS[0],
            period_to=PERIODS[-1],
            kpis=list(kpis),
            **extra,
        ),
        metadata=md(svc),
    )


def test_planted_coefficients_are_recovered_within_their_intervals(svc: RunningService) -> None:
    plant(svc, 80)
    a = analyse(svc, "verified_visits", "overdue_rate")
    assert a.name.startswith("driverAnalyses/") and a.model == "ols" and "statsmodels" in a.model_version
    assert (a.observations, a.people, list(a.kpis)) == (240, 80, ["verified_visits", "overdue_rate"])
    coef = {c.kpi: c for c in a.coefficients}
    for kpi, planted in (("verified_visits", VISITS), ("overdue_rate", OVERDUE)):
        assert coef[kpi].ci_low <= planted <= coef[kpi].ci_high, (kpi, coef[kpi])
        assert coef[kpi].p_value < 0.001
    assert coef["verified_visits"].standardised > 0 > coef["overdue_rate"].standardised
    assert a.fit > 0.8
    codes = [w.code for w in a.warnings]
    assert codes == ["not_causal"], codes
    again = stub(svc).GetDriverAnalysis(pb.GetDriverAnalysisRequest(name=a.name), metadata=md(svc))
    assert again == a


def test_tiny_and_collinear_samples_are_warned_about(svc: RunningService) -> None:
    plant(svc, 6, collinear=True)
    a = analyse(svc, "verified_visits", "approval_quality", "overdue_rate")
    codes = {w.code for w in a.warnings}
    assert {"too_few_people", "collinearity", "not_causal"} <= codes, codes
    vif = {c.kpi: c.vif for c in a.coefficients}
    assert vif["verified_visits"] > 10 and vif["approval_quality"] > 10 and vif["overdue_rate"] < 10


def test_analyses_page_newest_first_and_refuse_bad_input(svc: RunningService) -> None:
    plant(svc, 40)
    names = [analyse(svc, "verified_visits").name for _ in range(3)]
    seen, token = [], ""
    while True:
        page = stub(svc).ListDriverAnalyses(
            pb.ListDriverAnalysesRequest(role=ROLE, page_size=2, page_token=token), metadata=md(svc)
        )
        seen += [a.name for a in page.analyses]
        token = page.next_page_token
        if not token:
            break
    assert seen == names[::-1]
    with pytest.raises(grpc.RpcError) as err:
        stub(svc).CreateDriverAnalysis(
            pb.CreateDriverAnalysisRequest(
                role=ROLE, outcome="conversion_rate", period_from="2026-09", period_to="2026-07"
            ),
            metadata=md(svc),
        )
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "period_to" in err.value.details()
    with pytest.raises(grpc.RpcError) as err:
        stub(svc).GetDriverAnalysis(pb.GetDriverAnalysisRequest(name="driverAnalyses/999"), metadata=md(svc))
    assert err.value.code() == grpc.StatusCode.NOT_FOUND
    reader = md(svc, "TL1", {"scoring.scores.read": "all"})
    with pytest.raises(grpc.RpcError) as err:
        stub(svc).CreateDriverAnalysis(
            pb.CreateDriverAnalysisRequest(
                role=ROLE, outcome="conversion_rate", period_from="2026-07", period_to="2026-09"
            ),
            metadata=reader,
        )
    assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert "scoring.analyses.run" in err.value.details()


def test_a_draft_changes_nothing_until_a_second_person_approves_and_it_is_activated(
    svc: RunningService,
) -> None:
    plant(svc, 60)
    analysis = analyse(svc, "verified_visits", "overdue_rate", "repeat_purchase_rate")
    draft = stub(svc).DraftScorecardFromAnalysis(
        pb.DraftScorecardFromAnalysisRequest(analysis=analysis.name), metadata=md(svc)
    )
    assert (draft.state, draft.base_version, draft.diff_period) == ("draft", 1, PERIODS[-1])
    weights = {k.id: k.weight for k in draft.scorecard.kpis}
    # live: visits 30, approval 25, overdue 20, repeat 10, compliance 15; visits and (lower) overdue
    # drive conversion, repeat purchases do not: the pool of 60 moves toward the first two, within ±15
    assert weights["approval_quality"] == "25" and weights["compliance"] == "15"
    assert float(weights["verified_visits"]) > 30 and float(weights["repeat_purchase_rate"]) == 5
    assert sum(float(w) for w in weights.values()) == 100
    assert draft.people_compared == 60 and draft.rank_changes_total > 0
    change = draft.rank_changes[0]
    assert change.current_rank != change.draft_rank and change.employee_id.startswith("C")

    def live_versions() -> list[int]:
        cards = stub(svc).ListScorecards(pb.ListScorecardsRequest(role=ROLE), metadata=md(svc)).scorecards
        return [c.version for c in cards]

    assert live_versions() == [1]
    with pytest.raises(grpc.RpcError) as err:  # not approved yet
        stub(svc).ActivateScorecardDraft(pb.ActivateScorecardDraftRequest(name=draft.name), metadata=md(svc))
    assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    with pytest.raises(grpc.RpcError) as err:  # the drafter cannot approve their own draft
        stub(svc).ApproveScorecardDraft(pb.ApproveScorecardDraftRequest(name=draft.name), metadata=md(svc))
    assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert "scoring.scorecards.approve" in err.value.details()
    assert live_versions() == [1]
    approved = stub(svc).ApproveScorecardDraft(
        pb.ApproveScorecardDraftRequest(name=draft.name), metadata=md(svc, "HR2")
    )
    assert approved.state == "approved" and approved.approved_by != approved.drafted_by
    assert live_versions() == [1]
    active = stub(svc).ActivateScorecardDraft(
        pb.ActivateScorecardDraftRequest(name=draft.name), metadata=md(svc)
    )
    assert (active.state, active.activated_version) == ("activated", 2)
    cards = stub(svc).ListScorecards(pb.ListScorecardsRequest(role=ROLE), metadata=md(svc)).scorecards
    assert [c.version for c in cards] == [1, 2]
    assert {k.id: k.weight for k in cards[1].kpis} == {k: f"{float(w):.2f}" for k, w in weights.items()} or {
        k.id: float(k.weight) for k in cards[1].kpis
    } == {k: float(w) for k, w in weights.items()}
    assert cards[1].effective_from == draft.scorecard.effective_from
    with pytest.raises(grpc.RpcError) as err:  # activated once
        stub(svc).ActivateScorecardDraft(pb.ActivateScorecardDraftRequest(name=draft.name), metadata=md(svc))
    assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION


def test_values_fold_as_scoring_folds_them_last_set_plus_later_adds(svc: RunningService) -> None:
    def send(employee: str, metric: str, value: float, mode: str = "set") -> None:
        v = pb.MetricValue(
            employee_id=employee,
            org_unit="/hq/futian/team-01",
            role=ROLE,
            period=PERIODS[0],
            metric=metric,
            value=f"{value:.4f}",
            mode=mode,
            source="crm",
        )
        stub(svc).RecordMetrics(pb.RecordMetricsRequest(values=[v]), metadata=md(svc))

    # conversion is exactly 0.01 per visit, so R² is 1 only if every visit count folds right
    for i in range(12):
        send(f"F{i:02d}", "conversion_rate", 0.01 * (i + 10))
        if i == 0:  # an add before the set does not count: 99 + set 10 -> 10
            send("F00", "verified_visits", 99, "add")
            send("F00", "verified_visits", 10)
        elif i == 1:  # adds after the set count: 8 + 3 -> 11
            send("F01", "verified_visits", 8)
            send("F01", "verified_visits", 3, "add")
        elif i == 2:  # the last set wins: 40, then 12 -> 12
            send("F02", "verified_visits", 40)
            send("F02", "verified_visits", 12)
        elif i == 3:  # adds alone sum: 6 + 7 -> 13
            send("F03", "verified_visits", 6, "add")
            send("F03", "verified_visits", 7, "add")
        else:
            send(f"F{i:02d}", "verified_visits", i + 10)
    a = stub(svc).CreateDriverAnalysis(
        pb.CreateDriverAnalysisRequest(
            role=ROLE,
            outcome="conversion_rate",
            period_from=PERIODS[0],
            period_to=PERIODS[0],
            kpis=["verified_visits"],
        ),
        metadata=md(svc),
    )
    assert a.observations == 12 and a.fit > 0.999999, a
    assert abs(a.coefficients[1].estimate - 0.01) < 1e-9
