"""gRPC adapter for ScoringService."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from typing import Any

from covenant.errors import InvalidArgument
from covenant.grpc.context import current_principal
from covenant.grpc.messages import fields_of
from covenant.paging import page
from covenant.scoring.v1 import scoring_pb2 as pb
from covenant.scoring.v1 import scoring_pb2_grpc
from services.scoring.domain.scorecard import Kpi, Scorecard
from services.scoring.drivers import DriverAnalyses, draft_card
from services.scoring.insights import Insights, StoredProfile
from services.scoring.intake import MetricInput, parse_decimal
from services.scoring.service import ScoringService


def kpi_from_pb(k: pb.Kpi, where: str) -> tuple[Kpi, Decimal | None]:
    kpi = Kpi(
        id=k.id,
        label=k.label or k.id,
        weight=parse_decimal(k.weight, f"{where}.weight"),
        direction=k.direction or "higher",
        normalisation=k.normalisation or "target",
        target=parse_decimal(k.target, f"{where}.target") if k.target else None,
        floor=parse_decimal(k.floor, f"{where}.floor") if k.floor else Decimal(0),
        cap=parse_decimal(k.cap, f"{where}.cap") if k.cap else Decimal(1),
        unit=k.unit,
    )
    return kpi, parse_decimal(k.default_value, f"{where}.default_value") if k.default_value else None


def card_from_pb(c: pb.Scorecard) -> tuple[Scorecard, dict[str, Decimal]]:
    try:
        effective = date.fromisoformat(c.effective_from)
    except ValueError:
        raise InvalidArgument("must be YYYY-MM-DD", field="scorecard.effective_from") from None
    kpis, defaults = [], {}
    for i, k in enumerate(c.kpis):
        kpi, default = kpi_from_pb(k, f"scorecard.kpis[{i}]")
        kpis.append(kpi)
        if default is not None:
            defaults[kpi.id] = default
    card = Scorecard(c.id, 0, c.role, tuple(kpis), effective, c.org_unit_prefix, c.formula or "weighted_sum")
    return card, defaults


def card_to_pb(card: Scorecard, defaults: dict[str, Decimal], created_by: str = "") -> pb.Scorecard:
    return pb.Scorecard(
        **fields_of(card, "id version role org_unit_prefix formula"),
        effective_from=card.effective_from.isoformat(),
        created_by=created_by,
        kpis=[
            pb.Kpi(
                **fields_of(k, "id label direction normalisation unit"),
                weight=str(k.weight),
                target="" if k.target is None else str(k.target),
                floor=str(k.floor),
                cap=str(k.cap),
                default_value=str(defaults[k.id]) if k.id in defaults else "",
            )
            for k in card.kpis
        ],
    )


def score_to_pb(row: Any, calibrations: list[Any]) -> pb.EmployeeScore:
    total = Decimal(row.score) + sum((Decimal(c.adjustment) for c in calibrations), Decimal(0))
    return pb.EmployeeScore(
        **fields_of(row, "employee_id org_unit role period scorecard_id scorecard_version score"),
        **fields_of(row, "rank_in_team rank_in_org_unit team_size change"),
        contributions=[
            pb.Contribution(
                **fields_of(c, "kpi label normalised points weight explanation"),
                raw_value=c["raw"] or "",
                sources=c.get("sources", []),
            )
            for c in json.loads(row.contributions_json)
        ],
        calibrations=[
            pb.Calibration(adjustment=c.adjustment, reason=c.reason, calibrated_by=c.calibrated_by)
            for c in calibrations
        ],
        calibrated_score=str(total),
    )


def analysis_to_pb(row: Any) -> pb.DriverAnalysis:
    result = json.loads(row.result_json)
    out = pb.DriverAnalysis(
        name=f"driverAnalyses/{row.id}",
        **fields_of(
            row, "role outcome period_from period_to org_unit model model_version observations people"
        ),
        fit=float(row.fit),
        condition_number=result["condition_number"],
        kpis=result["kpis"],
        coefficients=[
            pb.DriverCoefficient(**{k: float("inf") if v is None else v for k, v in c.items()})
            for c in result["coefficients"]
        ],
        warnings=[pb.AnalysisWarning(code=w["code"], message=w["message"]) for w in result["warnings"]],
        created_by=row.created_by,
    )
    out.created_at.FromDatetime(row.created_at)
    return out


def draft_to_pb(row: Any) -> pb.ScorecardDraft:
    card = card_to_pb(*draft_card(row), created_by=row.drafted_by)
    diff = json.loads(row.diff_json)
    return pb.ScorecardDraft(
        name=f"scorecardDrafts/{row.id}",
        analysis=f"driverAnalyses/{row.analysis_id}",
        **fields_of(row, "base_version state drafted_by approved_by diff_period"),
        scorecard=card,
        activated_version=row.activated_version or 0,
        people_compared=diff["people"],
        rank_changes_total=diff["changes_total"],
        rank_changes=[pb.RankChange(**c) for c in diff["changes"]],
    )


def profile_to_pb(p: StoredProfile) -> pb.PerformerProfile:
    out = pb.PerformerProfile(
        **fields_of(p, "role period outcome_kpi org_unit top_count rest_count coaching_signals"),
        outcome_threshold=p.threshold,
        kpis=[pb.ProfileKpi(**k.__dict__) for k in p.kpis],
    )
    out.computed_at.FromDatetime(p.computed_at)
    return out


def _profile_key(r: Any) -> tuple[str, str, str, str]:
    """(role, period, outcome KPI, org unit) of a performer-profile request."""
    return r.role, r.period, r.outcome_kpi, r.org_unit


def _png(r: Any) -> tuple[int, int] | None:
    """The picture a heat-map or trends request asks for: (width, height), or None."""
    return (r.width_px, r.height_px) if r.render_png else None


class ScoringServicer(scoring_pb2_grpc.ScoringServiceServicer):
    def __init__(self, service: ScoringService, insights: Insights | None = None) -> None:
        self.service = service
        self.drivers = DriverAnalyses(service)
        self.insights = insights or Insights(service.db, service.clock)

    def CreateScorecardVersion(self, request: pb.CreateScorecardVersionRequest, context: Any) -> pb.Scorecard:
        card, defaults = card_from_pb(request.scorecard)
        principal = current_principal()
        created = self.service.scorecards.create(principal, card, defaults)
        return card_to_pb(created, defaults, principal.subject)

    def ListScorecards(self, request: pb.ListScorecardsRequest, context: Any) -> pb.ListScorecardsResponse:
        cards = self.service.scorecards.list(current_principal(), request.role)
        return pb.ListScorecardsResponse(scorecards=[card_to_pb(c, d) for c, d in cards])

    def RecordMetrics(self, request: pb.RecordMetricsRequest, context: Any) -> pb.RecordMetricsResponse:
        values = [
            MetricInput(
                employee_id=v.employee_id,
                org_unit=v.org_unit,
                role=v.role,
                period=v.period,
                metric=v.metric,
                value=parse_decimal(v.value, f"values[{i}].value"),
                mode=v.mode or "set",
                source=v.source,
            )
            for i, v in enumerate(request.values)
        ]
        n = self.service.metrics.record(current_principal(), values, request.request_id)
        return pb.RecordMetricsResponse(recorded=n)

    def ComputeScores(self, request: pb.ComputeScoresRequest, context: Any) -> pb.ComputeScoresResponse:
        scored, raised = self.service.periods.compute(current_principal(), request.period, request.org_unit)
        return pb.ComputeScoresResponse(scored=scored, signals_raised=raised)

    def GetScore(self, request: pb.GetScoreRequest, context: Any) -> pb.EmployeeScore:
        return score_to_pb(*self.service.scores.get(current_principal(), request.employee_id, request.period))

    def ListScores(self, request: pb.ListScoresRequest, context: Any) -> pb.ListScoresResponse:
        bound = ("scores", request.period, request.org_unit)

        def fetch(after: tuple[int | str, ...] | None, limit: int) -> list[tuple[Any, list[Any]]]:
            if after is not None and [type(k) for k in after] != [str, int, str]:
                raise InvalidArgument("is not a page token of this list (bad cursor)", field="page_token")
            return self.service.scores.list(
                current_principal(), request.period, request.org_unit, after, limit
            )

        def key(row: tuple[Any, list[Any]]) -> tuple[str, int, str]:
            return row[0].org_unit, row[0].rank_in_team, row[0].employee_id

        rows, token = page(request.page_size, request.page_token, bound, fetch, key=key, kind=tuple)
        return pb.ListScoresResponse(scores=[score_to_pb(r, c) for r, c in rows], next_page_token=token)

    def CalibrateScore(self, request: pb.CalibrateScoreRequest, context: Any) -> pb.EmployeeScore:
        return score_to_pb(
            *self.service.scores.calibrate(
                current_principal(),
                request.employee_id,
                request.period,
                request.adjustment,
                request.reason,
                request.request_id,
            )
        )

    def ListSignals(self, request: pb.ListSignalsRequest, context: Any) -> pb.ListSignalsResponse:
        rows = self.service.scores.signals(current_principal(), request.period, request.org_unit)
        return pb.ListSignalsResponse(
            signals=[
                pb.Signal(
                    **fields_of(r, "employee_id period kind audience detail rule_id pack_id pack_version")
                )
                for r in rows
            ]
        )

    # -- driver analysis and drafts from its findings --------------------------------------
    def CreateDriverAnalysis(
        self, request: pb.CreateDriverAnalysisRequest, context: Any
    ) -> pb.DriverAnalysis:
        return analysis_to_pb(
            self.drivers.create(
                current_principal(),
                **fields_of(request, "role outcome period_from period_to model org_unit"),
                kpis=list(request.kpis),
            )
        )

    def GetDriverAnalysis(self, request: pb.GetDriverAnalysisRequest, context: Any) -> pb.DriverAnalysis:
        return analysis_to_pb(self.drivers.get(current_principal(), request.name))

    def ListDriverAnalyses(
        self, request: pb.ListDriverAnalysesRequest, context: Any
    ) -> pb.ListDriverAnalysesResponse:
        def fetch(after: int, limit: int) -> list[Any]:
            return self.drivers.list(current_principal(), request.role, after, limit)  # newest first

        bound = ("driverAnalyses", request.role)
        rows, token = page(
            request.page_size, request.page_token, bound, fetch, key=lambda r: r.id, kind=int, first=0
        )
        return pb.ListDriverAnalysesResponse(
            analyses=[analysis_to_pb(r) for r in rows], next_page_token=token
        )

    def DraftScorecardFromAnalysis(
        self, request: pb.DraftScorecardFromAnalysisRequest, context: Any
    ) -> pb.ScorecardDraft:
        fields = fields_of(request, "analysis scorecard_id effective_from diff_period")
        return draft_to_pb(self.drivers.draft(current_principal(), **fields))

    def GetScorecardDraft(self, request: pb.GetScorecardDraftRequest, context: Any) -> pb.ScorecardDraft:
        return draft_to_pb(self.drivers.get_draft(current_principal(), request.name))

    def ApproveScorecardDraft(
        self, request: pb.ApproveScorecardDraftRequest, context: Any
    ) -> pb.ScorecardDraft:
        return draft_to_pb(self.drivers.approve(current_principal(), request.name))

    def ActivateScorecardDraft(
        self, request: pb.ActivateScorecardDraftRequest, context: Any
    ) -> pb.ScorecardDraft:
        return draft_to_pb(self.drivers.activate(current_principal(), request.name))

    # -- insights ----------------------------------------------------------------------------
    def RefreshPerformerProfile(
        self, request: pb.RefreshPerformerProfileRequest, context: Any
    ) -> pb.PerformerProfile:
        return profile_to_pb(self.insights.refresh_profile(current_principal(), *_profile_key(request)))

    def GetPerformerProfile(
        self, request: pb.GetPerformerProfileRequest, context: Any
    ) -> pb.PerformerProfile:
        return profile_to_pb(self.insights.get_profile(current_principal(), *_profile_key(request)))

    def ListCoachingGaps(
        self, request: pb.ListCoachingGapsRequest, context: Any
    ) -> pb.ListCoachingGapsResponse:
        r = request
        found = self.insights.coaching_gaps(
            current_principal(), r.role, r.period, r.outcome_kpi, r.org_unit, r.employee_id
        )
        return pb.ListCoachingGapsResponse(
            gaps=[
                pb.CoachingGap(
                    **fields_of(g, "employee_id org_unit"),
                    **fields_of(g.gap, "kpi label value profile_value gap detail"),
                )
                for g in found
            ]
        )

    def GetHeatMap(self, request: pb.GetHeatMapRequest, context: Any) -> pb.HeatMap:
        r = request
        hm = self.insights.heat_map(current_principal(), r.period, r.org_unit, r.role, _png(r))
        return pb.HeatMap(
            **fields_of(hm, "period previous_period kpis"),
            org_units=hm.units,
            cells=[
                pb.HeatMapCell(
                    **fields_of(c, "org_unit kpi value people"),
                    has_change=c.change is not None,
                    change=c.change or 0.0,
                )
                for c in hm.cells
            ],
            png=hm.png,
        )

    def GetUnitTrends(self, request: pb.GetUnitTrendsRequest, context: Any) -> pb.UnitTrends:
        r = request
        series, png = self.insights.unit_trends(
            current_principal(), r.org_unit, r.from_period, r.to_period, r.role, _png(r)
        )
        return pb.UnitTrends(
            units=[
                pb.UnitTrend(
                    org_unit=unit,
                    points=[pb.UnitTrendPoint(period=p, score=v, people=n) for p, v, n in points],
                )
                for unit, points in series.items()
            ],
            png=png,
        )
