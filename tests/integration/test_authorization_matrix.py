"""The authorization matrix, asserted cell by cell through real gRPC in jwt mode.

Every RPC of every service (services/authz.py: each service's ``permissions.RPCS`` plus the rule-pack and
event-delivery RPCs) x every role of the shipped role pack x whose data the call is about. The expected cell
comes from the tables (``services.authz.cell``); the observed one from calling the running service with a
token holding exactly that role's grants: PERMISSION_DENIED naming the permission is "denied", anything
else (OK, NOT_FOUND, FAILED_PRECONDITION, ...) got past authorization and is "allowed". One platform
(the six services on SQLite) serves every cell; the matrix is printed (``pytest -s``) and must equal
docs/authorization.md (see test_the_committed_matrix_is_fresh).
"""

from __future__ import annotations

import itertools
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf.field_mask_pb2 import FieldMask
from google.protobuf.timestamp_pb2 import Timestamp

from covenant.attendance.v1 import attendance_pb2 as apb
from covenant.attendance.v1 import attendance_pb2_grpc
from covenant.auth import Principal, Scope, parse_permissions
from covenant.auth.matrix import About, Target
from covenant.commitments.v1 import commitments_pb2 as cpb
from covenant.commitments.v1 import commitments_pb2_grpc
from covenant.common.v1.common_pb2 import GeoPoint
from covenant.compliance.v1 import compliance_pb2 as kpb
from covenant.compliance.v1 import compliance_pb2_grpc
from covenant.db.outbox import new_event
from covenant.events.v1 import event_pb2, event_pb2_grpc
from covenant.grpc.testing import RunningPlatform, bearer, running_platform
from covenant.identity.v1 import (
    accounts_pb2,
    audit_pb2,
    identity_service_pb2_grpc,
    keys_pb2,
    org_pb2,
    rbac_pb2,
)
from covenant.points.v1 import points_pb2 as ppb
from covenant.points.v1 import points_pb2_grpc
from covenant.rules.v1 import rule_pack_service_pb2 as rpb
from covenant.rules.v1 import rule_pack_service_pb2_grpc
from covenant.scoring.v1 import scoring_pb2 as spb
from covenant.scoring.v1 import scoring_pb2_grpc
from covenant.services import SERVICES
from services.authz import (
    ANCHORS,
    CALLER,
    MANAGERS,
    PEOPLE,
    TEAM_UNIT,
    Rpc,
    account_of,
    cell,
    event_source,
    is_service_role,
    rpcs,
    shipped_pack,
    shipped_roles,
    targets,
)
from tests.support.directory import create_in_identity, employee

ROOT = Path(__file__).resolve().parents[2]
PERIOD = "2026-11"
BANNED = "这个产品保本保息，放心买"
_ids = itertools.count()


def uid(prefix: str) -> str:
    return f"{prefix}{next(_ids)}"


def ts(value: datetime) -> Timestamp:
    t = Timestamp()
    t.FromDatetime(value)
    return t


@dataclass
class World:
    """The running platform and what exists in it for each target (commitments, cases, redemptions...)."""

    p: RunningPlatform
    commitments: dict[str, str] = field(default_factory=dict)
    cases: dict[str, str] = field(default_factory=dict)
    redemptions: dict[str, list[str]] = field(default_factory=dict)
    awards: dict[str, list[str]] = field(default_factory=dict)
    goals: dict[str, str] = field(default_factory=dict)

    def channel(self, service: str) -> grpc.Channel:
        return self.p[service].channel

    def token(self, role: str) -> str:
        grants = shipped_roles()[role]
        if is_service_role(role):
            return self.p.tokens.signer.issue(
                account_of(role), kind="service", permissions=grants, roles=(role,)
            )
        return self.p.tokens.user(CALLER, ANCHORS.get(role, TEAM_UNIT), grants, roles=(role,))


def _seed(w: World) -> None:
    p = w.p
    admin = bearer(p.tokens.admin())
    system = bearer(p.tokens.service("seed"))
    create_in_identity(
        w.channel("identity"),
        admin,
        [
            employee(o.employee_id, o.org_unit, "credit_officer", manager_id=MANAGERS.get(t, ""))
            for t, o in PEOPLE.items()
        ],
    )
    ident = identity_service_pb2_grpc.IdentityServiceStub(w.channel("identity"))
    ident.CreateAccount(
        accounts_pb2.CreateAccountRequest(
            account=accounts_pb2.Account(username="victim"), password="correct horse battery staple"
        ),
        metadata=admin,
    )
    att = attendance_pb2_grpc.AttendanceServiceStub(w.channel("attendance"))
    att.ImportClientPlaces(
        apb.ImportClientPlacesRequest(
            places=[apb.ClientPlace(client_id="P1", location=GeoPoint(latitude=22.5, longitude=114.0))]
        ),
        metadata=system,
    )
    now = datetime.now(UTC) - timedelta(minutes=30)
    pts = points_pb2_grpc.PointsServiceStub(w.channel("points"))
    pts.CreateRewardItem(
        ppb.CreateRewardItemRequest(item=ppb.RewardItem(id="gift", name="gift", cost=1, stock=100_000)),
        metadata=admin,
    )
    comp = compliance_pb2_grpc.ComplianceServiceStub(w.channel("compliance"))
    com = commitments_pb2_grpc.CommitmentsServiceStub(w.channel("commitments"))
    sc = scoring_pb2_grpc.ScoringServiceStub(w.channel("scoring"))
    for o in PEOPLE.values():
        e = o.employee_id
        att.IngestPings(apb.IngestPingsRequest(pings=[ping(e, now)]), metadata=system)
        pts.AdjustPoints(
            ppb.AdjustPointsRequest(employee_id=e, points=100_000, reason="seed", request_id=f"seed-{e}"),
            metadata=system,
        )
        w.awards[e] = []
        for i in range(1):  # authorization comes before the state check: one of each serves every cell
            ev = f"award-{e}-{i}"
            pts.RecordEvent(
                ppb.RecordEventRequest(
                    event=ppb.BusinessEvent(id=ev, type="loan_completed", employee_id=e, org_unit=o.org_unit)
                ),
                metadata=system,
            )
            w.awards[e].append(ev)
        w.redemptions[e] = [
            pts.RedeemReward(ppb.RedeemRewardRequest(item_id="gift", employee_id=e), metadata=admin).id
            for _ in range(1)
        ]
        scan = comp.ScanText(
            kpb.ScanTextRequest(
                text_id=f"t-{e}", employee_id=e, org_unit=o.org_unit, channel="chat", text=BANNED
            ),
            metadata=system,
        )
        w.cases[e] = scan.cases[0]
        w.commitments[e] = com.CreateCommitment(
            cpb.CreateCommitmentRequest(
                template_id="loan_disbursal_3d", employee_id=e, client_id="C1", correlation_value=f"L-{e}"
            ),
            metadata=system,
        ).name
        sc.RecordMetrics(
            spb.RecordMetricsRequest(
                values=[
                    spb.MetricValue(
                        employee_id=e,
                        org_unit=o.org_unit,
                        role="credit_officer",
                        period=PERIOD,
                        metric="verified_visits",
                        value="10",
                        mode="set",
                        source="crm",
                    )
                ]
            ),
            metadata=system,
        )
    sc.ComputeScores(spb.ComputeScoresRequest(period=PERIOD, org_unit="/hq"), metadata=system)
    start = datetime.now(UTC) - timedelta(days=1)
    for unit in {o.org_unit for o in PEOPLE.values()}:
        w.goals[unit] = pts.CreateTeamGoal(
            ppb.CreateTeamGoalRequest(goal=team_goal(unit, start)), metadata=admin
        ).id


