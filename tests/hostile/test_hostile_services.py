"""The hostile-input corpus against every service, each a real process on a real socket.

For each of the six services (its own API, its RulePackService and its EventSinkService when it has one),
every request variant of ``corpus.variants`` and every pack of ``corpus.HOSTILE_PACKS`` must be refused
with INVALID_ARGUMENT (naming the field, with a google.rpc.BadRequest detail, or naming the pack's line and
rule), while the process stays alive and healthy, its peak memory stays under a generous bound, no call
takes long, and nothing is written to its database.
"""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from google.protobuf import descriptor_pool
from google.rpc import error_details_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_status import rpc_status

import covenant.events.v1.event_pb2
import covenant.rules.v1.rule_pack_service_pb2 as rpb
from covenant.services import SERVICES as SERVICE_INFO
from tests.hostile.corpus import (
    HOSTILE_PACKS,
    SERVICES,
    SHARED,
    catastrophic_regex_pack,
    engine_limit_pack,
    message_class,
    variants,
)

ROOT = Path(__file__).resolve().parents[2]
PEAK_RSS_MB = 1024  # generous: a service idles at ~150 MB; the alias bomb alone cost 1.2 GiB before
CALL_SECONDS = 10.0  # generous per call on a loaded 2-core machine; a hang or a backtracking regex fails

pytestmark = pytest.mark.slow
assert covenant.events.v1.event_pb2  # registers the EventSinkService descriptor


def _import_protos() -> None:
    import importlib
    import pkgutil

    import covenant

    for m in pkgutil.walk_packages(covenant.__path__, "covenant."):
        if m.name.endswith("_pb2"):
            importlib.import_module(m.name)


_import_protos()
POOL = descriptor_pool.Default()


class Service:
    """One service in a subprocess (``tests.support.serve``), dev auth, SQLite."""

    def __init__(self, name: str, data_dir: Path) -> None:
        self.name = name
        self.db = data_dir / f"{name}.db"
        env = {k: v for k, v in os.environ.items() if not k.startswith("COVENANT_")}
        env.update(
            {
                "COVENANT_DATA_DIR": str(data_dir),
                f"COVENANT_{name.upper()}_DB_URL": f"sqlite:///{self.db}",
                "COVENANT_LISTEN": "127.0.0.1:0",
                "COVENANT_AUTH_MODE": "dev",
                "COVENANT_LOG_LEVEL": "ERROR",
                "COVENANT_LOG_FORMAT": "text",
                "COVENANT_RELAY_INTERVAL_SECONDS": "3600",
                "COVENANT_GRACE_SECONDS": "1",
                **{f"COVENANT_{other.upper()}_TARGET": "127.0.0.1:9" for other in SERVICE_INFO},
            }
        )
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.support.serve", name],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        port = self.proc.stdout.readline().strip() if self.proc.stdout else ""
        assert port.isdigit(), f"{name} did not start"
        self.channel = grpc.insecure_channel(
            f"127.0.0.1:{port}",
            options=[
                ("grpc.max_send_message_length", 64 << 20),
                ("grpc.max_receive_message_length", 64 << 20),
            ],
        )
        grpc.channel_ready_future(self.channel).result(timeout=30)

    def alive(self) -> bool:
        if self.proc.poll() is not None:
            return False
        health = health_pb2_grpc.HealthStub(self.channel)
        reply = health.Check(health_pb2.HealthCheckRequest(), timeout=10)
        return reply.status == health_pb2.HealthCheckResponse.SERVING

    def peak_rss_mb(self) -> float:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        return 0.0

    def rows(self) -> dict[str, int]:
        with sqlite3.connect(f"file:{self.db}?mode=ro", uri=True) as db:
            tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
            return {t: db.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables}

    def call(self, method, request, reply: list | None = None) -> grpc.RpcError | None:
        """Send ``request`` (a list for client-streaming methods); the error, or None when it succeeded
        (the response is appended to ``reply``)."""
        path = f"/{method.containing_service.full_name}/{method.name}"
        response_class = message_class(method.output_type)
        kwargs = {
            "request_serializer": lambda m: m.SerializeToString(),
            "response_deserializer": response_class.FromString,
        }
        started = time.perf_counter()
        try:
            if method.client_streaming and method.server_streaming:
                list(self.channel.stream_stream(path, **kwargs)(iter(request), timeout=CALL_SECONDS * 3))
            elif method.client_streaming:
                self.channel.stream_unary(path, **kwargs)(iter(request), timeout=CALL_SECONDS * 3)
            else:
                response = self.channel.unary_unary(path, **kwargs)(request, timeout=CALL_SECONDS * 3)
                if reply is not None:
                    reply.append(response)
            return None
        except grpc.RpcError as exc:
            return exc
        finally:
            elapsed = time.perf_counter() - started
            assert elapsed < CALL_SECONDS, f"{path} took {elapsed:.1f} s"

    def stop(self) -> None:
        self.channel.close()
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def violations_of(error: grpc.RpcError) -> list[str]:
    status = rpc_status.from_call(error)
    fields: list[str] = []
    for detail in status.details if status else []:
        bad = error_details_pb2.BadRequest()
        if detail.Unpack(bad):
            fields += [v.field for v in bad.field_violations]
    return fields


