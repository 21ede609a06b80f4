"""The outbox relay recovers in seconds (docs/operations.md, "Recovery"): a consumer process SIGKILLed while
events queue gets its backlog within 5 s of answering SERVING again, and rows leased by a relay that died
mid-send are reclaimed through its stale heartbeat instead of waiting out the 30 s lease."""

from __future__ import annotations

import contextlib
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from sqlalchemy import func, select, text

from covenant.db.engine import Database
from covenant.db.migrations import migrate
from covenant.db.outbox import Outbox, new_event
from covenant.db.relay import OutboxRelay
from covenant.db.tables import outbox, relay_heartbeat
from covenant.grpc.client import plain_channel
from covenant.grpc.wire import WireSettings
from tests.integration.test_outbox_delivery import TOKENS
from tests.support.events import as_service
from tests.support.ports import free_port

ROOT = Path(__file__).resolve().parents[2]
EVENTS_SERVICE = "covenant.events.v1.EventSinkService"


def produce(db: Database, n: int) -> None:
    box = Outbox("attendance", destinations=["points"])
    with db.session() as s:
        box.add_many(
            s,
            [
                new_event("attendance.visit_verified", source="attendance", subject=f"employees/E{i}")
                for i in range(n)
            ],
        )


def pending(db: Database) -> int:
    with db.session() as s:
        return int(
            s.execute(
                select(func.count()).select_from(outbox).where(outbox.c.delivered_at.is_(None))
            ).scalar_one()
        )


def effects(url: str) -> int:
    db = Database(url)
    try:
        with db.session() as s:
            return int(s.execute(text("SELECT n FROM effects WHERE id = 1")).scalar_one())
    finally:
        db.dispose()


@pytest.fixture
def producer(db_url: str) -> Iterator[Database]:
    migrate(db_url, "attendance", None)
    db = Database(db_url)
    yield db
    db.dispose()


def start_sink(port: int, url: str) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.support.sink_process", str(port), url, TOKENS.jwks()],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    return proc


def wait_serving(target: str, timeout: float = 10.0) -> float:
    """Poll health with a fresh channel; returns the monotonic time it first answered SERVING."""
    deadline = time.monotonic() + timeout
    with grpc.insecure_channel(target) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        while time.monotonic() < deadline:
            try:
                reply = stub.Check(health_pb2.HealthCheckRequest(service=EVENTS_SERVICE), timeout=0.5)
                if reply.status == health_pb2.HealthCheckResponse.SERVING:
                    return time.monotonic()
            except grpc.RpcError:
                time.sleep(0.02)
    raise AssertionError(f"{target} not SERVING within {timeout} s")


def test_consumer_killed_and_restarted_gets_its_backlog_within_5_s_of_serving(
    producer: Database, tmp_path: Path
) -> None:
    port, sink_url = free_port(), f"sqlite:///{tmp_path / 'points.db'}"
    target = f"127.0.0.1:{port}"
    channel = as_service(plain_channel(target, wire=WireSettings()), TOKENS)  # the services' options
    relay = OutboxRelay(producer, lambda _d: channel, interval=0.1, source="attendance", max_backoff=30.0)
    sink = start_sink(port, sink_url)
    relay.start()
    try:
        produce(producer, 5)
        deadline = time.monotonic() + 10
        while pending(producer) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert pending(producer) == 0
        sink.send_signal(signal.SIGKILL)
        sink.wait(5)
        for _ in range(16):  # 8 s of events queuing while the consumer is gone; rows back off
            produce(producer, 3)
            time.sleep(0.5)
        assert pending(producer) == 48
        sink = start_sink(port, sink_url)
        serving = wait_serving(target)
        while pending(producer) and time.monotonic() - serving < 5:
            time.sleep(0.05)
        drained_after = time.monotonic() - serving
        assert pending(producer) == 0, f"backlog not drained {drained_after:.1f} s after SERVING"
        print(f"backlog of 48 drained {drained_after:.2f} s after SERVING")
        assert effects(sink_url) == 53  # each event took effect once
    finally:
        relay.stop(timeout=5)
        channel.close()
        sink.kill()
        sink.wait(5)


class Killed(Exception):
    pass


class DiesMidSend(OutboxRelay):
    """A relay that sends a batch and then never marks it (its process was killed mid-send)."""

    killed = threading.Event()

    def after_send(self, destination: str, ids: list[int]) -> None:
        self.killed.wait(30)
        raise Killed


def test_rows_leased_by_a_relay_killed_mid_send_are_delivered_within_5_s(
    producer: Database, tmp_path: Path
) -> None:
    port, sink_url = free_port(), f"sqlite:///{tmp_path / 'points.db'}"
    channel = as_service(plain_channel(f"127.0.0.1:{port}", wire=WireSettings()), TOKENS)
    sink = start_sink(port, sink_url)
    dead = DiesMidSend(producer, lambda _d: channel, source="attendance", heartbeat_seconds=0.3)
    survivor = OutboxRelay(
        producer, lambda _d: channel, interval=0.1, source="attendance", heartbeat_seconds=0.3
    )
    try:
        produce(producer, 10)
        dead.heartbeat()  # it was alive when it claimed the rows...

        def send() -> None:
            with contextlib.suppress(Killed):
                dead.deliver("points")

        sender = threading.Thread(target=send, daemon=True)
        sender.start()
        deadline = time.monotonic() + 10
        while effects(sink_url) < 10 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert effects(sink_url) == 10 and pending(producer) == 10  # sent, leased for 30 s, never marked
        with producer.session() as s:
            leased_by = set(s.execute(select(outbox.c.leased_by)).scalars())
        assert leased_by == {dead.instance}
        restarted = time.monotonic()  # ...and then silent: another instance starts
        survivor.start()
        while pending(producer) and time.monotonic() - restarted < 5:
            time.sleep(0.05)
        assert pending(producer) == 0, "leased rows of the dead relay not reclaimed within 5 s"
        print(f"leased rows reclaimed and delivered {time.monotonic() - restarted:.2f} s after restart")
        assert effects(sink_url) == 10  # resent, and the inbox dropped the duplicates
        with producer.session() as s:
            beats = set(s.execute(select(relay_heartbeat.c.instance)).scalars())
        assert dead.instance not in beats and survivor.instance in beats
    finally:
        DiesMidSend.killed.set()
        survivor.stop(timeout=5)
        channel.close()
        sink.kill()
        sink.wait(5)


def test_a_live_relay_keeps_its_leases(producer: Database) -> None:
    live = OutboxRelay(producer, lambda _d: None, source="attendance", heartbeat_seconds=0.2)  # type: ignore[arg-type,return-value]
    other = OutboxRelay(producer, lambda _d: None, source="attendance", heartbeat_seconds=0.2)  # type: ignore[arg-type,return-value]
    produce(producer, 3)
    live.heartbeat()
    other.heartbeat()
    assert len(live._claim(["points"], datetime.now(UTC))["points"]) == 3
    time.sleep(0.7)  # both beats are stale now, but the live one beats again
    live.heartbeat()
    assert other.reclaim_stale() == 0


def test_delivering_a_destination_with_nothing_due_sends_nothing(producer: Database) -> None:
    def no_channel(_destination: str) -> grpc.Channel:
        raise AssertionError("nothing is due: no call may be made")

    relay = OutboxRelay(producer, no_channel, source="attendance")
    assert relay.deliver("points") == 0
    produce(producer, 2)
    assert relay._claim(["points"], datetime.now(UTC))["points"]  # leased now: not due for the lease
    assert relay.deliver("points") == 0
