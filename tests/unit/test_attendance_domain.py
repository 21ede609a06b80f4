"""Pure attendance domain: geo math, the place index, stop detection (resumable), integrity, validation."""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime, timedelta

import pytest

from covenant.errors import InvalidArgument
from services.attendance.domain.day import RouteItem, WorkingHours, ordered_route, overlaps, summarise
from services.attendance.domain.geo import EARTH_M, Place, PlaceIndex, haversine_m
from services.attendance.domain.integrity import IntegrityParams, integrity_findings
from services.attendance.domain.pings import PingIn, normalise_batch
from services.attendance.domain.stops import Ping, StopParams, detect_stops, distance_m

T0 = datetime(2026, 11, 18, 1, 0, tzinfo=UTC)
A = (22.5431, 114.0579)
MALL = (22.5333, 114.0453)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def north(point: tuple[float, float], metres: float) -> tuple[float, float]:
    return point[0] + math.degrees(metres / EARTH_M), point[1]


def test_haversine_one_degree_of_latitude_and_symmetry() -> None:
    assert haversine_m(0, 0, 1, 0) == pytest.approx(math.pi * EARTH_M / 180, rel=1e-9)
    assert haversine_m(*A, *MALL) == pytest.approx(haversine_m(*MALL, *A))
    assert haversine_m(*A, *A) == 0.0
    assert haversine_m(0, 179.9, 0, -179.9) == pytest.approx(2 * math.pi * EARTH_M * 0.2 / 360, rel=1e-6)


def test_index_answers_exactly_what_a_brute_force_scan_does() -> None:
    rng = random.Random(7)
    places = [
        Place(f"C{i}", "", 22.4 + rng.random() * 0.2, 113.9 + rng.random() * 0.2, 150) for i in range(3000)
    ]
    index = PlaceIndex(places)
    for _ in range(200):
        lat, lon, r = 22.4 + rng.random() * 0.2, 113.9 + rng.random() * 0.2, rng.choice([50, 300, 1500])
        expected = sorted(
            (haversine_m(lat, lon, p.latitude, p.longitude), p.id)
            for p in places
            if haversine_m(lat, lon, p.latitude, p.longitude) <= r
        )
        got = [(d, p.id) for d, p in index.within(lat, lon, r)]
        assert [i for _, i in got] == [i for _, i in expected]
        assert all(d1 == pytest.approx(d2) for (d1, _), (d2, _) in zip(got, expected, strict=True))
        assert [p.id for _, p in index.within(lat, lon, r, limit=2)] == [i for _, i in expected][:2]
    assert len(index.within(22.5, 114.0, 1500, limit=3)) <= 3


def test_index_upsert_moves_a_place_and_client_at_uses_its_own_radius() -> None:
    index = PlaceIndex([Place("A", "a", *A, 50), Place("B", "b", *north(A, 5000), 0)])
    here = north(A, 80)
    assert index.client_at(*here, default_radius_m=150) is None  # A's own 50 m radius wins
    index.upsert([Place("A", "a", *A, 100)])
    hit = index.client_at(*here, default_radius_m=150)
    assert hit is not None and hit[1].id == "A" and hit[0] == pytest.approx(80, abs=0.5)
    index.upsert([Place("A", "a", *north(A, 3000), 100)])  # moved away
    assert index.client_at(*here, default_radius_m=150) is None
    assert index.client_at(*north(A, 5100), default_radius_m=150)[1].id == "B"  # type: ignore[index]
    assert len(index) == 2


def day_pings() -> list[Ping]:
    """40 min at client A, a 10-minute drive, 45 min at the mall, then leaving."""
    pings = [Ping(at(m), A[0] + 0.00003 * (m % 2), A[1]) for m in range(0, 41, 5)]
    pings += [Ping(at(45), *north(A, 700)), Ping(at(50), *north(MALL, -300))]
    pings += [Ping(at(m), MALL[0], MALL[1] + 0.00003 * (m % 3)) for m in range(55, 101, 5)]
    pings += [Ping(at(105), *north(MALL, 1500)), Ping(at(110), *north(MALL, 3000))]
    return pings


def test_stops_are_runs_long_enough_in_one_place() -> None:
    scan = detect_stops(day_pings(), StopParams(stop_radius_m=100, min_stop_minutes=10))
    assert [(s.start, s.end, s.closed) for s in scan.stops] == [
        (at(0), at(40), True),
        (at(55), at(100), True),
    ]
    assert haversine_m(scan.stops[1].latitude, scan.stops[1].longitude, *MALL) < 10
    assert scan.stops[1].minutes == 45
    short = detect_stops(day_pings(), StopParams(stop_radius_m=100, min_stop_minutes=50))
    assert short.stops == []


