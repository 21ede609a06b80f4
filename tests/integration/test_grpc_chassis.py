"""The chassis through a real gRPC socket: auth, error mapping, health, reflection, drain on SIGTERM."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from covenant.grpc.server import ServiceHost
from covenant.grpc.testing import RunningService, TestTokens, bearer, running_service, service_env
from covenant.listening import ListenError
from covenant.settings import Settings
from tests.support import probe_app
from tests.support.ports import held_port

ROOT = Path(__file__).resolve().parents[2]


def _call(channel: grpc.Channel, method: str, payload: bytes = b"", **kwargs: object) -> bytes:
    return channel.unary_unary(f"/{probe_app.SERVICE}/{method}")(payload, timeout=10, **kwargs)


@pytest.fixture
def probe(tmp_path: Path) -> Iterator[RunningService]:
    (tmp_path / "rules").mkdir()
    with running_service(
        "scoring",
        db_url=f"sqlite:///{tmp_path / 'probe.db'}",
        data_dir=tmp_path,
        env={"COVENANT_RULES_DIR": str(tmp_path / "rules")},
        create_app=probe_app.create_app,
        vocabulary=probe_app.VOCABULARY,
    ) as svc:
        yield svc


def test_valid_token_reaches_handler_with_principal(probe: RunningService) -> None:
    token = probe.tokens.user("E1", "/hq/t1")
    assert _call(probe.channel, "Echo", b"hi", metadata=bearer(token)) == b"hi|employees/E1"


@pytest.mark.parametrize(
    "metadata",
    [
        [],
        [("authorization", "Bearer not-a-jwt")],
        [("authorization", "Basic dXNlcjpwYXNz")],
    ],
    ids=["missing", "garbage", "wrong-scheme"],
)
def test_bad_token_is_unauthenticated(probe: RunningService, metadata: list[tuple[str, str]]) -> None:
    with pytest.raises(grpc.RpcError) as err:
        _call(probe.channel, "Echo", b"x", metadata=metadata)
    assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED


def test_token_signed_by_a_stranger_is_unauthenticated(probe: RunningService) -> None:
    forged = TestTokens().admin()
    with pytest.raises(grpc.RpcError) as err:
        _call(probe.channel, "Echo", metadata=bearer(forged))
    assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert "unknown signing key" in (err.value.details() or "")


def test_domain_errors_map_to_canonical_codes(probe: RunningService) -> None:
    md = bearer(probe.tokens.user("E1", "/hq/t1"))
    with pytest.raises(grpc.RpcError) as err:
        _call(probe.channel, "Invalid", metadata=md)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert err.value.details() == "probe.value: must be positive"
    with pytest.raises(grpc.RpcError) as err:
        _call(probe.channel, "Denied", metadata=md)
    assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert "probe.things.read" in (err.value.details() or "")


def test_unexpected_error_is_internal_with_error_id_and_no_detail(probe: RunningService) -> None:
    with pytest.raises(grpc.RpcError) as err:
        _call(probe.channel, "Boom", metadata=bearer(probe.tokens.admin()))
    assert err.value.code() == grpc.StatusCode.INTERNAL
    details = err.value.details() or ""
    assert "error id:" in details and "secret internal detail" not in details and "Traceback" not in details


def test_health_per_service_and_reflection(probe: RunningService) -> None:
    health = health_pb2_grpc.HealthStub(probe.channel)
    for name in ("", probe_app.SERVICE, "covenant.rules.v1.RulePackService"):
        resp = health.Check(health_pb2.HealthCheckRequest(service=name), timeout=5)
        assert resp.status == health_pb2.HealthCheckResponse.SERVING, name
    refl = reflection_pb2_grpc.ServerReflectionStub(probe.channel)
    responses = list(
        refl.ServerReflectionInfo(iter([reflection_pb2.ServerReflectionRequest(list_services="")]))
    )
    names = {s.name for s in responses[0].list_services_response.service}
    assert {probe_app.SERVICE, "covenant.rules.v1.RulePackService", "grpc.health.v1.Health"} <= names


def test_sigterm_drains_in_flight_call(tmp_path: Path) -> None:
    (tmp_path / "rules").mkdir()
    env = dict(os.environ)
    env.update(
        service_env("scoring", db_url=f"sqlite:///{tmp_path / 'p.db'}", data_dir=tmp_path)
        | {
            "COVENANT_AUTH_MODE": "dev",
            "COVENANT_GRACE_SECONDS": "10",
            "COVENANT_RULES_DIR": str(tmp_path / "rules"),
        }
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.support.probe_app"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        port = int(proc.stdout.readline())  # type: ignore[union-attr]
        channel = grpc.insecure_channel(f"127.0.0.1:{port}")
        result: dict[str, object] = {}

        def slow_call() -> None:
            try:
                result["value"] = _call(channel, "Slow", b"2")
            except grpc.RpcError as exc:
                result["error"] = exc.code()

        caller = threading.Thread(target=slow_call)
        caller.start()
        time.sleep(0.5)  # the call is in flight
        proc.send_signal(signal.SIGTERM)
        time.sleep(0.3)
        with pytest.raises(grpc.RpcError) as refused:  # new calls are refused while draining
            grpc.insecure_channel(f"127.0.0.1:{port}").unary_unary(f"/{probe_app.SERVICE}/Echo")(
                b"", timeout=2
            )
        assert refused.value.code() == grpc.StatusCode.UNAVAILABLE
        caller.join(10)
        assert result == {"value": b"done"}
        assert proc.wait(15) == 0
    finally:
        if proc.poll() is None:
            proc.kill()


def _outward_address() -> str:
    """This machine's address on its outward interface (no packet is sent: a UDP socket only routes)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.connect(("198.51.100.1", 9))  # TEST-NET-2: routed, never reached
        address = s.getsockname()[0]
    assert not address.startswith("127."), "this test needs a network interface besides loopback"
    return str(address)