def ping(e: str, at: datetime) -> apb.Ping:
    return apb.Ping(
        employee_id=e,
        device_id="phone",
        location=GeoPoint(latitude=22.5, longitude=114.0),
        accuracy_m=8,
        time=ts(at),
    )


def team_goal(unit: str, start: datetime) -> ppb.TeamGoal:
    return ppb.TeamGoal(
        name="probe",
        org_unit=unit,
        event_type="loan_completed",
        target=10,
        pool_points=100,
        start_time=ts(start),
        end_time=ts(start + timedelta(days=30)),
    )


# -- one request per RPC: ``probe(world, target) -> call(metadata)`` --------------------------------------
Call = Callable[[list[tuple[str, str]]], Any]
Probe = Callable[[World, Target], Call]


def _who(t: Target) -> tuple[str, str]:
    o = PEOPLE[t]
    return o.employee_id, o.org_unit


def _pop(items: list[str]) -> str:
    return items.pop() if len(items) > 1 else items[0]


def identity_probes(w: World) -> dict[str, Probe]:
    s = identity_service_pb2_grpc.IdentityServiceStub(w.channel("identity"))

    from services.identity.keys import SigningKeyRing

    ring = SigningKeyRing(w.p["identity"].host.ctx.secrets, max_token_ttl_seconds=600)
    ring.load()

    def victim_token() -> str:  # a token identity signed (it revokes only its own), not the caller's
        return ring.signer.issue("accounts/victim", roles=("sales_rep",))

    return {
        "GetJwks": lambda w, t: lambda md: s.GetJwks(keys_pb2.GetJwksRequest(), metadata=md),
        "IssueServiceToken": lambda w, t: (
            lambda md: s.IssueServiceToken(
                keys_pb2.IssueServiceTokenRequest(client_id="nobody", client_secret="wrong-secret"),
                metadata=md,
            )
        ),
        "Login": lambda w, t: (
            lambda md: s.Login(
                accounts_pb2.LoginRequest(username=uid("nobody"), password="wrong password"), metadata=md
            )
        ),
        "RefreshToken": lambda w, t: (
            lambda md: s.RefreshToken(
                accounts_pb2.RefreshTokenRequest(refresh_token="not-a-refresh-token"), metadata=md
            )
        ),
        "RevokeToken": lambda w, t: (
            lambda md: s.RevokeToken(accounts_pb2.RevokeTokenRequest(token=victim_token()), metadata=md)
        ),
        "ListRevokedTokens": lambda w, t: (
            lambda md: s.ListRevokedTokens(accounts_pb2.ListRevokedTokensRequest(), metadata=md)
        ),
        "RotateSigningKey": lambda w, t: (
            lambda md: s.RotateSigningKey(accounts_pb2.RotateSigningKeyRequest(), metadata=md)
        ),
        "CreateOrgUnit": lambda w, t: (
            lambda md: s.CreateOrgUnit(
                org_pb2.CreateOrgUnitRequest(
                    org_unit=org_pb2.OrgUnit(path=f"/hq/{uid('u')}", parent_path="/hq")
                ),
                metadata=md,
            )
        ),
        "GetOrgUnit": lambda w, t: (
            lambda md: s.GetOrgUnit(org_pb2.GetOrgUnitRequest(path="/hq"), metadata=md)
        ),
        "ListOrgUnits": lambda w, t: lambda md: s.ListOrgUnits(org_pb2.ListOrgUnitsRequest(), metadata=md),
        "CreateEmployee": lambda w, t: (
            lambda md: s.CreateEmployee(
                org_pb2.CreateEmployeeRequest(
                    employee=org_pb2.Employee(
                        employee_id=uid("N"),
                        display_name="new",
                        org_unit=_who(t)[1],
                        status=org_pb2.EMPLOYEE_STATUS_ACTIVE,
                    )
                ),
                metadata=md,
            )
        ),
        "GetEmployee": lambda w, t: (
            lambda md: s.GetEmployee(org_pb2.GetEmployeeRequest(name=f"employees/{_who(t)[0]}"), metadata=md)
        ),
        "ListEmployees": lambda w, t: lambda md: s.ListEmployees(org_pb2.ListEmployeesRequest(), metadata=md),
        "UpdateEmployee": lambda w, t: (
            lambda md: s.UpdateEmployee(
                org_pb2.UpdateEmployeeRequest(
                    employee=org_pb2.Employee(employee_id=_who(t)[0], display_name=uid("name")),
                    update_mask=FieldMask(paths=["display_name"]),
                ),
                metadata=md,
            )
        ),
        "ImportDirectory": lambda w, t: (
            lambda md: s.ImportDirectory(
                iter(
                    [
                        org_pb2.ImportRecord(
                            org_unit=org_pb2.OrgUnit(path=f"/hq/{uid('i')}", parent_path="/hq")
                        )
                    ]
                ),
                metadata=md,
            )
        ),
        "CreateAccount": lambda w, t: (
            lambda md: s.CreateAccount(
                accounts_pb2.CreateAccountRequest(
                    account=accounts_pb2.Account(username=uid("acct")),
                    password="correct horse battery staple",
                ),
                metadata=md,
            )
        ),
        "GetAccount": lambda w, t: (
            lambda md: s.GetAccount(accounts_pb2.GetAccountRequest(name="accounts/victim"), metadata=md)
        ),
        "UnlockAccount": lambda w, t: (
            lambda md: s.UnlockAccount(accounts_pb2.UnlockAccountRequest(name="accounts/victim"), metadata=md)
        ),
        "SetPassword": lambda w, t: (
            lambda md: s.SetPassword(
                accounts_pb2.SetPasswordRequest(
                    name="accounts/victim", new_password="another long passphrase"
                ),
                metadata=md,
            )
        ),
        "SetRoleAssignments": lambda w, t: (
            lambda md: s.SetRoleAssignments(
                accounts_pb2.SetRoleAssignmentsRequest(name="accounts/victim"), metadata=md
            )
        ),
        "CreateServiceAccount": lambda w, t: (
            lambda md: s.CreateServiceAccount(
                accounts_pb2.CreateServiceAccountRequest(
                    service_account=accounts_pb2.ServiceAccount(client_id=uid("svc"))
                ),
                metadata=md,
            )
        ),
        "ListRoles": lambda w, t: lambda md: s.ListRoles(rbac_pb2.ListRolesRequest(), metadata=md),
        "CheckPermission": lambda w, t: (
            lambda md: s.CheckPermission(
                rbac_pb2.CheckPermissionRequest(permission="points.ledger.read"), metadata=md
            )
        ),
        "ListAuditEntries": lambda w, t: (
            lambda md: s.ListAuditEntries(audit_pb2.ListAuditEntriesRequest(), metadata=md)
        ),
        "VerifyAuditChain": lambda w, t: (
            lambda md: s.VerifyAuditChain(audit_pb2.VerifyAuditChainRequest(), metadata=md)
        ),
    }