def test_a_short_trip_between_two_stops_does_not_split_them() -> None:
    wander = [Ping(at(m), *MALL) for m in range(0, 21, 5)]
    wander += [Ping(at(22), *north(MALL, 150))]  # 150 m away, beyond the stop radius
    wander += [Ping(at(m), *MALL) for m in range(25, 46, 5)]
    merged = detect_stops(wander, StopParams(stop_radius_m=100, min_stop_minutes=10, min_trip_m=200))
    assert [(s.start, s.end) for s in merged.stops] == [(at(0), at(45))]
    split = detect_stops(wander, StopParams(stop_radius_m=100, min_stop_minutes=10, min_trip_m=0))
    assert len(split.stops) == 2


def test_the_last_run_is_open_until_a_ping_leaves_it() -> None:
    pings = [Ping(at(m), *MALL) for m in range(0, 31, 5)]
    scan = detect_stops(pings, StopParams())
    assert [s.closed for s in scan.stops] == [False] and scan.resume_at == at(0)
    scan = detect_stops([*pings, Ping(at(35), *north(MALL, 2000))], StopParams())
    assert [s.closed for s in scan.stops] == [True]


def test_resuming_from_resume_at_gives_the_same_stops_as_a_full_scan() -> None:
    rng = random.Random(3)
    params = StopParams(stop_radius_m=100, min_stop_minutes=10, min_trip_m=250)
    for _ in range(40):
        pings, here, t = [], A, 0.0
        for _ in range(rng.randint(20, 120)):
            t += rng.choice([1, 2, 5])
            if rng.random() < 0.15:
                here = north(here, rng.choice([60, 180, 400, 3000]))
            pings.append(Ping(at(t), here[0] + rng.uniform(-0.0002, 0.0002), here[1]))
        full = detect_stops(pings, params).stops
        cut = rng.randint(1, len(pings) - 1)
        first = detect_stops(pings[:cut], params)
        if first.resume_at is None:
            continue
        kept = [s for s in first.stops if s.start < first.resume_at]
        tail = detect_stops([p for p in pings if p.at >= first.resume_at], params).stops
        assert all(s.closed for s in kept)
        assert kept + tail == full


def test_distance_ignores_jitter() -> None:
    pings = [Ping(at(0), *A), Ping(at(1), *north(A, 5)), Ping(at(2), *north(A, 1005))]
    assert distance_m(pings) == pytest.approx(1000, abs=0.5)


def test_integrity_flags_teleport_mock_accuracy_and_repeats_with_evidence() -> None:
    pings = [
        Ping(at(0), *A),
        Ping(at(1), 31.2304, 121.4737),  # Shanghai a minute later
        Ping(at(2), 31.2304, 121.4737, accuracy_m=0.2, mock=True, device_id="d1"),
    ]
    pings += [Ping(at(3 + k), 31.2304, 121.4737) for k in range(10)]
    found = integrity_findings(pings, IntegrityParams(max_speed_kmh=200, min_accuracy_m=1, repeat_limit=6))
    checks = [f.check for f in found]
    assert sorted(checks) == [
        "implausible_accuracy",
        "impossible_speed",
        "mock_location",
        "repeated_coordinates",
    ]
    speed = next(f for f in found if f.check == "impossible_speed")
    assert speed.evidence["distance_m"] > 1_000_000 and speed.evidence["speed_kmh"] > 60_000
    assert speed.evidence["from"]["latitude"] == A[0] and speed.at == at(1)
    again = integrity_findings(pings, IntegrityParams(max_speed_kmh=200, min_accuracy_m=1, repeat_limit=6))
    assert [f.key for f in again] == [f.key for f in found]  # stable keys: no double raise
    slow = [Ping(at(0), *A), Ping(at(60), *north(A, 50_000))]  # 50 km/h
    assert integrity_findings(slow, IntegrityParams()) == []


def fix(i: int, **kw: object) -> PingIn:
    base = {
        "employee_id": "E1",
        "org_unit": "/hq/t1",
        "device_id": "d",
        "at": at(i),
        "latitude": A[0],
        "longitude": A[1],
        "accuracy_m": 8.0,
    }
    return PingIn(**{**base, **kw})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("bad", "field"),
    [
        ({"latitude": float("nan")}, "pings[1].location.latitude"),
        ({"longitude": 181.0}, "pings[1].location.longitude"),
        ({"latitude": 0.0, "longitude": 0.0}, "pings[1].location.latitude"),
        ({"accuracy_m": -1.0}, "pings[1].accuracy_m"),
        ({"at": datetime(2027, 1, 1, tzinfo=UTC)}, "pings[1].time"),
        ({"at": datetime(2025, 1, 1, tzinfo=UTC)}, "pings[1].time"),
        ({"employee_id": ""}, "pings[1].employee_id"),
        ({"org_unit": "hq"}, "pings[1].org_unit"),
    ],
)
def test_a_bad_fix_rejects_the_batch_naming_the_field(bad: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidArgument) as err:
        normalise_batch([fix(0), fix(1, **bad)], now=at(60))
    assert err.value.field == field


