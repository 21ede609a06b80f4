"""Request-id idempotency for mutating RPCs, on the chassis ``idempotency`` table.

A mutation that takes a caller-chosen ``request_id`` looks it up first, in the same transaction as its
effects; a hit returns the recorded response and changes nothing, a miss does the work and records the
response before the transaction commits (so effect and record commit or roll back together)::

    with db.session() as s:
        done = idempotency.replayed(s, "points", "CreateGoal", request_id, fingerprint=fp)
        if done is not None:
            return json.loads(done)
        ...  # the effects
        idempotency.remember(s, "points", "CreateGoal", request_id, json.dumps(result), now, fingerprint=fp)

An empty ``request_id`` means "not idempotent": ``replayed`` returns None and ``remember`` records nothing.
When a ``fingerprint`` (``fingerprint(*payload)``) is given, a reuse of the request id with another payload
is refused with INVALID_ARGUMENT naming ``request_id`` (AIP-155: a request id identifies one request).
Two concurrent first calls race on the primary key: one commits, the other's transaction fails.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from covenant.db.tables import idempotency
from covenant.errors import InvalidArgument

__all__ = ["fingerprint", "purge", "remember", "replayed", "reused"]


def fingerprint(*payload: Any) -> str:
    """A stable sha256 of a request's payload (JSON-serialisable parts; other values by ``str``)."""
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def reused(field: str = "request_id", what: str = "request") -> InvalidArgument:
    """The answer to a request id sent again with another request (``what``: a check-in, a commitment...):
    INVALID_ARGUMENT naming ``field``, telling nothing of the request the id already names (another caller's,
    perhaps: docs/security.md). Services that keep the id on their own rows compare what it names there."""
    return InvalidArgument(f"was already used for a different {what}; send a new id", field=field)


def replayed(
    session: Session, service: str, method: str, request_id: str, *, fingerprint: str | None = None
) -> str | None:
    """The response recorded for an earlier ``(service, method, request_id)``, or None (also for no id).

    Raises ``InvalidArgument`` (field ``request_id``) when both calls carry fingerprints that differ.
    """
    if not request_id:
        return None
    row = session.execute(
        select(idempotency.c.response, idempotency.c.fingerprint).where(
            idempotency.c.service == service,
            idempotency.c.method == method,
            idempotency.c.request_id == request_id,
        )
    ).first()
    if row is None:
        return None
    if fingerprint is not None and row.fingerprint is not None and row.fingerprint != fingerprint:
        raise reused(what=f"{method} request")
    return str(row.response)


def remember(
    session: Session,
    service: str,
    method: str,
    request_id: str,
    response: str,
    now: datetime,
    *,
    fingerprint: str | None = None,
) -> None:
    """Record ``response`` for ``(service, method, request_id)`` in the open transaction (no id: no-op)."""
    if not request_id:
        return
    session.execute(
        insert(idempotency).values(
            service=service,
            method=method,
            request_id=request_id,
            fingerprint=fingerprint,
            response=response,
            created_at=now,
        )
    )


def purge(session: Session, service: str, before: datetime) -> int:
    """Retention: forget ``service``'s request ids recorded before ``before``; returns how many."""
    result = session.execute(
        delete(idempotency).where(idempotency.c.service == service, idempotency.c.created_at < before)
    )
    return int(result.rowcount or 0)
