"""Insights through real gRPC and a real database, on planted data: the high-performer profile recovers the
planted top-quartile differences, coaching gaps and signals follow from it, the heat map and trends average
the stored scores, PNGs decode at the asked size, and every read is scoped."""

from __future__ import annotations

import io
import os
from collections.abc import Iterator

import grpc
import numpy as np
import pytest
from matplotlib import image
from scipy import stats

from covenant.db.scratch import scratch_database
from covenant.grpc.testing import RunningService, bearer, running_service
from covenant.scoring.v1 import scoring_pb2 as pb
from covenant.scoring.v1 import scoring_pb2_grpc
from tests.support.directory import employee, publish_employees

PG_URL = os.environ.get("COVENANT_TEST_PG_URL", "")
HR = {"scoring.*.*": "all"}
T1, T2 = "/hq/b1/t1", "/hq/b2/t2"
P1, P2 = "2026-09", "2026-10"
ROLE = "field_rep"
# Reps 0-9 convert best (the top quartile of 40): ~3 visits a day and few overdue loans; the rest ~1.5 and
# more overdue. Calls are spread identically in both groups (no difference to find).
TOP_VISITS = [2.8, 2.9, 3.0, 3.1, 3.2] * 2
REST_VISITS = [1.3, 1.4, 1.5, 1.6, 1.7] * 6


def plant(i: int, period: str) -> dict[str, str]:
    top = i < 10
    visits = TOP_VISITS[i] if top else REST_VISITS[i - 10]
    bump = 0.01 if period == P2 else 0.0  # everyone converts a little better in P2
    return {
        "conversion": f"{(0.40 - i * 0.005 if top else 0.20 - (i - 10) * 0.003) + bump:.4f}",
        "visits_per_day": str(visits),
        "calls": str(30 + i % 10),
        "overdue_rate": "0.01" if top else "0.04",
    }


def rep(i: int) -> tuple[str, str]:
    return f"R{i:02d}", T1 if i % 2 == 0 else T2


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One database per module and variant: the planted world is seeded once and only read."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'scoring.db'}"
        return
    if not PG_URL:
        pytest.skip("COVENANT_TEST_PG_URL not set: PostgreSQL variant not run (CI sets it)")
    with scratch_database(PG_URL) as url:
        yield url


@pytest.fixture(scope="module")
def svc(tmp_path_factory: pytest.TempPathFactory, db: str) -> Iterator[RunningService]:
    with running_service("scoring", db_url=db, data_dir=tmp_path_factory.mktemp("insights")) as s:
        publish_employees(s, [employee(rep(i)[0], rep(i)[1], ROLE) for i in range(40)])  # as identity does
        md = bearer(s.tokens.user("HR1", "/hq", HR))
        stub = scoring_pb2_grpc.ScoringServiceStub(s.channel)
        kpis = [
            pb.Kpi(id="conversion", label="conversion", weight="40", target="0.5"),
            pb.Kpi(id="visits_per_day", label="visits/day", weight="30", target="3"),
            pb.Kpi(id="calls", label="calls", weight="10", target="40"),
            pb.Kpi(id="overdue_rate", label="overdue rate", weight="20", direction="lower", target="0.02"),
        ]
        card = pb.Scorecard(id=ROLE, role=ROLE, effective_from="2026-01-01", kpis=kpis)
        stub.CreateScorecardVersion(pb.CreateScorecardVersionRequest(scorecard=card), metadata=md)
        for period in (P1, P2):
            values = [
                pb.MetricValue(
                    employee_id=rep(i)[0],
                    org_unit=rep(i)[1],
                    role=ROLE,
                    period=period,
                    metric=m,
                    value=v,
                    mode="set",
                    source="crm",
                )
                for i in range(40)
                for m, v in plant(i, period).items()
            ]
            stub.RecordMetrics(pb.RecordMetricsRequest(values=values), metadata=md)
            stub.ComputeScores(pb.ComputeScoresRequest(period=period, org_unit="/hq"), metadata=md)
        stub.RefreshPerformerProfile(
            pb.RefreshPerformerProfileRequest(role=ROLE, period=P2, outcome_kpi="conversion"), metadata=md
        )
        yield s


def stub(s: RunningService) -> scoring_pb2_grpc.ScoringServiceStub:
    return scoring_pb2_grpc.ScoringServiceStub(s.channel)


