"""Deadlines and retries over real sockets with the real chassis.

- a call without a deadline gets its kind's default from the channel's service config;
- an idempotent call failing UNAVAILABLE is retried by gRPC (service-config retry policy); a
  non-idempotent one is not;
- the server does not start a call whose deadline passed while it queued, and a handler checking
  ``check_deadline`` stops soon after the deadline.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from covenant.grpc.app import ServiceApp, ServiceContext
from covenant.grpc.client import plain_channel
from covenant.grpc.deadlines import check_deadline
from covenant.grpc.testing import RunningService, running_service
from covenant.grpc.wire import DEFAULT_TIMEOUTS, WireSettings
from tests.support import probe_app

READ = "/covenant.points.v1.PointsService/GetBalance"  # read, idempotent
WRITE = "/covenant.identity.v1.IdentityService/Login"  # write, not idempotent (lockout counting)
DELIVER = "/covenant.events.v1.EventSinkService/DeliverEvents"  # batch, idempotent (inbox)


class Probe:
    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self.failures_left: Counter[str] = Counter()
        self.loop_steps = 0
        self.loop_stopped = threading.Event()

    def handlers(self) -> list[grpc.GenericRpcHandler]:
        def flaky(name: str):  # type: ignore[no-untyped-def]
            def handle(request: bytes, context: grpc.ServicerContext) -> bytes:
                self.calls[name] += 1
                if self.failures_left[name] > 0:
                    self.failures_left[name] -= 1
                    context.abort(grpc.StatusCode.UNAVAILABLE, "try again")
                time.sleep(float(request.decode() or "0"))
                return b"ok"

            return handle

        def echo(_request: bytes, _context: object) -> bytes:
            self.calls["echo"] += 1
            return b"echo"

        def loop(_request: bytes, _context: object) -> bytes:
            try:
                for _ in range(100):
                    check_deadline("loop")
                    self.loop_steps += 1
                    time.sleep(0.05)
                return b"finished"
            finally:
                self.loop_stopped.set()

        out = []
        for method in (READ, WRITE, DELIVER):
            service, name = method.lstrip("/").split("/")
            out.append(
                grpc.method_handlers_generic_handler(
                    service, {name: grpc.unary_unary_rpc_method_handler(flaky(method))}
                )
            )
        out.append(
            grpc.method_handlers_generic_handler(
                probe_app.SERVICE,
                {
                    "Echo": grpc.unary_unary_rpc_method_handler(echo),
                    "Loop": grpc.unary_unary_rpc_method_handler(loop),
                    "Slow": grpc.unary_unary_rpc_method_handler(flaky("slow")),
                },
            )
        )
        return out

    def create_app(self, _ctx: ServiceContext) -> ServiceApp:
        return ServiceApp(
            servicers=[(lambda h, server: server.add_generic_rpc_handlers(tuple(h)), self.handlers())],
            grpc_service_names=[probe_app.SERVICE],
        )


@pytest.fixture
def probe(tmp_path: Path) -> Iterator[tuple[Probe, RunningService]]:
    (tmp_path / "rules").mkdir()
    p = Probe()
    env = {
        "COVENANT_AUTH_MODE": "dev",
        "COVENANT_WORKERS": "1",
        "COVENANT_RULES_DIR": str(tmp_path / "rules"),
    }
    with running_service(
        "scoring",
        db_url=f"sqlite:///{tmp_path / 'p.db'}",
        data_dir=tmp_path,
        env=env,
        create_app=p.create_app,
        vocabulary=probe_app.VOCABULARY,
    ) as svc:
        yield p, svc


def test_calls_without_a_deadline_get_the_default_of_their_kind(probe: tuple[Probe, RunningService]) -> None:
    _, svc = probe
    wire = WireSettings(timeouts={**DEFAULT_TIMEOUTS, "read": 0.3, "write": 0.8})
    channel = plain_channel(svc.target, wire=wire)
    for method, expected in ((READ, 0.3), (WRITE, 0.8)):
        started = time.monotonic()
        with pytest.raises(grpc.RpcError) as late:
            channel.unary_unary(method)(b"4")  # the handler sleeps 4 s; the caller sets no timeout
        took = time.monotonic() - started
        assert late.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
        assert expected <= took < expected + 2.5, (method, took, late.value.details())
        time.sleep(4.2)  # let the single worker finish the abandoned call


def test_idempotent_calls_retry_unavailable_and_others_do_not(probe: tuple[Probe, RunningService]) -> None:
    p, svc = probe
    channel = plain_channel(svc.target, wire=WireSettings(retry_attempts=4))
    for method in (READ, DELIVER):
        p.failures_left[method] = 2
        assert channel.unary_unary(method)(b"") == b"ok"
        assert p.calls[method] == 3, method  # two UNAVAILABLE answers, then success
    p.failures_left[WRITE] = 2
    with pytest.raises(grpc.RpcError) as failed:
        channel.unary_unary(WRITE)(b"")
    assert failed.value.code() == grpc.StatusCode.UNAVAILABLE
    assert p.calls[WRITE] == 1  # never retried: a second Login attempt is not harmless
    no_retry = plain_channel(svc.target, wire=WireSettings(retry_attempts=1))
    p.failures_left[READ] = 1
    with pytest.raises(grpc.RpcError):
        no_retry.unary_unary(READ)(b"")


def test_a_call_whose_deadline_passed_in_the_queue_never_runs(probe: tuple[Probe, RunningService]) -> None:
    p, svc = probe
    slow = threading.Thread(
        target=lambda: svc.channel.unary_unary(f"/{probe_app.SERVICE}/Slow")(b"1.0", timeout=5)
    )
    slow.start()
    deadline = time.monotonic() + 10
    while p.calls["slow"] == 0 and time.monotonic() < deadline:  # the only worker is now busy for ~1 s
        time.sleep(0.01)
    assert p.calls["slow"] == 1
    with pytest.raises(grpc.RpcError) as late:
        svc.channel.unary_unary(f"/{probe_app.SERVICE}/Echo")(b"", timeout=0.3)
    assert late.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    slow.join(5)
    time.sleep(0.3)
    assert p.calls["echo"] == 0  # the queued call was dropped, not run after its caller gave up
    assert svc.channel.unary_unary(f"/{probe_app.SERVICE}/Echo")(b"", timeout=2) == b"echo"
    assert p.calls["echo"] == 1


def test_a_handler_checking_its_deadline_stops_soon_after_it(probe: tuple[Probe, RunningService]) -> None:
    p, svc = probe
    with pytest.raises(grpc.RpcError) as late:
        svc.channel.unary_unary(f"/{probe_app.SERVICE}/Loop")(b"", timeout=0.5)
    assert late.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    assert p.loop_stopped.wait(3.0)
    assert 1 <= p.loop_steps < 60  # ~0.5 s of 50 ms steps, far from the full 100 (5 s)
