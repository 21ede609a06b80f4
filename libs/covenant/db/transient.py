"""Transient database errors: recognise them, retry what is safe to re-run, and say how to answer the rest.

A transient error is one a later attempt may not meet (docs/operations.md, "Transient errors"):
- a lost connection (the server restarted, a connection was terminated, the network dropped): the driver
  or SQLAlchemy marks the connection invalidated, or PostgreSQL sends SQLSTATE class 08 / 57P01-57P03;
  the pool then replaces the connection (idle ones are pinged at checkout) → gRPC ``UNAVAILABLE``;
- a serialization failure (40001) or a deadlock (40P01): the transaction was rolled back as a whole and
  can be re-run → ``ABORTED``;
- SQLite's lock wait running out (``database is locked``) or no pool connection in time → ``UNAVAILABLE``.

``retry_transient`` re-runs a whole unit of work (an idempotent read or a transaction nothing outside the
database has seen) a few times; the chassis interceptor answers whatever still fails with the code above and
a ``google.rpc.RetryInfo`` detail, never ``INTERNAL``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy import exc as sa_exc

from covenant.randomness import RANDOM

log = logging.getLogger(__name__)

T = TypeVar("T")

UNAVAILABLE = "UNAVAILABLE"
ABORTED = "ABORTED"

_ABORTED_STATES = frozenset({"40001", "40P01"})  # serialization_failure, deadlock_detected
_UNAVAILABLE_STATES = frozenset({"57P01", "57P02", "57P03", "53300"})  # shutdowns, too_many_connections

#: The retry delay suggested to clients, per code (seconds).
RETRY_DELAY = {UNAVAILABLE: 0.5, ABORTED: 0.1}


def _sqlstate(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None) or exc
    return str(getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None) or "")


def transient_code(exc: BaseException) -> str | None:
    """``UNAVAILABLE`` or ``ABORTED`` when ``exc`` (or an exception it was raised from) is a transient
    database error, else None."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        code = _classify(current)
        if code is not None:
            return code
        current = current.__cause__ or current.__context__
    return None


def _classify(exc: BaseException) -> str | None:
    if isinstance(exc, sa_exc.TimeoutError):  # no pool connection within the pool timeout
        return UNAVAILABLE
    state = _sqlstate(exc)
    if state in _ABORTED_STATES:
        return ABORTED
    if state in _UNAVAILABLE_STATES or state.startswith("08"):
        return UNAVAILABLE
    if isinstance(exc, sa_exc.DBAPIError):
        if exc.connection_invalidated:
            return UNAVAILABLE
        if isinstance(exc, sa_exc.OperationalError):
            text = str(exc.orig).lower()
            if "database is locked" in text or "database is busy" in text:
                return UNAVAILABLE
            if "connection" in text and ("closed" in text or "lost" in text or "terminat" in text):
                return UNAVAILABLE
    if isinstance(exc, TimeoutError) and "database is locked" in str(exc):  # Database.session's queue
        return UNAVAILABLE
    if type(exc).__module__.startswith("psycopg") and type(exc).__name__ == "OperationalError":
        return UNAVAILABLE
    return None


def retry_transient(
    fn: Callable[[], T], *, attempts: int = 3, base_delay: float = 0.05, what: str = "unit of work"
) -> T:
    """Run ``fn`` (a whole unit of work that is safe to run again), re-running it up to ``attempts`` times in
    all while it fails with a transient database error; the last failure is raised."""
    for attempt in range(1, attempts + 1):
        try:
            return fn()
        except Exception as exc:
            if attempt >= attempts or transient_code(exc) is None:
                raise
            delay = base_delay * 2 ** (attempt - 1) * RANDOM.uniform(0.5, 1.0)
            log.warning("%s: transient database error (attempt %d), retrying: %s", what, attempt, exc)
            time.sleep(delay)
    raise AssertionError("unreachable")  # pragma: no cover
