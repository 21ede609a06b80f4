"""Event provenance through the real points service (real gRPC, ``jwt`` mode, SQLite and PostgreSQL).

Observed on main: the attendance service's token delivered a forged ``commitments.fulfilled`` to points and
minted 100,000 points. A consumer now accepts an event only from the service account of its declared source
and only a type that source declares (``covenant.services.EMITS``); anything else is PERMISSION_DENIED and
changes nothing: no ledger entry, no inbox row.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from sqlalchemy import func, select

from covenant.db.outbox import Outbox, new_event
from covenant.db.tables import inbox
from covenant.events.v1 import event_pb2, event_pb2_grpc
from covenant.grpc.testing import RunningService, bearer, running_service
from covenant.points.v1 import points_pb2 as pb
from covenant.points.v1 import points_pb2_grpc
from covenant.services import EMITS, SUBSCRIBERS, emits, sources_of
from tests.support.directory import employee, publish_employees

TEAM = "/hq/futian/team-01"
# What the shipped role pack gives every service account: delivery rights on every consumer.
SERVICE_GRANTS = {"events.deliveries.write": "all", "points.events.write": "all"}


@pytest.fixture
def svc(db_url: str, tmp_path: Path) -> Iterator[RunningService]:
    with running_service("points", db_url=db_url, data_dir=tmp_path) as s:
        yield s


def fulfilled(source: str = "commitments", points: int = 100_000, employee: str = "E1") -> event_pb2.Event:
    return new_event(
        "commitments.fulfilled",
        source=source,
        subject=f"employees/{employee}",
        org_unit=TEAM,
        data={"employee_id": employee, "reward_points": points, "outcome": "fulfilled"},
    )


def deliver(svc: RunningService, token: str, *events: event_pb2.Event) -> event_pb2.DeliverEventsResponse:
    stub = event_pb2_grpc.EventSinkServiceStub(svc.channel)
    request = event_pb2.DeliverEventsRequest(events=events)
    return stub.DeliverEvents(request, metadata=bearer(token), timeout=10)


def balance(svc: RunningService, employee: str = "E1") -> int:
    md = bearer(svc.tokens.user(employee, TEAM, {"points.ledger.read": "self"}))
    stub = points_pb2_grpc.PointsServiceStub(svc.channel)
    return stub.GetBalance(pb.GetBalanceRequest(employee_id=employee), metadata=md).balance


def inbox_rows(svc: RunningService) -> int:
    with svc.host.ctx.db.session() as s:  # type: ignore[union-attr]
        return int(s.execute(select(func.count()).select_from(inbox)).scalar_one())


def refused(svc: RunningService, token: str, *events: event_pb2.Event) -> str:
    with pytest.raises(grpc.RpcError) as err:
        deliver(svc, token, *events)
    assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED, err.value.details()
    details = err.value.details() or ""
    assert "events.deliveries.write" in details
    return details


def test_forged_fulfilment_with_the_attendance_token_is_refused_and_changes_nothing(
    svc: RunningService,
) -> None:
    attendance = svc.tokens.service("attendance", SERVICE_GRANTS)
    # The observed attack: the envelope claims commitments as its source.
    assert "serviceAccounts/commitments" in refused(svc, attendance, fulfilled("commitments"))
    # The same type claimed as attendance's own: attendance does not emit it.
    assert "does not emit" in refused(svc, attendance, fulfilled("attendance"))
    assert balance(svc) == 0 and inbox_rows(svc) == 0
    # The genuine source pays the frozen reward once (so the refusals above were provenance, not breakage).
    genuine = fulfilled("commitments", points=20)
    deliver(svc, svc.tokens.service("commitments", SERVICE_GRANTS), genuine)
    assert balance(svc) == 20 and inbox_rows(svc) == 1


def test_one_forged_event_refuses_the_whole_batch(svc: RunningService) -> None:
    attendance = svc.tokens.service("attendance", SERVICE_GRANTS)
    visit = new_event(
        "attendance.visit_verified",
        source="attendance",
        subject="employees/E1",
        org_unit=TEAM,
        data={"employee_id": "E1"},
    )
    details = refused(svc, attendance, visit, fulfilled("commitments"))
    assert "events[1]" in details
    assert balance(svc) == 0 and inbox_rows(svc) == 0
    deliver(svc, attendance, visit)  # alone, attendance's own event is accepted
    assert inbox_rows(svc) == 1


def test_users_admins_and_unsubscribed_sources_cannot_deliver(svc: RunningService) -> None:
    admin = svc.tokens.admin()  # '*': all, but not a service account
    assert "not users/admin" in refused(svc, admin, fulfilled("commitments"))
    # points does not subscribe to its own events: even points' own account cannot loop one back in.
    award = new_event("points.awarded", source="points", subject="employees/E1", data={"points": 5})
    assert "does not accept events from 'points'" in refused(
        svc, svc.tokens.service("points", SERVICE_GRANTS), award
    )
    # A source left empty or made up is refused the same way.
    assert "does not accept" in refused(svc, svc.tokens.service("crm", SERVICE_GRANTS), fulfilled(""))
    assert balance(svc) == 0 and inbox_rows(svc) == 0


def test_a_source_system_cannot_post_covenant_event_types_as_business_events(svc: RunningService) -> None:
    crm = bearer(svc.tokens.service("crm", SERVICE_GRANTS))
    stub = points_pb2_grpc.PointsServiceStub(svc.channel)
    forged = pb.BusinessEvent(id="crm-1", type="commitments.fulfilled", employee_id="E1", org_unit=TEAM)
    forged.occurred_at.GetCurrentTime()
    forged.data.update({"reward_points": 100_000})
    with pytest.raises(grpc.RpcError) as err:
        stub.RecordEvent(pb.RecordEventRequest(event=forged), metadata=crm)
    assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert "points.events.write" in (err.value.details() or "")
    assert "commitments" in (err.value.details() or "")
    assert balance(svc) == 0


def test_a_covenant_service_cannot_pose_as_a_source_system(svc: RunningService) -> None:
    publish_employees(svc, [employee("E1", TEAM, "credit_officer")])  # as identity does
    attendance = bearer(svc.tokens.service("attendance", SERVICE_GRANTS))  # the shipped service role
    stub = points_pb2_grpc.PointsServiceStub(svc.channel)
    sale = pb.BusinessEvent(id="x-1", type="loan_completed", employee_id="E1", org_unit=TEAM)
    sale.occurred_at.GetCurrentTime()
    sale.data.update({"amount": 800_000})
    with pytest.raises(grpc.RpcError) as err:
        stub.RecordEvent(pb.RecordEventRequest(event=sale), metadata=attendance)
    assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert "serviceAccounts/attendance" in (err.value.details() or "")
    assert balance(svc) == 0
    crm = bearer(svc.tokens.service("crm", SERVICE_GRANTS))  # a source system's own account may
    stub.RecordEvent(pb.RecordEventRequest(event=sale), metadata=crm)
    assert balance(svc) > 0


def test_the_declarations_are_consistent_and_the_outbox_refuses_undeclared_types() -> None:
    for source, types in EMITS.items():
        assert all(t.startswith(f"{source}.") for t in types), source  # each source owns its namespace
        assert source in SUBSCRIBERS
    assert sources_of("points") == ("identity", "attendance", "scoring", "compliance", "commitments")
    assert emits("commitments", "commitments.fulfilled") and not emits("attendance", "commitments.fulfilled")
    with pytest.raises(ValueError, match="EMITS"):
        Outbox("attendance").add(None, fulfilled("attendance"))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="EMITS"):
        Outbox("attendance").add(None, fulfilled("commitments"))  # type: ignore[arg-type]
