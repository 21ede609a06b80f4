"""Silence (issue 16): a rep who sends nothing at all still gets "fewer than 1 visit a day" and "no
follow-up for 3 days" - on working days of the business calendar (official holidays and 调休 included),
through real gRPC and real databases."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from google.protobuf.json_format import MessageToDict
from google.protobuf.timestamp_pb2 import Timestamp
from sqlalchemy import text

from covenant.attendance.v1 import attendance_pb2 as apb
from covenant.attendance.v1 import attendance_pb2_grpc
from covenant.calendar import BusinessCalendar
from covenant.common.v1.common_pb2 import GeoPoint
from covenant.compliance.v1 import compliance_pb2 as cpb
from covenant.compliance.v1 import compliance_pb2_grpc
from covenant.events.v1 import event_pb2, event_pb2_grpc
from covenant.events.v1.event_pb2 import Event
from covenant.grpc.testing import RunningService, bearer, running_service
from tests.support.directory import employee, publish_employees

SH = ZoneInfo("Asia/Shanghai")
TEAM = "/hq/futian/team-02"
CN = BusinessCalendar(official="cn")
OFFICE = (22.5431, 114.0579)


def ts(value: datetime) -> Timestamp:
    t = Timestamp()
    t.FromDatetime(value)
    return t


def monday_weeks_ago(weeks: int) -> date:
    d = datetime.now(SH).date() - timedelta(days=7 * weeks)
    return d - timedelta(days=d.weekday())


@pytest.fixture
def attendance(db_url: str, tmp_path: Path) -> Iterator[RunningService]:
    env = {"COVENANT_ATTENDANCE_CLOSE_INTERVAL_SECONDS": "3600"}
    with running_service("attendance", db_url=db_url, data_dir=tmp_path / "a", env=env) as s:
        publish_employees(s, REPS)  # as identity does
        yield s


@pytest.fixture
def compliance(db_url: str, tmp_path: Path) -> Iterator[RunningService]:
    with running_service("compliance", db_url=db_url, data_dir=tmp_path / "c") as s:
        publish_employees(s, [employee("E1", TEAM, "credit_officer")])  # as identity does
        yield s


def outbox(svc: RunningService, event_type: str) -> list[Event]:
    with svc.host.ctx.db.session() as s:  # type: ignore[union-attr]
        rows = s.execute(
            text("SELECT DISTINCT event_id, payload FROM outbox WHERE event_type = :t"), {"t": event_type}
        ).all()
    return list({e.id: e for e in (Event.FromString(p) for _, p in rows)}.values())


def pings(emp: str, day: date) -> list[apb.Ping]:
    start = datetime(day.year, day.month, day.day, 9, 0, tzinfo=SH)
    return [
        apb.Ping(
            employee_id=emp,
            org_unit=TEAM,
            device_id="phone",
            location=GeoPoint(latitude=OFFICE[0] + 0.00001 * k, longitude=OFFICE[1]),
            accuracy_m=8.0,
            time=ts(start + timedelta(minutes=10 * k)),
            role="credit_officer",
        )
        for k in range(4)
    ]


# Which of the 12 days from a Monday two weeks ago each rep sent fixes on (0 = that Monday).
PLAN = {
    "S1": {0},  # then silent for good
    "S2": {0, 1, 2, 3, 4},  # a full first week, then silent
    "S3": {0, 2, 4, 7, 9},  # every other working day
    "S4": {0, 5, 6},  # worked the weekend, silent on weekdays
    "S5": set(range(12)),  # never silent
}
REPS = [employee(e, TEAM, "credit_officer") for e in PLAN]  # the directory's view of the reps


def test_a_rep_who_sends_nothing_on_a_working_day_gets_a_silent_day_and_a_case(
    attendance: RunningService, tmp_path: Path
) -> None:
    first = monday_weeks_ago(2)
    days = [first + timedelta(days=i) for i in range(12)]
    sender = bearer(attendance.tokens.service("mobile-gateway"))
    stub = attendance_pb2_grpc.AttendanceServiceStub(attendance.channel)
    stub.ImportClientPlaces(
        apb.ImportClientPlacesRequest(
            places=[
                apb.ClientPlace(
                    client_id="K",
                    name="客户K",
                    location=GeoPoint(latitude=OFFICE[0], longitude=OFFICE[1]),
                    visit_radius_m=150,
                )
            ]
        ),
        metadata=sender,
    )
    for emp, sent in PLAN.items():
        for i in sorted(sent):
            stub.IngestPings(apb.IngestPingsRequest(pings=pings(emp, days[i])), metadata=sender)
            stub.CheckIn(  # every day a rep sends anything, they also visit the client: only silence counts
                apb.CheckInRequest(ping=pings(emp, days[i])[-1], client_id="K", request_id=f"{emp}-{i}"),
                metadata=sender,
            )
    closer = bearer(attendance.tokens.service("scheduler", {"attendance.days.close": "all"}))
    for day in days:
        stub.CloseDay(apb.CloseDayRequest(date=day.isoformat()), metadata=closer)

    summaries = outbox(attendance, "attendance.daily_summary")
    got = {
        (MessageToDict(e.data)["employee_id"], MessageToDict(e.data)["date"]): MessageToDict(e.data)
        for e in summaries
    }
    expected_silent = {
        (emp, d.isoformat())
        for emp, sent in PLAN.items()
        for i, d in enumerate(days)
        if i not in sent and CN.is_business_day(d)
    }
    assert expected_silent, "the plan must hold silent working days"
    silent = {k for k, v in got.items() if v["silent"] == 1}
    assert silent == expected_silent  # found all planted, nothing unplanted
    for key in expected_silent:
        assert (got[key]["pings"], got[key]["verified_visits"], got[key]["working_day"]) == (0, 0, 1)
    for emp, sent in PLAN.items():  # days with fixes are summarised as before, weekends too
        for i in sent:
            d = got[(emp, days[i].isoformat())]
            assert d["silent"] == 0 and d["working_day"] == int(CN.is_business_day(days[i]))
    silent_weekends = {
        (emp, d.isoformat())
        for emp, sent in PLAN.items()
        for i, d in enumerate(days)
        if i not in sent and not CN.is_business_day(d)
    }
    assert not silent_weekends & set(got)  # a weekend or holiday without fixes is no day at all

    # The summaries reach compliance (its own database): "fewer than 1 visit" cases for the silent reps.
    with running_service("compliance", db_url=f"sqlite:///{tmp_path / 'c.db'}", data_dir=tmp_path / "c") as c:
        _check_cases(c, summaries, {emp for emp, _ in expected_silent})


def _check_cases(compliance: RunningService, summaries: list[Event], silent_reps: set[str]) -> None:
    sink = event_pb2_grpc.EventSinkServiceStub(compliance.channel)
    sink.DeliverEvents(
        event_pb2.DeliverEventsRequest(events=summaries),
        metadata=bearer(compliance.tokens.service("attendance")),
    )
    officer = bearer(compliance.tokens.user("C1", "/hq", {"compliance.cases.read": "all"}))
    cases = (
        compliance_pb2_grpc.ComplianceServiceStub(compliance.channel)
        .ListCases(cpb.ListCasesRequest(page_size=500), metadata=officer)
        .cases
    )
    flagged = {c.employee_id for c in cases if c.rule_id == "fewer-than-1-visit"}
    # S1-S4 were silent on some working day (every day with fixes had a visit); S5 never.
    assert flagged == silent_reps and "S5" not in flagged


@pytest.mark.parametrize(
    "opened",
    [
        date(2026, 9, 28),  # Monday before National Day: Sep 29, 30, then Oct 8
        date(2026, 9, 30),  # Oct 8, 9 and the worked Saturday Oct 10
        date(2026, 10, 9),  # Friday: Sat Oct 10 (worked), Mon 12, Tue 13
        date(2026, 2, 12),  # Thursday: Fri 13, the worked Sat 14, then after the Spring Festival
        date(2026, 11, 20),  # Friday: Mon, Tue, Wed
        date(2026, 11, 25),  # Wednesday: Thu, Fri, Mon
    ],
)
def test_no_follow_up_counts_working_days_for_a_rep_who_sends_nothing(
    compliance: RunningService, opened: date
) -> None:
    stub = compliance_pb2_grpc.ComplianceServiceStub(compliance.channel)
    system = bearer(compliance.tokens.service("crm"))
    officer = bearer(compliance.tokens.user("C1", "/hq", {"compliance.rules.evaluate": "all"}))
    at = datetime(opened.year, opened.month, opened.day, 10, tzinfo=SH)
    stub.RecordClientActivity(
        cpb.RecordClientActivityRequest(
            employee_id="E1", org_unit=TEAM, client_id="K-1", kind="opened", occurred_at=ts(at)
        ),
        metadata=system,
    )
    working, third = 0, None
    day = opened
    while third is None:
        day += timedelta(days=1)
        working += CN.is_business_day(day)
        if working == 3:
            third = day
    first_case = None
    for offset in range(1, 21):
        d = opened + timedelta(days=offset)
        resp = stub.EvaluateBehaviour(
            cpb.EvaluateBehaviourRequest(
                as_of=ts(datetime(d.year, d.month, d.day, 18, tzinfo=SH).astimezone(UTC))
            ),
            metadata=officer,
        )
        if resp.cases_opened:
            first_case = d
            break
    assert first_case == third


# The directory's roster (identity's events), one variant per rep: (role, [(day index, status)], fix days).
ROSTER_PLAN: dict[str, tuple[str, list[tuple[int, str]], set[int]]] = {
    "Q1": ("credit_officer", [(0, "ACTIVE")], set()),  # never sends anything: silent every working day
    "Q2": ("sales_rep", [(7, "ACTIVE")], set()),  # listed in the second week: silent from then on
    "L1": ("collector", [(0, "ACTIVE"), (3, "ON_LEAVE")], set()),  # on leave from day 3
    "X1": ("credit_officer", [(0, "ACTIVE"), (5, "LEFT")], set()),  # left on day 5
    "R1": ("collector", [(0, "ACTIVE"), (2, "ON_LEAVE"), (8, "ACTIVE")], set()),  # back on day 8
    "O1": ("sales_rep", [(0, "ACTIVE"), (6, "ON_LEAVE"), (2, "ACTIVE")], set()),  # older change arrives late
    "M1": ("team_lead", [(0, "ACTIVE")], set()),  # not a field role: never silent
    "M2": ("branch_manager", [(0, "ACTIVE")], {1, 8}),  # pinged now and then, still not a field role
    "P1": ("credit_officer", [(0, "ACTIVE")], set(range(12))),  # sends every day
    "P2": ("sales_rep", [(3, "ACTIVE")], {0, 4, 9}),  # sent before identity listed them: counts from day 0
}


def _expected_roster_silence(days: list[date]) -> set[tuple[str, str]]:
    out = set()
    for emp, (role, changes, sent) in ROSTER_PLAN.items():
        if role not in ("credit_officer", "sales_rep", "collector"):
            continue
        applied = sorted(changes) if emp != "O1" else changes[:2]  # the late, older change is ignored
        start = min([applied[0][0], *sent])
        for i, d in enumerate(days):
            status = "ACTIVE"
            for at, st in applied:
                if at <= i:
                    status = st
            if i >= start and i not in sent and status == "ACTIVE" and CN.is_business_day(d):
                out.add((emp, d.isoformat()))
    return out


def test_the_directory_roster_catches_reps_who_never_send_anything(db_url: str, tmp_path: Path) -> None:
    first = monday_weeks_ago(2)
    days = [first + timedelta(days=i) for i in range(12)]
    env = {"COVENANT_ATTENDANCE_CLOSE_INTERVAL_SECONDS": "3600"}
    with running_service("attendance", db_url=db_url, data_dir=tmp_path / "a", env=env) as svc:
        for emp, (role, changes, _) in ROSTER_PLAN.items():
            for i, status in changes:  # in the listed order (O1's older change arrives last)
                at = datetime(days[i].year, days[i].month, days[i].day, 8, tzinfo=SH)
                publish_employees(svc, [employee(emp, TEAM, role, status=status)], at=at)
        stub = attendance_pb2_grpc.AttendanceServiceStub(svc.channel)
        sender = bearer(svc.tokens.service("mobile-gateway"))
        for emp, (_, _, sent) in ROSTER_PLAN.items():
            for i in sorted(sent):
                fixes = pings(emp, days[i])
                for p in fixes:
                    p.role = ""  # the directory says who they are
                stub.IngestPings(apb.IngestPingsRequest(pings=fixes), metadata=sender)
        closer = bearer(svc.tokens.service("scheduler", {"attendance.days.close": "all"}))
        for day in days:
            stub.CloseDay(apb.CloseDayRequest(date=day.isoformat()), metadata=closer)
        summaries = outbox(svc, "attendance.daily_summary")
    got, units = {}, {}
    for e in summaries:
        d = MessageToDict(e.data)
        got[(d["employee_id"], d["date"])] = d
        units[(d["employee_id"], d["date"])] = e.org_unit
    expected = _expected_roster_silence(days)
    assert {e for e, _ in expected} == {"Q1", "Q2", "L1", "X1", "R1", "O1", "P2"}
    silent = {k for k, v in got.items() if v["silent"] == 1}
    assert silent == expected  # every planted silent day, and none on leave, after leaving or off-role
    for key in expected:
        assert (got[key]["pings"], got[key]["verified_visits"], got[key]["working_day"]) == (0, 0, 1)
        assert units[key] == TEAM  # the directory's org unit: the team lead sees the silent day