def attendance_probes(w: World) -> dict[str, Probe]:
    s = attendance_pb2_grpc.AttendanceServiceStub(w.channel("attendance"))
    day = (datetime.now(UTC) - timedelta(days=1)).date().isoformat()

    def place() -> apb.ClientPlace:
        return apb.ClientPlace(client_id=uid("P"), location=GeoPoint(latitude=22.6, longitude=114.1))

    def fix(t: Target) -> apb.Ping:
        return ping(_who(t)[0], datetime.now(UTC) - timedelta(minutes=1))

    return {
        "ImportClientPlaces": lambda w, t: (
            lambda md: s.ImportClientPlaces(apb.ImportClientPlacesRequest(places=[place()]), metadata=md)
        ),
        "StreamClientPlaces": lambda w, t: lambda md: s.StreamClientPlaces(iter([place()]), metadata=md),
        "FindNearbyPlaces": lambda w, t: (
            lambda md: s.FindNearbyPlaces(
                apb.FindNearbyPlacesRequest(location=GeoPoint(latitude=22.5, longitude=114.0), radius_m=100),
                metadata=md,
            )
        ),
        "CheckIn": lambda w, t: (
            lambda md: s.CheckIn(apb.CheckInRequest(ping=fix(t), client_id="P1"), metadata=md)
        ),
        "BatchCheckIns": lambda w, t: (
            lambda md: s.BatchCheckIns(
                apb.BatchCheckInsRequest(
                    check_ins=[apb.CheckInRequest(ping=fix(t), client_id="P1", request_id=uid("c"))]
                ),
                metadata=md,
            )
        ),
        "IngestPings": lambda w, t: (
            lambda md: s.IngestPings(apb.IngestPingsRequest(pings=[fix(t)]), metadata=md)
        ),
        "StreamPings": lambda w, t: lambda md: s.StreamPings(iter([fix(t)]), metadata=md),
        "GetRouteReport": lambda w, t: (
            lambda md: s.GetRouteReport(
                apb.GetRouteReportRequest(employee_id=_who(t)[0], date=datetime.now(UTC).date().isoformat()),
                metadata=md,
            )
        ),
        "GetTeamSummary": lambda w, t: (
            lambda md: s.GetTeamSummary(apb.GetTeamSummaryRequest(org_unit=_who(t)[1], date=day), metadata=md)
        ),
        "CloseDay": lambda w, t: lambda md: s.CloseDay(apb.CloseDayRequest(date=day), metadata=md),
    }


def scorecard() -> spb.Scorecard:
    kpi = spb.Kpi(id="x", label="x", weight="100", direction="higher", normalisation="minmax")
    return spb.Scorecard(id="probe", role="probe", effective_from="2026-01-01", kpis=[kpi])


