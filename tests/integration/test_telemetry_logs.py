"""Call logs, spans and rule-pack compile failures: one JSON line per call at INFO with method, status,
duration, principal and the trace id of the call's span (no tokens, no request data), sampling; spans for rule
evaluation, outbox delivery (linked to the producing requests' traces) and inbox apply; and the
``covenant.rules.compile_failures`` counter when a replica cannot compile the active version."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from covenant.attendance.v1 import attendance_pb2 as apb
from covenant.attendance.v1 import attendance_pb2_grpc
from covenant.common.v1.common_pb2 import GeoPoint
from covenant.grpc.testing import bearer, running_platform, running_service
from covenant.telemetry import JsonFormatter, ensure_tracer_provider, export_spans
from tests.support.directory import employee, publish_employees
from tests.support.metrics import local, plant_compile_failure
from tests.support.ports import free_port

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
PLACE = apb.ClientPlace(
    client_id="CLIENT-7", name="秘密客户", location=GeoPoint(latitude=22.5, longitude=114.0)
)


class Lines(logging.Handler):
    """Collects formatted records of the ``covenant.grpc`` logger."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(JsonFormatter("attendance"))
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))

    def calls(self, level: str = "INFO") -> list[dict]:
        return [d for d in map(json.loads, self.lines) if d["level"] == level and d["msg"].startswith("rpc ")]


@pytest.fixture
def lines() -> Iterator[Lines]:
    handler = Lines()
    logger = logging.getLogger("covenant.grpc")
    old = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    yield handler
    logger.removeHandler(handler)
    logger.setLevel(old)


@pytest.fixture
def spans() -> InMemorySpanExporter:
    ensure_tracer_provider()
    exporter = InMemorySpanExporter()
    export_spans(SimpleSpanProcessor(exporter))
    return exporter


def test_one_info_line_per_call_with_the_span_trace_id_and_no_request_data(
    tmp_path: Path, lines: Lines, spans: InMemorySpanExporter
) -> None:
    with running_service("attendance", db_url=f"sqlite:///{tmp_path / 'a.db'}", data_dir=tmp_path) as svc:
        token = svc.tokens.admin()
        stub = attendance_pb2_grpc.AttendanceServiceStub(svc.channel)
        traceparent = ("traceparent", f"00-{TRACE}-00f067aa0ba902b7-01")
        stub.ImportClientPlaces(
            apb.ImportClientPlacesRequest(places=[PLACE]), metadata=[*bearer(token), traceparent]
        )
        with pytest.raises(grpc.RpcError) as bad:
            stub.IngestPings(apb.IngestPingsRequest(pings=[apb.Ping()]), metadata=bearer(token))
        assert bad.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    ok, failed = lines.calls()[-2:]
    assert ok["method"] == "/covenant.attendance.v1.AttendanceService/ImportClientPlaces"
    assert ok["code"] == "OK" and ok["duration_ms"] >= 0 and ok["principal"] == "users/admin"
    assert ok["trace_id"] == TRACE
    (span,) = [s for s in spans.get_finished_spans() if s.context.span_id == int(ok["span_id"], 16)]
    assert format(span.context.trace_id, "032x") == TRACE and span.kind is trace.SpanKind.SERVER
    assert failed["code"] == "INVALID_ARGUMENT" and failed["method"].endswith("/IngestPings")
    assert failed["trace_id"] and failed["trace_id"] != TRACE
    joined = "\n".join(lines.lines)
    assert token not in joined and "CLIENT-7" not in joined and "秘密客户" not in joined


def test_sampling_drops_successful_call_lines_but_never_failures(tmp_path: Path, lines: Lines) -> None:
    env = {"COVENANT_LOG_SAMPLE_RATE": "0"}
    with running_service(
        "attendance", db_url=f"sqlite:///{tmp_path / 'a.db'}", data_dir=tmp_path, env=env
    ) as svc:
        md = bearer(svc.tokens.admin())
        stub = attendance_pb2_grpc.AttendanceServiceStub(svc.channel)
        for _ in range(5):
            stub.ImportClientPlaces(apb.ImportClientPlacesRequest(places=[PLACE]), metadata=md)
        with pytest.raises(grpc.RpcError):
            stub.IngestPings(apb.IngestPingsRequest(pings=[apb.Ping()]), metadata=md)
    assert [d["code"] for d in lines.calls()] == ["INVALID_ARGUMENT"]