def hr(s: RunningService) -> list[tuple[str, str]]:
    return bearer(s.tokens.user("HR1", "/hq", HR))


def profile(s: RunningService, md: list[tuple[str, str]], org_unit: str = "") -> pb.PerformerProfile:
    req = pb.GetPerformerProfileRequest(role=ROLE, period=P2, outcome_kpi="conversion", org_unit=org_unit)
    return stub(s).GetPerformerProfile(req, metadata=md)


def test_the_profile_recovers_the_planted_top_quartile(svc: RunningService) -> None:
    p = profile(svc, hr(svc))
    assert (p.org_unit, p.top_count, p.rest_count) == ("/", 10, 30)
    by = {k.kpi: k for k in p.kpis}
    assert set(by) == {"visits_per_day", "calls", "overdue_rate"}  # the outcome is not its own driver
    visits = by["visits_per_day"]
    assert (visits.top_median, visits.rest_median) == pytest.approx((3.0, 1.5))
    assert (visits.top_iqr, visits.rest_iqr) == pytest.approx((0.2, 0.2))
    assert visits.cliffs_delta == 1.0 and visits.cohens_d > 5  # fully separated groups
    # the effect sizes agree with an independent computation (Mann-Whitney U; pooled-SD formula)
    top, rest = np.array(TOP_VISITS), np.array(REST_VISITS)
    u = stats.mannwhitneyu(top, rest).statistic
    pooled = np.sqrt((9 * top.var(ddof=1) + 29 * rest.var(ddof=1)) / 38)
    assert visits.cliffs_delta == pytest.approx(2 * u / (10 * 30) - 1)
    assert visits.cohens_d == pytest.approx((top.mean() - rest.mean()) / pooled)
    assert by["calls"].cliffs_delta == pytest.approx(0) and by["calls"].cohens_d == pytest.approx(0)
    overdue = by["overdue_rate"]
    assert overdue.direction == "lower" and overdue.cliffs_delta == -1.0  # top reps have fewer overdue


def test_coaching_gaps_name_the_distinguishing_kpis_and_feed_signals(svc: RunningService) -> None:
    req = pb.ListCoachingGapsRequest(role=ROLE, period=P2, outcome_kpi="conversion", employee_id="R11")
    gaps = stub(svc).ListCoachingGaps(req, metadata=hr(svc)).gaps
    # R11 plants 1.4 visits/day and a 4% overdue rate; calls do not distinguish the top group
    assert [(g.kpi, g.value, g.profile_value) for g in gaps] == [
        ("overdue_rate", pytest.approx(0.04), pytest.approx(0.01)),
        ("visits_per_day", pytest.approx(1.4), pytest.approx(3.0)),
    ]
    assert gaps[1].gap == pytest.approx(1.6) and gaps[1].detail == "visits/day 1.4 vs profile 3.0"
    signals = stub(svc).ListSignals(pb.ListSignalsRequest(period=P2), metadata=hr(svc)).signals
    coaching = {s.employee_id: s for s in signals if s.kind == "coaching_gap"}
    assert set(coaching) == {rep(i)[0] for i in range(10, 40)}  # everyone outside the top quartile
    assert "visits/day 1.4 vs profile 3.0" in coaching["R11"].detail
    assert (
        coaching["R11"].audience == "team_lead" and coaching["R11"].rule_id == "profile:field_rep/conversion"
    )


def test_a_rep_sees_only_their_own_gaps_and_a_lead_their_team(svc: RunningService) -> None:
    req = pb.ListCoachingGapsRequest(role=ROLE, period=P2, outcome_kpi="conversion")
    me = bearer(svc.tokens.user("R11", T2, {"scoring.scores.read": "self"}))
    assert {g.employee_id for g in stub(svc).ListCoachingGaps(req, metadata=me).gaps} == {"R11"}
    lead = bearer(svc.tokens.user("L1", T1, {"scoring.scores.read": "team"}))
    seen = {g.employee_id for g in stub(svc).ListCoachingGaps(req, metadata=lead).gaps}
    assert seen == {rep(i)[0] for i in range(10, 40) if rep(i)[1] == T1}
    with pytest.raises(grpc.RpcError) as err:
        stub(svc).ListCoachingGaps(req, metadata=bearer(svc.tokens.user("X", T1, {})))
    assert (
        err.value.code() == grpc.StatusCode.PERMISSION_DENIED and "scoring.scores.read" in err.value.details()
    )