def scoring_probes(w: World) -> dict[str, Probe]:
    s = scoring_pb2_grpc.ScoringServiceStub(w.channel("scoring"))
    return {
        "CreateScorecardVersion": lambda w, t: (
            lambda md: s.CreateScorecardVersion(
                spb.CreateScorecardVersionRequest(scorecard=scorecard()),
                metadata=md,
            )
        ),
        "ListScorecards": lambda w, t: lambda md: s.ListScorecards(spb.ListScorecardsRequest(), metadata=md),
        "RecordMetrics": lambda w, t: (
            lambda md: s.RecordMetrics(
                spb.RecordMetricsRequest(
                    values=[
                        spb.MetricValue(
                            employee_id=_who(t)[0],
                            org_unit=_who(t)[1],
                            role="credit_officer",
                            period=PERIOD,
                            metric="approval_quality",
                            value="0.9",
                            mode="set",
                            source="crm",
                        )
                    ]
                ),
                metadata=md,
            )
        ),
        "ComputeScores": lambda w, t: (
            lambda md: s.ComputeScores(
                spb.ComputeScoresRequest(period=PERIOD, org_unit=_who(t)[1]), metadata=md
            )
        ),
        "GetScore": lambda w, t: (
            lambda md: s.GetScore(spb.GetScoreRequest(employee_id=_who(t)[0], period=PERIOD), metadata=md)
        ),
        "ListScores": lambda w, t: lambda md: s.ListScores(spb.ListScoresRequest(period=PERIOD), metadata=md),
        "CalibrateScore": lambda w, t: (
            lambda md: s.CalibrateScore(
                spb.CalibrateScoreRequest(
                    employee_id=_who(t)[0],
                    period=PERIOD,
                    adjustment="1",
                    reason="probe",
                    request_id=uid("cal"),
                ),
                metadata=md,
            )
        ),
        "ListSignals": lambda w, t: (
            lambda md: s.ListSignals(spb.ListSignalsRequest(period=PERIOD), metadata=md)
        ),
        # authorization comes before the data: too few people for a profile is FAILED_PRECONDITION
        "RefreshPerformerProfile": lambda w, t: (
            lambda md: s.RefreshPerformerProfile(
                spb.RefreshPerformerProfileRequest(
                    role="credit_officer", period=PERIOD, outcome_kpi="verified_visits", org_unit=_who(t)[1]
                ),
                metadata=md,
            )
        ),
        "GetPerformerProfile": lambda w, t: (
            lambda md: s.GetPerformerProfile(
                spb.GetPerformerProfileRequest(
                    role="credit_officer", period=PERIOD, outcome_kpi="verified_visits", org_unit=_who(t)[1]
                ),
                metadata=md,
            )
        ),
        "ListCoachingGaps": lambda w, t: (
            lambda md: s.ListCoachingGaps(
                spb.ListCoachingGapsRequest(
                    role="credit_officer", period=PERIOD, outcome_kpi="verified_visits"
                ),
                metadata=md,
            )
        ),
        "GetHeatMap": lambda w, t: lambda md: s.GetHeatMap(spb.GetHeatMapRequest(period=PERIOD), metadata=md),
        "GetUnitTrends": lambda w, t: (
            lambda md: s.GetUnitTrends(
                spb.GetUnitTrendsRequest(from_period=PERIOD, to_period=PERIOD), metadata=md
            )
        ),
        "CreateDriverAnalysis": lambda w, t: (
            lambda md: s.CreateDriverAnalysis(
                spb.CreateDriverAnalysisRequest(
                    role="credit_officer",
                    outcome="conversion_rate",
                    period_from=PERIOD,
                    period_to=PERIOD,
                    kpis=["approval_quality"],
                ),
                metadata=md,
            )
        ),
        "GetDriverAnalysis": lambda w, t: (
            lambda md: s.GetDriverAnalysis(
                spb.GetDriverAnalysisRequest(name="driverAnalyses/999999"), metadata=md
            )
        ),
        "ListDriverAnalyses": lambda w, t: (
            lambda md: s.ListDriverAnalyses(spb.ListDriverAnalysesRequest(), metadata=md)
        ),
        "DraftScorecardFromAnalysis": lambda w, t: (
            lambda md: s.DraftScorecardFromAnalysis(
                spb.DraftScorecardFromAnalysisRequest(analysis="driverAnalyses/999999"), metadata=md
            )
        ),
        "GetScorecardDraft": lambda w, t: (
            lambda md: s.GetScorecardDraft(
                spb.GetScorecardDraftRequest(name="scorecardDrafts/999999"), metadata=md
            )
        ),
        "ApproveScorecardDraft": lambda w, t: (
            lambda md: s.ApproveScorecardDraft(
                spb.ApproveScorecardDraftRequest(name="scorecardDrafts/999999"), metadata=md
            )
        ),
        "ActivateScorecardDraft": lambda w, t: (
            lambda md: s.ActivateScorecardDraft(
                spb.ActivateScorecardDraftRequest(name="scorecardDrafts/999999"), metadata=md
            )
        ),
    }


