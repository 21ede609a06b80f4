"""The issue's day through real gRPC (issue 16): a rep at a mall 10:00-10:40, 3.5 km away, at the office,
and at the same mall again 14:00-14:40 has two mall stops (two dwell anomalies) and the office stop in the
route report, not one 280-minute stop."""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from google.protobuf.timestamp_pb2 import Timestamp

from covenant.attendance.v1 import attendance_pb2 as pb
from covenant.attendance.v1 import attendance_pb2_grpc
from covenant.common.v1.common_pb2 import GeoPoint
from covenant.grpc.testing import RunningService, bearer, running_service
from tests.support.directory import employee, publish_employees

SH = ZoneInfo("Asia/Shanghai")
MALL = (22.5333, 114.0453)
OFFICE = (22.5431, 114.0579)  # a registered client place (the branch office), ~1.7 km from the mall
TEAM = "/hq/futian/team-04"


def last_tuesday() -> datetime:
    d = datetime.now(SH).date() - timedelta(days=1)
    while d.isoweekday() != 2:
        d -= timedelta(days=1)
    return datetime(d.year, d.month, d.day, tzinfo=SH)


DAY = last_tuesday()


def north(point: tuple[float, float], metres: float) -> tuple[float, float]:
    return point[0] + math.degrees(metres / 6_371_008.8), point[1]


def fix(emp: str, hh: int, mm: int, where: tuple[float, float]) -> pb.Ping:
    t = Timestamp()
    t.FromDatetime(DAY + timedelta(hours=hh, minutes=mm))
    return pb.Ping(
        employee_id=emp,
        org_unit=TEAM,
        device_id="phone",
        location=GeoPoint(latitude=where[0], longitude=where[1]),
        accuracy_m=8,
        time=t,
        role="credit_officer",
    )


def stay(emp: str, hh: int, start: int, end: int, where: tuple[float, float], every: int) -> list[pb.Ping]:
    return [  # a few metres of GPS jitter (identical fixes in a row look replayed)
        fix(emp, hh + (m // 60), m % 60, north(where, (m * 7) % 11 - 5)) for m in range(start, end + 1, every)
    ]


@pytest.fixture
def svc(db_url: str, tmp_path: Path) -> Iterator[RunningService]:
    env = {"COVENANT_ATTENDANCE_CLOSE_INTERVAL_SECONDS": "3600"}
    with running_service("attendance", db_url=db_url, data_dir=tmp_path, env=env) as s:
        # who the reps are comes from the directory (identity's events), as in production
        publish_employees(s, [employee(f"R{every}", TEAM, "credit_officer") for every in (2, 5, 10)])
        yield s


@pytest.mark.parametrize("every", [2, 5, 10])
def test_mall_trip_office_mall_is_three_stops_and_two_anomalies(svc: RunningService, every: int) -> None:
    system = bearer(svc.tokens.service("mobile-gateway"))
    stub = attendance_pb2_grpc.AttendanceServiceStub(svc.channel)
    stub.ImportClientPlaces(
        pb.ImportClientPlacesRequest(
            places=[
                pb.ClientPlace(
                    client_id="OFFICE",
                    name="office",
                    location=GeoPoint(latitude=OFFICE[0], longitude=OFFICE[1]),
                )
            ]
        ),
        metadata=system,
    )
    emp = f"R{every}"
    pings = stay(emp, 10, 0, 40, MALL, every)
    pings += [fix(emp, 10, 50, north(MALL, 1500)), fix(emp, 11, 0, north(MALL, 3500))]
    pings += [fix(emp, 11, 20, north(MALL, 2500)), fix(emp, 12, 30, north(OFFICE, 300))]
    pings += stay(emp, 12, 45, 105, OFFICE, every)  # the office 12:45-13:45
    pings += stay(emp, 14, 0, 40, MALL, every)
    pings.append(fix(emp, 14, 55, north(MALL, 4000)))
    stub.IngestPings(pb.IngestPingsRequest(pings=pings), metadata=system)
    reader = bearer(svc.tokens.user("M1", "/hq", {"attendance.routes.read": "all"}))
    r = stub.GetRouteReport(
        pb.GetRouteReportRequest(employee_id=emp, date=DAY.date().isoformat()), metadata=reader
    )
    stops = [
        (i.start_time.ToDatetime(SH).strftime("%H:%M"), round(i.minutes), i.client_id)
        for i in r.items
        if i.kind == "stop"
    ]
    assert stops == [("10:00", 40, ""), ("12:45", 60, "OFFICE"), ("14:00", 40, "")]
    assert [a.kind for a in r.anomalies] == ["dwell_anomaly", "dwell_anomaly"]
