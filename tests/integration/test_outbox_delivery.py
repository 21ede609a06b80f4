"""Outbox → relay → gRPC → inbox: every event takes effect exactly once, through consumer outages, relay
crashes between send and mark, and two relays racing on PostgreSQL. Real gRPC, real databases."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from concurrent import futures
from contextlib import contextmanager
from pathlib import Path

import grpc
import pytest
from sqlalchemy import func, select, text

from covenant.db.engine import Database
from covenant.db.inbox import EventSinkServicer
from covenant.db.migrations import migrate
from covenant.db.outbox import Outbox, new_event
from covenant.db.relay import OutboxRelay
from covenant.db.scratch import scratch_database
from covenant.db.tables import inbox, outbox
from covenant.events.v1 import event_pb2_grpc
from covenant.grpc.interceptors import ChassisInterceptor
from covenant.grpc.testing import TestTokens
from tests.conftest import PG_URL
from tests.support.events import as_service
from tests.support.ports import free_port

TOKENS = TestTokens()  # the consumer verifies, the relay's channel calls as attendance's service account


class CountingSink(EventSinkServicer):
    """The real inbox servicer, counting how many events arrive on the wire (duplicates included)."""

    received = 0

    def DeliverEvents(self, request, context):  # type: ignore[no-untyped-def]
        type(self).received += len(request.events)
        return super().DeliverEvents(request, context)


def consumer_db(url: str) -> Database:
    migrate(url, "points", None)
    db = Database(url)
    with db.session() as s:
        s.execute(text("CREATE TABLE IF NOT EXISTS effects (id INTEGER PRIMARY KEY, n INTEGER NOT NULL)"))
        s.execute(text("INSERT INTO effects (id, n) VALUES (1, 0)"))
    return db


def effect_count(db: Database) -> int:
    with db.session() as s:
        return int(s.execute(text("SELECT n FROM effects WHERE id = 1")).scalar())


@contextmanager
def consumer(db: Database, port: int) -> Iterator[type[CountingSink]]:
    def handle(session, _event) -> None:  # type: ignore[no-untyped-def]
        session.execute(text("UPDATE effects SET n = n + 1 WHERE id = 1"))

    sink = type("Sink", (CountingSink,), {"received": 0})
    server = grpc.server(
        futures.ThreadPoolExecutor(4),
        interceptors=[ChassisInterceptor(TOKENS.verifier(), auth_mode="jwt")],
    )
    event_pb2_grpc.add_EventSinkServiceServicer_to_server(sink(db, "points", handle), server)
    server.add_insecure_port(f"127.0.0.1:{port}")
    server.start()
    try:
        yield sink
    finally:
        server.stop(0).wait()


def produce(db: Database, n: int) -> None:
    box = Outbox("attendance", destinations=["points"])
    for i in range(n):
        with db.session() as s:
            box.add(s, new_event("attendance.visit_verified", source="attendance", subject=f"employees/E{i}"))


def producer_db(url: str) -> Database:
    migrate(url, "attendance", None)
    return Database(url)


def channels(port: int) -> Callable[[str], grpc.Channel]:
    channel = as_service(grpc.insecure_channel(f"127.0.0.1:{port}"), TOKENS)
    return lambda _destination: channel


def pending(db: Database) -> int:
    with db.session() as s:
        return int(
            s.execute(
                select(func.count()).select_from(outbox).where(outbox.c.delivered_at.is_(None))
            ).scalar()
        )


def drain(relay: OutboxRelay, db: Database, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while pending(db) and time.monotonic() < deadline:
        relay.run_once()
        time.sleep(0.05)


@pytest.fixture
def dbs(db_url: str, tmp_path: Path) -> Iterator[tuple[Database, Database]]:
    """Producer and consumer databases; each service owns its own (a second fresh one on PostgreSQL)."""
    if db_url.startswith("sqlite"):
        yield producer_db(db_url), consumer_db(f"sqlite:///{tmp_path / 'consumer.db'}")
        return
    with scratch_database(PG_URL) as url:
        cons = consumer_db(url)
        try:
            yield producer_db(db_url), cons
        finally:
            cons.dispose()


def test_consumer_down_for_a_while_then_back_gets_each_event_once(dbs: tuple[Database, Database]) -> None:
    producer, cons = dbs
    port = free_port()
    produce(producer, 25)
    relay = OutboxRelay(producer, channels(port), interval=0.05, max_backoff=0.3, call_timeout=1.0)
    relay.run_once()  # nobody listening: the attempt is recorded and backed off
    with producer.session() as s:
        assert s.execute(select(func.max(outbox.c.attempts))).scalar() >= 1
        assert "failed to connect" in str(s.execute(select(outbox.c.last_error)).scalars().first())
    time.sleep(0.5)
    with consumer(cons, port) as sink:
        drain(relay, producer)
        assert pending(producer) == 0
        assert effect_count(cons) == 25 and sink.received == 25


class CrashAfterSend(OutboxRelay):
    """Dies after the consumer has the events but before the rows are marked delivered."""

    def after_send(self, destination: str, ids: list[int]) -> None:
        raise RuntimeError("relay process killed")


def test_relay_crash_between_send_and_mark_resends_and_inbox_drops_duplicate(
    dbs: tuple[Database, Database],
) -> None:
    producer, cons = dbs
    port = free_port()
    produce(producer, 10)
    with consumer(cons, port) as sink:
        with pytest.raises(RuntimeError, match="killed"):
            # generous call timeout: a loaded CI machine must not turn the send into a timeout
            CrashAfterSend(producer, channels(port), lease_seconds=3.0, call_timeout=2.5).run_once()
        assert pending(producer) == 10 and effect_count(cons) == 10  # applied, but not marked
        time.sleep(3.1)  # the crashed relay's lease runs out
        drain(OutboxRelay(producer, channels(port)), producer)
        assert pending(producer) == 0
        assert sink.received == 20  # every event went over the wire twice...
        assert effect_count(cons) == 10  # ...and took effect once
        with cons.session() as s:
            assert s.execute(select(func.count()).select_from(inbox)).scalar() == 10


def test_two_relays_at_once_on_postgresql_deliver_each_event_once(pg_url: str, tmp_path: Path) -> None:
    producer = producer_db(pg_url)
    with scratch_database(PG_URL) as cons_url:
        cons = consumer_db(cons_url)
        try:
            port = free_port()
            produce(producer, 300)
            with consumer(cons, port) as sink:
                relays = [OutboxRelay(Database(pg_url), channels(port), batch_size=7) for _ in range(2)]
                threads = [threading.Thread(target=drain, args=(r, producer)) for r in relays]
                for t in threads:
                    t.start()
                for t in threads:
                    t.join(60)
                assert pending(producer) == 0
                assert effect_count(cons) == 300
                assert sink.received == 300  # SKIP LOCKED + leases: no event was sent by both relays
        finally:
            cons.dispose()


def test_an_event_committed_in_the_relays_process_goes_out_at_once_not_at_the_next_poll(
    dbs: tuple[Database, Database],
) -> None:
    producer, cons = dbs
    port = free_port()
    with consumer(cons, port):
        relay = OutboxRelay(producer, channels(port), interval=30, source="attendance")
        relay.start()  # its first pass runs now; the next poll would be 30 s later
        try:
            time.sleep(1.0)
            started = time.monotonic()
            produce(producer, 3)  # three transactions, each waking the relay when it commits
            # the consumer's effect commits before the relay marks the row sent: wait for both
            while (effect_count(cons) < 3 or pending(producer)) and time.monotonic() - started < 10:
                time.sleep(0.02)
            assert effect_count(cons) == 3
            assert pending(producer) == 0
            assert time.monotonic() - started < 5  # far below the 30 s poll interval
        finally:
            relay.stop(5)
