"""Wires the points service into the chassis."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC

from sqlalchemy.orm import Session

from covenant.auth.directory import directory_for, with_directory, with_directory_batch
from covenant.events.v1.event_pb2 import Event
from covenant.grpc.app import ServiceApp, ServiceContext
from covenant.points.v1 import points_pb2_grpc
from covenant.structs import struct_dict
from services.points.domain import EventIn
from services.points.service import PointsService
from services.points.servicer import PointsServicer


def create_app(ctx: ServiceContext) -> ServiceApp:
    directory = directory_for(ctx)
    service = PointsService(ctx.db, ctx.rules, timezone=ctx.settings.timezone, directory=directory)

    def event_in(event: Event) -> EventIn | None:
        data = struct_dict(event.data)
        employee = str(data.get("employee_id") or event.subject.removeprefix("employees/"))
        if not employee:
            return None
        at = event.occurred_at.ToDatetime(tzinfo=UTC)
        return EventIn(event.id, event.type, employee, event.org_unit, at, data)

    def handle(session: Session, event: Event) -> None:
        """Other services' events (visit verified, commitment fulfilled, ...) through the points pack;
        types the pack does not name pay nothing (the event is still marked applied)."""
        if (e := event_in(event)) is not None:
            service.events.apply(session, e)

    def handle_batch(session: Session, events: Sequence[Event]) -> None:
        """A delivered batch as one unit: one pack snapshot, one claim, one cap lock, one insert."""
        found = [e for e in map(event_in, events) if e is not None]
        if directory is not None:
            directory.prefetch(e.employee_id for e in found)
        if found:
            service.events.apply_many(session, found)

    return ServiceApp(
        servicers=[(points_pb2_grpc.add_PointsServiceServicer_to_server, PointsServicer(service))],
        grpc_service_names=["covenant.points.v1.PointsService"],
        event_handler=with_directory(directory, handle),  # identity's employee events feed the directory
        event_batch_handler=with_directory_batch(directory, handle_batch),
    )
