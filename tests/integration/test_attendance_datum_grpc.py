"""Datums through real gRPC (issue 16): places geocoded by AMap/Tencent (GCJ-02) or Baidu (BD-09) and a
phone's WGS-84 fix meet where they really are; pings and check-ins may state their datum too; the route
report says which datum it shows."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp

from covenant.attendance.v1 import attendance_pb2 as pb
from covenant.attendance.v1 import attendance_pb2_grpc
from covenant.common.v1.common_pb2 import GeoPoint
from covenant.grpc.testing import RunningService, bearer, running_service
from services.attendance.domain.geo import haversine_m
from tests.support.directory import employee, publish_employees
from tests.unit.test_attendance_datum import CITIES

NOW = datetime.now(UTC) - timedelta(hours=2)
TEAM = "/hq/futian/team-03"


def ts(value: datetime) -> Timestamp:
    t = Timestamp()
    t.FromDatetime(value)
    return t


@pytest.fixture
def svc(db_url: str, tmp_path: Path) -> Iterator[RunningService]:
    env = {"COVENANT_ATTENDANCE_CLOSE_INTERVAL_SECONDS": "3600"}
    with running_service("attendance", db_url=db_url, data_dir=tmp_path, env=env) as s:
        # the reps who ping, as identity describes them
        reps = ["E1"] + [f"R{i}" for i in range(len(CITIES))]
        publish_employees(s, [employee(e, TEAM, "credit_officer") for e in reps])
        yield s


def stub(svc: RunningService) -> attendance_pb2_grpc.AttendanceServiceStub:
    return attendance_pb2_grpc.AttendanceServiceStub(svc.channel)


def system(svc: RunningService) -> list[tuple[str, str]]:
    return bearer(svc.tokens.service("mobile-gateway"))


def point(lon_lat: tuple[float, float]) -> GeoPoint:
    return GeoPoint(latitude=lon_lat[1], longitude=lon_lat[0])


def fix(emp: str, where: GeoPoint, datum: int = pb.DATUM_UNSPECIFIED, minutes: int = 0) -> pb.Ping:
    return pb.Ping(
        employee_id=emp,
        org_unit=TEAM,
        device_id="phone",
        location=where,
        accuracy_m=8,
        time=ts(NOW + timedelta(minutes=minutes)),
        datum=datum,
    )


def test_an_honest_rep_at_a_client_geocoded_in_gcj02_or_bd09_is_verified(svc: RunningService) -> None:
    places = []
    for i, (_, _, gcj, bd) in enumerate(CITIES):
        places.append(pb.ClientPlace(client_id=f"G{i}", name="g", location=point(gcj), datum=pb.DATUM_GCJ02))
        places.append(pb.ClientPlace(client_id=f"B{i}", name="b", location=point(bd), datum=pb.DATUM_BD09))
        # the same GCJ-02 address imported without its datum: taken as WGS-84, hundreds of metres off
        places.append(pb.ClientPlace(client_id=f"X{i}", name="x", location=point(gcj)))
    stub(svc).ImportClientPlaces(pb.ImportClientPlacesRequest(places=places), metadata=system(svc))
    for i, (name, wgs, gcj, _) in enumerate(CITIES):
        for n, client in enumerate((f"G{i}", f"B{i}")):
            r = stub(svc).CheckIn(
                pb.CheckInRequest(
                    ping=fix(f"R{i}", point(wgs), minutes=n), client_id=client, request_id=f"{client}"
                ),
                metadata=system(svc),
            )
            assert r.verified and r.distance_m < 5, (name, client, r.distance_m)
        wrong = stub(svc).CheckIn(
            pb.CheckInRequest(
                ping=fix(f"R{i}", point(wgs), minutes=5), client_id=f"X{i}", request_id=f"X{i}"
            ),
            metadata=system(svc),
        )
        offset = haversine_m(wgs[1], wgs[0], gcj[1], gcj[0])  # 100-700 m depending on the place
        assert wrong.distance_m == pytest.approx(offset, abs=2) and wrong.verified is (offset <= 150), name
        # a fix stated in GCJ-02 (a phone SDK that reports AMap coordinates) lands at the same place
        gcj_fix = stub(svc).CheckIn(
            pb.CheckInRequest(
                ping=fix(f"R{i}", point(gcj), pb.DATUM_GCJ02, minutes=7),
                client_id=f"G{i}",
                request_id=f"GG{i}",
            ),
            metadata=system(svc),
        )
        assert gcj_fix.verified and gcj_fix.distance_m < 5, name


def test_the_route_report_and_nearby_places_say_their_datum(svc: RunningService) -> None:
    _, wgs, gcj, bd = CITIES[4]
    stub(svc).ImportClientPlaces(
        pb.ImportClientPlacesRequest(
            places=[pb.ClientPlace(client_id="Z", name="z", location=point(bd), datum=pb.DATUM_BD09)]
        ),
        metadata=system(svc),
    )
    pings = [fix("E1", point(wgs), minutes=m) for m in range(0, 31, 5)]
    pings.append(fix("E1", GeoPoint(latitude=wgs[1] + 0.05, longitude=wgs[0]), minutes=40))
    stub(svc).IngestPings(pb.IngestPingsRequest(pings=pings), metadata=system(svc))
    day = NOW.astimezone(ZoneInfo("Asia/Shanghai")).date().isoformat()
    reader = bearer(
        svc.tokens.user("M1", "/hq", {"attendance.routes.read": "all", "attendance.places.read": "all"})
    )
    shown = {}
    for datum in (pb.DATUM_UNSPECIFIED, pb.DATUM_WGS84, pb.DATUM_GCJ02, pb.DATUM_BD09):
        r = stub(svc).GetRouteReport(
            pb.GetRouteReportRequest(employee_id="E1", date=day, datum=datum), metadata=reader
        )
        assert r.datum == (datum or pb.DATUM_WGS84)
        (stop,) = [i for i in r.items if i.kind == "stop"]
        shown[r.datum] = (stop.location.latitude, stop.location.longitude)
    for datum, ref in ((pb.DATUM_WGS84, wgs), (pb.DATUM_GCJ02, gcj), (pb.DATUM_BD09, bd)):
        assert haversine_m(*shown[datum], ref[1], ref[0]) < 5, datum
    near = stub(svc).FindNearbyPlaces(
        pb.FindNearbyPlacesRequest(location=point(gcj), radius_m=50, datum=pb.DATUM_GCJ02), metadata=reader
    )
    (found,) = near.places
    assert found.place.datum == pb.DATUM_GCJ02 and found.distance_m < 5
    assert haversine_m(found.place.location.latitude, found.place.location.longitude, gcj[1], gcj[0]) < 5


@pytest.mark.parametrize("bad", [7, 99])
def test_an_unknown_datum_names_the_field(svc: RunningService, bad: int) -> None:
    with pytest.raises(grpc.RpcError) as err:
        stub(svc).ImportClientPlaces(
            pb.ImportClientPlacesRequest(
                places=[pb.ClientPlace(client_id="Q", name="q", location=point(CITIES[0][1]), datum=bad)]
            ),
            metadata=system(svc),
        )
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "places[0].datum" in (
        err.value.details() or ""
    )
    with pytest.raises(grpc.RpcError) as err:
        stub(svc).IngestPings(
            pb.IngestPingsRequest(pings=[fix("E9", point(CITIES[0][1]), bad)]), metadata=system(svc)
        )
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "pings[0].datum" in (
        err.value.details() or ""
    )
