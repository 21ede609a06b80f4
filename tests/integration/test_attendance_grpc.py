"""Attendance through real gRPC and a real database (SQLite and PostgreSQL): a scripted day, live threshold
changes through the RulePackService, teleports, bad input, scopes, incremental ingest, day summaries."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import grpc
import pytest
from google.protobuf.json_format import MessageToDict
from google.protobuf.timestamp_pb2 import Timestamp
from sqlalchemy import text

from covenant.attendance.v1 import attendance_pb2 as pb
from covenant.attendance.v1 import attendance_pb2_grpc
from covenant.common.v1.common_pb2 import GeoPoint
from covenant.db.engine import Database
from covenant.events.v1.event_pb2 import Event
from covenant.grpc.testing import RunningService, bearer, running_service
from covenant.rules.v1 import rule_pack_service_pb2 as rpb
from covenant.rules.v1 import rule_pack_service_pb2_grpc
from services.attendance.domain.geo import EARTH_M, haversine_m
from services.attendance.reports import Reports
from tests.support.directory import employee, publish_employees
from tests.support.statements import statements_of

SH = ZoneInfo("Asia/Shanghai")
TEAM = "/hq/futian/team-01"
CLIENT_A = (22.5431, 114.0579)
CLIENT_B = (22.5600, 114.0900)
MALL = (22.5333, 114.0453)
FAR_FROM_B = (22.5600 + 2000 / 111_195, 114.0900)  # 2 km north of client B
PACK = Path(__file__).resolve().parents[2] / "rules" / "attendance" / "field-presence.yaml"


def last_wednesday() -> date:
    d = datetime.now(SH).date() - timedelta(days=1)
    while d.isoweekday() != 3:
        d -= timedelta(days=1)
    return d


DAY = last_wednesday()
DAY_S = DAY.isoformat()


def at(hh: int, mm: int) -> datetime:
    return datetime(DAY.year, DAY.month, DAY.day, hh, mm, tzinfo=SH)


def ts(value: datetime) -> Timestamp:
    t = Timestamp()
    t.FromDatetime(value)
    return t


def ping(emp: str, when: datetime, where: tuple[float, float], **kw: object) -> pb.Ping:
    return pb.Ping(
        employee_id=emp,
        org_unit=TEAM,
        device_id="phone-1",
        location=GeoPoint(latitude=where[0], longitude=where[1]),
        accuracy_m=8.0,
        time=ts(when),
        role="credit_officer",
        **kw,
    )


def stub(svc: RunningService) -> attendance_pb2_grpc.AttendanceServiceStub:
    return attendance_pb2_grpc.AttendanceServiceStub(svc.channel)


def system(svc: RunningService) -> list[tuple[str, str]]:
    return bearer(svc.tokens.service("mobile-gateway"))


def place(cid: str, where: tuple[float, float], radius: int = 150) -> pb.ClientPlace:
    return pb.ClientPlace(
        client_id=cid,
        name=f"客户{cid}",
        location=GeoPoint(latitude=where[0], longitude=where[1]),
        visit_radius_m=radius,
    )


def seed(s: RunningService) -> None:
    """The directory (fed as identity feeds it): E0-E21 in TEAM, except E20 in a rural team."""
    units = {f"E{k}": TEAM for k in range(22)} | {"E20": "/hq/rural/team-1"}
    publish_employees(s, [employee(e, u, "credit_officer") for e, u in units.items()])


@contextmanager
def seeded(db_url: str, tmp_path: Path, places: list[pb.ClientPlace]) -> Iterator[RunningService]:
    """Attendance with the directory seeded and ``places`` imported; days are closed explicitly."""
    env = {"COVENANT_ATTENDANCE_CLOSE_INTERVAL_SECONDS": "3600"}
    with running_service("attendance", db_url=db_url, data_dir=tmp_path, env=env) as s:
        seed(s)
        stub(s).ImportClientPlaces(pb.ImportClientPlacesRequest(places=places), metadata=system(s))
        yield s


@pytest.fixture
def svc(db_url: str, tmp_path: Path) -> Iterator[RunningService]:
    with seeded(db_url, tmp_path, [place("A", CLIENT_A), place("B", CLIENT_B)]) as s:
        yield s


def day_pings(emp: str) -> list[pb.Ping]:
    """09:00-09:40 at client A, 10:00-10:45 at a shopping mall, 11:00-11:10 2 km from client B."""
    pings = [ping(emp, at(9, m), (CLIENT_A[0] + 0.00005 * (m % 2), CLIENT_A[1])) for m in range(0, 45, 5)]
    pings += [ping(emp, at(10, m), (MALL[0], MALL[1] + 0.00004 * (m % 3))) for m in range(0, 50, 5)]
    pings += [ping(emp, at(11, m), FAR_FROM_B) for m in range(0, 15, 5)]
    return pings


def check_ins(svc: RunningService, emp: str) -> tuple[pb.CheckInResponse, pb.CheckInResponse]:
    a = stub(svc).CheckIn(
        pb.CheckInRequest(ping=ping(emp, at(9, 5), CLIENT_A), client_id="A", request_id=f"{emp}-a"),
        metadata=system(svc),
    )
    b = stub(svc).CheckIn(
        pb.CheckInRequest(ping=ping(emp, at(11, 6), FAR_FROM_B), client_id="B", request_id=f"{emp}-b"),
        metadata=system(svc),
    )
    return a, b


def scripted_day(svc: RunningService, emp: str, version: str = "2026.11.5") -> None:
    pings = day_pings(emp)
    pings.reverse()  # out of order on purpose
    first = stub(svc).IngestPings(pb.IngestPingsRequest(pings=pings + pings[:2]), metadata=system(svc))
    assert (first.accepted, first.duplicates) == (len(pings), 2)
    again = stub(svc).IngestPings(pb.IngestPingsRequest(pings=pings[:5]), metadata=system(svc))  # a resend
    assert (again.accepted, again.duplicates, again.anomalies) == (0, 5, 0)
    a, b = check_ins(svc, emp)
    assert (a.verified, b.verified) == (True, False) and 1900 < b.distance_m < 2100
    assert a.event_type == "attendance.visit_verified" and b.event_type == "attendance.location_mismatch"
    assert (b.rule_id, b.pack_id, b.pack_version) == (
        "location-mismatch",
        "attendance-field-presence",
        version,
    )


def report(svc: RunningService, emp: str, token: str | None = None) -> pb.RouteReport:
    md = bearer(token or svc.tokens.user("L1", TEAM, {"attendance.routes.read": "team"}))
    return stub(svc).GetRouteReport(pb.GetRouteReportRequest(employee_id=emp, date=DAY_S), metadata=md)


def outbox(svc: RunningService, event_type: str) -> list[Event]:
    with svc.host.ctx.db.session() as s:  # type: ignore[union-attr]
        rows = s.execute(
            text("SELECT DISTINCT event_id, payload FROM outbox WHERE event_type = :t"), {"t": event_type}
        ).all()
    return list({e.id: e for e in (Event.FromString(p) for _, p in rows)}.values())


def data(e: Event) -> dict[str, object]:
    return MessageToDict(e.data)


def test_scripted_day_yields_one_visit_one_dwell_one_mismatch_and_the_route(svc: RunningService) -> None:
    scripted_day(svc, "E1")
    r = report(svc, "E1")
    assert r.verified_visits == 1 and r.summary.visits == 2
    assert sorted(a.kind for a in r.anomalies) == ["dwell_anomaly", "location_mismatch"]
    dwell = next(a for a in r.anomalies if a.kind == "dwell_anomaly")
    detail = json.loads(dwell.detail_json)
    assert detail["duration_minutes"] == 45.0
    assert haversine_m(detail["latitude"], detail["longitude"], *MALL) < 20
    assert (dwell.rule_id, dwell.pack_id, dwell.pack_version) == (
        "dwell-anomaly",
        "attendance-field-presence",
        "2026.11.5",
    )
    order = [(i.kind, i.client_id) for i in r.items]
    assert order == [("stop", "A"), ("visit", "A"), ("stop", ""), ("stop", ""), ("visit", "B")]
    assert [round(i.minutes) for i in r.items if i.kind == "stop"] == [40, 45, 10]
    expected = haversine_m(*CLIENT_A, *MALL) + haversine_m(*MALL, *FAR_FROM_B)
    assert abs(r.distance_m - expected) / expected < 0.02

    (verified,) = outbox(svc, "attendance.visit_verified")
    v = data(verified)
    assert {k: v[k] for k in ("employee_id", "client_id", "rule_id", "pack_id", "pack_version")} == {
        "employee_id": "E1",
        "client_id": "A",
        "rule_id": "visit-verified",
        "pack_id": "attendance-field-presence",
        "pack_version": "2026.11.5",
    }
    assert v["visit_id"] == r.items[1].id and v["checked_in_at"]
    (mismatch,) = outbox(svc, "attendance.location_mismatch")
    assert data(mismatch)["client_id"] == "B" and data(mismatch)["rule_id"] == "location-mismatch"
    (dwell_event,) = outbox(svc, "attendance.dwell_anomaly")
    d = data(dwell_event)
    assert d["duration_minutes"] == 45.0 and d["stop_id"] == dwell.ref_id == r.items[2].id
    assert d["start"] == at(10, 0).astimezone(UTC).isoformat() and d["pack_id"] == "attendance-field-presence"
    assert outbox(svc, "attendance.spoofing_suspected") == []


def test_a_dry_run_judges_recent_stops_with_the_candidate_dwell_threshold(svc: RunningService) -> None:
    scripted_day(svc, "E5")  # a 45-minute mall stop: an anomaly at 30 minutes
    rules = rule_pack_service_pb2_grpc.RulePackServiceStub(svc.channel)
    reader = bearer(svc.tokens.user("C1", "/hq", {"rules.packs.read": "all"}))

    def dry(minutes: int) -> rpb.DryRunRulePackResponse:
        candidate = (
            PACK.read_text()
            .replace('version: "2026.11.5"', 'version: "2026.11.9"')
            .replace("    default: 30\n", f"    default: {minutes}\n")
        )
        return rules.DryRunRulePack(rpb.DryRunRulePackRequest(candidate_yaml=candidate), metadata=reader)

    def dwell_changes(resp: rpb.DryRunRulePackResponse) -> list[tuple[int, int]]:
        def n(actions):  # type: ignore[no-untyped-def]
            return sum(a.action == "raise_dwell_anomaly" for a in actions)

        return [(n(r.active_actions), n(r.candidate_actions)) for r in resp.results if r.changed]

    assert dwell_changes(dry(50)) == [(1, 0)]  # the facts are re-derived with 50 minutes
    assert dwell_changes(dry(40)) == []  # 45 > 40: still an anomaly, nothing changes
    assert dry(50).events == dry(40).events > 0


def test_dwell_threshold_change_in_the_pack_applies_without_restart(svc: RunningService) -> None:
    changed = (
        PACK.read_text()
        .replace('version: "2026.11.5"', 'version: "2026.11.7"')
        .replace("    default: 30\n", "    default: 50\n")
    )
    owner = bearer(svc.tokens.user("C1", "/hq", {"rules.*.publish": "all", "rules.*.activate": "all"}))
    rules = rule_pack_service_pb2_grpc.RulePackServiceStub(svc.channel)
    rules.PublishRulePack(rpb.PublishRulePackRequest(source_yaml=changed, activate=True), metadata=owner)
    scripted_day(svc, "E2", "2026.11.7")
    assert sorted(a.kind for a in report(svc, "E2").anomalies) == ["location_mismatch"]  # 45 min < 50
    _, b = check_ins(svc, "E2")
    assert b.pack_version == "2026.11.7"  # replayed by request id: the original decision
    shorter = changed.replace('version: "2026.11.7"', 'version: "2026.11.8"').replace(
        "    default: 50\n", "    default: 20\n"
    )
    rules.PublishRulePack(rpb.PublishRulePackRequest(source_yaml=shorter, activate=True), metadata=owner)
    scripted_day(svc, "E3", "2026.11.8")
    dwell = [a for a in report(svc, "E3").anomalies if a.kind == "dwell_anomaly"]
    assert [(a.pack_version, json.loads(a.detail_json)["threshold_minutes"]) for a in dwell] == [
        ("2026.11.8", 20.0)
    ]


def test_a_teleport_between_pings_is_flagged_with_evidence(svc: RunningService) -> None:
    pings = [ping("E4", at(14, 0), CLIENT_A), ping("E4", at(14, 1), (31.2304, 121.4737))]  # Shanghai
    stub(svc).IngestPings(pb.IngestPingsRequest(pings=pings), metadata=system(svc))
    spoof = [a for a in report(svc, "E4").anomalies if a.kind == "spoofing_suspected"]
    assert len(spoof) == 1
    detail = json.loads(spoof[0].detail_json)
    assert detail["check"] == "impossible_speed" and detail["evidence"]["speed_kmh"] > 60_000
    assert detail["evidence"]["from"]["latitude"] == CLIENT_A[0]
    (event,) = outbox(svc, "attendance.spoofing_suspected")
    assert data(event)["rule_id"] == "integrity" and data(event)["pack_version"] == "2026.11.5"
    stub(svc).IngestPings(pb.IngestPingsRequest(pings=pings), metadata=system(svc))  # resent: nothing new
    assert len(outbox(svc, "attendance.spoofing_suspected")) == 1


def test_a_check_in_far_from_the_preceding_pings_is_suspect(svc: RunningService) -> None:
    stub(svc).IngestPings(
        pb.IngestPingsRequest(pings=[ping("E5", at(15, m), MALL) for m in range(0, 10, 2)]),
        metadata=system(svc),
    )
    r = stub(svc).CheckIn(
        pb.CheckInRequest(ping=ping("E5", at(15, 10), CLIENT_A), client_id="A"), metadata=system(svc)
    )
    assert r.verified and list(r.suspicions) == ["checkin-far-from-pings"]
    (event,) = outbox(svc, "attendance.spoofing_suspected")
    evidence = data(event)
    assert evidence["visit_id"] == r.visit_id and evidence["distance_from_last_ping_m"] > 1000
    assert evidence["preceding_ping"]["latitude"] == MALL[0]


def test_bad_pings_are_rejected_whole_with_the_field(svc: RunningService) -> None:
    good = ping("E6", at(9, 0), CLIENT_A)
    for bad, field in [
        (ping("E6", at(9, 5), (91.0, 114.0)), "pings[1].location.latitude"),
        (ping("E6", at(9, 5), (float("nan"), 114.0)), "pings[1].location.latitude"),
        (ping("E6", datetime.now(UTC) + timedelta(days=1), CLIENT_A), "pings[1].time"),
        (
            pb.Ping(employee_id="E6", org_unit=TEAM, location=GeoPoint(latitude=1, longitude=1)),
            "pings[1].time",
        ),
    ]:
        with pytest.raises(grpc.RpcError) as err:
            stub(svc).IngestPings(pb.IngestPingsRequest(pings=[good, bad]), metadata=system(svc))
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT and field in err.value.details()
    hr = svc.tokens.user("HR1", "/hq", {"attendance.routes.read": "all"})
    assert report(svc, "E6", hr).items == [] and report(svc, "E6", hr).summary.first_ping_at.seconds == 0


def test_a_rep_cannot_read_a_peers_route_nor_the_team(svc: RunningService) -> None:
    scripted_day(svc, "E1")
    own = svc.tokens.user("E1", TEAM, {"attendance.routes.read": "self"})
    assert report(svc, "E1", own).verified_visits == 1
    peer = svc.tokens.user("E9", TEAM, {"attendance.routes.read": "self"})
    with pytest.raises(grpc.RpcError) as err:
        report(svc, "E1", peer)
    assert (
        err.value.code() == grpc.StatusCode.PERMISSION_DENIED
        and "attendance.routes.read" in err.value.details()
    )
    with pytest.raises(grpc.RpcError) as err:
        stub(svc).GetTeamSummary(pb.GetTeamSummaryRequest(org_unit=TEAM, date=DAY_S), metadata=bearer(peer))
    assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED
    other_lead = svc.tokens.user("L2", "/hq/futian/team-02", {"attendance.routes.read": "team"})
    with pytest.raises(grpc.RpcError) as err:
        report(svc, "E1", other_lead)
    assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED


def test_team_summary_pages_through_the_team(svc: RunningService) -> None:
    for emp in ("E1", "E2", "E3"):
        stub(svc).IngestPings(pb.IngestPingsRequest(pings=day_pings(emp)), metadata=system(svc))
    check_ins(svc, "E2")
    lead = bearer(svc.tokens.user("L1", TEAM, {"attendance.routes.read": "team"}))
    seen, token = [], ""
    while True:
        page = stub(svc).GetTeamSummary(
            pb.GetTeamSummaryRequest(org_unit=TEAM, date=DAY_S, page_size=2, page_token=token), metadata=lead
        )
        seen += list(page.employees)
        token = page.next_page_token
        if not token:
            break
    assert [e.employee_id for e in seen] == ["E1", "E2", "E3"]
    e2 = seen[1]
    assert (e2.verified_visits, e2.location_mismatches, e2.dwell_anomalies, e2.stops_at_clients) == (
        1,
        1,
        1,
        1,
    )


def test_team_summary_pages_hold_only_what_the_caller_sees_and_end_exactly(svc: RunningService) -> None:
    """A team-scoped lead asking for the team's unit sees its members, not those of a unit below it; the
    scope is part of the query, so the last page says there is no next (rows used to be filtered after
    reading, over as many reads as a page needed, and a full last page led on to an empty one)."""
    below = TEAM + "/pod-1"
    publish_employees(svc, [employee(e, below, "credit_officer") for e in ("E1a", "E1b", "E1c")])
    for emp in ("E1", "E1a", "E1b", "E1c", "E2"):  # by employee id: E1, E1a, E1b, E1c, E2
        pings = day_pings(emp)[:3]
        for p in pings:
            p.org_unit = ""  # the directory's
        stub(svc).IngestPings(pb.IngestPingsRequest(pings=pings), metadata=system(svc))
    lead = bearer(svc.tokens.user("L1", TEAM, {"attendance.routes.read": "team"}))
    pages, token = [], ""
    while True:
        page = stub(svc).GetTeamSummary(
            pb.GetTeamSummaryRequest(org_unit=TEAM, date=DAY_S, page_size=1, page_token=token), metadata=lead
        )
        pages.append([e.employee_id for e in page.employees])
        token = page.next_page_token
        if not token:
            break
    assert pages == [["E1"], ["E2"]]
    hq = bearer(svc.tokens.user("A1", "/hq", {"attendance.routes.read": "subtree"}))
    whole = stub(svc).GetTeamSummary(pb.GetTeamSummaryRequest(org_unit=TEAM, date=DAY_S), metadata=hq)
    assert [e.employee_id for e in whole.employees] == ["E1", "E1a", "E1b", "E1c", "E2"]


def test_a_team_page_reads_as_many_statements_for_five_as_for_one(
    svc: RunningService, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Visits, stops, anomalies and fixes are read for the whole page at once, not four reads an employee
    (counted on an engine of the test's own: the service's background workers share the service's); each
    summary of a page over gRPC is the one the employee's own route report gives."""
    team = ("E1", "E2", "E3", "E4", "E5")
    for emp in team:
        stub(svc).IngestPings(pb.IngestPingsRequest(pings=day_pings(emp)), metadata=system(svc))
    check_ins(svc, "E2")
    db = Database(svc.host.ctx.db.url)  # type: ignore[union-attr]
    try:
        counts = []
        for size in (1, 5):
            with statements_of(db, monkeypatch) as sent, db.session() as s:
                reports = Reports.reports(s, [(e, TEAM) for e in team[:size]], DAY_S)
            assert len(reports) == size
            counts.append(len(sent))
    finally:
        db.dispose()
    assert counts[0] == counts[1] <= 5, counts  # four reads (and SQLite's BEGIN IMMEDIATE)
    lead = bearer(svc.tokens.user("L1", TEAM, {"attendance.routes.read": "team"}))
    page = stub(svc).GetTeamSummary(
        pb.GetTeamSummaryRequest(org_unit=TEAM, date=DAY_S, page_size=5), metadata=lead
    )
    assert [e.employee_id for e in page.employees] == list(team)
    assert list(page.employees) == [report(svc, emp).summary for emp in team]


