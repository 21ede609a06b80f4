"""Wires the commitments service into the chassis."""

from __future__ import annotations

import logging
from datetime import UTC

from sqlalchemy.orm import Session

from covenant.auth.directory import directory_for, with_directory
from covenant.commitments.v1 import commitments_pb2_grpc
from covenant.events.v1.event_pb2 import Event
from covenant.grpc.app import ServiceApp, ServiceContext
from services.commitments import storage
from services.commitments.scheduler import DeadlineScheduler
from services.commitments.service import CommitmentsService
from services.commitments.servicer import CommitmentsServicer

log = logging.getLogger(__name__)


def make_event_handler(service: CommitmentsService):  # type: ignore[no-untyped-def]
    """Events from other services fulfil commitments waiting on their type and correlation value."""

    def handle(session: Session, event: Event) -> None:
        keys = storage.waiting_correlation_keys(session, event.type)
        data = dict(event.data)
        for key in keys:
            if key in data and data[key] not in ("", None):
                service.record_fulfilment(
                    session,
                    event_type=event.type,
                    key=key,
                    value=str(data[key]),
                    at=event.occurred_at.ToDatetime(tzinfo=UTC),
                    event_id=event.id,
                )

    return handle


def warn_about_the_calendar(service: CommitmentsService) -> None:
    """At start-up: a year the official holiday source does not cover yet is a loud warning."""
    for warning in service.calendar_warnings():
        log.warning("CALENDAR NOT COVERED: %s", warning)


def create_app(ctx: ServiceContext) -> ServiceApp:
    directory = directory_for(ctx)
    service = CommitmentsService(ctx.db, ctx.rules, directory=directory)
    interval = ctx.settings.scheduler_interval_seconds
    return ServiceApp(
        servicers=[
            (commitments_pb2_grpc.add_CommitmentsServiceServicer_to_server, CommitmentsServicer(service))
        ],
        grpc_service_names=["covenant.commitments.v1.CommitmentsService"],
        event_handler=with_directory(directory, make_event_handler(service)),
        workers=[DeadlineScheduler(service, interval=interval)],
        on_start=lambda: warn_about_the_calendar(service),
    )