def points_probes(w: World) -> dict[str, Probe]:
    s = points_pb2_grpc.PointsServiceStub(w.channel("points"))

    def event(t: Target) -> ppb.BusinessEvent:
        e, u = _who(t)
        return ppb.BusinessEvent(id=uid("ev"), type="probe_nothing_pays", employee_id=e, org_unit=u)

    def act(rpc: str) -> Probe:
        return lambda w, t: (
            lambda md: getattr(s, rpc)(
                ppb.RedemptionActionRequest(redemption_id=_pop(w.redemptions[_who(t)[0]]), reason="probe"),
                metadata=md,
            )
        )

    return {
        "RecordEvent": lambda w, t: (
            lambda md: s.RecordEvent(ppb.RecordEventRequest(event=event(t)), metadata=md)
        ),
        "RecordEvents": lambda w, t: (
            lambda md: s.RecordEvents(ppb.RecordEventsRequest(events=[event(t)]), metadata=md)
        ),
        "ReverseEvent": lambda w, t: (
            lambda md: s.ReverseEvent(
                ppb.ReverseEventRequest(source_event_id=_pop(w.awards[_who(t)[0]]), reason="probe"),
                metadata=md,
            )
        ),
        "AdjustPoints": lambda w, t: (
            lambda md: s.AdjustPoints(
                ppb.AdjustPointsRequest(employee_id=_who(t)[0], points=1, reason="probe"), metadata=md
            )
        ),
        "GetBalance": lambda w, t: (
            lambda md: s.GetBalance(ppb.GetBalanceRequest(employee_id=_who(t)[0]), metadata=md)
        ),
        "ListLedgerEntries": lambda w, t: (
            lambda md: s.ListLedgerEntries(
                ppb.ListLedgerEntriesRequest(employee_id=_who(t)[0], page_size=1), metadata=md
            )
        ),
        "GetLeaderboard": lambda w, t: (
            lambda md: s.GetLeaderboard(ppb.GetLeaderboardRequest(period=ppb.WEEK, top=3), metadata=md)
        ),
        "CreateTeamGoal": lambda w, t: (
            lambda md: s.CreateTeamGoal(
                ppb.CreateTeamGoalRequest(goal=team_goal(_who(t)[1], datetime.now(UTC))), metadata=md
            )
        ),
        "GetTeamGoal": lambda w, t: (
            lambda md: s.GetTeamGoal(ppb.GetTeamGoalRequest(id=w.goals[_who(t)[1]]), metadata=md)
        ),
        "ListTeamGoals": lambda w, t: lambda md: s.ListTeamGoals(ppb.ListTeamGoalsRequest(), metadata=md),
        "SetPersonalGoal": lambda w, t: (
            lambda md: s.SetPersonalGoal(
                ppb.SetPersonalGoalRequest(employee_id=_who(t)[0], period=ppb.MONTH, target=100), metadata=md
            )
        ),
        "GetPersonalGoal": lambda w, t: (
            lambda md: s.GetPersonalGoal(
                ppb.GetPersonalGoalRequest(employee_id=_who(t)[0], period=ppb.MONTH), metadata=md
            )
        ),
        "SendNudges": lambda w, t: lambda md: s.SendNudges(ppb.SendNudgesRequest(), metadata=md),
        "ExpirePoints": lambda w, t: lambda md: s.ExpirePoints(ppb.ExpirePointsRequest(), metadata=md),
        "CreateRewardItem": lambda w, t: (
            lambda md: s.CreateRewardItem(
                ppb.CreateRewardItemRequest(item=ppb.RewardItem(id=uid("item"), cost=10, stock=1)),
                metadata=md,
            )
        ),
        "ListRewardItems": lambda w, t: (
            lambda md: s.ListRewardItems(ppb.ListRewardItemsRequest(), metadata=md)
        ),
        "RedeemReward": lambda w, t: (
            lambda md: s.RedeemReward(
                ppb.RedeemRewardRequest(item_id="gift", employee_id=_who(t)[0]), metadata=md
            )
        ),
        "ApproveRedemption": act("ApproveRedemption"),
        "FulfilRedemption": act("FulfilRedemption"),
        "RejectRedemption": act("RejectRedemption"),
        "CancelRedemption": act("CancelRedemption"),
    }


def compliance_probes(w: World) -> dict[str, Probe]:
    s = compliance_pb2_grpc.ComplianceServiceStub(w.channel("compliance"))

    def text(t: Target) -> kpb.ScanTextRequest:
        e, u = _who(t)
        return kpb.ScanTextRequest(text_id=uid("txt"), employee_id=e, org_unit=u, channel="chat", text="您好")

    return {
        "ScanText": lambda w, t: lambda md: s.ScanText(text(t), metadata=md),
        "ScanTexts": lambda w, t: lambda md: s.ScanTexts(kpb.ScanTextsRequest(texts=[text(t)]), metadata=md),
        "StreamScan": lambda w, t: (
            lambda md: list(s.StreamScan(iter([kpb.ScanChunk(header=text(t), text="您好")]), metadata=md))
        ),
        "LoadWatchlist": lambda w, t: (
            lambda md: s.LoadWatchlist(
                kpb.LoadWatchlistRequest(
                    entries=[kpb.WatchlistEntry(id=uid("w"), list_name="probe", name="某某")]
                ),
                metadata=md,
            )
        ),
        "ScreenNames": lambda w, t: (
            lambda md: s.ScreenNames(kpb.ScreenNamesRequest(names=["某某"]), metadata=md)
        ),
        "RecordClientActivity": lambda w, t: (
            lambda md: s.RecordClientActivity(
                kpb.RecordClientActivityRequest(
                    employee_id=_who(t)[0],
                    org_unit=_who(t)[1],
                    client_id="C1",
                    kind="contact",
                    activity_id=uid("act"),
                    occurred_at=ts(datetime.now(UTC) - timedelta(minutes=1)),
                ),
                metadata=md,
            )
        ),
        "EvaluateBehaviour": lambda w, t: (
            lambda md: s.EvaluateBehaviour(kpb.EvaluateBehaviourRequest(), metadata=md)
        ),
        "GetCase": lambda w, t: (
            lambda md: s.GetCase(kpb.GetCaseRequest(name=w.cases[_who(t)[0]]), metadata=md)
        ),
        "ListCases": lambda w, t: lambda md: s.ListCases(kpb.ListCasesRequest(), metadata=md),
        "ListScreeningHits": lambda w, t: (
            lambda md: s.ListScreeningHits(kpb.ListScreeningHitsRequest(), metadata=md)
        ),
        "TransitionCase": lambda w, t: (
            lambda md: s.TransitionCase(
                kpb.TransitionCaseRequest(name=w.cases[_who(t)[0]], state="ESCALATED", comment="probe"),
                metadata=md,
            )
        ),
        "AddCaseComment": lambda w, t: (
            lambda md: s.AddCaseComment(
                kpb.AddCaseCommentRequest(name=w.cases[_who(t)[0]], comment="probe"), metadata=md
            )
        ),
        "VerifyAuditChain": lambda w, t: (
            lambda md: s.VerifyAuditChain(kpb.VerifyAuditChainRequest(), metadata=md)
        ),
        "GetPhraseFeedback": lambda w, t: (
            lambda md: s.GetPhraseFeedback(kpb.GetPhraseFeedbackRequest(), metadata=md)
        ),
    }


