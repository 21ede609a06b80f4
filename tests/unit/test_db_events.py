"""Pure parts of covenant.db: the event envelope, audit hashing, retry backoff."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from google.protobuf.json_format import MessageToDict
from opentelemetry import trace

from covenant.db.audit import GENESIS, entry_hash
from covenant.db.outbox import new_event
from covenant.db.relay import backoff_seconds
from covenant.telemetry import ensure_tracer_provider


def test_new_event_fills_the_envelope() -> None:
    before = datetime.now(UTC)
    e = new_event(
        "points.awarded",
        source="points",
        subject="employees/E1",
        org_unit="/hq/north",
        data={"points": 50, "at": datetime(2026, 1, 2, tzinfo=UTC), "ratio": Decimal("0.25"), "tags": ("a",)},
        idempotency_key="req-1",
    )
    assert uuid.UUID(e.id).version == 4
    assert (e.type, e.source, e.subject, e.org_unit, e.idempotency_key) == (
        "points.awarded",
        "points",
        "employees/E1",
        "/hq/north",
        "req-1",
    )
    assert before <= e.occurred_at.ToDatetime(tzinfo=UTC) <= datetime.now(UTC)
    assert MessageToDict(e.data) == {
        "points": 50.0,
        "at": "2026-01-02T00:00:00+00:00",
        "ratio": "0.25",
        "tags": ["a"],
    }
    assert new_event("x", source="points").id != e.id


def test_new_event_normalises_occurred_at_to_utc() -> None:
    local = datetime(2026, 3, 1, 9, 0, tzinfo=timezone(timedelta(hours=8)))
    e = new_event("x", source="attendance", occurred_at=local)
    assert e.occurred_at.ToDatetime(tzinfo=UTC) == datetime(2026, 3, 1, 1, 0, tzinfo=UTC)


def test_new_event_carries_the_active_trace_context_only_inside_a_span() -> None:
    ensure_tracer_provider()
    assert new_event("x", source="points").traceparent == ""
    with trace.get_tracer("test").start_as_current_span("work") as span:
        e = new_event("x", source="points")
    ctx = span.get_span_context()
    assert e.traceparent.startswith(f"00-{ctx.trace_id:032x}-{ctx.span_id:016x}-")


def test_audit_hash_covers_every_field_and_the_previous_hash() -> None:
    at = datetime(2026, 1, 1, 8, 0, tzinfo=UTC)
    args = [GENESIS, "identity", 1, at, "users/admin", "role.grant", "employees/E1", '{"role":"rep"}']
    base = entry_hash(*args)
    assert len(base) == 64 and base == entry_hash(*args)
    # The same instant in another zone, or naive-as-UTC from SQLite, hashes the same.
    assert entry_hash(*args[:3], at.astimezone(timezone(timedelta(hours=8))), *args[4:]) == base
    assert entry_hash(*args[:3], at.replace(tzinfo=None), *args[4:]) == base
    changed = [
        ("f" * 64, *args[1:]),
        (*args[:1], "other", *args[2:]),
        (*args[:2], 2, *args[3:]),
        (*args[:3], at + timedelta(microseconds=1), *args[4:]),
        (*args[:4], "users/eve", *args[5:]),
        (*args[:5], "role.revoke", *args[6:]),
        (*args[:6], "employees/E2", args[7]),
        (*args[:7], '{"role":"admin"}'),
    ]
    assert all(entry_hash(*c) != base for c in changed)


@pytest.mark.parametrize("attempts", [1, 2, 5, 10, 100])
def test_backoff_grows_exponentially_with_jitter_and_is_capped(attempts: int) -> None:
    delays = [backoff_seconds(attempts, 30.0) for _ in range(200)]
    ideal = min(30.0, 0.2 * 2**attempts)
    assert all(ideal * 0.5 <= d <= ideal for d in delays)
    assert len(set(delays)) > 1  # jittered, so replicas do not retry in lockstep
