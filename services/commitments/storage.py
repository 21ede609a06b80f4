"""SQLAlchemy storage for commitments, their extensions and durable timers (reminders, deadlines)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    and_,
    case,
    func,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from covenant.auth import ScopeFilter
from covenant.db.bulk import among
from covenant.db.scope import scope_clause, subtree
from covenant.errors import Aborted, AlreadyExists, NotFound
from covenant.timestamps import as_utc as _utc
from services.commitments.domain.commitment import Commitment, Extension, State
from services.commitments.domain.terms import Terms

#: States in which a commitment still waits for its fulfilling event.
OPEN_STATES = ("ACTIVE", "BREACHED")

metadata = MetaData()

commitments = Table(
    "commitments",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("request_id", String(128), unique=True, nullable=True),
    Column("employee_id", String(64), nullable=False),
    Column("org_unit", String(255), nullable=False),
    Column("client_id", String(128), nullable=False),
    Column("template_id", String(128), nullable=False),
    Column("fulfilling_event_type", String(128), nullable=False),
    Column("correlation_key", String(64), nullable=False),
    Column("correlation_value", String(255), nullable=False),
    Column("terms_json", Text, nullable=False),
    Column("terms_hash", String(80), nullable=False),
    Column("state", String(32), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("deadline", DateTime(timezone=True), nullable=False),
    Column("settled_at", DateTime(timezone=True)),
    Column("fulfilled_at", DateTime(timezone=True)),
    Column("delay_seconds", BigInteger, nullable=False, default=0),
    Column("fulfilment_event_id", String(64), nullable=False, default=""),
    # Terms.business_key() while the promise stands (NULL once cancelled, and for rows older than 0003).
    Column("business_key", String(80), nullable=True),
    Index("ix_commitments_employee_state", "employee_id", "state"),
    Index("uq_commitments_business_key", "business_key", unique=True),
    Index("ix_commitments_correlation", "fulfilling_event_type", "correlation_value"),
    Index("ix_commitments_org_unit", "org_unit"),
    # The consumer's per-event reads (waiting_correlation_keys, find_open_by_correlation): open rows only.
    Index(
        "ix_commitments_open_by_event",
        "fulfilling_event_type",
        "correlation_key",
        "correlation_value",
        postgresql_where=text("state IN ('ACTIVE', 'BREACHED')"),
        sqlite_where=text("state IN ('ACTIVE', 'BREACHED')"),
    ),
)

extensions = Table(
    "commitment_extensions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("commitment_id", String(64), ForeignKey("commitments.id"), nullable=False, index=True),
    Column("previous_deadline", DateTime(timezone=True), nullable=False),
    Column("new_deadline", DateTime(timezone=True), nullable=False),
    Column("reason", Text, nullable=False),
    Column("approver", String(128), nullable=False),
    Column("extended_at", DateTime(timezone=True), nullable=False),
)

# Durable timers: one row per reminder and one per deadline. A timer fires once: the scheduler claims due
# rows (FOR UPDATE SKIP LOCKED on PostgreSQL), applies the effect and sets fired_at in one transaction.
timers = Table(
    "commitment_timers",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("commitment_id", String(64), ForeignKey("commitments.id"), nullable=False),
    # "reminder" | "deadline" | "breach" (a deadline that fired: its breach is provisional until due_at)
    Column("kind", String(16), nullable=False),
    Column("due_at", DateTime(timezone=True), nullable=False),
    Column("fired_at", DateTime(timezone=True)),
    Index(
        "ix_commitment_timers_pending",
        "due_at",
        "id",
        postgresql_where=text("fired_at IS NULL"),
        sqlite_where=text("fired_at IS NULL"),
    ),
    Index("ix_commitment_timers_commitment", "commitment_id", "kind"),
)


def insert_commitment(session: Session, c: Commitment, request_id: str | None) -> None:
    t = c.terms
    try:
        with session.begin_nested():  # a concurrent twin (same request id or promise) loses here, cleanly
            _insert_row(session, c, request_id)
    except IntegrityError:
        raise AlreadyExists("this commitment (request id or promise) was just made by another call") from None
    rows = [{"commitment_id": c.id, "kind": "reminder", "due_at": r} for r in t.reminders]
    rows.append({"commitment_id": c.id, "kind": "deadline", "due_at": c.effective_deadline})
    session.execute(insert(timers), rows)


def _insert_row(session: Session, c: Commitment, request_id: str | None) -> None:
    t = c.terms
    session.execute(
        insert(commitments).values(
            id=c.id,
            request_id=request_id or None,
            employee_id=t.employee_id,
            org_unit=t.org_unit,
            client_id=t.client_id,
            template_id=t.template_id,
            fulfilling_event_type=t.fulfilling_event_type,
            correlation_key=t.correlation_key,
            correlation_value=t.correlation_value,
            terms_json=t.canonical(),
            terms_hash=c.terms_hash,
            state=c.state.value,
            created_at=t.created_at,
            deadline=c.effective_deadline,
            delay_seconds=0,
            fulfilment_event_id="",
            business_key=t.business_key(),
        )
    )


def save_transition(session: Session, before: Commitment, after: Commitment) -> None:
    """Persist a state change (optimistic on the previous state so concurrent settlements cannot both win)."""
    result = session.execute(
        update(commitments)
        .where(and_(commitments.c.id == after.id, commitments.c.state == before.state.value))
        .values(
            state=after.state.value,
            deadline=after.effective_deadline,
            settled_at=after.settled_at,
            fulfilled_at=after.fulfilled_at,
            delay_seconds=after.delay_seconds,
            fulfilment_event_id=after.fulfilment_event_id,
            **({"business_key": None} if after.state is State.CANCELLED else {}),
        )
    )
    if result.rowcount != 1:
        raise Aborted(f"commitment {after.id} changed concurrently; retry")
    if len(after.extensions) > len(before.extensions):
        ext = after.extensions[-1]
        named = ("previous_deadline", "new_deadline", "reason", "approver", "extended_at")
        session.execute(
            insert(extensions).values(commitment_id=after.id, **{n: getattr(ext, n) for n in named})
        )
        session.execute(
            update(timers)
            .where(
                and_(
                    timers.c.commitment_id == after.id,
                    timers.c.kind.in_(["deadline", "breach"]),
                    timers.c.fired_at.is_(None),
                )
            )
            .values(kind="deadline", due_at=ext.new_deadline)  # a provisional breach is called off
        )
    if after.state is not State.ACTIVE:
        # Settled: pending timers will never fire.
        session.execute(
            update(timers)
            .where(and_(timers.c.commitment_id == after.id, timers.c.fired_at.is_(None)))
            .values(fired_at=after.settled_at or datetime.now(UTC))
        )


def _from_row(row, exts: Sequence = ()) -> Commitment:  # type: ignore[no-untyped-def]
    return Commitment(
        id=row.id,
        terms=Terms.from_canonical(row.terms_json),
        terms_hash=row.terms_hash,
        state=State(row.state),
        deadline=_utc(row.deadline),
        settled_at=_utc(row.settled_at),
        fulfilled_at=_utc(row.fulfilled_at),
        delay_seconds=int(row.delay_seconds or 0),
        fulfilment_event_id=row.fulfilment_event_id or "",
        extensions=tuple(
            Extension(
                _utc(e.previous_deadline), _utc(e.new_deadline), e.reason, e.approver, _utc(e.extended_at)
            )  # type: ignore[arg-type]
            for e in exts
        ),
    )


def _extensions_for(session: Session, ids: Sequence[str]) -> dict[str, list]:
    out: dict[str, list] = {i: [] for i in ids}
    if ids:
        for e in session.execute(
            select(extensions)
            .where(_among(extensions.c.commitment_id, ids, session))
            .order_by(extensions.c.id)
        ):
            out[e.commitment_id].append(e)
    return out


def get(session: Session, commitment_id: str, *, for_update: bool = False) -> Commitment:
    stmt = select(commitments).where(commitments.c.id == commitment_id)
    if for_update:
        stmt = stmt.with_for_update()
    row = session.execute(stmt).first()
    if row is None:
        raise NotFound(f"commitments/{commitment_id} not found")
    return _from_row(row, _extensions_for(session, [row.id])[row.id])


def get_many(session: Session, ids: Sequence[str], *, for_update: bool = False) -> dict[str, Commitment]:
    """Several commitments in one query (locked for the transaction when ``for_update``)."""
    if not ids:
        return {}
    stmt = select(commitments).where(_among(commitments.c.id, ids, session))
    if for_update:
        stmt = stmt.with_for_update()
    rows = session.execute(stmt).all()
    exts = _extensions_for(session, [r.id for r in rows])
    return {r.id: _from_row(r, exts[r.id]) for r in rows}


def _among(column: Any, values: Sequence[Any], session: Session) -> Any:
    return among(column, values, session.get_bind().dialect.name)


def save_breaches(session: Session, ids: Sequence[str], now: datetime) -> None:
    """Breach many ACTIVE commitments at their deadline in one statement (deadline batches).

    The caller holds the rows (``get_many(for_update=True)`` in this transaction, or SQLite's write lock)
    and has checked they are ACTIVE, so the update matches on the primary key alone: a ``state = 'ACTIVE'``
    filter let PostgreSQL pick the state index when statistics lag a burst of settlements (3x slower)."""
    if not ids:
        return
    result = session.execute(
        update(commitments)
        .where(_among(commitments.c.id, ids, session))
        .values(state=State.BREACHED.value, settled_at=commitments.c.deadline)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != len(set(ids)):
        raise Aborted("commitments changed concurrently; retry")
    session.execute(
        update(timers)
        .where(and_(_among(timers.c.commitment_id, ids, session), timers.c.fired_at.is_(None)))
        .values(fired_at=now)
        .execution_options(synchronize_session=False)
    )


def raw_terms(session: Session, commitment_id: str) -> tuple[str, str]:
    """The stored canonical terms text and the hash issued at creation."""
    row = session.execute(
        select(commitments.c.terms_json, commitments.c.terms_hash).where(commitments.c.id == commitment_id)
    ).first()
    if row is None:
        raise NotFound(f"commitments/{commitment_id} not found")
    return row.terms_json, row.terms_hash


def find_by_request_id(session: Session, request_id: str) -> Commitment | None:
    row = session.execute(select(commitments.c.id).where(commitments.c.request_id == request_id)).first()
    return get(session, row.id) if row else None


def find_by_business_key(session: Session, key: str) -> Commitment | None:
    """The standing (not cancelled) commitment that makes the promise ``key`` (``Terms.business_key``)."""
    row = session.execute(select(commitments.c.id).where(commitments.c.business_key == key)).first()
    return get(session, row.id) if row else None


def find_open_by_correlation(session: Session, event_type: str, key: str, value: str) -> list[Commitment]:
    rows = session.execute(
        select(commitments)
        .where(
            and_(
                commitments.c.fulfilling_event_type == event_type,
                commitments.c.correlation_key == key,
                commitments.c.correlation_value == value,
                commitments.c.state.in_([State.ACTIVE.value, State.BREACHED.value]),
            )
        )
        .with_for_update()
    ).all()
    exts = _extensions_for(session, [r.id for r in rows])
    return [_from_row(r, exts[r.id]) for r in rows]


def list_commitments(
    session: Session,
    *,
    scope: ScopeFilter,
    employee_id: str | None,
    org_unit_prefix: str | None,
    states: Sequence[str],
    due_before: datetime | None,
    after_id: str,
    limit: int,
) -> list[Commitment]:
    stmt = select(commitments).order_by(commitments.c.id).limit(limit)
    visible = scope_clause(scope, commitments.c.employee_id, commitments.c.org_unit)
    if visible is not None:
        stmt = stmt.where(visible)
    if employee_id:
        stmt = stmt.where(commitments.c.employee_id == employee_id)
    if org_unit_prefix:
        stmt = stmt.where(subtree(commitments.c.org_unit, org_unit_prefix))
    if states:
        stmt = stmt.where(commitments.c.state.in_(list(states)))
    if due_before is not None:
        stmt = stmt.where(commitments.c.deadline < due_before)
    if after_id:
        stmt = stmt.where(commitments.c.id > after_id)
    rows = session.execute(stmt).all()
    exts = _extensions_for(session, [r.id for r in rows])
    return [_from_row(r, exts[r.id]) for r in rows]


def claim_due_timers(session: Session, now: datetime, limit: int) -> list[tuple[int, str, str]]:
    """Due, unfired timers ``(timer id, commitment id, kind)``, locked for this transaction.

    PostgreSQL: ``FOR UPDATE SKIP LOCKED`` so concurrent schedulers take disjoint rows. SQLite: the unit of
    work already holds the write lock (BEGIN IMMEDIATE)."""
    stmt = (
        select(timers.c.id, timers.c.commitment_id, timers.c.kind)
        .where(and_(timers.c.fired_at.is_(None), timers.c.due_at <= now))
        .order_by(timers.c.due_at, timers.c.id)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    return [(r.id, r.commitment_id, r.kind) for r in session.execute(stmt)]


def mark_fired(session: Session, timer_ids: Sequence[int], now: datetime) -> None:
    if timer_ids:
        session.execute(
            update(timers)
            .where(and_(_among(timers.c.id, timer_ids, session), timers.c.fired_at.is_(None)))
            .values(fired_at=now)
            .execution_options(synchronize_session=False)
        )


def rearm_as_breach(session: Session, timer_ids: Sequence[int], due_at: datetime) -> None:
    """Deadline timers whose breach is provisional: they fire again at ``due_at`` as ``breach``."""
    if timer_ids:
        session.execute(
            update(timers)
            .where(and_(_among(timers.c.id, timer_ids, session), timers.c.fired_at.is_(None)))
            .values(kind="breach", due_at=due_at)
            .execution_options(synchronize_session=False)
        )


def fulfilment_counts(
    session: Session, org_unit_prefix: str, start: datetime, end: datetime
) -> dict[str, int]:
    """Commitments whose (effective) deadline falls in [start, end), counted by state."""
    stmt = (
        select(commitments.c.state, func.count())
        .where(
            and_(
                subtree(commitments.c.org_unit, org_unit_prefix),
                commitments.c.deadline >= start,
                commitments.c.deadline < end,
            )
        )
        .group_by(commitments.c.state)
    )
    return {state: int(n) for state, n in session.execute(stmt)}


def as_json(value: object) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def waiting_correlation_keys(session: Session, event_type: str) -> list[str]:
    """The correlation keys (event data fields) of open commitments an ``event_type`` event may fulfil."""
    stmt = (
        select(commitments.c.correlation_key)
        .where(and_(commitments.c.fulfilling_event_type == event_type, commitments.c.state.in_(OPEN_STATES)))
        .distinct()
    )
    return list(session.execute(stmt).scalars())


def active_by_deadline(session: Session, now: datetime, soon: datetime) -> tuple[int, int, int]:
    """Active commitments whose deadline is past, before ``soon``, and later."""
    deadline = commitments.c.deadline
    overdue, due, later = session.execute(
        select(
            func.sum(case((deadline < now, 1), else_=0)),
            func.sum(case((and_(deadline >= now, deadline < soon), 1), else_=0)),
            func.sum(case((deadline >= soon, 1), else_=0)),
        ).where(commitments.c.state == State.ACTIVE.value)
    ).one()
    return int(overdue or 0), int(due or 0), int(later or 0)


def oldest_due_timer(session: Session, now: datetime) -> datetime | None:
    """When the oldest timer due by ``now`` and not fired yet fell due (None when there is none)."""
    stmt = select(func.min(timers.c.due_at)).where(and_(timers.c.fired_at.is_(None), timers.c.due_at <= now))
    value = session.execute(stmt).scalar()
    return _utc(value) if value is not None else None