def commitments_probes(w: World) -> dict[str, Probe]:
    s = commitments_pb2_grpc.CommitmentsServiceStub(w.channel("commitments"))
    later = ts(datetime.now(UTC) + timedelta(days=30))
    return {
        "CreateCommitment": lambda w, t: (
            lambda md: s.CreateCommitment(
                cpb.CreateCommitmentRequest(
                    template_id="loan_disbursal_3d",
                    employee_id=_who(t)[0],
                    client_id="C1",
                    correlation_value=uid("L"),
                ),
                metadata=md,
            )
        ),
        "GetCommitment": lambda w, t: (
            lambda md: s.GetCommitment(cpb.GetCommitmentRequest(name=w.commitments[_who(t)[0]]), metadata=md)
        ),
        "ListCommitments": lambda w, t: (
            lambda md: s.ListCommitments(cpb.ListCommitmentsRequest(), metadata=md)
        ),
        "VerifyCommitment": lambda w, t: (
            lambda md: s.VerifyCommitment(
                cpb.VerifyCommitmentRequest(name=w.commitments[_who(t)[0]]), metadata=md
            )
        ),
        "ExtendCommitment": lambda w, t: (
            lambda md: s.ExtendCommitment(
                cpb.ExtendCommitmentRequest(
                    name=w.commitments[_who(t)[0]], new_deadline=later, reason="probe"
                ),
                metadata=md,
            )
        ),
        "CancelCommitment": lambda w, t: (
            lambda md: s.CancelCommitment(
                cpb.CancelCommitmentRequest(name=w.commitments[_who(t)[0]], reason="probe"), metadata=md
            )
        ),
        "RecordFulfilment": lambda w, t: (
            lambda md: s.RecordFulfilment(
                cpb.RecordFulfilmentRequest(
                    event_type="loan.disbursed",
                    correlation_key="loan_id",
                    correlation_value=uid("none"),
                    event_id=uid("f"),
                ),
                metadata=md,
            )
        ),
        "GetFulfilmentRate": lambda w, t: (
            lambda md: s.GetFulfilmentRate(
                cpb.GetFulfilmentRateRequest(
                    org_unit=_who(t)[1], start_time=ts(datetime(2026, 1, 1)), end_time=ts(datetime.now(UTC))
                ),
                metadata=md,
            )
        ),
        "ListTemplates": lambda w, t: lambda md: s.ListTemplates(cpb.ListTemplatesRequest(), metadata=md),
    }


def rules_probes(w: World, service: str) -> dict[str, Probe]:
    """Reads probe a pack that does not exist or an invalid one (authorization comes first); changes probe
    the service's shipped pack, each a no-op once allowed (publishing it again, activating or rolling back
    to the active version, approving it again)."""
    s = rule_pack_service_pb2_grpc.RulePackServiceStub(w.channel(service))
    pack = f"id: probe\nservice: {service}\n"
    name = f"packs/{service}-nothing/versions/1.0.0"
    spec, version, path = shipped_pack(service)
    shipped = f"packs/{spec.pack_id}/versions/{version}"
    source = path.read_text(encoding="utf-8")
    return {
        "ValidateRulePack": lambda w, t: (
            lambda md: s.ValidateRulePack(rpb.ValidateRulePackRequest(source_yaml=pack), metadata=md)
        ),
        "TestRulePack": lambda w, t: (
            lambda md: s.TestRulePack(rpb.TestRulePackRequest(source_yaml=pack), metadata=md)
        ),
        "PublishRulePack": lambda w, t: (
            lambda md: s.PublishRulePack(rpb.PublishRulePackRequest(source_yaml=source), metadata=md)
        ),
        "ActivateRulePackVersion": lambda w, t: (
            lambda md: s.ActivateRulePackVersion(
                rpb.ActivateRulePackVersionRequest(name=shipped), metadata=md
            )
        ),
        "RollbackRulePack": lambda w, t: (
            lambda md: s.RollbackRulePack(
                rpb.RollbackRulePackRequest(pack_id=spec.pack_id, to_version=version), metadata=md
            )
        ),
        "GetRulePackVersion": lambda w, t: (
            lambda md: s.GetRulePackVersion(rpb.GetRulePackVersionRequest(name=name), metadata=md)
        ),
        "ListRulePackVersions": lambda w, t: (
            lambda md: s.ListRulePackVersions(
                rpb.ListRulePackVersionsRequest(pack_id=f"{service}-nothing"), metadata=md
            )
        ),
        "ListActiveRulePacks": lambda w, t: (
            lambda md: s.ListActiveRulePacks(rpb.ListActiveRulePacksRequest(), metadata=md)
        ),
        "DiffRulePackVersions": lambda w, t: (
            lambda md: s.DiffRulePackVersions(
                rpb.DiffRulePackVersionsRequest(
                    pack_id=f"{service}-nothing", from_version="1.0.0", to_version="1.0.1"
                ),
                metadata=md,
            )
        ),
        "DryRunRulePack": lambda w, t: (
            lambda md: s.DryRunRulePack(rpb.DryRunRulePackRequest(candidate_yaml=pack), metadata=md)
        ),
        "GetApprovalRequest": lambda w, t: (
            lambda md: s.GetApprovalRequest(rpb.GetApprovalRequestRequest(name=name), metadata=md)
        ),
        "ApproveRulePackVersion": lambda w, t: (
            lambda md: s.ApproveRulePackVersion(
                rpb.ApproveRulePackVersionRequest(name=shipped, comment="matrix probe"), metadata=md
            )
        ),
        "RejectRulePackVersion": lambda w, t: (  # the shipped version is active: refused after the check
            lambda md: s.RejectRulePackVersion(
                rpb.RejectRulePackVersionRequest(name=shipped, reason="matrix probe"), metadata=md
            )
        ),
    }


