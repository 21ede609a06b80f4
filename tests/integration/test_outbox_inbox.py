"""Producer outbox rows and the consumer inbox over a real gRPC server: rows per subscriber commit or roll
back with the caller's transaction; concurrent duplicate deliveries apply once; a failing handler fails the
call and is retried; a batch is applied in one transaction (through the batch handler when there is one);
a slow consumer delays only its own deliveries; DeliverEvents needs ``events.deliveries.write``; the trace
crosses the event."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent import futures
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import grpc
import pytest
from opentelemetry import trace
from sqlalchemy import func, select, text, update
from sqlalchemy.orm import Session

from covenant.db import inbox as inbox_module
from covenant.db.engine import Database
from covenant.db.inbox import EventSinkServicer
from covenant.db.migrations import migrate
from covenant.db.outbox import Outbox, new_event
from covenant.db.relay import OutboxRelay
from covenant.db.tables import inbox, outbox
from covenant.events.v1 import event_pb2, event_pb2_grpc
from covenant.grpc.interceptors import ChassisInterceptor
from covenant.grpc.testing import TestTokens, bearer
from covenant.services import SUBSCRIBERS
from covenant.telemetry import current_trace_id, ensure_tracer_provider, trace_id_of
from tests.support.events import as_service

Handler = Callable[[Session, event_pb2.Event], None]
VISIT = "attendance.visit_verified"  # a type attendance declares (covenant.services.EMITS)


def _db(url: str, service: str) -> Database:
    migrate(url, service, None)
    db = Database(url)
    with db.session() as s:
        s.execute(text("CREATE TABLE IF NOT EXISTS effects (id INTEGER PRIMARY KEY, n INTEGER NOT NULL)"))
        s.execute(text("INSERT INTO effects (id, n) VALUES (1, 0)"))
    return db


def _effects(db: Database) -> int:
    with db.session() as s:
        return int(s.execute(text("SELECT n FROM effects WHERE id = 1")).scalar_one())


def _count(db: Database, table) -> int:  # type: ignore[no-untyped-def]
    with db.session() as s:
        return int(s.execute(select(func.count()).select_from(table)).scalar_one())


def bump(session: Session, _event: event_pb2.Event) -> None:
    session.execute(text("UPDATE effects SET n = n + 1 WHERE id = 1"))


@contextmanager
def sink_server(
    db: Database,
    handler: Handler,
    tokens: TestTokens | None = None,
    batch_handler: Callable[[Session, Sequence[event_pb2.Event]], None] | None = None,
) -> Iterator[grpc.Channel]:
    """A real EventSinkService on 127.0.0.1:<ephemeral>, behind the chassis interceptor (``jwt`` mode).

    Without ``tokens`` the channel calls as attendance's service account (as attendance's relay does);
    with them, the caller sends its own token."""
    own_tokens = tokens is None
    tokens = tokens or TestTokens()
    interceptor = ChassisInterceptor(tokens.verifier(), auth_mode="jwt")
    server = grpc.server(futures.ThreadPoolExecutor(8), interceptors=[interceptor])
    event_pb2_grpc.add_EventSinkServiceServicer_to_server(
        EventSinkServicer(db, "points", handler, batch_handler), server
    )
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    channel = grpc.insecure_channel(f"127.0.0.1:{port}")
    try:
        yield as_service(channel, tokens) if own_tokens else channel
    finally:
        channel.close()
        server.stop(0).wait()


def test_outbox_writes_a_row_per_subscriber_in_the_callers_transaction(db_url: str) -> None:
    db = _db(db_url, "attendance")
    box = Outbox("attendance")
    events = [new_event("attendance.visit_verified", source="attendance", subject=f"e/{i}") for i in range(3)]
    with db.session() as s:
        box.add(s, events[0])
        box.add_many(s, events[1:])
    with pytest.raises(RuntimeError), db.session() as s:
        box.add(s, new_event("attendance.visit_verified", source="attendance"))
        raise RuntimeError("the state change failed")  # its events must vanish with it
    with db.session() as s:
        rows = s.execute(select(outbox.c.event_id, outbox.c.destination, outbox.c.payload)).all()
    assert sorted((r.event_id, r.destination) for r in rows) == sorted(
        (e.id, d) for e in events for d in SUBSCRIBERS["attendance"]
    )
    assert all(event_pb2.Event.FromString(r.payload).source == "attendance" for r in rows)


def test_concurrent_duplicate_deliveries_apply_once(db_url: str) -> None:
    db = _db(db_url, "points")
    gate = threading.Barrier(6)
    event = new_event("attendance.visit_verified", source="attendance", subject="employees/E1")
    errors: list[BaseException] = []

    def slow_bump(session: Session, ev: event_pb2.Event) -> None:
        bump(session, ev)
        threading.Event().wait(0.05)  # keep the first transaction open while the duplicates arrive

    with sink_server(db, slow_bump) as channel:
        stub = event_pb2_grpc.EventSinkServiceStub(channel)

        def deliver() -> None:
            gate.wait()
            try:
                reply = stub.DeliverEvents(event_pb2.DeliverEventsRequest(events=[event]), timeout=30)
                assert list(reply.accepted_event_ids) == [event.id]
            except BaseException as exc:  # collected and asserted below
                errors.append(exc)

        threads = [threading.Thread(target=deliver) for _ in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
    assert errors == []
    assert _effects(db) == 1 and _count(db, inbox) == 1


def test_failing_handler_fails_the_call_rolls_back_and_the_relay_retries(db_url: str, tmp_path: Path) -> None:
    producer = _db(db_url, "attendance")
    consumer = _db(f"sqlite:///{tmp_path / 'consumer.db'}", "points")
    broken = {"on": True}

    def handler(session: Session, event: event_pb2.Event) -> None:
        bump(session, event)  # rolled back with the inbox row when the handler raises
        if broken["on"] and event.subject == "poison":
            raise RuntimeError("consumer bug")

    with producer.session() as s:
        Outbox("attendance", ["points"]).add_many(
            s, [new_event(VISIT, source="attendance", subject=x) for x in ("ok", "poison", "later")]
        )
    with sink_server(consumer, handler) as channel:
        relay = OutboxRelay(producer, lambda _d: channel, max_backoff=0.05)
        assert relay.run_once() == 0
        with producer.session() as s:
            row = s.execute(select(outbox).where(outbox.c.delivered_at.is_(None))).first()
        assert row is not None and row.attempts == 1 and "INTERNAL" in (row.last_error or "")
        assert _effects(consumer) == 1 and _count(consumer, inbox) == 1  # "ok" applied, then the failure
        broken["on"] = False
        threading.Event().wait(0.1)  # past the backoff
        assert relay.run_once() == 3
    assert _effects(consumer) == 3 and _count(consumer, inbox) == 3


def test_deliver_events_requires_the_delivery_permission(sqlite_url: str, tmp_path: Path) -> None:
    tokens = TestTokens()
    consumer = _db(sqlite_url, "points")
    event = new_event(VISIT, source="attendance")
    request = event_pb2.DeliverEventsRequest(events=[event])
    with sink_server(consumer, bump, tokens) as channel:
        stub = event_pb2_grpc.EventSinkServiceStub(channel)
        user = tokens.user("E1", permissions={"points.accounts.read": "self"})
        with pytest.raises(grpc.RpcError) as denied:
            stub.DeliverEvents(request, metadata=bearer(user), timeout=10)
        assert denied.value.code() == grpc.StatusCode.PERMISSION_DENIED
        assert "events.deliveries.write" in (denied.value.details() or "")
        assert _effects(consumer) == 0

        producer = _db(f"sqlite:///{tmp_path / 'producer.db'}", "attendance")
        with producer.session() as s:
            Outbox("attendance", ["points"]).add(s, event)
        service = tokens.service("attendance", {"events.deliveries.write": "all"})
        relay = OutboxRelay(producer, lambda _d: channel, metadata_for=lambda: bearer(service))
        assert relay.run_once() == 1
        assert _effects(consumer) == 1


def test_trace_context_travels_inside_the_event(sqlite_url: str, tmp_path: Path) -> None:
    ensure_tracer_provider()
    producer = _db(sqlite_url, "attendance")
    consumer = _db(f"sqlite:///{tmp_path / 'consumer.db'}", "points")
    seen: list[str] = []

    def handler(session: Session, event: event_pb2.Event) -> None:
        seen.append(current_trace_id())

    with trace.get_tracer("test").start_as_current_span("check-in") as span:
        producer_trace = format(span.get_span_context().trace_id, "032x")
        with producer.session() as s:
            Outbox("attendance", ["points"]).add(s, new_event(VISIT, source="attendance"))
    with sink_server(consumer, handler) as channel:
        assert OutboxRelay(producer, lambda _d: channel).run_once() == 1
    assert seen == [producer_trace]


def test_background_relay_delivers_and_purges_only_old_delivered_rows(db_url: str, tmp_path: Path) -> None:
    producer = _db(db_url, "attendance")
    consumer = _db(f"sqlite:///{tmp_path / 'consumer.db'}", "points")
    box = Outbox("attendance", ["points"])
    with producer.session() as s:
        box.add_many(s, [new_event(VISIT, source="attendance") for _ in range(4)])
    with sink_server(consumer, bump) as channel:
        relay = OutboxRelay(producer, lambda _d: channel, interval=0.05)
        relay.start()
        try:
            pause = threading.Event()
            for _ in range(200):
                if _effects(consumer) == 4:
                    break
                pause.wait(0.05)
        finally:
            relay.stop(timeout=10)
    assert _effects(consumer) == 4
    with producer.session() as s:
        box.add(s, new_event(VISIT, source="attendance"))  # queued after the relay stopped: never purged
    assert relay.purge_delivered() == 0  # delivered just now, within the retention
    assert relay.purge_delivered(older_than=timedelta(0)) == 4
    with producer.session() as s:
        assert s.execute(select(func.count()).select_from(outbox)).scalar_one() == 1


def test_a_batch_goes_to_the_batch_handler_once_without_duplicates_and_keeps_each_trace(
    db_url: str, tmp_path: Path
) -> None:
    ensure_tracer_provider()
    consumer = _db(db_url, "points")
    tracer = trace.get_tracer("test")
    events = []
    for i in range(3):
        with tracer.start_as_current_span(f"check-in {i}"):
            events.append(new_event(VISIT, source="attendance", subject=f"employees/E{i}"))
    calls: list[list[str]] = []
    produced: list[event_pb2.Event] = []

    def one(session: Session, event: event_pb2.Event) -> None:
        bump(session, event)

    def many(session: Session, batch: Sequence[event_pb2.Event]) -> None:
        calls.append([e.id for e in batch])
        for e in batch:
            bump(session, e)
            produced.append(new_event("points.awarded", source="points", caused_by=e.id))

    with sink_server(consumer, one, batch_handler=many) as channel:
        stub = event_pb2_grpc.EventSinkServiceStub(channel)
        stub.DeliverEvents(event_pb2.DeliverEventsRequest(events=[events[0]]), timeout=10)  # single: handler
        reply = stub.DeliverEvents(event_pb2.DeliverEventsRequest(events=[*events, events[2]]), timeout=10)
    assert list(reply.accepted_event_ids) == [*(e.id for e in events), events[2].id]
    assert calls == [[events[1].id, events[2].id]]  # the applied one and the repeat left out, order kept
    assert _effects(consumer) == 3 and _count(consumer, inbox) == 3
    assert [trace_id_of(p) for p in produced] == [trace_id_of(e) for e in events[1:]]
    assert trace_id_of(events[1]) != trace_id_of(events[2])


def test_a_slow_consumer_does_not_hold_back_the_other_destinations(db_url: str, tmp_path: Path) -> None:
    producer = _db(db_url, "attendance")
    slow_db = _db(f"sqlite:///{tmp_path / 'slow.db'}", "points")
    fast_db = _db(f"sqlite:///{tmp_path / 'fast.db'}", "scoring")
    release, slow_done = threading.Event(), threading.Event()

    def stuck(session: Session, event: event_pb2.Event) -> None:
        release.wait(30)
        bump(session, event)
        slow_done.set()

    with producer.session() as s:
        Outbox("attendance", ["points", "scoring"]).add_many(s, [new_event(VISIT, source="attendance")])
    with sink_server(slow_db, stuck) as slow, sink_server(fast_db, bump) as fast:
        relay = OutboxRelay(
            producer,
            {"points": slow, "scoring": fast}.__getitem__,
            interval=0.05,
            call_timeout=20,
            lease_seconds=25,
        )
        relay.start()
        try:
            pause = threading.Event()
            for _ in range(200):
                if _effects(fast_db) == 1:
                    break
                pause.wait(0.05)
            # Delivered while the points consumer is stuck (whose open transaction also holds slow.db).
            assert _effects(fast_db) == 1 and not slow_done.is_set()
            release.set()
            for _ in range(200):
                if _effects(slow_db) == 1:
                    break
                pause.wait(0.05)
        finally:
            release.set()
            relay.stop(timeout=10)
    assert _effects(slow_db) == 1 and _effects(fast_db) == 1


def test_applied_events_are_remembered_for_the_retention_then_purged(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Within ``INBOX_RETENTION`` a redelivery is still a duplicate; records older than that are deleted,
    a batch a transaction (the first purge after an upgrade may find millions); consumer services run the
    purge as one of their workers."""
    consumer = _db(db_url, "points")
    events = [new_event(VISIT, source="attendance") for _ in range(7)]
    with sink_server(consumer, bump) as channel:
        stub = event_pb2_grpc.EventSinkServiceStub(channel)
        stub.DeliverEvents(event_pb2.DeliverEventsRequest(events=events), timeout=30)
        now = datetime.now(UTC)
        with consumer.session() as s:  # five of the seven were applied 31 days ago
            old = [e.id for e in events[:5]]
            s.execute(
                update(inbox).where(inbox.c.event_id.in_(old)).values(received_at=now - timedelta(days=31))
            )
        monkeypatch.setattr(inbox_module, "_PURGE_BATCH", 2)
        assert inbox_module.purge_applied(consumer, "points", now - inbox_module.INBOX_RETENTION) == 5
        assert _count(consumer, inbox) == 2
        stub.DeliverEvents(event_pb2.DeliverEventsRequest(events=events[5:]), timeout=30)
    assert _effects(consumer) == 7  # the two kept were still duplicates
    purger = inbox_module.inbox_purger(consumer, "points", interval=0.05).start()
    try:
        assert purger.running and purger.thread_name == "inbox-purge"
    finally:
        purger.stop(timeout=5)


def test_consumer_services_run_the_inbox_purge_and_producers_only_do_not(tmp_path: Path) -> None:
    from covenant.grpc.testing import running_service

    def purges(service: str) -> bool:
        with running_service(service, db_url=f"sqlite:///{tmp_path / service}.db", data_dir=tmp_path) as svc:
            return any(getattr(w, "thread_name", "") == "inbox-purge" for w in svc.host.workers)

    assert purges("points") and purges("commitments")
    assert not purges("identity")  # consumes nothing
