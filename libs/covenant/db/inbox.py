"""The consumer side: ``EventSinkService`` with an inbox that applies each event once.

For every delivered event, one transaction inserts ``(consumer, event id)`` into the inbox and runs the
service's handler; both commit together. A redelivered event hits the primary key and is accepted without
running the handler again; concurrent duplicates on PostgreSQL wait on the key and then skip. A handler
error fails the call and the producer's relay retries (events applied before it stay applied).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from covenant.auth import authorize
from covenant.db.engine import Database
from covenant.db.tables import inbox
from covenant.errors import InvalidArgument
from covenant.events.v1 import event_pb2, event_pb2_grpc
from covenant.grpc.context import current_principal
from covenant.telemetry import context_from_event, tracer


def record_once(session: Session, consumer: str, event: event_pb2.Event) -> bool:
    """Insert the inbox row; False when this consumer has already applied the event."""
    dialect = session.get_bind().dialect.name
    values = {
        "consumer": consumer,
        "event_id": event.id,
        "event_type": event.type,
        "received_at": datetime.now(UTC),
    }
    stmt = (pg_insert if dialect == "postgresql" else sqlite_insert)(inbox).values(**values)
    # RETURNING (not rowcount, which the ORM session reports as -1 for this statement on PostgreSQL).
    return session.execute(stmt.on_conflict_do_nothing().returning(inbox.c.event_id)).first() is not None


class EventSinkServicer(event_pb2_grpc.EventSinkServiceServicer):
    """Applies delivered events through ``handler(session, event)``, exactly once in effect."""

    def __init__(
        self, db: Database, consumer: str, handler: Callable[[Session, event_pb2.Event], None]
    ) -> None:
        self.db = db
        self.consumer = consumer
        self.handler = handler

    def DeliverEvents(
        self, request: event_pb2.DeliverEventsRequest, context: Any
    ) -> event_pb2.DeliverEventsResponse:
        authorize(current_principal(), "events.deliveries.write")
        for i, event in enumerate(request.events):
            if not event.id:
                raise InvalidArgument("is required", field=f"events[{i}].id")
            if not event.type:
                raise InvalidArgument("is required", field=f"events[{i}].type")
        accepted = []
        for event in request.events:
            span = tracer.start_as_current_span(f"consume {event.type}", context=context_from_event(event))
            with span, self.db.session() as session:
                if record_once(session, self.consumer, event):
                    self.handler(session, event)
            accepted.append(event.id)
        return event_pb2.DeliverEventsResponse(accepted_event_ids=accepted)