def test_streamed_small_batches_and_a_late_fix_count_once(svc: RunningService) -> None:
    pings = day_pings("E7")
    for k in range(0, len(pings), 3):  # a phone uploading every 15 minutes, in order
        stub(svc).StreamPings(iter(pings[k : k + 3]), metadata=system(svc))
    late = ping("E7", at(9, 57), (MALL[0], MALL[1] + 0.00001))  # arrives last, moves the mall stop's start
    assert stub(svc).IngestPings(pb.IngestPingsRequest(pings=[late]), metadata=system(svc)).accepted == 1
    r = report(svc, "E7")
    stops = [(i.start_time.ToDatetime(tzinfo=UTC), round(i.minutes)) for i in r.items if i.kind == "stop"]
    assert stops == [
        (at(9, 0).astimezone(UTC), 40),
        (at(9, 57).astimezone(UTC), 48),
        (at(11, 0).astimezone(UTC), 10),
    ]
    assert [a.kind for a in r.anomalies] == ["dwell_anomaly"]  # raised once, not again for the longer stop
    assert len(outbox(svc, "attendance.dwell_anomaly")) == 1


def test_close_day_publishes_one_summary_per_revision(svc: RunningService) -> None:
    scripted_day(svc, "E8")
    closer = bearer(svc.tokens.service("scheduler", {"attendance.days.close": "all"}))
    assert stub(svc).CloseDay(pb.CloseDayRequest(date=DAY_S), metadata=closer).summarised == 1
    assert stub(svc).CloseDay(pb.CloseDayRequest(date=DAY_S), metadata=closer).summarised == 0
    (summary,) = outbox(svc, "attendance.daily_summary")
    d = data(summary)
    assert {
        k: d[k] for k in ("employee_id", "date", "verified_visits", "location_mismatches", "dwell_anomalies")
    } == {
        "employee_id": "E8",
        "date": DAY_S,
        "verified_visits": 1.0,
        "location_mismatches": 1.0,
        "dwell_anomalies": 1.0,
    }
    assert (d["revision"], d["rule_id"], d["pack_id"]) == (1.0, "daily-summary", "attendance-field-presence")
    stub(svc).IngestPings(
        pb.IngestPingsRequest(pings=[ping("E8", at(17, 0), CLIENT_B)]), metadata=system(svc)
    )
    assert stub(svc).CloseDay(pb.CloseDayRequest(date=DAY_S), metadata=closer).summarised == 1
    assert sorted(data(e)["revision"] for e in outbox(svc, "attendance.daily_summary")) == [1.0, 2.0]
    with pytest.raises(grpc.RpcError) as err:
        today = datetime.now(SH).date().isoformat()
        stub(svc).CloseDay(pb.CloseDayRequest(date=today), metadata=closer)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "date" in err.value.details()
    rep = bearer(svc.tokens.user("E8", TEAM, {"attendance.routes.read": "self"}))
    with pytest.raises(grpc.RpcError) as err:
        stub(svc).CloseDay(pb.CloseDayRequest(date=DAY_S), metadata=rep)
    assert (
        err.value.code() == grpc.StatusCode.PERMISSION_DENIED
        and "attendance.days.close" in err.value.details()
    )