def test_profile_reads_are_scoped_to_the_callers_subtree(svc: RunningService) -> None:
    manager = bearer(svc.tokens.user("M1", "/hq/b1", {"scoring.insights.read": "subtree"}))
    with pytest.raises(grpc.RpcError) as err:
        profile(svc, manager)  # the whole organisation's profile
    assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert "scoring.insights.read" in err.value.details()
    with pytest.raises(grpc.RpcError) as err:
        profile(svc, manager, "/hq/b1")  # within scope, but never computed
    assert err.value.code() == grpc.StatusCode.NOT_FOUND
    with pytest.raises(grpc.RpcError) as err:
        stub(svc).RefreshPerformerProfile(
            pb.RefreshPerformerProfileRequest(
                role=ROLE, period=P2, outcome_kpi="conversion", org_unit="/hq/b1"
            ),
            metadata=manager,
        )
    assert (
        err.value.code() == grpc.StatusCode.PERMISSION_DENIED
        and "scoring.scores.compute" in err.value.details()
    )


def test_bad_profile_requests_name_the_field(svc: RunningService) -> None:
    for req, field in (
        (pb.RefreshPerformerProfileRequest(role=ROLE, period=P2, outcome_kpi="nope"), "outcome_kpi"),
        (pb.RefreshPerformerProfileRequest(role=ROLE, period=P2), "outcome_kpi"),
        (pb.RefreshPerformerProfileRequest(period=P2, outcome_kpi="conversion"), "role"),
    ):
        with pytest.raises(grpc.RpcError) as err:
            stub(svc).RefreshPerformerProfile(req, metadata=hr(svc))
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT and field in err.value.details()
    with pytest.raises(grpc.RpcError) as err:  # three people are no quartiles
        stub(svc).RefreshPerformerProfile(
            pb.RefreshPerformerProfileRequest(
                role=ROLE, period=P1, outcome_kpi="conversion", org_unit="/nowhere"
            ),
            metadata=hr(svc),
        )
    assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION


def _means(s: RunningService, period: str) -> dict[tuple[str, str], float]:
    scores = stub(s).ListScores(pb.ListScoresRequest(period=period, page_size=1000), metadata=hr(s)).scores
    out: dict[tuple[str, str], list[float]] = {}
    for sc in scores:
        out.setdefault((sc.org_unit, "score"), []).append(float(sc.score))
        for c in sc.contributions:
            out.setdefault((sc.org_unit, c.kpi), []).append(float(c.normalised) * 100)
    return {k: sum(v) / len(v) for k, v in out.items()}


def test_heat_map_cells_are_unit_means_with_the_change_from_last_period(svc: RunningService) -> None:
    hm = stub(svc).GetHeatMap(pb.GetHeatMapRequest(period=P2), metadata=hr(svc))
    assert list(hm.org_units) == [T1, T2] and hm.previous_period == P1
    assert list(hm.kpis) == ["score", "calls", "conversion", "overdue_rate", "visits_per_day"]
    now, before = _means(svc, P2), _means(svc, P1)
    cells = {(c.org_unit, c.kpi): c for c in hm.cells}
    assert len(cells) == 10 and all(c.people == 20 and c.has_change for c in hm.cells)
    for key, cell in cells.items():
        assert cell.value == pytest.approx(now[key], abs=1e-3)
        assert cell.change == pytest.approx(now[key] - before[key], abs=1e-3)
    assert cells[(T1, "conversion")].change == pytest.approx(2.0, abs=1e-3)  # +0.01 of a 0.5 target
    assert not hm.png
    first = stub(svc).GetHeatMap(pb.GetHeatMapRequest(period=P1), metadata=hr(svc))
    assert not any(c.has_change for c in first.cells)  # nothing scored before P1


def test_heat_map_and_trends_render_pngs_of_the_asked_size(svc: RunningService) -> None:
    hm = stub(svc).GetHeatMap(
        pb.GetHeatMapRequest(period=P2, render_png=True, width_px=640, height_px=360), metadata=hr(svc)
    )
    assert image.imread(io.BytesIO(hm.png), format="png").shape[:2] == (360, 640)
    tr = stub(svc).GetUnitTrends(
        pb.GetUnitTrendsRequest(from_period=P1, to_period=P2, render_png=True), metadata=hr(svc)
    )
    assert image.imread(io.BytesIO(tr.png), format="png").shape[:2] == (500, 800)
    with pytest.raises(grpc.RpcError) as err:
        stub(svc).GetHeatMap(pb.GetHeatMapRequest(period=P2, render_png=True, width_px=50), metadata=hr(svc))
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "width_px" in err.value.details()


