"""Feed a running service's directory cache the way identity does: ``identity.employee.changed`` events
delivered over real gRPC to its ``EventSinkService`` with identity's service token (no test double)."""

from __future__ import annotations

from collections.abc import Iterable

from covenant.auth.directory import EMPLOYEE_CHANGED, DirectoryEntry
from covenant.db.outbox import new_event
from covenant.events.v1 import event_pb2, event_pb2_grpc
from covenant.grpc.testing import RunningService, bearer


def employee(
    employee_id: str, org_unit: str, *roles: str, manager_id: str = "", status: str = "ACTIVE"
) -> DirectoryEntry:
    return DirectoryEntry(employee_id, org_unit.rstrip("/"), tuple(roles), manager_id, status)


def publish_employees(svc: RunningService, entries: Iterable[DirectoryEntry]) -> None:
    """Deliver one identity event per entry to ``svc`` (what identity's outbox relay sends)."""
    events = [
        new_event(
            EMPLOYEE_CHANGED,
            source="identity",
            subject=f"employees/{e.employee_id}",
            org_unit=e.org_unit,
            data=e.to_data(),
        )
        for e in entries
    ]
    stub = event_pb2_grpc.EventSinkServiceStub(svc.channel)
    stub.DeliverEvents(
        event_pb2.DeliverEventsRequest(events=events), metadata=bearer(svc.tokens.service("identity"))
    )
