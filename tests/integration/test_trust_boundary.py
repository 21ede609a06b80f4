"""The trust boundary through real gRPC in jwt mode, each case observed against main (issue 15):

- who an employee is (org unit, role) comes from the directory, never from the request;
- nobody adjusts, approves, fulfils, closes, extends or calibrates anything about themselves;
- an account admin cannot reset, give or take over an account with rights they do not hold.

One platform (all six services, SQLite) serves the whole module; employees are created in identity through
its API and reach the other services as identity's events or by look-up. Tokens carry the shipped role
pack's grants for each role (tests/support/roles.py).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import grpc
import pytest
from google.protobuf.field_mask_pb2 import FieldMask
from google.protobuf.timestamp_pb2 import Timestamp

from covenant.attendance.v1 import attendance_pb2 as apb
from covenant.attendance.v1 import attendance_pb2_grpc
from covenant.commitments.v1 import commitments_pb2 as cpb
from covenant.commitments.v1 import commitments_pb2_grpc
from covenant.common.v1.common_pb2 import GeoPoint
from covenant.compliance.v1 import compliance_pb2 as kpb
from covenant.compliance.v1 import compliance_pb2_grpc
from covenant.grpc.testing import RunningPlatform, bearer, running_platform
from covenant.identity.v1 import accounts_pb2, identity_service_pb2_grpc, org_pb2
from covenant.points.v1 import points_pb2 as ppb
from covenant.points.v1 import points_pb2_grpc
from tests.support.directory import create_in_identity, employee
from tests.support.roles import grants

NAMES = ["identity", "attendance", "scoring", "points", "compliance", "commitments"]
TEAM1, TEAM2, RURAL = "/hq/city/team-1", "/hq/city/team-2", "/hq/rural/team-1"
MALL = (22.5333, 114.0453)
AT_250_M = (MALL[0] + 250 / 111_195, MALL[1])  # 250 m north of the client
PEOPLE = [
    employee("M1", "/hq/city", "branch_manager", "credit_officer"),
    employee("L1", TEAM1, "team_lead", "credit_officer", manager_id="M1"),
    employee("L3", TEAM1, "team_lead", manager_id="M1"),  # a second lead in the same unit
    employee("R1", TEAM1, "credit_officer", manager_id="L1"),
    employee("R4", TEAM1, "credit_officer", manager_id="L1"),
    employee("R5", TEAM1, "credit_officer", manager_id="L3"),  # same unit as L1's people, L3's report
    employee("R2", TEAM2, "credit_officer"),
    employee("R3", RURAL, "credit_officer"),
    employee("CO1", "/hq", "compliance"),
    employee("CA1", TEAM1, "compliance_analyst", manager_id="CO1"),  # reports to the compliance officer
    employee("HR1", "/hq", "hr"),
]


def ts(value: datetime) -> Timestamp:
    t = Timestamp()
    t.FromDatetime(value)
    return t


@pytest.fixture(scope="module")
def p(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningPlatform]:
    tmp: Path = tmp_path_factory.mktemp("trust")
    urls = {n: f"sqlite:///{tmp / (n + '.db')}" for n in NAMES}
    with running_platform(NAMES, db_urls=urls, data_dir=tmp) as platform:
        create_in_identity(platform["identity"].channel, bearer(platform.tokens.admin()), PEOPLE)
        att = attendance_pb2_grpc.AttendanceServiceStub(platform["attendance"].channel)
        att.ImportClientPlaces(
            apb.ImportClientPlacesRequest(
                places=[
                    apb.ClientPlace(client_id="MALL", location=GeoPoint(latitude=MALL[0], longitude=MALL[1]))
                ]
            ),
            metadata=bearer(platform.tokens.service("crm")),
        )
        yield platform


def as_role(p: RunningPlatform, who: str, unit: str, role: str) -> list[tuple[str, str]]:
    return bearer(p.tokens.user(who, unit, grants(role), roles=(role,)))


def denied(call: Callable[[], object], code: grpc.StatusCode, *words: str) -> str:
    with pytest.raises(grpc.RpcError) as err:
        call()
    details = err.value.details() or ""
    assert err.value.code() == code, details
    for w in words:
        assert w in details, details
    return details


def check_in(p: RunningPlatform, who: str, md: list[tuple[str, str]], **ping: str) -> apb.CheckInResponse:
    att = attendance_pb2_grpc.AttendanceServiceStub(p["attendance"].channel)
    return att.CheckIn(
        apb.CheckInRequest(
            client_id="MALL",
            ping=apb.Ping(
                employee_id=who,
                device_id="phone",
                location=GeoPoint(latitude=AT_250_M[0], longitude=AT_250_M[1]),
                accuracy_m=8,
                time=ts(datetime.now(UTC) - timedelta(minutes=1)),
                **ping,
            ),
        ),
        metadata=md,
        timeout=10,
    )


# -- identity comes from the directory -------------------------------------------------------------------
def test_a_rep_claiming_the_rural_unit_is_refused_and_judged_by_their_own(p: RunningPlatform) -> None:
    rep = as_role(p, "R1", TEAM1, "sales_rep")
    denied(
        lambda: check_in(p, "R1", rep, org_unit=RURAL),
        grpc.StatusCode.INVALID_ARGUMENT,
        "ping.org_unit",
        "does not match the directory",
        TEAM1,
    )
    denied(
        lambda: check_in(p, "R1", rep, role="rural_officer"), grpc.StatusCode.INVALID_ARGUMENT, "ping.role"
    )
    honest = check_in(p, "R1", rep)  # no claim: the directory's city unit and its 150 m radius apply
    assert (honest.verified, honest.radius_m) == (False, 150.0)
    rural = check_in(p, "R3", as_role(p, "R3", RURAL, "sales_rep"))  # really rural: 300 m
    assert (rural.verified, rural.radius_m) == (True, 300.0)


def test_pings_claiming_another_unit_are_refused_naming_the_ping(p: RunningPlatform) -> None:
    att = attendance_pb2_grpc.AttendanceServiceStub(p["attendance"].channel)
    now = datetime.now(UTC) - timedelta(minutes=5)
    pings = [
        apb.Ping(
            employee_id="R1",
            org_unit=TEAM1 if i == 0 else TEAM2,
            device_id="phone",
            location=GeoPoint(latitude=MALL[0], longitude=MALL[1]),
            accuracy_m=8,
            time=ts(now + timedelta(seconds=30 * i)),
        )
        for i in range(2)
    ]
    md = bearer(p.tokens.service("mobile-gateway"))
    denied(
        lambda: att.IngestPings(apb.IngestPingsRequest(pings=pings), metadata=md),
        grpc.StatusCode.INVALID_ARGUMENT,
        "pings[1].org_unit",
    )
    pings[1].org_unit = ""
    assert att.IngestPings(apb.IngestPingsRequest(pings=pings), metadata=md).accepted == 2


def test_someone_identity_does_not_know_is_refused(p: RunningPlatform) -> None:
    md = bearer(p.tokens.service("mobile-gateway"))
    denied(lambda: check_in(p, "GHOST", md, org_unit=TEAM1), grpc.StatusCode.FAILED_PRECONDITION, "GHOST")


def test_a_lead_cannot_credit_a_rep_of_another_team_by_naming_their_own_team(p: RunningPlatform) -> None:
    pts = points_pb2_grpc.PointsServiceStub(p["points"].channel)
    lead = as_role(p, "L1", TEAM1, "team_lead")
    denied(
        lambda: pts.AdjustPoints(
            ppb.AdjustPointsRequest(employee_id="R2", org_unit=TEAM1, points=777, reason="bonus"),
            metadata=lead,
        ),
        grpc.StatusCode.INVALID_ARGUMENT,
        "org_unit",
        TEAM2,
    )
    denied(
        lambda: pts.AdjustPoints(
            ppb.AdjustPointsRequest(employee_id="R2", points=777, reason="bonus"), metadata=lead
        ),
        grpc.StatusCode.PERMISSION_DENIED,
        "points.ledger.adjust",
    )
    denied(
        lambda: pts.SetPersonalGoal(
            ppb.SetPersonalGoalRequest(employee_id="R2", org_unit=TEAM1, period=ppb.WEEK, target=10),
            metadata=lead,
        ),
        grpc.StatusCode.INVALID_ARGUMENT,
        "org_unit",
    )
    denied(
        lambda: pts.SetPersonalGoal(
            ppb.SetPersonalGoalRequest(employee_id="R2", period=ppb.WEEK, target=10), metadata=lead
        ),
        grpc.StatusCode.PERMISSION_DENIED,
        "points.goals.manage",
    )
    own = pts.AdjustPoints(
        ppb.AdjustPointsRequest(employee_id="R1", points=7, reason="good week"), metadata=lead
    )
    assert (own.employee_id, own.org_unit, own.points) == ("R1", TEAM1, 7)  # the unit is the directory's
    assert (
        pts.GetBalance(ppb.GetBalanceRequest(employee_id="R2"), metadata=bearer(p.tokens.admin())).balance
        == 0
    )


def test_a_lead_cannot_record_a_promise_for_a_rep_of_another_team(p: RunningPlatform) -> None:
    com = commitments_pb2_grpc.CommitmentsServiceStub(p["commitments"].channel)
    lead = as_role(p, "L1", TEAM1, "team_lead")

    def create(org_unit: str) -> cpb.Commitment:
        return com.CreateCommitment(
            cpb.CreateCommitmentRequest(
                template_id="loan_disbursal_3d",
                employee_id="R2",
                org_unit=org_unit,
                client_id="C-1",
                correlation_value="LOAN-X",
            ),
            metadata=lead,
        )

    denied(lambda: create(TEAM1), grpc.StatusCode.INVALID_ARGUMENT, "org_unit", TEAM2)
    denied(lambda: create(""), grpc.StatusCode.PERMISSION_DENIED, "commitments.commitments.create")


def test_a_move_in_identity_reaches_attendance_through_identitys_events(p: RunningPlatform) -> None:
    rep = as_role(p, "R4", TEAM1, "sales_rep")
    assert check_in(p, "R4", rep).radius_m == 150.0  # looked up and cached: the city unit
    ident = identity_service_pb2_grpc.IdentityServiceStub(p["identity"].channel)
    ident.UpdateEmployee(
        org_pb2.UpdateEmployeeRequest(
            employee=org_pb2.Employee(employee_id="R4", org_unit=RURAL),
            update_mask=FieldMask(paths=["org_unit"]),
        ),
        metadata=bearer(p.tokens.admin()),
    )
    deadline = time.monotonic() + 15
    moved = as_role(p, "R4", RURAL, "sales_rep")
    while time.monotonic() < deadline:
        try:
            if check_in(p, "R4", moved).radius_m == 300.0:
                break
        except grpc.RpcError as exc:  # the cached city unit still answers until the event arrives
            assert exc.code() == grpc.StatusCode.PERMISSION_DENIED, exc.details()
        time.sleep(0.2)
    assert check_in(p, "R4", moved).radius_m == 300.0
    denied(
        lambda: check_in(p, "R4", moved, org_unit=TEAM1), grpc.StatusCode.INVALID_ARGUMENT, "ping.org_unit"
    )


def test_only_identity_may_tell_a_service_who_someone_is(p: RunningPlatform) -> None:
    from covenant.events.v1 import event_pb2, event_pb2_grpc

    forged = event_pb2.DeliverEventsRequest()
    publish = employee("R1", RURAL, "credit_officer")
    sink = event_pb2_grpc.EventSinkServiceStub(p["attendance"].channel)
    from covenant.auth.directory import EMPLOYEE_CHANGED
    from covenant.db.outbox import new_event

    forged.events.append(new_event(EMPLOYEE_CHANGED, source="identity", data=publish.to_data()))
    denied(
        lambda: sink.DeliverEvents(forged, metadata=bearer(p.tokens.service("points"))),
        grpc.StatusCode.PERMISSION_DENIED,
        "serviceAccounts/identity",
    )
    assert check_in(p, "R1", as_role(p, "R1", TEAM1, "sales_rep")).radius_m == 150.0  # still the city unit


# -- no self-service of one's own outcomes -----------------------------------------------------------------
def test_a_lead_cannot_adjust_their_own_points(p: RunningPlatform) -> None:
    pts = points_pb2_grpc.PointsServiceStub(p["points"].channel)
    lead = as_role(p, "L1", TEAM1, "team_lead")
    denied(
        lambda: pts.AdjustPoints(
            ppb.AdjustPointsRequest(employee_id="L1", points=500, reason="me"), metadata=lead
        ),
        grpc.StatusCode.PERMISSION_DENIED,
        "points.ledger.adjust",
        "their own",
    )


def test_a_lead_cannot_approve_nor_fulfil_their_own_redemption(p: RunningPlatform) -> None:
    pts = points_pb2_grpc.PointsServiceStub(p["points"].channel)
    admin = bearer(p.tokens.admin())
    pts.CreateRewardItem(
        ppb.CreateRewardItemRequest(item=ppb.RewardItem(id="day-off", name="day off", cost=100, stock=5)),
        metadata=admin,
    )
    pts.AdjustPoints(
        ppb.AdjustPointsRequest(employee_id="L1", points=300, reason="seed", request_id="seed-L1"),
        metadata=bearer(p.tokens.service("payroll")),
    )
    lead = as_role(p, "L1", TEAM1, "team_lead")
    r = pts.RedeemReward(ppb.RedeemRewardRequest(item_id="day-off"), metadata=lead)
    for rpc in (pts.ApproveRedemption, pts.FulfilRedemption, pts.RejectRedemption):
        denied(
            lambda rpc=rpc: rpc(ppb.RedemptionActionRequest(redemption_id=r.id, reason="x"), metadata=lead),
            grpc.StatusCode.PERMISSION_DENIED,
            "points.rewards.approve",
            "own redemption",
        )
    peer = as_role(p, "L3", TEAM1, "team_lead")  # a peer lead of the same unit is not in L1's line
    denied(
        lambda: pts.ApproveRedemption(ppb.RedemptionActionRequest(redemption_id=r.id), metadata=peer),
        grpc.StatusCode.PERMISSION_DENIED,
        "points.rewards.approve",
        "chain of command",
    )
    boss = as_role(p, "M1", "/hq/city", "branch_manager")  # L1's own manager may
    assert (
        pts.ApproveRedemption(ppb.RedemptionActionRequest(redemption_id=r.id), metadata=boss).state
        == "APPROVED"
    )


def test_a_compliance_officer_cannot_close_their_own_case(p: RunningPlatform) -> None:
    comp = compliance_pb2_grpc.ComplianceServiceStub(p["compliance"].channel)
    scan = comp.ScanText(
        kpb.ScanTextRequest(
            text_id="chat-co1",
            employee_id="CO1",
            org_unit="/hq",
            channel="chat",
            text="这个产品保本保息，放心买",
        ),
        metadata=bearer(p.tokens.service("chat-archive")),
    )
    assert scan.cases
    officer = as_role(p, "CO1", "/hq", "compliance_officer")
    for state in ("ACKNOWLEDGED", "FALSE_POSITIVE"):
        denied(
            lambda state=state: comp.TransitionCase(
                kpb.TransitionCaseRequest(name=scan.cases[0], state=state, owner="CO1", comment="not me"),
                metadata=officer,
            ),
            grpc.StatusCode.PERMISSION_DENIED,
            "compliance.cases.manage",
        )
    denied(  # nor argue it in a comment (comments feed the pack owner's false-positive reasons)
        lambda: comp.AddCaseComment(
            kpb.AddCaseCommentRequest(name=scan.cases[0], comment="a false positive"), metadata=officer
        ),
        grpc.StatusCode.PERMISSION_DENIED,
        "compliance.cases.manage",
    )
    other = as_role(p, "CO2", "/hq", "compliance_officer")
    done = comp.TransitionCase(
        kpb.TransitionCaseRequest(name=scan.cases[0], state="ACKNOWLEDGED", owner="CO2"), metadata=other
    )
    assert done.state == "ACKNOWLEDGED"


def test_a_lead_cannot_extend_nor_cancel_their_own_commitment(p: RunningPlatform) -> None:
    com = commitments_pb2_grpc.CommitmentsServiceStub(p["commitments"].channel)
    lead = as_role(p, "L1", TEAM1, "team_lead")
    c = com.CreateCommitment(
        cpb.CreateCommitmentRequest(
            template_id="loan_disbursal_3d", employee_id="L1", client_id="C-2", correlation_value="LOAN-L1"
        ),
        metadata=lead,
    )
    later = ts(datetime.now(UTC) + timedelta(days=60))
    denied(
        lambda: com.ExtendCommitment(
            cpb.ExtendCommitmentRequest(name=c.name, new_deadline=later, reason="busy"), metadata=lead
        ),
        grpc.StatusCode.PERMISSION_DENIED,
        "commitments.commitments.extend",
    )
    denied(
        lambda: com.CancelCommitment(cpb.CancelCommitmentRequest(name=c.name, reason="busy"), metadata=lead),
        grpc.StatusCode.PERMISSION_DENIED,
        "commitments.commitments.cancel",
    )


# -- account admins cannot take over rights they do not hold ------------------------------------------------
def test_hr_cannot_reset_an_account_with_rights_hr_does_not_hold(p: RunningPlatform) -> None:
    ident = identity_service_pb2_grpc.IdentityServiceStub(p["identity"].channel)
    admin = bearer(p.tokens.admin())
    for username, role in (("boss", "platform_admin"), ("rep1", "sales_rep"), ("hr2", "hr")):
        ident.CreateAccount(
            accounts_pb2.CreateAccountRequest(
                account=accounts_pb2.Account(
                    username=username, role_assignments=[accounts_pb2.RoleAssignment(role=role)]
                ),
                password="correct horse battery staple",
            ),
            metadata=admin,
        )
    hr = as_role(p, "HR1", "/hq", "hr")
    denied(
        lambda: ident.SetPassword(
            accounts_pb2.SetPasswordRequest(name="accounts/boss", new_password="taken over 123456"),
            metadata=hr,
        ),
        grpc.StatusCode.PERMISSION_DENIED,
        "identity.accounts.write",
    )
    with pytest.raises(grpc.RpcError) as err:  # the old password still works, the new one does not
        ident.Login(accounts_pb2.LoginRequest(username="boss", password="taken over 123456"))
    assert err.value.code() in (grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.PERMISSION_DENIED)
    # Nor a rep's: that would let HR send pings and check-ins as the rep. Another HR account's, yes.
    denied(
        lambda: ident.SetPassword(
            accounts_pb2.SetPasswordRequest(name="accounts/rep1", new_password="taken over 123456"),
            metadata=hr,
        ),
        grpc.StatusCode.PERMISSION_DENIED,
        "attendance.pings.write",
    )
    ident.SetPassword(
        accounts_pb2.SetPasswordRequest(name="accounts/hr2", new_password="a brand new passphrase"),
        metadata=hr,
    )
    # Nobody changes their own roles, and nobody gives roles they do not hold.
    boss = bearer(
        ident.Login(
            accounts_pb2.LoginRequest(username="boss", password="correct horse battery staple")
        ).access_token
    )
    denied(
        lambda: ident.SetRoleAssignments(
            accounts_pb2.SetRoleAssignmentsRequest(
                name="accounts/boss", role_assignments=[accounts_pb2.RoleAssignment(role="sales_rep")]
            ),
            metadata=boss,
        ),
        grpc.StatusCode.PERMISSION_DENIED,
        "identity.roles.assign",
        "own roles",
    )
    assigner = bearer(
        p.tokens.user("HR2", "/hq", {**grants("hr"), "identity.roles.assign": "all"}, roles=("hr",))
    )
    denied(
        lambda: ident.SetRoleAssignments(
            accounts_pb2.SetRoleAssignmentsRequest(
                name="accounts/rep1", role_assignments=[accounts_pb2.RoleAssignment(role="platform_admin")]
            ),
            metadata=assigner,
        ),
        grpc.StatusCode.PERMISSION_DENIED,
        "identity.roles.assign",
    )


# -- chain of command: actor x subject relation x action --------------------------------------------------
PERIOD = "2026-11"
BANNED = "这个产品保本保息，放心买"
# (actor, the actor's unit, role, subject, relation, what the call must end in: "ok", or the words a
# PERMISSION_DENIED must carry). L1 leads R1; R5 is L3's report in the same unit; M1 is L1's and L3's manager.
CHAIN = [
    ("L1", TEAM1, "team_lead", "L1", "self", "their own"),
    ("L1", TEAM1, "team_lead", "R1", "own report", "ok"),
    ("L1", TEAM1, "team_lead", "R5", "same unit, another lead's report", "chain of command"),
    ("L1", TEAM1, "team_lead", "R2", "other team", "scope"),
    ("L1", TEAM1, "team_lead", "R3", "other unit", "scope"),
    ("M1", "/hq/city", "branch_manager", "M1", "self", "their own"),
    ("M1", "/hq/city", "branch_manager", "R1", "report's report", "ok"),
    ("M1", "/hq/city", "branch_manager", "R5", "report's report", "ok"),
    ("M1", "/hq/city", "branch_manager", "R2", "in the subtree, not in the line", "chain of command"),
    ("M1", "/hq/city", "branch_manager", "R3", "other unit", "scope"),
]
ACTIONS = ("adjust points", "approve redemption", "extend commitment", "calibrate score")


@pytest.fixture(scope="module")
def chain_world(p: RunningPlatform) -> dict[tuple[str, str], str]:
    """One redemption, commitment and score per subject, created by source systems and admins."""
    from covenant.scoring.v1 import scoring_pb2 as spb
    from covenant.scoring.v1 import scoring_pb2_grpc

    admin, system = bearer(p.tokens.admin()), bearer(p.tokens.service("crm"))
    pts = points_pb2_grpc.PointsServiceStub(p["points"].channel)
    com = commitments_pb2_grpc.CommitmentsServiceStub(p["commitments"].channel)
    sc = scoring_pb2_grpc.ScoringServiceStub(p["scoring"].channel)
    pts.CreateRewardItem(
        ppb.CreateRewardItemRequest(item=ppb.RewardItem(id="mug", name="mug", cost=1, stock=1000)),
        metadata=admin,
    )
    made: dict[tuple[str, str], str] = {}
    for e in sorted({row[3] for row in CHAIN}):
        pts.AdjustPoints(
            ppb.AdjustPointsRequest(employee_id=e, points=50, reason="seed", request_id=f"chain-{e}"),
            metadata=system,
        )
    for actor, _, _, e, _, _ in CHAIN:  # one of each per actor and subject: each cell starts fresh
        made[f"{actor}-{e}", "redemption"] = pts.RedeemReward(
            ppb.RedeemRewardRequest(item_id="mug", employee_id=e), metadata=admin
        ).id
        made[f"{actor}-{e}", "commitment"] = com.CreateCommitment(
            cpb.CreateCommitmentRequest(
                template_id="loan_disbursal_3d",
                employee_id=e,
                client_id="C9",
                correlation_value=f"CH-{actor}-{e}",
            ),
            metadata=system,
        ).name
    for e in sorted({row[3] for row in CHAIN}):
        value = spb.MetricValue(
            employee_id=e,
            role="credit_officer",
            period=PERIOD,
            metric="verified_visits",
            value="9",
            source="crm",
        )
        sc.RecordMetrics(spb.RecordMetricsRequest(values=[value]), metadata=system)
    sc.ComputeScores(spb.ComputeScoresRequest(period=PERIOD, org_unit="/hq"), metadata=system)
    return made


@pytest.mark.parametrize("action", ACTIONS)
@pytest.mark.parametrize(
    ("actor", "unit", "role", "subject", "relation", "outcome"), CHAIN, ids=[f"{r[0]}-{r[4]}" for r in CHAIN]
)
def test_a_lead_acts_only_on_people_in_their_own_line(
    p: RunningPlatform,
    chain_world: dict[tuple[str, str], str],
    action: str,
    actor: str,
    unit: str,
    role: str,
    subject: str,
    relation: str,
    outcome: str,
) -> None:
    from covenant.scoring.v1 import scoring_pb2 as spb
    from covenant.scoring.v1 import scoring_pb2_grpc

    md = as_role(p, actor, unit, role)
    later = ts(datetime.now(UTC) + timedelta(days=10))
    calls: dict[str, tuple[str, Callable[[], object]]] = {
        "adjust points": (
            "points.ledger.adjust",
            lambda: points_pb2_grpc.PointsServiceStub(p["points"].channel).AdjustPoints(
                ppb.AdjustPointsRequest(employee_id=subject, points=1, reason="chain"), metadata=md
            ),
        ),
        "approve redemption": (
            "points.rewards.approve",
            lambda: points_pb2_grpc.PointsServiceStub(p["points"].channel).ApproveRedemption(
                ppb.RedemptionActionRequest(redemption_id=chain_world[f"{actor}-{subject}", "redemption"]),
                metadata=md,
            ),
        ),
        "extend commitment": (
            "commitments.commitments.extend",
            lambda: commitments_pb2_grpc.CommitmentsServiceStub(p["commitments"].channel).ExtendCommitment(
                cpb.ExtendCommitmentRequest(
                    name=chain_world[f"{actor}-{subject}", "commitment"], new_deadline=later, reason="chain"
                ),
                metadata=md,
            ),
        ),
        "calibrate score": (
            "scoring.scores.calibrate",
            lambda: scoring_pb2_grpc.ScoringServiceStub(p["scoring"].channel).CalibrateScore(
                spb.CalibrateScoreRequest(employee_id=subject, period=PERIOD, adjustment="1", reason="chain"),
                metadata=md,
            ),
        ),
    }
    permission, call = calls[action]
    if outcome == "ok":
        call()
    else:
        denied(call, grpc.StatusCode.PERMISSION_DENIED, permission, outcome)


@pytest.mark.parametrize(
    ("subject", "outcome"),
    [("CO1", "themselves"), ("CA1", "independence"), ("R2", "ok")],
    ids=["self", "own report", "someone else"],
)
def test_nobody_handles_a_compliance_case_about_someone_who_reports_to_them(
    p: RunningPlatform, subject: str, outcome: str
) -> None:
    comp = compliance_pb2_grpc.ComplianceServiceStub(p["compliance"].channel)
    scan = comp.ScanText(
        kpb.ScanTextRequest(text_id=f"chain-{subject}", employee_id=subject, channel="chat", text=BANNED),
        metadata=bearer(p.tokens.service("chat-archive")),
    )
    officer = as_role(p, "CO1", "/hq", "compliance_officer")

    def call() -> kpb.Case:
        return comp.TransitionCase(
            kpb.TransitionCaseRequest(name=scan.cases[0], state="ACKNOWLEDGED", owner="CO1"), metadata=officer
        )

    if outcome == "ok":
        assert call().state == "ACKNOWLEDGED"
    else:
        denied(call, grpc.StatusCode.PERMISSION_DENIED, "compliance.cases.manage", outcome)
