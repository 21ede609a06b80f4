"""The transactional outbox: events are rows written in the same transaction as the state change.

``Outbox(source).add(session, event)`` writes one row per consumer that declared the event's type
(``covenant.services.ROUTES``, from ``CONSUMES``): a consumer never receives a type it does not handle.
``OutboxRelay`` (``covenant.db.relay``) delivers them; a relay in the same process is woken as soon as a
transaction that queued events commits (``on_commit``), so an event waits for no poll interval.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session

from covenant.db.bulk import insert_columns
from covenant.db.tables import outbox
from covenant.events.v1.event_pb2 import Event
from covenant.services import ROUTES, SUBSCRIBERS, emits
from covenant.telemetry import inject_into_event

_committed: dict[str, list[Callable[[], None]]] = {}  # source -> called after a commit that queued events
_committed_lock = threading.Lock()
_routed: dict[str, set[str]] = {}  # source -> every destination this process has queued events for


def routed_destinations(source: str) -> set[str]:
    """Destinations this process has queued events of ``source`` for (of every source when ``source`` is
    empty): the relay's list to claim for, beside the declared subscribers."""
    with _committed_lock:
        if source:
            return set(_routed.get(source, ()))
        return set().union(*_routed.values())


def on_commit(source: str, callback: Callable[[], None]) -> Callable[[], None]:
    """Call ``callback`` after every commit in this process that queued events of ``source``; returns the
    function that stops it."""
    with _committed_lock:
        _committed.setdefault(source, []).append(callback)

    def remove() -> None:
        with _committed_lock:
            if callback in _committed.get(source, []):
                _committed[source].remove(callback)

    return remove


def _queued(session: Session, source: str) -> None:
    """Tell ``source``'s commit listeners when ``session``'s transaction commits (once per transaction)."""
    key = ("covenant.outbox.queued", source)
    if key in session.info:
        return
    session.info[key] = True

    def committed(s: Session) -> None:
        s.info.pop(key, None)
        with _committed_lock:
            callbacks = list(_committed.get(source, ()))
        for callback in callbacks:
            callback()

    sa_event.listen(session, "after_commit", committed, once=True)


def _plain(value: Any) -> Any:
    """JSON-compatible form for a google.protobuf.Struct."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_plain(v) for v in value]
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    return str(value)


def new_event(
    type: str,
    *,
    source: str,
    subject: str = "",
    org_unit: str = "",
    data: Mapping[str, Any] | None = None,
    idempotency_key: str = "",
    occurred_at: datetime | None = None,
    caused_by: str = "",
) -> Event:
    """A new envelope with a fresh id, the current time (UTC) and the active span's trace context.

    ``data`` becomes a ``google.protobuf.Struct``: numbers travel as doubles (send ids and money as strings
    or integers below 2**53), datetimes as ISO 8601 strings, Decimals as strings. ``caused_by``: the id of
    the consumed event this one follows from; it joins that event's trace when applied in a batch.
    """
    event = Event(
        id=str(uuid.uuid4()),
        type=type,
        subject=subject,
        org_unit=org_unit,
        source=source,
        idempotency_key=idempotency_key,
    )
    event.occurred_at.FromDatetime((occurred_at or datetime.now(UTC)).astimezone(UTC))
    if data:
        event.data.update(_plain(data))
    inject_into_event(event, caused_by)
    return event


class Outbox:
    """Writes a service's outgoing events into its own database."""

    def __init__(self, source: str, destinations: Sequence[str] | None = None) -> None:
        self.source = source
        self.destinations = tuple(SUBSCRIBERS.get(source, ()) if destinations is None else destinations)
        # by event type (covenant.services.ROUTES) unless the destinations were given
        self._fixed = destinations is not None

    def add(self, session: Session, event: Event) -> None:
        """Queue ``event`` for every subscriber, in the caller's transaction."""
        self.add_many(session, [event])

    def add_many(self, session: Session, events: Sequence[Event]) -> None:
        """Queue several events (one INSERT), in the caller's transaction."""
        for event in events:  # consumers refuse undeclared types (covenant.services.EMITS): fail here, loudly
            if event.source != self.source or not emits(self.source, event.type):
                raise ValueError(
                    f"{self.source} may not emit {event.type!r} from source {event.source!r}; "
                    "declare the type in covenant.services.EMITS"
                )
        if not events or not self.destinations:
            return
        columns: dict[str, list[Any]] = {"event_id": [], "event_type": [], "destination": [], "payload": []}
        for event in events:
            payload = event.SerializeToString()
            for destination in self.destinations if self._fixed else ROUTES.get(event.type, ()):
                columns["event_id"].append(event.id)
                columns["event_type"].append(event.type)
                columns["destination"].append(destination)
                columns["payload"].append(payload)
        if not columns["event_id"]:
            return
        routed = _routed.get(self.source)
        if routed is None or not routed.issuperset(columns["destination"]):
            with _committed_lock:
                _routed.setdefault(self.source, set()).update(columns["destination"])
        now = datetime.now(UTC)
        insert_columns(
            session, outbox, columns, const={"created_at": now, "attempts": 0, "next_attempt_at": now}
        )
        _queued(session, self.source)