def test_unit_trends_are_monthly_means_per_unit(svc: RunningService) -> None:
    tr = stub(svc).GetUnitTrends(
        pb.GetUnitTrendsRequest(from_period="2026-08", to_period=P2), metadata=hr(svc)
    )
    got = {u.org_unit: [(p.period, p.score, p.people) for p in u.points] for u in tr.units}
    m1, m2 = _means(svc, P1), _means(svc, P2)
    for unit in (T1, T2):
        assert got[unit] == [
            (P1, pytest.approx(m1[(unit, "score")], abs=1e-3), 20),
            (P2, pytest.approx(m2[(unit, "score")], abs=1e-3), 20),
        ]
    with pytest.raises(grpc.RpcError) as err:
        stub(svc).GetUnitTrends(pb.GetUnitTrendsRequest(from_period=P2, to_period=P1), metadata=hr(svc))
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "to_period" in err.value.details()


def test_heat_map_and_trends_show_only_the_callers_subtree(svc: RunningService) -> None:
    manager = bearer(svc.tokens.user("M1", "/hq/b1", {"scoring.insights.read": "subtree"}))
    hm = stub(svc).GetHeatMap(pb.GetHeatMapRequest(period=P2), metadata=manager)
    assert list(hm.org_units) == [T1] and {c.org_unit for c in hm.cells} == {T1}
    tr = stub(svc).GetUnitTrends(pb.GetUnitTrendsRequest(from_period=P1, to_period=P2), metadata=manager)
    assert [u.org_unit for u in tr.units] == [T1]
    rep_md = bearer(svc.tokens.user("R00", T1, {"scoring.scores.read": "self"}))
    for call, req in (
        (stub(svc).GetHeatMap, pb.GetHeatMapRequest(period=P2)),
        (stub(svc).GetUnitTrends, pb.GetUnitTrendsRequest(from_period=P1, to_period=P2)),
    ):
        with pytest.raises(grpc.RpcError) as err:
            call(req, metadata=rep_md)
        assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED
        assert "scoring.insights.read" in err.value.details()


# -- the console's pages, server-side, calling this service with the signed-in user's token ---------------
def console_page(s: RunningService, token: str, path: str) -> tuple[int, str]:
    from starlette.testclient import TestClient

    from covenant.console.app import create_console
    from covenant.console.backend import Backend, Channels
    from covenant.console.session import COOKIE, SessionSealer

    sealer = SessionSealer(b"insights-test-session-key")
    app = create_console(
        Backend(Channels({"scoring": s.target}, lambda _: s.channel)), sealer, s.tokens.verifier()
    )
    cookie = sealer.seal(sealer.new(token, "", "someone", 600))
    with TestClient(app, cookies={COOKIE: cookie, "covenant_lang": "en"}) as client:
        r = client.get(path, follow_redirects=False)
    return r.status_code, r.text


def test_console_heatmap_and_trends_pages_show_the_callers_units_with_pictures(svc: RunningService) -> None:
    manager = svc.tokens.user("M1", "/hq/b1", {"scoring.insights.read": "subtree"})
    status, html = console_page(svc, manager, f"/heatmap?period={P2}")
    assert status == 200 and 'id="heatmap"' in html
    assert f'<th scope="row">{T1}</th>' in html and T2 not in html
    assert 'id="heatmap-picture" src="data:image/png;base64,' in html
    assert 'href="/heatmap"' in html and 'href="/trends"' in html  # the nav offers them
    status, html = console_page(svc, manager, f"/trends?from={P1}&to={P2}")
    assert status == 200 and f'<th scope="row">{T1}</th>' in html and T2 not in html
    assert 'id="trends-picture" src="data:image/png;base64,' in html
    rep_token = svc.tokens.user("R00", T1, {"scoring.scores.read": "self"})
    status, html = console_page(svc, rep_token, f"/heatmap?period={P2}")
    assert status == 403 and "scoring.insights.read" in html and 'href="/heatmap"' not in html
