"""The command line over TLS: ``covenant up`` with mTLS (a dev CA under the data dir), ``covenant health`` and
``covenant rules`` honouring COVENANT_<SVC>_TARGET, --timeout and the TLS settings, and failed calls
printed with their structured details."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from concurrent import futures
from pathlib import Path

import grpc
import pytest
from google.rpc import error_details_pb2, status_pb2

from covenant.grpc.connect import cli_channel, describe_rpc_error
from tests.support.ports import free_port

ROOT = Path(__file__).resolve().parents[2]


def covenant(*args: str, env: dict[str, str], timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "covenant.cli", *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_up_with_mtls_then_health_and_rules_over_mtls(tmp_path: Path) -> None:
    env = dict(os.environ)
    env.update(
        {
            "COVENANT_DATA_DIR": str(tmp_path),
            "COVENANT_TLS_MODE": "mtls",
            "COVENANT_IDENTITY_TARGET": f"127.0.0.1:{free_port()}",
            "COVENANT_POINTS_TARGET": f"127.0.0.1:{free_port()}",
            "COVENANT_LOG_LEVEL": "WARNING",
        }
    )
    up = subprocess.Popen(
        [sys.executable, "-m", "covenant.cli", "up", "identity", "points"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        lines = []
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            line = up.stdout.readline()  # type: ignore[union-attr]
            lines.append(line)
            if "Covenant is up" in line or not line:
                break
        assert any("Covenant is up" in line for line in lines), "".join(lines)
        assert any("TLS mtls: dev CA" in line for line in lines)
        assert (tmp_path / "tls" / "ca.pem").exists() and (tmp_path / "tls" / "cli.pem").exists()

        ok = covenant("health", "identity", "points", "--timeout", "3", env=env)
        assert ok.returncode == 0, ok.stdout + ok.stderr
        assert ok.stdout.count("SERVING") == 2
        assert env["COVENANT_POINTS_TARGET"] in ok.stdout

        plaintext = covenant("health", "points", "--timeout", "2", env=env | {"COVENANT_TLS_MODE": "off"})
        assert plaintext.returncode == 1
        assert "UNAVAILABLE" in plaintext.stdout

        history = covenant("rules", "history", "points", "points-awards", "--timeout", "5", env=env)
        assert history.returncode == 0, history.stderr
        assert "system:default-packs" in history.stdout  # the default pack, published at first start

        wrong_ca = env | {"COVENANT_TLS_CA_FILE": str(tmp_path / "tls" / "cli.pem")}
        refused = covenant("rules", "history", "points", "points-awards", "--timeout", "2", env=wrong_ca)
        assert refused.returncode == 1
        assert "\nUNAVAILABLE: " in "\n" + refused.stderr  # (grpc core logs the handshake failure first)
    finally:
        up.send_signal(signal.SIGINT)
        try:
            up.wait(40)
        except subprocess.TimeoutExpired:
            up.kill()


@pytest.fixture
def failing_server() -> tuple[str, grpc.Server]:
    """A server whose one method fails INVALID_ARGUMENT with google.rpc.BadRequest + ErrorInfo details."""

    def fail(_request: bytes, context: grpc.ServicerContext) -> bytes:
        status = status_pb2.Status(code=grpc.StatusCode.INVALID_ARGUMENT.value[0], message="bad request")
        bad = error_details_pb2.BadRequest(
            field_violations=[
                error_details_pb2.BadRequest.FieldViolation(
                    field="pings[3].latitude", description="must be <= 90"
                )
            ]
        )
        info = error_details_pb2.ErrorInfo(reason="OUT_OF_RANGE", domain="covenant.attendance")
        for detail in (bad, info):
            status.details.add().Pack(detail)
        context.set_trailing_metadata([("grpc-status-details-bin", status.SerializeToString())])
        context.abort(grpc.StatusCode.INVALID_ARGUMENT, "bad request")

    server = grpc.server(futures.ThreadPoolExecutor(2))
    server.add_generic_rpc_handlers(
        (grpc.method_handlers_generic_handler("t.S", {"Fail": grpc.unary_unary_rpc_method_handler(fail)}),)
    )
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    yield f"127.0.0.1:{port}", server
    server.stop(0)


def test_errors_are_printed_with_their_structured_details(failing_server: tuple[str, grpc.Server]) -> None:
    target, _ = failing_server
    channel = cli_channel("points", target, env={"COVENANT_TLS_MODE": "off"})
    with pytest.raises(grpc.RpcError) as failed:
        channel.unary_unary("/t.S/Fail")(b"")
    text = describe_rpc_error(failed.value)
    assert text.splitlines()[0] == "INVALID_ARGUMENT: bad request"
    assert "  pings[3].latitude: must be <= 90" in text.splitlines()
    assert 'google.rpc.ErrorInfo reason: "OUT_OF_RANGE" domain: "covenant.attendance"' in text
