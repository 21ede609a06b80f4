"""The console's port to the six services: every call carries the signed-in user's token and a deadline.

The console never widens what a user sees: it asks the services, which authorize and scope every call.
A denial or a client mistake comes back as ``BackendError`` with the service's own message (naming the
permission or the field), shown on the page as it is.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import grpc

from covenant.attendance.v1 import attendance_pb2 as apb
from covenant.attendance.v1 import attendance_pb2_grpc
from covenant.commitments.v1 import commitments_pb2 as cpb
from covenant.commitments.v1 import commitments_pb2_grpc
from covenant.compliance.v1 import compliance_pb2 as kpb
from covenant.compliance.v1 import compliance_pb2_grpc
from covenant.identity.v1 import accounts_pb2, identity_service_pb2_grpc, org_pb2
from covenant.points.v1 import points_pb2 as ppb
from covenant.points.v1 import points_pb2_grpc
from covenant.rules.v1 import rule_pack_service_pb2 as rpb
from covenant.rules.v1 import rule_pack_service_pb2_grpc
from covenant.scoring.v1 import scoring_pb2 as spb
from covenant.scoring.v1 import scoring_pb2_grpc
from covenant.timestamps import ts as timestamp

# Deadlines per kind of call (seconds): page reads, writes, and rule tooling that evaluates many events.
READ_TIMEOUT = 5.0
WRITE_TIMEOUT = 10.0
TOOLING_TIMEOUT = 30.0

RULE_SERVICES = ("identity", "attendance", "scoring", "points", "compliance", "commitments")

_STUBS: dict[str, type] = {
    "identity": identity_service_pb2_grpc.IdentityServiceStub,
    "attendance": attendance_pb2_grpc.AttendanceServiceStub,
    "scoring": scoring_pb2_grpc.ScoringServiceStub,
    "points": points_pb2_grpc.PointsServiceStub,
    "compliance": compliance_pb2_grpc.ComplianceServiceStub,
    "commitments": commitments_pb2_grpc.CommitmentsServiceStub,
}


class BackendError(Exception):
    """A service refused or failed a call; ``code`` is the gRPC status name."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message

    @property
    def http_status(self) -> int:
        return {
            "PERMISSION_DENIED": 403,
            "UNAUTHENTICATED": 401,
            "NOT_FOUND": 404,
            "INVALID_ARGUMENT": 400,
            "FAILED_PRECONDITION": 409,
            "ALREADY_EXISTS": 409,
        }.get(self.code, 502)


class Channels:
    """One shared channel per service target (tokens travel per call, so users share connections)."""

    def __init__(self, targets: Mapping[str, str], factory: Callable[[str], grpc.Channel]) -> None:
        self._targets = dict(targets)
        self._factory = factory
        self._channels: dict[str, grpc.Channel] = {}
        self._lock = threading.Lock()

    def get(self, service: str) -> grpc.Channel:
        with self._lock:
            channel = self._channels.get(service)
            if channel is None:
                channel = self._channels[service] = self._factory(self._targets[service])
            return channel

    def close(self) -> None:
        with self._lock:
            for channel in self._channels.values():
                channel.close()
            self._channels.clear()


