"""gRPC adapter for AttendanceService: protobuf <-> domain, nothing else."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC
from typing import Any

from covenant.attendance.v1 import attendance_pb2 as pb
from covenant.attendance.v1 import attendance_pb2_grpc
from covenant.common.v1.common_pb2 import GeoPoint
from covenant.errors import CovenantError, InvalidArgument
from covenant.grpc.context import current_principal
from covenant.grpc.messages import fields_of
from covenant.timestamps import ts
from services.attendance.checkins import CheckInIn, CheckInResult
from services.attendance.domain.datum import BD09, GCJ02, WGS84, from_wgs84, to_wgs84
from services.attendance.domain.day import DaySummary
from services.attendance.domain.geo import Place
from services.attendance.domain.pings import PingIn
from services.attendance.service import AttendanceService

STREAM_LIMIT = 100_000  # fixes per client stream (one transaction)


DATUMS = {pb.DATUM_UNSPECIFIED: WGS84, pb.DATUM_WGS84: WGS84, pb.DATUM_GCJ02: GCJ02, pb.DATUM_BD09: BD09}
DATUM_PB = {WGS84: pb.DATUM_WGS84, GCJ02: pb.DATUM_GCJ02, BD09: pb.DATUM_BD09}


def datum_of(value: int, field: str) -> str:
    if value not in DATUMS:
        raise InvalidArgument("must be DATUM_WGS84, DATUM_GCJ02 or DATUM_BD09", field=field)
    return DATUMS[value]


def wgs84(location: GeoPoint, datum: int, field: str) -> tuple[float, float]:
    """The location as WGS-84 (what Covenant stores), converted from the datum it was given in."""
    return to_wgs84(location.latitude, location.longitude, datum_of(datum, f"{field}.datum"))


def shown(lat: float, lon: float, datum: str) -> GeoPoint:
    """A stored (WGS-84) point shown in ``datum``."""
    lat, lon = from_wgs84(lat, lon, datum)
    return GeoPoint(latitude=lat, longitude=lon)


def ping_in(p: pb.Ping, field: str) -> PingIn:
    if not p.HasField("time"):
        raise InvalidArgument("is required", field=f"{field}.time")
    if not p.HasField("location"):
        raise InvalidArgument("is required", field=f"{field}.location")
    lat, lon = wgs84(p.location, p.datum, field)
    return PingIn(
        p.employee_id,
        p.org_unit,
        p.device_id,
        p.time.ToDatetime(tzinfo=UTC),
        lat,
        lon,
        p.accuracy_m,
        p.mock_location,
        p.role,
    )


def place_in(p: pb.ClientPlace, field: str) -> Place:
    if not p.HasField("location"):
        raise InvalidArgument("is required", field=f"{field}.location")
    lat, lon = wgs84(p.location, p.datum, field)
    return Place(p.client_id, p.name, lat, lon, p.visit_radius_m, p.high_risk)


def employee_day(d: DaySummary) -> pb.EmployeeDay:
    return pb.EmployeeDay(
        **fields_of(
            d,
            "employee_id org_unit visits verified_visits location_mismatches stops stops_at_clients"
            " dwell_anomalies spoofing_suspicions",
        ),
        anomalies=d.location_mismatches + d.dwell_anomalies + d.spoofing_suspicions,
        distance_m=round(d.distance_m, 1),
        first_ping_at=ts(d.first_ping_at),
        last_ping_at=ts(d.last_ping_at),
    )


def check_in_pb(r: CheckInResult) -> pb.CheckInResponse:
    return pb.CheckInResponse(
        **fields_of(r, "verified radius_m visit_id event_type rule_id pack_id pack_version"),
        distance_m=round(r.distance_m, 1),
        suspicions=list(r.suspicions),
    )


class AttendanceServicer(attendance_pb2_grpc.AttendanceServiceServicer):
    def __init__(self, service: AttendanceService) -> None:
        self.service = service

    def _import(self, places: list[pb.ClientPlace]) -> pb.ImportClientPlacesResponse:
        converted = [place_in(p, f"places[{i}]") for i, p in enumerate(places)]
        n = self.service.places.import_places(current_principal(), converted, [p.address for p in places])
        return pb.ImportClientPlacesResponse(imported=n)

    def ImportClientPlaces(
        self, request: pb.ImportClientPlacesRequest, context: Any
    ) -> pb.ImportClientPlacesResponse:
        return self._import(list(request.places))

    def StreamClientPlaces(
        self, request_iterator: Iterator[pb.ClientPlace], context: Any
    ) -> pb.ImportClientPlacesResponse:
        return self._import(list(request_iterator))

    def FindNearbyPlaces(
        self, request: pb.FindNearbyPlacesRequest, context: Any
    ) -> pb.FindNearbyPlacesResponse:
        datum = datum_of(request.datum, "datum")
        lat, lon = to_wgs84(request.location.latitude, request.location.longitude, datum)
        found = self.service.places.nearby(current_principal(), lat, lon, request.radius_m, request.limit)
        return pb.FindNearbyPlacesResponse(
            places=[
                pb.NearbyPlace(
                    place=pb.ClientPlace(
                        client_id=p.id,
                        name=p.name,
                        visit_radius_m=p.radius_m,
                        location=shown(p.latitude, p.longitude, datum),
                        datum=DATUM_PB[datum],
                        high_risk=p.high_risk,
                    ),
                    distance_m=round(d, 1),
                )
                for d, p in found
            ]
        )

    def CheckIn(self, request: pb.CheckInRequest, context: Any) -> pb.CheckInResponse:
        r = self.service.check_ins.check_in(
            current_principal(), ping_in(request.ping, "ping"), request.client_id, request.request_id
        )
        return check_in_pb(r)

    def BatchCheckIns(self, request: pb.BatchCheckInsRequest, context: Any) -> pb.BatchCheckInsResponse:
        items: list[CheckInIn | CovenantError] = []
        for i, c in enumerate(request.check_ins):
            try:
                items.append(CheckInIn(ping_in(c.ping, f"check_ins[{i}].ping"), c.client_id, c.request_id))
            except InvalidArgument as e:  # that item fails, the others go on
                items.append(e)
        valid = [x for x in items if isinstance(x, CheckInIn)]
        if valid or not items:  # an empty batch is refused by the service, naming check_ins
            judged = iter(self.service.check_ins.batch_check_ins(current_principal(), valid))
        results = []
        for x in items:
            r = next(judged) if isinstance(x, CheckInIn) else x
            if isinstance(r, CovenantError):
                error = pb.CheckInError(code=r.code, field=r.field or "", message=r.message)
                results.append(pb.BatchCheckInResult(error=error))
            else:
                results.append(pb.BatchCheckInResult(check_in=check_in_pb(r)))
        return pb.BatchCheckInsResponse(results=results)

    def _ingest(self, pings: Iterator[pb.Ping]) -> pb.IngestPingsResponse:
        converted = []
        for i, p in enumerate(pings):
            if i >= STREAM_LIMIT:
                raise InvalidArgument(f"at most {STREAM_LIMIT} pings per call", field=f"pings[{i}]")
            converted.append(ping_in(p, f"pings[{i}]"))
        stats = self.service.pings.ingest(current_principal(), converted)
        return pb.IngestPingsResponse(
            accepted=stats.accepted,
            duplicates=stats.duplicates,
            stops_detected=stats.stops,
            anomalies=stats.anomalies,
        )

    def IngestPings(self, request: pb.IngestPingsRequest, context: Any) -> pb.IngestPingsResponse:
        return self._ingest(iter(request.pings))

    def StreamPings(self, request_iterator: Iterator[pb.Ping], context: Any) -> pb.IngestPingsResponse:
        return self._ingest(request_iterator)

    def GetRouteReport(self, request: pb.GetRouteReportRequest, context: Any) -> pb.RouteReport:
        datum = datum_of(request.datum, "datum")
        r = self.service.reports.route_report(current_principal(), request.employee_id, request.date)
        return pb.RouteReport(
            datum=DATUM_PB[datum],
            employee_id=request.employee_id,
            date=request.date,
            distance_m=round(r.summary.distance_m, 1),
            verified_visits=r.summary.verified_visits,
            summary=employee_day(r.summary),
            items=[
                pb.RouteItem(
                    **fields_of(i, "kind id client_id verified"),
                    start_time=ts(i.start),
                    end_time=ts(i.end),
                    location=shown(i.latitude, i.longitude, datum),
                    minutes=round(i.minutes, 1),
                    distance_to_client_m=round(i.distance_to_client_m, 1),
                )
                for i in r.items
            ],
            anomalies=[
                pb.Anomaly(
                    **fields_of(a, "kind ref_id rule_id pack_id pack_version"),
                    time=ts(a.at),
                    detail_json=json.dumps(a.detail, ensure_ascii=False, sort_keys=True),
                )
                for a in r.anomalies
            ],
        )

    def GetTeamSummary(self, request: pb.GetTeamSummaryRequest, context: Any) -> pb.TeamSummary:
        rows, token = self.service.reports.team_summary(
            current_principal(), request.org_unit, request.date, request.page_size, request.page_token
        )
        return pb.TeamSummary(
            org_unit=request.org_unit,
            date=request.date,
            employees=[employee_day(r) for r in rows],
            next_page_token=token,
        )

    def CloseDay(self, request: pb.CloseDayRequest, context: Any) -> pb.CloseDayResponse:
        return pb.CloseDayResponse(summarised=self.service.days.close_day(current_principal(), request.date))