def test_an_open_stop_at_the_end_of_the_day_is_judged_when_the_day_closes(svc: RunningService) -> None:
    stub(svc).IngestPings(
        pb.IngestPingsRequest(
            pings=[ping("E10", at(16, m), (MALL[0], MALL[1] + 0.00002 * (m % 2))) for m in range(0, 50, 5)]
        ),
        metadata=system(svc),
    )
    assert [a.kind for a in report(svc, "E10").anomalies] == []  # still there: not judged yet
    closer = bearer(svc.tokens.service("scheduler", {"attendance.days.close": "all"}))
    stub(svc).CloseDay(pb.CloseDayRequest(date=DAY_S), metadata=closer)
    assert [a.kind for a in report(svc, "E10").anomalies] == ["dwell_anomaly"]


def test_places_imported_through_one_replica_are_found_by_another(db_url: str, tmp_path: Path) -> None:
    env = {"COVENANT_ATTENDANCE_CLOSE_INTERVAL_SECONDS": "3600"}
    with (
        running_service("attendance", db_url=db_url, data_dir=tmp_path / "a", env=env) as one,
        running_service(
            "attendance", db_url=db_url, data_dir=tmp_path / "b", env=env, tokens=one.tokens
        ) as two,
    ):
        md = system(one)
        north = (CLIENT_A[0] + 120 / EARTH_M * 57.29577951308232, CLIENT_A[1])
        stub(one).ImportClientPlaces(pb.ImportClientPlacesRequest(places=[place("A", CLIENT_A)]), metadata=md)
        req = pb.FindNearbyPlacesRequest(
            location=GeoPoint(latitude=north[0], longitude=north[1]), radius_m=500
        )
        assert [p.place.client_id for p in stub(two).FindNearbyPlaces(req, metadata=md).places] == ["A"]
        stub(one).ImportClientPlaces(
            pb.ImportClientPlacesRequest(places=[place("A", (22.6, 114.1)), place("C", CLIENT_A)]),
            metadata=md,
        )
        deadline = datetime.now(UTC) + timedelta(seconds=10)
        while datetime.now(UTC) < deadline:
            found = [
                (p.place.client_id, p.distance_m) for p in stub(two).FindNearbyPlaces(req, metadata=md).places
            ]
            if found and found[0][0] == "C":
                break
            time.sleep(0.1)
        assert found == [("C", pytest.approx(120, abs=1))]  # A moved away, C is new
        with pytest.raises(grpc.RpcError) as err:
            stub(one).ImportClientPlaces(
                pb.ImportClientPlacesRequest(places=[place("D", CLIENT_A), place("E", (95.0, 1.0))]),
                metadata=md,
            )
        assert (
            err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
            and "places[1].location.latitude" in err.value.details()
        )


