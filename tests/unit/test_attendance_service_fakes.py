"""The attendance check-in judgement and silent days over the in-memory store: the same service logic as
tests/integration/test_attendance_grpc.py and test_silence.py, with no database and no gRPC."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from covenant.auth import Principal, parse_permissions
from covenant.errors import InvalidArgument, NotFound, PermissionDenied
from covenant.rules import CompiledPack, parse_pack
from covenant.rules.runtime import RuleRuntime
from services.attendance.actions import VOCABULARY
from services.attendance.checkins import CheckInIn
from services.attendance.domain.geo import Place
from services.attendance.domain.pings import PingIn
from services.attendance.domain.stops import Ping
from services.attendance.service import AttendanceService
from services.attendance.storage import DayState, RosterRow
from tests.support.fakes.attendance import FakeAttendanceStore

TEAM = "/hq/futian/team-01"
CLIENT_A = (22.5431, 114.0579)
MALL = (22.5333, 114.0453)  # about 1.7 km from client A
AT = datetime(2026, 9, 1, 7, tzinfo=UTC)  # 15:00 in Shanghai
PACK = Path(__file__).resolve().parents[2] / "rules" / "attendance" / "field-presence.yaml"
SYSTEM = Principal(
    "services/mdm", kind="service", permissions=parse_permissions({"attendance.visits.write": "all"})
)
REP = Principal(  # a rep of the team, who may check in only themself
    "employees/E9",
    employee_id="E9",
    org_unit=TEAM,
    permissions=parse_permissions({"attendance.visits.write": "self"}),
)


@pytest.fixture(scope="module")
def rules() -> RuleRuntime:
    runtime = RuleRuntime("attendance", VOCABULARY)
    pack = parse_pack(PACK.read_text(), VOCABULARY)
    runtime.set_active({pack.id: CompiledPack(pack, VOCABULARY)})
    return runtime


@pytest.fixture
def store() -> FakeAttendanceStore:
    s = FakeAttendanceStore()
    s.add_place(Place("A", "Client A", *CLIENT_A))
    return s


@pytest.fixture
def svc(rules: RuleRuntime, store: FakeAttendanceStore) -> AttendanceService:
    return AttendanceService(
        None, rules, clock=lambda: AT + timedelta(hours=1), directory=None, stores=store.unit
    )  # type: ignore[arg-type]


def ping(where: tuple[float, float], at: datetime = AT, employee: str = "E1", mock: bool = False) -> PingIn:
    return PingIn(employee, TEAM, "dev-1", at, where[0], where[1], 10.0, mock)


def test_a_check_in_inside_the_radius_is_a_verified_visit(
    svc: AttendanceService, store: FakeAttendanceStore
) -> None:
    r = svc.check_ins.check_in(SYSTEM, ping((CLIENT_A[0] + 0.0005, CLIENT_A[1])), "A", "")
    assert r.verified and r.event_type == "attendance.visit_verified" and r.rule_id == "visit-verified"
    assert 50 < r.distance_m < 60 and r.radius_m == 150 and r.suspicions == ()
    (visit,) = store.state.visits
    assert (visit["id"], visit["day"], visit["verified"]) == (r.visit_id, "2026-09-01", True)
    assert [e.type for e in store.state.events] == ["attendance.visit_verified"]
    assert store.state.days[("E1", "2026-09-01")].dirty and store.state.check_ins == {"verified": 1}


def test_a_check_in_2km_away_is_a_mismatch_anomaly(
    svc: AttendanceService, store: FakeAttendanceStore
) -> None:
    r = svc.check_ins.check_in(SYSTEM, ping(MALL), "A", "")
    assert (
        not r.verified and r.event_type == "attendance.location_mismatch" and r.rule_id == "location-mismatch"
    )
    ((key, anomaly),) = store.state.anomalies.items()
    assert key == ("E1", "location_mismatch", r.visit_id) and anomaly["ref_id"] == r.visit_id
    assert [e.type for e in store.state.events] == ["attendance.location_mismatch"]
    assert store.state.check_ins == {"mismatched": 1}


def test_a_check_in_far_from_the_preceding_pings_is_suspect(
    svc: AttendanceService, store: FakeAttendanceStore
) -> None:
    for m in range(0, 10, 2):
        store.add_ping("E1", Ping(AT - timedelta(minutes=10 - m), *MALL))
    r = svc.check_ins.check_in(SYSTEM, ping(CLIENT_A), "A", "")
    assert r.verified and r.suspicions == ("checkin-far-from-pings",)
    (anomaly,) = [a for k, a in store.state.anomalies.items() if k[1] == "spoofing_suspected"]
    evidence = json.loads(anomaly["detail_json"])
    assert evidence["visit_id"] == r.visit_id and evidence["distance_from_last_ping_m"] > 1000
    assert evidence["preceding_ping"]["latitude"] == MALL[0]
    assert sorted(e.type for e in store.state.events) == [
        "attendance.spoofing_suspected",
        "attendance.visit_verified",
    ]


def test_pings_outside_the_window_do_not_count_and_a_mock_location_is_suspect(
    svc: AttendanceService, store: FakeAttendanceStore
) -> None:
    store.add_ping("E1", Ping(AT - timedelta(hours=2), *MALL))
    r = svc.check_ins.check_in(SYSTEM, ping(CLIENT_A, mock=True), "A", "")
    assert r.verified and r.suspicions == ("checkin-mock-location",)


def test_a_batch_is_idempotent_per_check_in_id_with_errors_per_item(
    svc: AttendanceService, store: FakeAttendanceStore
) -> None:
    items = [
        CheckInIn(ping(CLIENT_A), "A", "c1"),
        CheckInIn(ping(CLIENT_A), "A", "c1"),  # sent twice in one batch: one visit
        CheckInIn(ping(CLIENT_A), "A", ""),
        CheckInIn(ping(CLIENT_A), "nobody", "c3"),
        CheckInIn(ping(MALL, employee="E2"), "A", "c4"),
    ]
    first = svc.check_ins.batch_check_ins(SYSTEM, items)
    assert first[0] == first[1] and first[0].verified and not first[4].verified
    assert isinstance(first[2], InvalidArgument) and first[2].field == "check_ins[2].request_id"
    assert isinstance(first[3], NotFound)
    again = svc.check_ins.batch_check_ins(SYSTEM, [items[0], items[4]])
    assert [r.visit_id for r in again] == [first[0].visit_id, first[4].visit_id]
    assert len(store.state.visits) == 2 and len(store.state.events) == 2


def test_check_ins_are_authorised_and_bad_input_names_the_field(
    svc: AttendanceService, store: FakeAttendanceStore
) -> None:
    with pytest.raises(PermissionDenied):
        svc.check_ins.check_in(REP, ping(CLIENT_A), "A", "")
    with pytest.raises(InvalidArgument) as err:
        svc.check_ins.check_in(SYSTEM, ping(CLIENT_A), "", "")
    assert err.value.field == "client_id"
    with pytest.raises(InvalidArgument) as err:
        svc.check_ins.check_in(SYSTEM, ping((91.0, 114.0)), "A", "")
    assert err.value.field == "ping.location.latitude"
    assert store.state.visits == [] and store.state.events == []


def test_unary_check_ins_sharing_a_transaction_each_get_their_own_result_or_error(
    svc: AttendanceService, store: FakeAttendanceStore
) -> None:
    calls = [
        (SYSTEM, CheckInIn(ping(CLIENT_A), "A", "u1")),
        (REP, CheckInIn(ping(CLIENT_A), "A", "u2")),  # E9 checking in E1: denied, to this caller only
        (SYSTEM, CheckInIn(ping(CLIENT_A), "", "u3")),  # bad input, named as in a unary call
        (SYSTEM, CheckInIn(ping(MALL, employee="E2"), "A", "")),
        (SYSTEM, CheckInIn(ping(CLIENT_A), "A", "u1")),  # a retry racing its original: the same visit
    ]
    svc.check_ins.check_in(SYSTEM, ping(CLIENT_A, employee="E3"), "A", "")  # the place index is read
    before = store.units_opened
    out = svc.check_ins._unary_group(calls)
    assert store.units_opened - before == 1  # one transaction for the whole group
    assert not isinstance(out[0], Exception) and out[0].verified and out[4] == out[0]
    assert isinstance(out[1], PermissionDenied)
    assert isinstance(out[2], InvalidArgument) and out[2].field == "client_id"
    assert not isinstance(out[3], Exception) and not out[3].verified
    assert sorted(v["employee_id"] for v in store.state.visits) == ["E1", "E2", "E3"]


def test_silent_working_days_of_the_roster_get_a_day_row_once(
    svc: AttendanceService, store: FakeAttendanceStore
) -> None:
    def listed(emp: str, role: str, status: str = "ACTIVE", joined: str = "2026-08-28") -> RosterRow:
        return RosterRow(emp, TEAM, role, status, joined, joined, "", "")

    store.state.roster = {
        "R1": listed("R1", "credit_officer"),  # listed on Friday, never sent anything
        "R3": listed("R3", "hr_partner"),  # not a field role
        "R4": listed("R4", "sales_rep", "ON_LEAVE"),
    }
    store.state.days[("R2", "2026-08-28")] = DayState(
        "R2", "2026-09-07", TEAM, "sales_rep", pings=3, dirty=False
    )
    assert svc.today() == "2026-09-01"
    assert svc.days.record_silence("2026-09-01") == 3
    created = sorted(k for k, st in store.state.days.items() if st.pings == 0)
    # Friday, then Monday: the weekend is not a working day; R2 counts from its first fix.
    assert created == [("R1", "2026-08-28"), ("R1", "2026-08-31"), ("R2", "2026-08-31")]
    assert all(store.state.days[k].dirty for k in created)
    assert svc.days.record_silence("2026-09-01") == 0  # once per local day
    assert svc.days.record_silence("2026-09-01", only_day="2026-08-31") == 0  # the rows are there already