@pytest.fixture(scope="module", params=list(SERVICES))
def service(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    svc = Service(request.param, tmp_path_factory.mktemp(request.param))
    try:
        yield svc
    finally:
        svc.stop()


def _methods(service: Service) -> Iterator:
    for name in [*SERVICES[service.name], *SHARED]:
        yield from POOL.FindServiceByName(name).methods


def test_hostile_requests_are_refused_by_field_and_the_service_survives(service: Service) -> None:
    before = service.rows()
    refused = 0
    failures: list[str] = []
    for method in _methods(service):
        for path, what, request in variants(method.input_type):
            error = service.call(method, [request] if method.client_streaming else request)
            if error is not None and error.code() == grpc.StatusCode.UNIMPLEMENTED:
                break  # this service has no event sink
            where = f"{method.full_name} {path} ({what})"
            if error is None or error.code() != grpc.StatusCode.INVALID_ARGUMENT:
                failures.append(
                    f"{where}: {error.code().name if error else 'OK'} {error.details() if error else ''}"
                )
                continue
            named = [*violations_of(error), error.details() or ""]
            field = re.findall(r"[A-Za-z_]\w*", path)[-1]
            if not any(field in n for n in named):
                failures.append(f"{where}: INVALID_ARGUMENT does not name {field}: {error.details()}")
            refused += 1
    assert not failures, "\n".join(failures[:30])
    assert refused > 30
    assert service.alive()
    assert service.peak_rss_mb() < PEAK_RSS_MB
    assert service.rows() == before, "a refused request wrote something"


def test_undecodable_bytes_and_structs_past_the_decoder_limit_are_invalid_argument(service: Service) -> None:
    method = POOL.FindServiceByName("covenant.rules.v1.RulePackService").methods_by_name["ValidateRulePack"]
    path = f"/{method.containing_service.full_name}/{method.name}"
    raw = service.channel.unary_unary(path, request_serializer=lambda b: b, response_deserializer=lambda b: b)
    with pytest.raises(grpc.RpcError) as info:
        raw(b"\xff\xff\xff\xff", timeout=CALL_SECONDS)
    assert (
        info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        and "not a valid request" in info.value.details()
    )
    dry = POOL.FindServiceByName("covenant.rules.v1.RulePackService").methods_by_name["DryRunRulePack"]
    request = rpb.DryRunRulePackRequest(candidate_yaml="id: x")
    node = request.inputs.add().facts
    for _ in range(200):
        node = node.fields["x"].struct_value
    error = service.call(dry, request)
    assert error is not None and error.code() == grpc.StatusCode.INVALID_ARGUMENT, error
    assert service.alive()


def test_hostile_packs_are_refused_naming_line_and_rule(service: Service) -> None:
    before = service.rows()
    stub_method = POOL.FindServiceByName("covenant.rules.v1.RulePackService").methods_by_name
    for case, text, words in HOSTILE_PACKS:
        source = text.replace("{service}", service.name)
        for rpc in ("ValidateRulePack", "PublishRulePack"):
            request = message_class(stub_method[rpc].input_type)(source_yaml=source)
            reply: list = []
            error = service.call(stub_method[rpc], request, reply)
            if error is None:  # ValidateRulePack answers a refused pack with valid=false and the problems
                assert rpc == "ValidateRulePack" and not reply[0].valid, f"{case}: {rpc} accepted it"
                refusal = "; ".join(reply[0].problems)
            else:
                assert error.code() == grpc.StatusCode.INVALID_ARGUMENT, (
                    f"{case}: {error.code()} {error.details()}"
                )
                refusal = error.details()
            for word in words:
                assert word in refusal, f"{case}: {word!r} not in {refusal!r}"
    assert service.alive()
    assert service.peak_rss_mb() < PEAK_RSS_MB
    assert service.rows() == before


def test_a_pack_past_the_engine_limit_is_refused_without_hanging(service: Service) -> None:
    method = POOL.FindServiceByName("covenant.rules.v1.RulePackService").methods_by_name["ValidateRulePack"]
    reply: list = []
    assert (
        service.call(method, rpb.ValidateRulePackRequest(source_yaml=engine_limit_pack(service.name)), reply)
        is None
    )
    assert not reply[0].valid
    if service.name == "attendance":  # the one vocabulary with a parameterless action the pack can use
        assert "rule a512 (line" in reply[0].problems[0] and "more than 512" in reply[0].problems[0]
    assert service.alive()


def test_a_catastrophic_regex_runs_in_linear_time(service: Service) -> None:
    method = POOL.FindServiceByName("covenant.rules.v1.RulePackService").methods_by_name["ValidateRulePack"]
    reply: list = []
    started = time.perf_counter()
    request = rpb.ValidateRulePackRequest(source_yaml=catastrophic_regex_pack(service.name))
    assert service.call(method, request, reply) is None
    assert time.perf_counter() - started < CALL_SECONDS
    if service.name == "attendance":  # the pack's own test ran the regex over the 15,000-character text
        assert reply[0].valid and reply[0].tests_passed == 1, reply[0].problems
    assert service.alive()
