"""Wires the points service into the chassis."""

from __future__ import annotations

from datetime import UTC

from google.protobuf.json_format import MessageToDict
from sqlalchemy.orm import Session

from covenant.auth.directory import directory_for, with_directory
from covenant.events.v1.event_pb2 import Event
from covenant.grpc.app import ServiceApp, ServiceContext
from covenant.points.v1 import points_pb2_grpc
from services.points.domain import EventIn
from services.points.service import PointsService
from services.points.servicer import PointsServicer


def create_app(ctx: ServiceContext) -> ServiceApp:
    directory = directory_for(ctx)
    service = PointsService(ctx.db, ctx.rules, timezone=ctx.settings.timezone, directory=directory)

    def handle(session: Session, event: Event) -> None:
        """Other services' events (visit verified, commitment fulfilled, ...) through the points pack;
        types the pack does not name pay nothing (the event is still marked applied)."""
        data = MessageToDict(event.data)
        employee = str(data.get("employee_id") or event.subject.removeprefix("employees/"))
        if employee:
            service.apply(
                session,
                EventIn(
                    event.id,
                    event.type,
                    employee,
                    event.org_unit,
                    event.occurred_at.ToDatetime(tzinfo=UTC),
                    data,
                ),
            )

    return ServiceApp(
        servicers=[(points_pb2_grpc.add_PointsServiceServicer_to_server, PointsServicer(service))],
        grpc_service_names=["covenant.points.v1.PointsService"],
        event_handler=with_directory(directory, handle),  # identity's employee events feed the directory
    )