def test_dev_auth_takes_a_tokenless_call_as_admin_only_from_this_machine(tmp_path: Path) -> None:
    (tmp_path / "rules").mkdir()
    with running_service(
        "scoring",
        db_url=f"sqlite:///{tmp_path / 'probe.db'}",
        data_dir=tmp_path,
        env={
            "COVENANT_RULES_DIR": str(tmp_path / "rules"),
            "COVENANT_AUTH_MODE": "dev",
            "COVENANT_LISTEN": "0.0.0.0:0",
        },
        create_app=probe_app.create_app,
        vocabulary=probe_app.VOCABULARY,
    ) as svc:
        assert _call(svc.channel, "Echo", b"hi").startswith(b"hi|")  # over loopback: the local admin
        with grpc.insecure_channel(f"{_outward_address()}:{svc.host.port}") as remote:
            with pytest.raises(grpc.RpcError) as refused:
                _call(remote, "Echo", b"hi")
            assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED
            assert "only from this machine" in (refused.value.details() or "")
            # a token is verified as in jwt mode, from anywhere
            token = svc.tokens.user("E1", "/hq/t1")
            assert _call(remote, "Echo", b"hi", metadata=bearer(token)) == b"hi|employees/E1"


def test_a_build_that_cannot_listen_leaves_nothing_open(tmp_path: Path) -> None:
    """A port held by another program fails the build with ``ListenError``, and what the build had opened
    (the database engine, the secrets provider) is closed, not left to the process's
    exit: an embedding program (a test, a supervisor that retries) does not leak them."""

    class Secrets:
        closed = 0

        def get_secret(self, path: str) -> dict[str, str]:
            raise KeyError(path)

        def close(self) -> None:
            self.closed += 1

    (tmp_path / "rules").mkdir()
    secrets = Secrets()
    with held_port() as port:
        env = service_env("scoring", db_url=f"sqlite:///{tmp_path / 'probe.db'}", data_dir=tmp_path)
        env |= {"COVENANT_RULES_DIR": str(tmp_path / "rules"), "COVENANT_LISTEN": f"127.0.0.1:{port}"}
        host = ServiceHost(
            Settings.from_env("scoring", env),
            verifier=TestTokens().verifier(),
            secrets=secrets,
            create_app=probe_app.create_app,
            vocabulary=probe_app.VOCABULARY,
        )
        with pytest.raises(ListenError, match=f"cannot listen on 127.0.0.1:{port}"):
            host.build()
    assert host.ctx is not None
    assert secrets.closed == 1
    assert host.ctx.db.engine.pool.checkedin() == 0  # disposed: no pooled connection kept open