def test_batches_are_deduplicated_and_ordered() -> None:
    batch = [fix(5), fix(1), fix(5), fix(3), fix(5, device_id="other")]
    ordered, dropped = normalise_batch(batch, now=at(60))
    assert dropped == 1 and [(p.at, p.device_id) for p in ordered] == [
        (at(1), "d"),
        (at(3), "d"),
        (at(5), "d"),
        (at(5), "other"),
    ]


def test_working_hours_and_overlaps() -> None:
    hours = WorkingHours.from_parameter({"start": "09:00", "end": "18:00"})
    assert hours.contains(datetime(2026, 11, 18, 10, 0)) and not hours.contains(datetime(2026, 11, 18, 19, 0))
    assert not hours.contains(datetime(2026, 11, 21, 10, 0))  # a Saturday
    weekend = WorkingHours.from_parameter({"start": "09:00", "end": "18:00", "days": [6]})
    assert weekend.contains(datetime(2026, 11, 21, 10, 0))
    assert overlaps((at(0), at(10)), (at(10), at(20))) and not overlaps((at(0), at(9)), (at(10), at(20)))


def test_route_order_and_summary() -> None:
    def item(kind: str, start: float, client: str = "", verified: bool = False) -> RouteItem:
        return RouteItem(kind, f"{kind}{start}", at(start), at(start), 0, 0, client, verified, 0, 0)

    route = ordered_route(
        [item("visit", 5, "A", True), item("stop", 60), item("stop", 0, "A"), item("visit", 5)]
    )
    assert [(i.kind, i.start) for i in route] == [
        ("stop", at(0)),
        ("visit", at(5)),
        ("visit", at(5)),
        ("stop", at(60)),
    ]
    s = summarise("E1", "/hq", "2026-11-18", route, ["dwell_anomaly", "location_mismatch"], 1234.5)
    assert (s.visits, s.verified_visits, s.stops, s.stops_at_clients, s.dwell_anomalies) == (2, 1, 2, 1, 1)
    assert s.as_data()["distance_m"] == 1234.5


def test_large_radius_queries_see_places_added_or_moved_after_the_tree_was_built() -> None:
    rng = random.Random(11)
    places = {
        f"C{i}": Place(f"C{i}", "", 22.4 + rng.random() * 0.2, 113.9 + rng.random() * 0.2) for i in range(500)
    }
    index = PlaceIndex(places.values())
    moved = {
        f"C{i}": Place(f"C{i}", "", 22.4 + rng.random() * 0.2, 113.9 + rng.random() * 0.2)
        for i in range(0, 500, 7)
    }
    added = {
        f"N{i}": Place(f"N{i}", "", 22.4 + rng.random() * 0.2, 113.9 + rng.random() * 0.2) for i in range(60)
    }
    index.upsert([*moved.values(), *added.values()])
    now = {**places, **moved, **added}
    for _ in range(50):
        lat, lon = 22.4 + rng.random() * 0.2, 113.9 + rng.random() * 0.2
        for r in (250, 2500):  # the grid and the tree
            expected = sorted(
                p.id for p in now.values() if haversine_m(lat, lon, p.latitude, p.longitude) <= r
            )
            assert sorted(p.id for _, p in index.within(lat, lon, r)) == expected


def test_a_malformed_working_hours_parameter_is_a_failed_precondition() -> None:
    from covenant.errors import FailedPrecondition

    with pytest.raises(FailedPrecondition):
        WorkingHours.from_parameter({"start": "nine"})


def test_stop_facts_are_rederived_with_a_candidate_dwell_threshold() -> None:
    from services.attendance.domain.day import rederive_stop_facts

    event = {"type": "attendance.stop", "role": "collector", "org_unit": "/hq/b1"}
    facts = {"duration_minutes": 42.0, "dwell_threshold_minutes": 30.0, "exceeds_dwell": True, "closed": True}
    asked = []

    def param(name, role, org_unit, default):  # type: ignore[no-untyped-def]
        asked.append((name, role, org_unit, default))
        return 45

    new = rederive_stop_facts(event, facts, param)
    assert new == {**facts, "dwell_threshold_minutes": 45.0, "exceeds_dwell": False}
    assert asked == [("dwell_minutes", "collector", "/hq/b1", 30.0)]
    assert rederive_stop_facts({"type": "attendance.check_in"}, {"x": 1}, param) == {"x": 1}
