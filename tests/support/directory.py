"""Feed a running service's directory cache the way identity does: ``identity.employee.changed`` events
delivered over real gRPC to its ``EventSinkService`` with identity's service token (no test double)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from covenant.auth.directory import EMPLOYEE_CHANGED, DirectoryEntry
from covenant.db.outbox import new_event
from covenant.events.v1 import event_pb2, event_pb2_grpc
from covenant.grpc.testing import RunningService, bearer


def employee(
    employee_id: str, org_unit: str, *roles: str, manager_id: str = "", status: str = "ACTIVE"
) -> DirectoryEntry:
    return DirectoryEntry(employee_id, org_unit.rstrip("/"), tuple(roles), manager_id, status)


def publish_employees(
    svc: RunningService, entries: Iterable[DirectoryEntry], at: datetime | None = None
) -> None:
    """Deliver one identity event per entry to ``svc`` (what identity's outbox relay sends), made at ``at``
    (now by default)."""
    events = [
        new_event(
            EMPLOYEE_CHANGED,
            source="identity",
            subject=f"employees/{e.employee_id}",
            org_unit=e.org_unit,
            data=e.to_data(),
            occurred_at=at,
        )
        for e in entries
    ]
    stub = event_pb2_grpc.EventSinkServiceStub(svc.channel)
    stub.DeliverEvents(
        event_pb2.DeliverEventsRequest(events=events), metadata=bearer(svc.tokens.service("identity"))
    )


def create_in_identity(
    channel: object, metadata: list[tuple[str, str]], entries: Iterable[DirectoryEntry]
) -> None:
    """Create the entries' org units (every level of each path) and the employees in a running identity
    service through its public API, the way HR would; existing ones are left alone."""
    import grpc

    from covenant.identity.v1 import identity_service_pb2_grpc, org_pb2

    stub = identity_service_pb2_grpc.IdentityServiceStub(channel)
    entries = list(entries)
    units = sorted(
        {
            "/".join(e.org_unit.split("/")[: i + 1])
            for e in entries
            for i in range(1, 1 + e.org_unit.count("/"))
        }
    )
    for unit in units:
        parent = unit.rsplit("/", 1)[0]
        try:
            stub.CreateOrgUnit(
                org_pb2.CreateOrgUnitRequest(
                    org_unit=org_pb2.OrgUnit(path=unit, display_name=unit, parent_path=parent)
                ),
                metadata=metadata,
                timeout=10,
            )
        except grpc.RpcError as exc:
            if exc.code() != grpc.StatusCode.ALREADY_EXISTS:
                raise
    for e in entries:
        try:
            stub.CreateEmployee(
                org_pb2.CreateEmployeeRequest(
                    employee=org_pb2.Employee(
                        employee_id=e.employee_id,
                        display_name=e.employee_id,
                        org_unit=e.org_unit,
                        role_titles=list(e.role_titles),
                        manager_id=e.manager_id,
                        status=org_pb2.EMPLOYEE_STATUS_ACTIVE,
                    )
                ),
                metadata=metadata,
                timeout=10,
            )
        except grpc.RpcError as exc:
            if exc.code() != grpc.StatusCode.ALREADY_EXISTS:
                raise