def events_probes(w: World, service: str) -> dict[str, Probe]:
    s = event_pb2_grpc.EventSinkServiceStub(w.channel(service))
    source, kind = event_source(service)

    def deliver(w: World, t: Target) -> Call:
        ev = new_event(kind, source=source, subject=f"employees/{CALLER}", org_unit=TEAM_UNIT)
        return lambda md: s.DeliverEvents(event_pb2.DeliverEventsRequest(events=[ev]), metadata=md)

    return {"DeliverEvents": deliver}


PROBES: dict[str, Callable[[World], dict[str, Probe]]] = {
    "identity": identity_probes,
    "attendance": attendance_probes,
    "scoring": scoring_probes,
    "points": points_probes,
    "compliance": compliance_probes,
    "commitments": commitments_probes,
}


def probe_for(w: World, rpc: Rpc) -> Probe:
    if rpc.grpc_service.endswith("RulePackService"):
        return rules_probes(w, rpc.service)[rpc.method]
    if rpc.grpc_service.endswith("EventSinkService"):
        return events_probes(w, rpc.service)[rpc.method]
    return PROBES[rpc.service](w)[rpc.method]


# -- the test ------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    tmp = tmp_path_factory.mktemp("matrix")
    urls = {n: f"sqlite:///{tmp / (n + '.db')}" for n in SERVICES}
    with running_platform(list(SERVICES), db_urls=urls, data_dir=tmp) as p:
        w = World(p)
        _seed(w)
        yield w


def observe(call: Call, md: list[tuple[str, str]], permission: str) -> tuple[bool, str]:
    """(allowed, detail): denied is PERMISSION_DENIED naming the permission; anything else got through."""
    try:
        call(md)
    except grpc.RpcError as exc:
        code, details = exc.code(), exc.details() or ""
        if code == grpc.StatusCode.PERMISSION_DENIED:
            named = not permission or permission in details
            return False, "" if named else f"PERMISSION_DENIED without naming {permission}: {details}"
        if code in (grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN):
            return True, f"{code.name}: {details}"
        return True, ""
    return True, ""


def test_every_rpc_every_role_every_target_through_grpc(world: World) -> None:
    roles = list(shipped_roles())
    tokens = {role: bearer(world.token(role)) for role in roles}
    problems: list[str] = []
    lines: list[str] = []
    all_rpcs = list(rpcs())
    for rpc in all_rpcs:
        probe = probe_for(world, rpc)
        public = rpc.check.about is About.PUBLIC
        # A public RPC needs no token: called once, without one, for every role's cell.
        once = observe(probe(world, Target.OWN), [], "") if public else None
        row = []
        for role in roles:
            marks = ""
            for target in targets(rpc):
                want = cell(role, rpc, target)
                c = rpc.check
                own = target is Target.OWN and not is_service_role(role)
                named = c.own if own and c.own not in ("", "deny", "free") else c.permission
                got, detail = once or observe(probe(world, target), tokens[role], named)
                marks += "Y" if got else "."
                if detail and not (public and "UNAUTHENTICATED" in detail):
                    problems.append(f"{rpc.service} {rpc.method} as {role} about {target}: {detail}")
                elif got != want:
                    problems.append(
                        f"{rpc.service} {rpc.method} as {role} about {target}: expected "
                        f"{'allowed' if want else 'denied'}, was {'allowed' if got else 'denied'}"
                    )
            row.append(marks)
        lines.append(f"{rpc.service:12} {rpc.method:26} " + " ".join(f"{m:4}" for m in row))
    print("\n" + " " * 40 + " ".join(r[:4] for r in roles))
    print("\n".join(lines))
    assert len(all_rpcs) > 100
    assert not problems, "\n".join(problems)


def test_every_rpc_of_every_service_is_in_the_matrix() -> None:
    from google.protobuf import descriptor_pool

    import covenant.attendance.v1.attendance_pb2
    import covenant.commitments.v1.commitments_pb2
    import covenant.compliance.v1.compliance_pb2
    import covenant.events.v1.event_pb2
    import covenant.identity.v1.identity_service_pb2
    import covenant.points.v1.points_pb2
    import covenant.rules.v1.rule_pack_service_pb2
    import covenant.scoring.v1.scoring_pb2  # noqa: F401

    pool = descriptor_pool.Default()
    listed = {(r.grpc_service, r.method) for r in rpcs()}
    for name, info in SERVICES.items():
        declared = {m.name for m in pool.FindServiceByName(info.grpc_service).methods}
        assert declared == {m for s, m in listed if s == info.grpc_service}, name
    for chassis in ("covenant.rules.v1.RulePackService", "covenant.events.v1.EventSinkService"):
        declared = {m.name for m in pool.FindServiceByName(chassis).methods}
        assert declared == {m for s, m in listed if s == chassis}, chassis