def test_the_day_closer_worker_publishes_summaries_of_past_days(db_url: str, tmp_path: Path) -> None:
    env = {"COVENANT_ATTENDANCE_CLOSE_INTERVAL_SECONDS": "0.2"}
    with running_service("attendance", db_url=db_url, data_dir=tmp_path, env=env) as s:
        seed(s)
        imported = stub(s).StreamClientPlaces(
            iter([place("A", CLIENT_A), place("B", CLIENT_B)]), metadata=system(s)
        )
        assert imported.imported == 2
        stub(s).IngestPings(pb.IngestPingsRequest(pings=day_pings("E11")), metadata=system(s))
        check_ins(s, "E11")

        def latest() -> dict[str, object] | None:
            found = sorted(
                (d for d in map(data, outbox(s, "attendance.daily_summary")) if d["date"] == DAY_S),
                key=lambda d: d["revision"],
            )
            return found[-1] if found else None

        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and (latest() or {}).get("verified_visits") != 1.0:
            time.sleep(0.1)
        d = latest()
        assert d is not None and (d["employee_id"], d["date"], d["verified_visits"], d["stops"]) == (
            "E11",
            DAY_S,
            1.0,
            3.0,
        )
        events = outbox(s, "attendance.daily_summary")  # the worker may have summarised before the check-ins
        ours = [e for e in events if data(e)["date"] == DAY_S]
        assert sorted(data(e)["revision"] for e in ours) == [float(n) for n in range(1, len(ours) + 1)]
        assert all(e.subject == "employees/E11" and e.org_unit == TEAM for e in events)
        # later days are silent ones (recorded once a day by the worker, maybe before E11's fixes came)
        later = [data(e) for e in events if data(e)["date"] > DAY_S]
        assert all(d["silent"] == 1.0 and d["working_day"] == 1.0 for d in later)


