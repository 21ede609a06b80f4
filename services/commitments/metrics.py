"""Commitments' domain gauges: active commitments due within a day, overdue and later; scheduler lag."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from covenant.telemetry import metrics as m
from services.commitments import storage


def snapshot(db: Any) -> tuple[dict[str, int], float]:
    """Active commitments by ``when`` (overdue, due_24h, later) and the scheduler lag in seconds: how long
    the oldest unfired timer has been due (0 when nothing is due)."""
    now = datetime.now(UTC)
    with db.session() as s:
        overdue, due, later = storage.active_by_deadline(s, now, now + timedelta(hours=24))
        oldest_due = storage.oldest_due_timer(s, now)
    lag = max(0.0, (now - oldest_due).total_seconds()) if oldest_due is not None else 0.0
    return {"overdue": overdue, "due_24h": due, "later": later}, lag


def register(db: Any) -> Callable[[], None]:
    """Feed ``covenant.commitments.open`` and ``covenant.commitments.scheduler_lag`` from ``db``."""
    read = m.cached(lambda: snapshot(db))
    removers = [
        m.observe("covenant.commitments.open", lambda: [(n, {"when": k}) for k, n in read()[0].items()]),
        m.observe("covenant.commitments.scheduler_lag", lambda: [(read()[1], {})]),
    ]
    return m.remover(removers)
