"""Commitments' domain gauges: active commitments due within a day, overdue and later; scheduler lag."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, func, select

from covenant.telemetry import metrics as m
from covenant.timestamps import as_utc
from services.commitments.domain.commitment import State
from services.commitments.storage import commitments, timers


def snapshot(db: Any) -> tuple[dict[str, int], float]:
    """Active commitments by ``when`` (overdue, due_24h, later) and the scheduler lag in seconds: how long
    the oldest unfired timer has been due (0 when nothing is due)."""
    now = datetime.now(UTC)
    soon = now + timedelta(hours=24)
    deadline = commitments.c.deadline
    stmt = select(
        func.sum(case((deadline < now, 1), else_=0)),
        func.sum(case((and_(deadline >= now, deadline < soon), 1), else_=0)),
        func.sum(case((deadline >= soon, 1), else_=0)),
    ).where(commitments.c.state == State.ACTIVE.value)
    pending = and_(timers.c.fired_at.is_(None), timers.c.due_at <= now)
    lag_stmt = select(func.min(timers.c.due_at)).where(pending)
    with db.session() as s:
        overdue, due, later = s.execute(stmt).one()
        oldest_due = s.execute(lag_stmt).scalar()
    lag = max(0.0, (now - as_utc(oldest_due)).total_seconds()) if oldest_due is not None else 0.0
    return {"overdue": int(overdue or 0), "due_24h": int(due or 0), "later": int(later or 0)}, lag


def register(db: Any) -> Callable[[], None]:
    """Feed ``covenant.commitments.open`` and ``covenant.commitments.scheduler_lag`` from ``db``."""
    read = m.cached(lambda: snapshot(db))
    removers = [
        m.observe("covenant.commitments.open", lambda: [(n, {"when": k}) for k, n in read()[0].items()]),
        m.observe("covenant.commitments.scheduler_lag", lambda: [(read()[1], {})]),
    ]
    return m.remover(removers)