def test_health_checks_log_at_debug_only(tmp_path: Path, lines: Lines) -> None:
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    with running_service("attendance", db_url=f"sqlite:///{tmp_path / 'a.db'}", data_dir=tmp_path) as svc:
        health_pb2_grpc.HealthStub(svc.channel).Check(health_pb2.HealthCheckRequest())
    assert not [d for d in lines.calls() if "Health" in d["method"]]
    assert [d for d in lines.calls("DEBUG") if d["method"] == "/grpc.health.v1.Health/Check"]


def test_a_replica_that_cannot_compile_the_active_version_counts_a_compile_failure(sqlite_url: str) -> None:
    labels = {"service": "points", "pack": "awards"}
    before = local().value("covenant_rules_compile_failures_total", **labels)
    plant_compile_failure(sqlite_url)  # the publishing replica compiles it; the stale one cannot
    assert local().value("covenant_rules_compile_failures_total", **labels) == before + 1


def test_spans_for_rule_evaluation_outbox_delivery_and_inbox_apply(
    tmp_path: Path, spans: InMemorySpanExporter
) -> None:
    closed = f"127.0.0.1:{free_port()}"
    env = {"COVENANT_SCORING_TARGET": closed, "COVENANT_COMPLIANCE_TARGET": closed}
    urls = {n: f"sqlite:///{tmp_path / (n + '.db')}" for n in ("attendance", "points")}
    with running_platform(["attendance", "points"], db_urls=urls, data_dir=tmp_path, env=env) as p:
        for name in ("attendance", "points"):  # no identity here: feed each directory as identity does
            publish_employees(p[name], [employee("E1", "/hq/t", "x")])
        md = [*bearer(p.tokens.admin()), ("traceparent", f"00-{TRACE}-00f067aa0ba902b7-01")]
        stub = attendance_pb2_grpc.AttendanceServiceStub(p["attendance"].channel)
        stub.ImportClientPlaces(
            apb.ImportClientPlacesRequest(places=[PLACE]), metadata=bearer(p.tokens.admin())
        )
        ping = apb.Ping(
            employee_id="E1", org_unit="/hq/t", device_id="d", location=PLACE.location, accuracy_m=5, role="x"
        )
        ping.time.GetCurrentTime()
        assert stub.CheckIn(apb.CheckInRequest(client_id="CLIENT-7", ping=ping), metadata=md).verified

        def named(name: str) -> list:
            return [s for s in spans.get_finished_spans() if s.name == name]

        def delivered() -> list:  # a failed attempt (points still starting) ends in an error span
            return [
                s
                for s in named("outbox deliver")
                if s.attributes["destination"] == "points" and s.status.is_ok
            ]

        def failed() -> list:  # scoring's target is closed: its batches fail
            return [s for s in named("outbox deliver") if not s.status.is_ok]

        deadline = time.monotonic() + 20  # the relay's span ends after the consumer's: wait for both
        while not (
            [s for s in named("inbox apply") if s.attributes.get("consumer") == "points"]
            and delivered()
            and [s for s in failed() if s.attributes["destination"] == "scoring"]
        ):
            assert time.monotonic() < deadline, "no inbox apply, successful delivery or failed delivery span"
            time.sleep(0.1)
        assert all(
            s.attributes["covenant.outbox.delivered"] == 0 and "UNAVAILABLE" in s.status.description
            for s in failed()
        )
    trace_of = lambda s: format(s.context.trace_id, "032x")  # noqa: E731
    evaluated = named("rules evaluate") + named("rules evaluate batch")  # one per evaluation, or per unit
    (attendance,) = [s for s in evaluated if s.attributes["service"] == "attendance" and trace_of(s) == TRACE]
    assert attendance.attributes["covenant.rules.fired"] >= 1
    (delivery,) = [
        s for s in delivered() if any(format(k.context.trace_id, "032x") == TRACE for k in s.links)
    ]
    assert (
        delivery.attributes["source"] == "attendance"
        and delivery.attributes["covenant.outbox.delivered"] >= 1
    )
    (apply,) = [s for s in named("inbox apply") if s.context.trace_id == delivery.context.trace_id]
    assert apply.attributes["consumer"] == "points"  # the consumer's span joins the relay's trace over gRPC
    # points evaluates the visit event: in the request's trace when it came alone (applied event by event),
    # in the delivery's trace (which links to the request's) when it came in a batch with others
    assert [
        s
        for s in evaluated
        if s.attributes["service"] == "points"
        and s.context.trace_id in (int(TRACE, 16), delivery.context.trace_id)
    ]
    consumed = [
        s for s in spans.get_finished_spans() if s.name.startswith("consume ") and trace_of(s) == TRACE
    ]
    assert consumed  # and each event is applied in the trace of the request that produced it
