"""The consumer side: ``EventSinkService`` with an inbox that applies each event once.

A delivered batch is applied in one transaction: one INSERT records ``(consumer, event id)`` for every event
(``ON CONFLICT DO NOTHING RETURNING`` tells which are new), then the service's handler runs for the new ones
and everything commits together. A redelivered event hits the primary key and is accepted without running
the handler again; concurrent duplicates on PostgreSQL wait on the key and then skip (keys are inserted in
sorted order, so two overlapping batches cannot deadlock).

When the batch transaction fails (one bad event, a serialisation conflict), it is rolled back and the events
are applied one transaction each, in order: those before the failing event commit, the failing one fails the
call and the producer's relay retries from there. So a poison event never holds back the events before it,
and no event is applied twice.

Provenance (``check_provenance``): before anything is applied, every event in the batch must name a source
this consumer subscribes to, carry a type that source declares in ``covenant.services.EMITS``, and arrive
with that source's service-account token. One forged event refuses the whole batch with PERMISSION_DENIED.

Each delivery runs in an ``inbox apply`` span and records ``covenant.inbox.apply.duration`` (by outcome),
``covenant.inbox.applied`` and ``covenant.inbox.duplicates`` (docs/operations.md).

The record of an applied event is kept for ``INBOX_RETENTION`` (``inbox_purger`` deletes older ones every
ten minutes), not for ever: only a redelivery needs it, and redeliveries come from the producer's outbox
within minutes (a lease that ran out after the consumer applied the batch), or from a producer database
restored from a backup, which a month covers.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import and_, delete, select
from sqlalchemy.orm import Session

from covenant.auth import Principal, authorize
from covenant.db.bulk import insert_rows
from covenant.db.engine import Database
from covenant.db.tables import inbox
from covenant.db.transient import retry_transient
from covenant.errors import InvalidArgument, PermissionDenied
from covenant.events.v1 import event_pb2, event_pb2_grpc
from covenant.grpc.context import current_principal
from covenant.periodic import PeriodicWorker
from covenant.services import emits, service_account, sources_of
from covenant.telemetry import consuming, context_from_event, tracer
from covenant.telemetry import metrics as m

log = logging.getLogger(__name__)

EventHandler = Callable[[Session, event_pb2.Event], None]
BatchEventHandler = Callable[[Session, Sequence[event_pb2.Event]], None]

DELIVERY_PERMISSION = "events.deliveries.write"
#: How long a consumer keeps the record of an event it applied (see the module doc).
INBOX_RETENTION = timedelta(days=30)
_PURGE_BATCH = 5000  # rows a statement: a first purge after an upgrade takes many short transactions


def check_provenance(principal: Principal, consumer: str, event: event_pb2.Event, field: str) -> None:
    """Raise PermissionDenied unless ``event`` may reach ``consumer`` from ``principal`` (see module doc)."""
    source = event.source
    if source not in sources_of(consumer):
        raise PermissionDenied(
            DELIVERY_PERMISSION, f"{field}.source: {consumer} does not accept events from {source!r}"
        )
    if not emits(source, event.type):
        raise PermissionDenied(
            DELIVERY_PERMISSION, f"{field}.type: {source} does not emit {event.type!r} events"
        )
    expected = service_account(source)
    if principal.kind != "service" or principal.subject != expected:
        raise PermissionDenied(
            DELIVERY_PERMISSION,
            f"{field}: {source} events are accepted only from {expected}, not {principal.subject}",
        )


def record_new(session: Session, consumer: str, events: Sequence[event_pb2.Event]) -> set[str]:
    """Insert inbox rows for ``events``; returns the ids this consumer had not applied before."""
    if not events:
        return set()
    now = datetime.now(UTC)
    rows = [
        {"consumer": consumer, "event_id": e.id, "event_type": e.type, "received_at": now}
        for e in sorted({e.id: e for e in events}.values(), key=lambda e: e.id)
    ]
    # One short statement over arrays (covenant.db.bulk): a multi-row VALUES insert was compiled anew for
    # every batch size, a sixth of a consumer's CPU under load. RETURNING tells which rows were new.
    conflict = "ON CONFLICT (consumer, event_id) DO NOTHING"
    return set(insert_rows(session, inbox, rows, conflict=conflict, returning=["event_id"]))


def record_once(session: Session, consumer: str, event: event_pb2.Event) -> bool:
    """Insert the inbox row; False when this consumer has already applied the event."""
    return bool(record_new(session, consumer, [event]))


class EventSinkServicer(event_pb2_grpc.EventSinkServiceServicer):
    """Applies delivered events exactly once in effect.

    ``handler(session, event)`` applies one event; ``batch_handler(session, events)``, when given, applies
    several at once (in order, as one unit) and is used for the batch transaction.
    """

    def __init__(
        self,
        db: Database,
        consumer: str,
        handler: EventHandler,
        batch_handler: BatchEventHandler | None = None,
    ) -> None:
        self.db = db
        self.consumer = consumer
        self.handler = handler
        self.batch_handler = batch_handler

    def _apply(self, session: Session, events: Sequence[event_pb2.Event]) -> None:
        new = record_new(session, self.consumer, events)
        fresh, seen = [], set()
        for e in events:  # first occurrence only: a batch may carry the same event twice
            if e.id in new and e.id not in seen:
                seen.add(e.id)
                fresh.append(e)
        labels = {"consumer": self.consumer}
        m.add_on_commit(session, m.INBOX_DUPLICATES, len(events) - len(fresh), labels)
        m.add_on_commit(session, m.INBOX_APPLIED, len(fresh), labels)
        if not fresh:
            return
        if self.batch_handler is not None and len(fresh) > 1:
            with consuming(fresh):
                self.batch_handler(session, fresh)
            return
        for event in fresh:
            with tracer.start_as_current_span(f"consume {event.type}", context=context_from_event(event)):
                self.handler(session, event)

    def DeliverEvents(
        self, request: event_pb2.DeliverEventsRequest, context: Any
    ) -> event_pb2.DeliverEventsResponse:
        principal = current_principal()
        authorize(principal, DELIVERY_PERMISSION)
        for i, event in enumerate(request.events):
            if not event.id:
                raise InvalidArgument("is required", field=f"events[{i}].id")
            if not event.type:
                raise InvalidArgument("is required", field=f"events[{i}].type")
            check_provenance(principal, self.consumer, event, f"events[{i}]")
        started = time.perf_counter()
        outcome = "error"
        try:
            with tracer.start_as_current_span(
                "inbox apply",
                attributes={"consumer": self.consumer, "messaging.batch.message_count": len(request.events)},
            ):
                response = self._deliver(list(request.events))
            outcome = "ok"
            return response
        finally:
            m.INBOX_APPLY_DURATION.record(
                (time.perf_counter() - started) * 1000, {"consumer": self.consumer, "outcome": outcome}
            )

    def _apply_in_session(self, events: Sequence[event_pb2.Event]) -> None:
        with self.db.session() as session:
            self._apply(session, events)

    def _deliver(self, events: list[event_pb2.Event]) -> event_pb2.DeliverEventsResponse:
        if len(events) > 1:
            try:
                with self.db.session() as session:
                    self._apply(session, events)
                return event_pb2.DeliverEventsResponse(accepted_event_ids=[e.id for e in events])
            except Exception:  # isolate the failing event below; its predecessors still commit
                log.info("batch of %d events failed; applying them one by one", len(events), exc_info=True)
        for event in events:  # one transaction each, re-run on a transient error (its effects rolled back)
            retry_transient(lambda event=event: self._apply_in_session([event]), what="inbox apply")
        return event_pb2.DeliverEventsResponse(accepted_event_ids=[e.id for e in events])


def purge_applied(db: Database, consumer: str, before: datetime) -> int:
    """Delete ``consumer``'s records of events received before ``before``, a batch a transaction; returns
    how many."""
    purged = 0
    while True:
        with db.session() as s:
            old = and_(inbox.c.consumer == consumer, inbox.c.received_at < before)
            ids = list(s.execute(select(inbox.c.event_id).where(old).limit(_PURGE_BATCH)).scalars())
            if ids:
                s.execute(delete(inbox).where(and_(inbox.c.consumer == consumer, inbox.c.event_id.in_(ids))))
        purged += len(ids)
        if len(ids) < _PURGE_BATCH:
            return purged


def inbox_purger(
    db: Database, consumer: str, retention: timedelta = INBOX_RETENTION, interval: float = 600.0
) -> PeriodicWorker:
    """A worker that deletes ``consumer``'s inbox records older than ``retention`` every ``interval`` s."""

    def tick() -> None:
        purged = purge_applied(db, consumer, datetime.now(UTC) - retention)
        if purged:
            log.info("inbox: purged %d records of events applied over %s ago", purged, retention)

    return PeriodicWorker.every(interval, tick, "inbox-purge")