def test_the_committed_matrix_is_fresh() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "gen_authz_matrix.py"), "--check"],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr


# -- names cannot be probed (AIP-211's order, covenant.auth.authorizing_lookup) -----------------------------
# RPC -> (permission, call for a resource id, the id of the other unit's resource). A missing id is told what
# a resource outside the caller's scope tells it; only a grant over everything learns that it does not exist.
def by_name_probes(w: World) -> dict[str, tuple[str, Callable[[str], Call], str]]:
    comp = compliance_pb2_grpc.ComplianceServiceStub(w.channel("compliance"))
    com = commitments_pb2_grpc.CommitmentsServiceStub(w.channel("commitments"))
    pts = points_pb2_grpc.PointsServiceStub(w.channel("points"))
    later = ts(datetime.now(UTC) + timedelta(days=30))
    far, far_unit = _who(Target.OTHER_UNIT)
    case, commitment = w.cases[far], w.commitments[far]
    return {
        "GetCase": (
            "compliance.cases.read",
            lambda n: lambda md: comp.GetCase(kpb.GetCaseRequest(name=f"cases/{n}"), metadata=md),
            case.removeprefix("cases/"),
        ),
        "TransitionCase": (
            "compliance.cases.manage",
            lambda n: (
                lambda md: comp.TransitionCase(
                    kpb.TransitionCaseRequest(name=f"cases/{n}", state="ESCALATED", comment="probe"),
                    metadata=md,
                )
            ),
            case.removeprefix("cases/"),
        ),
        "AddCaseComment": (
            "compliance.cases.manage",
            lambda n: (
                lambda md: comp.AddCaseComment(
                    kpb.AddCaseCommentRequest(name=f"cases/{n}", comment="probe"), metadata=md
                )
            ),
            case.removeprefix("cases/"),
        ),
        "GetCommitment": (
            "commitments.commitments.read",
            lambda n: (
                lambda md: com.GetCommitment(cpb.GetCommitmentRequest(name=f"commitments/{n}"), metadata=md)
            ),
            commitment.removeprefix("commitments/"),
        ),
        "VerifyCommitment": (
            "commitments.commitments.read",
            lambda n: (
                lambda md: com.VerifyCommitment(
                    cpb.VerifyCommitmentRequest(name=f"commitments/{n}"), metadata=md
                )
            ),
            commitment.removeprefix("commitments/"),
        ),
        "ExtendCommitment": (
            "commitments.commitments.extend",
            lambda n: (
                lambda md: com.ExtendCommitment(
                    cpb.ExtendCommitmentRequest(name=f"commitments/{n}", new_deadline=later, reason="probe"),
                    metadata=md,
                )
            ),
            commitment.removeprefix("commitments/"),
        ),
        "CancelCommitment": (
            "commitments.commitments.cancel",
            lambda n: (
                lambda md: com.CancelCommitment(
                    cpb.CancelCommitmentRequest(name=f"commitments/{n}", reason="probe"), metadata=md
                )
            ),
            commitment.removeprefix("commitments/"),
        ),
        "GetTeamGoal": (
            "points.goals.read",
            lambda n: lambda md: pts.GetTeamGoal(ppb.GetTeamGoalRequest(id=n), metadata=md),
            w.goals[far_unit],
        ),
        # another's (or a missing) redemption: approving it, and cancelling it too, takes approve
        **{
            rpc: (
                "points.rewards.approve",
                lambda n, rpc=rpc: (
                    lambda md: getattr(pts, rpc)(
                        ppb.RedemptionActionRequest(redemption_id=n, reason="probe"), metadata=md
                    )
                ),
                w.redemptions[far][0],
            )
            for rpc in ("ApproveRedemption", "CancelRedemption")
        },
        "ReverseEvent": (
            "points.ledger.adjust",
            lambda n: (
                lambda md: pts.ReverseEvent(
                    ppb.ReverseEventRequest(source_event_id=n, reason="probe"), metadata=md
                )
            ),
            w.awards[far][0],
        ),
    }


def answer(call: Call, md: list[tuple[str, str]]) -> tuple[grpc.StatusCode, str]:
    try:
        call(md)
    except grpc.RpcError as exc:
        return exc.code(), exc.details() or ""
    return grpc.StatusCode.OK, ""


def test_a_missing_name_answers_as_one_outside_the_callers_scope_for_every_role(world: World) -> None:
    """Every by-name RPC x every shipped role: a missing id and the other unit's existing id answer alike
    (same code, same message but for the id) unless the role's grant reaches everything, which alone is told
    NOT_FOUND. Runs after the matrix: the existing resources it calls may change (still no cell's concern)."""
    problems: list[str] = []
    checked = 0
    for role, grants in shipped_roles().items():
        md = bearer(world.token(role))
        holder = Principal("probe", permissions=parse_permissions(grants))
        for rpc, (permission, call_for, existing) in by_name_probes(world).items():
            missing = f"no-such-{uid('id')}"
            got, said = answer(call_for(missing), md)
            scope = holder.scope_for(permission)
            checked += 1
            if scope is Scope.ALL:
                if got != grpc.StatusCode.NOT_FOUND:
                    problems.append(f"{rpc} as {role} (all): a missing id was {got.name}: {said}")
                continue
            there, there_said = answer(call_for(existing), md)
            if (got, said.replace(missing, "<id>")) != (there, there_said.replace(existing, "<id>")):
                problems.append(
                    f"{rpc} as {role}: missing id {got.name} {said!r}, another unit's {there.name} "
                    f"{there_said!r}"
                )
            elif got != grpc.StatusCode.PERMISSION_DENIED or permission not in said:
                problems.append(
                    f"{rpc} as {role}: {got.name} {said!r}, not PERMISSION_DENIED for {permission}"
                )
    assert checked >= 11 * 8
    assert not problems, "\n".join(problems)
