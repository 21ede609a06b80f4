"""Traffic spreads over every replica behind one resolvable name, as on a Kubernetes headless Service.

Replicas of a consumer run with the real chassis on 127.0.0.2, .3 (later .4), one port, behind one DNS name
served by a test DNS server (the channel target is ``dns://<that server>/points.test:<port>``). The relay's
deliveries (``EventSinkService.DeliverEvents``) and callers' calls both go through the chassis
``ChannelFactory`` (round_robin, service config) and are counted per replica. A replica started later gets
calls within the servers' max connection age (clients re-resolve when their connections age out).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import grpc
import pytest

from covenant.auth.tokens import StaticTokenSource
from covenant.db.engine import Database
from covenant.db.migrations import migrate
from covenant.db.outbox import Outbox, new_event
from covenant.db.relay import OutboxRelay
from covenant.grpc.app import ServiceApp, ServiceContext
from covenant.grpc.client import ChannelFactory
from covenant.grpc.testing import RunningService, TestTokens, running_service
from covenant.grpc.wire import WireSettings
from tests.support import probe_app
from tests.support.dns_server import DnsServer
from tests.support.ports import free_port

CONNECTION_AGE = 2.0
NAME = "points.test"


class Counts:
    """Calls and delivered events per replica (by its listen address)."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self.events: Counter[str] = Counter()


def replica_app(ip: str, counts: Counts):  # type: ignore[no-untyped-def]
    def create_app(ctx: ServiceContext) -> ServiceApp:
        def echo(request: bytes, _context: object) -> bytes:
            counts.calls[ip] += 1
            return ip.encode()

        def handle(_session: object, _event: object) -> None:
            counts.events[ip] += 1

        handler = grpc.method_handlers_generic_handler(
            probe_app.SERVICE, {"Echo": grpc.unary_unary_rpc_method_handler(echo)}
        )
        return ServiceApp(
            servicers=[(lambda h, server: server.add_generic_rpc_handlers((h,)), handler)],
            grpc_service_names=[probe_app.SERVICE],
            event_handler=handle,
        )

    return create_app


class Replicas:
    def __init__(self, tmp_path: Path, port: int, tokens: TestTokens, dns: DnsServer) -> None:
        self.tmp, self.port, self.tokens, self.dns = tmp_path, port, tokens, dns
        self.counts = Counts()
        self.stack = ExitStack()
        self.running: dict[str, RunningService] = {}

    def start(self, ip: str) -> None:
        env = {
            "COVENANT_LISTEN": f"{ip}:{self.port}",
            "COVENANT_MAX_CONNECTION_AGE_SECONDS": str(CONNECTION_AGE),
            "COVENANT_GRACE_SECONDS": "1",
            "COVENANT_RULES_DIR": str(self.tmp / "rules"),
        }
        self.running[ip] = self.stack.enter_context(
            running_service(
                "points",
                db_url=f"sqlite:///{self.tmp / 'points.db'}",  # replicas share their service's database
                data_dir=self.tmp,
                tokens=self.tokens,
                env=env,
                create_app=replica_app(ip, self.counts),
                vocabulary=probe_app.VOCABULARY,
            )
        )
        self.dns.set(NAME, list(self.running))


@pytest.fixture
def setup(tmp_path: Path) -> Iterator[tuple[Replicas, ChannelFactory, OutboxRelay, Database]]:
    (tmp_path / "rules").mkdir()
    tokens = TestTokens()
    port = free_port()
    with DnsServer({NAME: []}) as dns:
        replicas = Replicas(tmp_path, port, tokens, dns)
        with replicas.stack:
            replicas.start("127.0.0.2")
            replicas.start("127.0.0.3")
            wire = WireSettings(dns_refresh_seconds=0.2)
            target = f"dns://127.0.0.1:{dns.port}/{NAME}:{port}"
            factory = ChannelFactory(
                {"points": target}, StaticTokenSource(tokens.service("attendance")), 1 << 24, wire
            )
            producer_url = f"sqlite:///{tmp_path / 'attendance.db'}"
            migrate(producer_url, "attendance", None)
            producer = Database(producer_url)
            relay = OutboxRelay(producer, factory, interval=0.05)
            try:
                yield replicas, factory, relay, producer
            finally:
                factory.close()
                producer.dispose()


def call(factory: ChannelFactory) -> str:
    return factory("points").unary_unary(f"/{probe_app.SERVICE}/Echo")(b"", timeout=5).decode()


def deliver(relay: OutboxRelay, producer: Database, n: int) -> None:
    """``n`` events, one DeliverEvents call each."""
    box = Outbox("attendance", destinations=["points"])
    for i in range(n):
        with producer.session() as s:
            box.add(s, new_event("attendance.visit_verified", source="attendance", subject=f"employees/E{i}"))
        assert relay.run_once() == 1


def spread(counter: Counter[str], replicas: list[str], total: int) -> None:
    assert sum(counter[r] for r in replicas) == total, counter
    for r in replicas:
        assert counter[r] >= total / len(replicas) * 0.5, f"{r} got {counter[r]} of {total}: {dict(counter)}"


def test_calls_and_deliveries_spread_over_replicas_and_a_new_one_joins_within_the_connection_age(
    setup: tuple[Replicas, ChannelFactory, OutboxRelay, Database],
) -> None:
    replicas, factory, relay, producer = setup
    two = ["127.0.0.2", "127.0.0.3"]
    for _ in range(40):
        call(factory)
    spread(replicas.counts.calls, two, 40)
    deliver(relay, producer, 20)
    spread(replicas.counts.events, two, 20)

    # A third replica starts and DNS lists it; callers keep calling on their existing channel.
    replicas.start("127.0.0.4")
    started = time.monotonic()
    while replicas.counts.calls["127.0.0.4"] == 0:
        call(factory)
        # connection age (+10% jitter) + DNS refresh, with room for a loaded CI machine
        assert time.monotonic() - started < CONNECTION_AGE * 1.2 + 10, "new replica got no call"
        time.sleep(0.02)
    joined = time.monotonic() - started
    print(f"third replica received its first call {joined:.2f}s after it started (max age {CONNECTION_AGE}s)")

    time.sleep(CONNECTION_AGE * 1.2 + 1.5)  # every old connection has aged out and reconnected
    replicas.counts.calls.clear()
    replicas.counts.events.clear()
    three = [*two, "127.0.0.4"]
    for _ in range(60):
        call(factory)
    spread(replicas.counts.calls, three, 60)
    deliver(relay, producer, 30)
    spread(replicas.counts.events, three, 30)