@dataclass
class Backend:
    """Calls on behalf of one user (``token``; empty before sign-in)."""

    channels: Channels
    token: str = ""

    def as_user(self, token: str) -> Backend:
        return Backend(self.channels, token)

    # -- plumbing --------------------------------------------------------------------------------
    def _call(self, stub_class: type, service: str, method: str, request: Any, timeout: float) -> Any:
        stub = stub_class(self.channels.get(service))
        metadata = [("authorization", f"Bearer {self.token}")] if self.token else []
        try:
            return getattr(stub, method)(request, timeout=timeout, metadata=metadata)
        except grpc.RpcError as exc:
            code = exc.code()
            raise BackendError(code.name if code else "UNKNOWN", exc.details() or "") from None

    def _service(self, service: str, method: str, request: Any, timeout: float = READ_TIMEOUT) -> Any:
        """``method`` of ``service``'s own gRPC service."""
        return self._call(_STUBS[service], service, method, request, timeout)

    def _identity(self, method: str, request: Any, timeout: float = READ_TIMEOUT) -> Any:
        return self._service("identity", method, request, timeout)

    def _rules(self, service: str, method: str, request: Any, timeout: float = READ_TIMEOUT) -> Any:
        return self._call(rule_pack_service_pb2_grpc.RulePackServiceStub, service, method, request, timeout)

    # -- identity --------------------------------------------------------------------------------
    def login(self, username: str, password: str) -> accounts_pb2.TokenPair:
        return self._identity("Login", accounts_pb2.LoginRequest(username=username, password=password))

    def refresh(self, refresh_token: str) -> accounts_pb2.TokenPair:
        return self._identity("RefreshToken", accounts_pb2.RefreshTokenRequest(refresh_token=refresh_token))

    def revoke(self, token: str) -> None:
        self._identity("RevokeToken", accounts_pb2.RevokeTokenRequest(token=token), WRITE_TIMEOUT)

    def employee(self, employee_id: str) -> org_pb2.Employee:
        return self._identity("GetEmployee", org_pb2.GetEmployeeRequest(name=f"employees/{employee_id}"))

    def org_units(self) -> list[org_pb2.OrgUnit]:
        units: list[org_pb2.OrgUnit] = []
        token = ""
        while True:
            page = self._identity(
                "ListOrgUnits", org_pb2.ListOrgUnitsRequest(page_size=500, page_token=token)
            )
            units += page.org_units
            token = page.next_page_token
            if not token:
                return units

    # -- attendance ------------------------------------------------------------------------------
    def team_day(self, org_unit: str, date: str) -> list[apb.EmployeeDay]:
        rows: list[apb.EmployeeDay] = []
        token = ""
        stub = attendance_pb2_grpc.AttendanceServiceStub
        while len(rows) < 2000:
            page = self._call(
                stub,
                "attendance",
                "GetTeamSummary",
                apb.GetTeamSummaryRequest(org_unit=org_unit, date=date, page_size=500, page_token=token),
                READ_TIMEOUT,
            )
            rows += page.employees
            token = page.next_page_token
            if not token:
                break
        return rows

    def route(self, employee_id: str, date: str) -> apb.RouteReport:
        return self._service(
            "attendance", "GetRouteReport", apb.GetRouteReportRequest(employee_id=employee_id, date=date)
        )

    def places_near(self, lat: float, lon: float, radius_m: float, limit: int = 50) -> list[Any]:
        from covenant.common.v1.common_pb2 import GeoPoint

        resp = self._service(
            "attendance",
            "FindNearbyPlaces",
            apb.FindNearbyPlacesRequest(
                location=GeoPoint(latitude=lat, longitude=lon), radius_m=radius_m, limit=limit
            ),
        )
        return list(resp.places)

    # -- points ----------------------------------------------------------------------------------
    def leaderboard(self, top: int = 50) -> ppb.Leaderboard:
        return self._service(
            "points", "GetLeaderboard", ppb.GetLeaderboardRequest(top=top, period=ppb.MONTH, scope=ppb.ALL)
        )

    def ledger(self, employee_id: str, page_size: int = 50) -> list[ppb.LedgerEntry]:
        resp = self._service(
            "points",
            "ListLedgerEntries",
            ppb.ListLedgerEntriesRequest(employee_id=employee_id, page_size=page_size),
        )
        return list(resp.entries)

    # -- scoring ---------------------------------------------------------------------------------
    def score(self, employee_id: str, period: str) -> spb.EmployeeScore:
        return self._service(
            "scoring", "GetScore", spb.GetScoreRequest(employee_id=employee_id, period=period)
        )

    def scores(self, period: str, org_unit: str = "") -> list[spb.EmployeeScore]:
        resp = self._service(
            "scoring", "ListScores", spb.ListScoresRequest(period=period, org_unit=org_unit, page_size=500)
        )
        return list(resp.scores)

    def signals(self, period: str = "", org_unit: str = "") -> list[spb.Signal]:
        resp = self._service(
            "scoring", "ListSignals", spb.ListSignalsRequest(period=period, org_unit=org_unit)
        )
        return list(resp.signals)

    def heat_map(self, period: str, org_unit: str = "") -> spb.HeatMap:
        return self._service(
            "scoring",
            "GetHeatMap",
            spb.GetHeatMapRequest(
                period=period, org_unit=org_unit, render_png=True, width_px=900, height_px=480
            ),
        )

    def unit_trends(self, from_period: str, to_period: str, org_unit: str = "") -> spb.UnitTrends:
        return self._service(
            "scoring",
            "GetUnitTrends",
            spb.GetUnitTrendsRequest(
                org_unit=org_unit,
                from_period=from_period,
                to_period=to_period,
                render_png=True,
                width_px=900,
                height_px=420,
            ),
        )

    # -- commitments -----------------------------------------------------------------------------
    def commitments(self, org_unit: str = "", employee_id: str = "") -> list[cpb.Commitment]:
        request = cpb.ListCommitmentsRequest(org_unit=org_unit, employee_id=employee_id, page_size=200)
        return list(self._service("commitments", "ListCommitments", request).commitments)

    # -- compliance ------------------------------------------------------------------------------
    def cases(self, state: str = "", employee_id: str = "") -> list[kpb.Case]:
        request = kpb.ListCasesRequest(state=state, employee_id=employee_id, page_size=200)
        return list(self._service("compliance", "ListCases", request).cases)

    def screening_hits(
        self, org_unit: str = "", start_date: str = "", end_date: str = "", page_token: str = ""
    ) -> kpb.ListScreeningHitsResponse:
        return self._service(
            "compliance",
            "ListScreeningHits",
            kpb.ListScreeningHitsRequest(
                org_unit=org_unit,
                start_date=start_date,
                end_date=end_date,
                page_size=100,
                page_token=page_token,
            ),
        )

    def case(self, name: str) -> kpb.Case:
        return self._service("compliance", "GetCase", kpb.GetCaseRequest(name=name))

    def transition_case(self, name: str, state: str, owner: str, comment: str, request_id: str) -> kpb.Case:
        return self._service(
            "compliance",
            "TransitionCase",
            kpb.TransitionCaseRequest(
                name=name, state=state, owner=owner, comment=comment, request_id=request_id
            ),
            WRITE_TIMEOUT,
        )

    # -- rule packs ------------------------------------------------------------------------------
    def active_packs(self, service: str) -> rpb.ListActiveRulePacksResponse:
        return self._rules(service, "ListActiveRulePacks", rpb.ListActiveRulePacksRequest())

    def pack_versions(self, service: str, pack_id: str) -> list[rpb.RulePackVersion]:
        resp = self._rules(
            service, "ListRulePackVersions", rpb.ListRulePackVersionsRequest(pack_id=pack_id, page_size=100)
        )
        return list(resp.versions)

    def pack_version(self, service: str, pack_id: str, version: str) -> rpb.RulePackVersion:
        return self._rules(
            service,
            "GetRulePackVersion",
            rpb.GetRulePackVersionRequest(name=f"packs/{pack_id}/versions/{version}"),
        )

    def diff(self, service: str, pack_id: str, a: str, b: str) -> rpb.DiffRulePackVersionsResponse:
        return self._rules(
            service,
            "DiffRulePackVersions",
            rpb.DiffRulePackVersionsRequest(pack_id=pack_id, from_version=a, to_version=b),
        )

    def validate(self, service: str, source: str) -> rpb.ValidateRulePackResponse:
        return self._rules(
            service, "ValidateRulePack", rpb.ValidateRulePackRequest(source_yaml=source), TOOLING_TIMEOUT
        )

    def test(self, service: str, source: str) -> rpb.TestRulePackResponse:
        return self._rules(
            service, "TestRulePack", rpb.TestRulePackRequest(source_yaml=source), TOOLING_TIMEOUT
        )

    def dry_run(self, service: str, source: str) -> rpb.DryRunRulePackResponse:
        return self._rules(
            service, "DryRunRulePack", rpb.DryRunRulePackRequest(candidate_yaml=source), TOOLING_TIMEOUT
        )

    def publish(self, service: str, source: str, request_id: str) -> rpb.RulePackVersion:
        return self._rules(
            service,
            "PublishRulePack",
            rpb.PublishRulePackRequest(source_yaml=source, request_id=request_id),
            WRITE_TIMEOUT,
        )

    def activate(
        self, service: str, pack_id: str, version: str, request_id: str, at: datetime | None = None
    ) -> rpb.RulePackVersion:
        request = rpb.ActivateRulePackVersionRequest(
            name=f"packs/{pack_id}/versions/{version}", request_id=request_id
        )
        if at is not None:
            request.effective_time.CopyFrom(timestamp(at))
        return self._rules(service, "ActivateRulePackVersion", request, WRITE_TIMEOUT)

    def rollback(
        self,
        service: str,
        pack_id: str,
        to_version: str,
        request_id: str,
        *,
        emergency: bool = False,
        reason: str = "",
    ) -> rpb.RulePackVersion:
        return self._rules(
            service,
            "RollbackRulePack",
            rpb.RollbackRulePackRequest(
                pack_id=pack_id,
                to_version=to_version,
                request_id=request_id,
                emergency=emergency,
                reason=reason,
            ),
            WRITE_TIMEOUT,
        )

    def approval(self, service: str, pack_id: str, version: str) -> rpb.ApprovalRequest:
        return self._rules(
            service,
            "GetApprovalRequest",
            rpb.GetApprovalRequestRequest(name=f"packs/{pack_id}/versions/{version}"),
            TOOLING_TIMEOUT,
        )

    def reject(
        self, service: str, pack_id: str, version: str, reason: str, request_id: str
    ) -> rpb.ApprovalRequest:
        request = rpb.RejectRulePackVersionRequest(reason=reason)
        return self._review(service, "RejectRulePackVersion", request, pack_id, version, request_id)

    def approve(
        self, service: str, pack_id: str, version: str, comment: str, request_id: str
    ) -> rpb.ApprovalRequest:
        request = rpb.ApproveRulePackVersionRequest(comment=comment)
        return self._review(service, "ApproveRulePackVersion", request, pack_id, version, request_id)

    def _review(
        self, service: str, method: str, request: Any, pack_id: str, version: str, request_id: str
    ) -> rpb.ApprovalRequest:
        """A checker's decision (``request`` with its reason or comment) on one version."""
        request.name, request.request_id = f"packs/{pack_id}/versions/{version}", request_id
        return self._rules(service, method, request, WRITE_TIMEOUT)
