"""The transactional outbox: events are rows written in the same transaction as the state change.

``Outbox(source).add(session, event)`` writes one row per subscriber of ``source``
(``covenant.services.SUBSCRIBERS``); ``OutboxRelay`` (``covenant.db.relay``) delivers them.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from covenant.db.tables import outbox
from covenant.events.v1.event_pb2 import Event
from covenant.services import SUBSCRIBERS
from covenant.telemetry import inject_into_event


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

    def add(self, session: Session, event: Event) -> None:
        """Queue ``event`` for every subscriber, in the caller's transaction."""
        self.add_many(session, [event])

    def add_many(self, session: Session, events: Sequence[Event]) -> None:
        """Queue several events (one INSERT), in the caller's transaction."""
        if not events or not self.destinations:
            return
        now = datetime.now(UTC)
        if session.get_bind().dialect.name == "postgresql":
            self._add_many_pg(session, events, now)
            return
        rows = []
        for event in events:
            payload = event.SerializeToString()
            for destination in self.destinations:
                rows.append(
                    {
                        "event_id": event.id,
                        "event_type": event.type,
                        "destination": destination,
                        "payload": payload,
                        "created_at": now,
                        "attempts": 0,
                        "next_attempt_at": now,
                    }
                )
        session.execute(insert(outbox), rows)

    def _add_many_pg(self, session: Session, events: Sequence[Event], now: datetime) -> None:
        """One ``INSERT .. SELECT FROM unnest(arrays)`` with the arrays in psycopg's binary format: a short
        statement whatever the batch size (executemany cost 0.15 ms a row, mostly in Python)."""
        ids, types, destinations, payloads = [], [], [], []
        for event in events:
            payload = event.SerializeToString()
            for destination in self.destinations:
                ids.append(event.id)
                types.append(event.type)
                destinations.append(destination)
                payloads.append(payload)
        raw = session.connection().connection.driver_connection
        raw.cursor().execute(
            _PG_INSERT,
            {"ids": ids, "types": types, "destinations": destinations, "payloads": payloads, "now": now},
        )


_PG_INSERT = (
    "INSERT INTO outbox (event_id, event_type, destination, payload, created_at, attempts, next_attempt_at) "
    "SELECT u.event_id, u.event_type, u.destination, u.payload, %(now)s, 0, %(now)s "
    "FROM unnest(CAST(%(ids)b AS text[]), CAST(%(types)b AS text[]), CAST(%(destinations)b AS text[]), "
    "CAST(%(payloads)b AS bytea[])) AS u(event_id, event_type, destination, payload)"
)