def test_the_default_visit_radius_follows_the_org_unit_override(svc: RunningService) -> None:
    stub(svc).ImportClientPlaces(
        pb.ImportClientPlacesRequest(places=[place("R", MALL, radius=0)]), metadata=system(svc)
    )
    here = (MALL[0] + 250 / 111_195, MALL[1])  # 250 m from a client with no radius of its own

    def check_in(emp: str, org_unit: str) -> pb.CheckInResponse:
        p = ping(emp, at(14, 0), here)
        p.org_unit = org_unit
        return stub(svc).CheckIn(pb.CheckInRequest(ping=p, client_id="R"), metadata=system(svc))

    rural, city = check_in("E20", "/hq/rural/team-1"), check_in("E21", TEAM)
    assert (rural.verified, rural.radius_m) == (True, 300.0)
    assert (city.verified, city.radius_m) == (False, 150.0)


def test_ingest_and_place_imports_at_once_never_deadlock(svc: RunningService) -> None:
    """An import refreshes the place index (index lock, then a database session) while ingest batches hold
    their write transaction and consult the day-tail cache: one shared lock made the two wait on each other
    until the database timeout (seen as INTERNAL on 100,000-place imports)."""
    md = system(svc)
    stub(svc).ImportClientPlaces(pb.ImportClientPlacesRequest(places=[place("A", CLIENT_A)]), metadata=md)
    errors: list[Exception] = []

    def ingest(emp: str) -> None:
        try:
            for m in range(0, 120, 5):  # appending batches: each rescans from the cached day tail
                p = ping(emp, at(9, 0) + timedelta(minutes=m), CLIENT_A)
                stub(svc).IngestPings(pb.IngestPingsRequest(pings=[p]), metadata=md, timeout=20)
        except Exception as exc:  # reported below
            errors.append(exc)

    def imports() -> None:
        try:
            for i in range(25):
                req = pb.ImportClientPlacesRequest(places=[place(f"P{i}", (22.5 + i / 1000, 114.0))])
                stub(svc).ImportClientPlaces(req, metadata=md, timeout=20)
        except Exception as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=ingest, args=(f"E{k}",)) for k in range(4)]
    threads.append(threading.Thread(target=imports))
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert errors == []
    assert [report(svc, f"E{k}").employee_id for k in range(4)] == [f"E{k}" for k in range(4)]
