"""OpenTelemetry set-up and structured logging with trace correlation.

``setup(settings)`` configures the tracer provider (exporter ``none``, ``console`` or ``otlp`` by
COVENANT_OTEL_EXPORTER; the OTLP endpoint comes from the standard OTEL_EXPORTER_OTLP_ENDPOINT) and JSON
logs whose records carry ``trace_id``/``span_id`` of the active span. Spans are recorded only while
something exports them (``sampler``): with exporter ``none`` trace ids are still made and carried, for the
logs, but no span is built for nobody. Trace context crosses services in
gRPC metadata (instrumented channels and servers) and inside the event envelope (``traceparent``), so
one trace spans an event's whole journey: ``context_from_event(event)`` restores it on the consumer.
With COVENANT_METRICS_PORT set, ``setup`` installs the OpenTelemetry meter provider (``telemetry.metrics``)
and serves its Prometheus exposition on that port (``/metrics``); with the ``otlp`` exporter metrics are
also pushed over OTLP. docs/operations.md lists every metric, alert and log field.
"""

from __future__ import annotations

import json
import logging
import sys
import threading
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter
from opentelemetry.sdk.trace.id_generator import IdGenerator
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, ALWAYS_ON, ParentBased, Sampler, SamplingResult

from covenant.randomness import RANDOM

if TYPE_CHECKING:
    from covenant.events.v1.event_pb2 import Event
    from covenant.settings import Settings

_setup_lock = threading.Lock()
_configured = False
_exporting = False  # a span processor takes this process's spans (``export_spans``)


class _WhileExported(Sampler):
    """Root spans are recorded while a span processor takes them (``export_spans``), else dropped: with
    exporter ``none`` a recorded span goes nowhere, yet building it costs every call (about 2 % of unary
    check-in throughput, benchmarks/e2e.py). A dropped span still has a real trace id, which logs and event
    envelopes carry on."""

    def should_sample(self, *args: Any, **kwargs: Any) -> SamplingResult:
        return (ALWAYS_ON if _exporting else ALWAYS_OFF).should_sample(*args, **kwargs)

    def get_description(self) -> str:
        return "WhileExported"


class _OwnIds(IdGenerator):
    """The SDK's random ids, drawn from ``covenant.randomness.RANDOM``: the SDK's default draws from the
    process-wide ``random`` state, which code that seeds or replays it (property-based tests) then sees
    drawn by every call's span."""

    def generate_span_id(self) -> int:
        while not (span_id := RANDOM.getrandbits(64)):
            pass
        return span_id

    def generate_trace_id(self) -> int:
        while not (trace_id := RANDOM.getrandbits(128)):
            pass
        return trace_id


def tracer_provider(env: Mapping[str, str], resource: Resource | None = None) -> TracerProvider:
    """An SDK tracer provider with this module's sampler and ids."""
    return TracerProvider(resource=resource, sampler=sampler(env), id_generator=_OwnIds())


def sampler(env: Mapping[str, str]) -> Sampler | None:
    """The tracer provider's sampler: the one OTEL_TRACES_SAMPLER names (None: the SDK reads it), else a
    sampled parent's decision is kept (a span of a trace recorded upstream is recorded here too) and a new
    trace is recorded while exported."""
    if env.get("OTEL_TRACES_SAMPLER"):
        return None
    return ParentBased(root=_WhileExported())


def export_spans(processor: SpanProcessor) -> None:
    """Hand the spans of the installed SDK tracer provider to ``processor`` (an exporter's), and record
    them from now on."""
    global _exporting
    provider = trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):
        raise RuntimeError("no SDK tracer provider is installed (telemetry.setup)")
    provider.add_span_processor(processor)
    _exporting = True


_metrics_lock = threading.Lock()
_service_info: Any = None


def setup(settings: Settings) -> None:
    """Configure tracing and logging once per process."""
    global _configured
    with _setup_lock:
        if _configured:
            return
        resource = Resource.create({"service.name": f"covenant-{settings.service}"})
        trace.set_tracer_provider(tracer_provider(settings.env, resource))
        if settings.otel_exporter == "console":
            export_spans(BatchSpanProcessor(ConsoleSpanExporter(out=sys.stderr)))
        elif settings.otel_exporter == "otlp":
            from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

            export_spans(BatchSpanProcessor(OTLPSpanExporter()))
        setup_logging(settings.log_level, settings.log_format, settings.service)
        port = settings.env.get("COVENANT_METRICS_PORT")
        if port or settings.otel_exporter == "otlp":
            from covenant.telemetry.metrics import install

            install(settings.service, prometheus=bool(port), otlp=settings.otel_exporter == "otlp")
        if port:
            start_metrics_server(int(port), settings.service)
        _configured = True


def start_metrics_server(port: int, service: str, addr: str = "0.0.0.0") -> int:
    """Serve Prometheus metrics over HTTP (``/metrics``: process, GC and Python collectors plus
    ``covenant_service_info``) on ``port`` (0 = any free port); returns the bound port."""
    import prometheus_client

    global _service_info
    with _metrics_lock:
        if _service_info is None:  # one per process: the default registry refuses duplicates
            _service_info = prometheus_client.Info(
                "covenant_service", "The Covenant service this process runs"
            )
    _service_info.info({"service": service})
    server, _ = prometheus_client.start_http_server(port, addr=addr)
    return int(server.server_port)


def ensure_tracer_provider() -> None:
    """Install an SDK tracer provider (no exporter) if none is set, so trace ids are real in tests."""
    if not isinstance(trace.get_tracer_provider(), TracerProvider):
        trace.set_tracer_provider(tracer_provider({}))


class JsonFormatter(logging.Formatter):
    """One JSON object per line, with the active trace and span ids."""

    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname,
            "service": self.service,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        span = trace.get_current_span().get_span_context()
        if span.is_valid:
            out["trace_id"] = format(span.trace_id, "032x")
            out["span_id"] = format(span.span_id, "016x")
        extra = getattr(record, "fields", None)
        if isinstance(extra, Mapping):
            out.update(extra)
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False, default=str)


def setup_logging(level: str, fmt: str, service: str) -> None:
    """Route the root logger to stderr as JSON (or plain text)."""
    handler = logging.StreamHandler(sys.stderr)
    if fmt == "json":
        handler.setFormatter(JsonFormatter(service))
    else:
        handler.setFormatter(logging.Formatter(f"%(asctime)s {service} %(levelname)s %(name)s %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())


def current_trace_id() -> str:
    """Hex trace id of the active span, or empty."""
    ctx = trace.get_current_span().get_span_context()
    return format(ctx.trace_id, "032x") if ctx.is_valid else ""


# Events being consumed as one batch, by id: an event produced "because of" one of them joins its trace.
_consumed: ContextVar[Mapping[str, Event] | None] = ContextVar("covenant_consumed_events", default=None)


@contextmanager
def consuming(events: Iterable[Event]) -> Iterator[None]:
    """Mark ``events`` as the batch being applied, for ``inject_into_event(..., caused_by=id)``."""
    token = _consumed.set({e.id: e for e in events})
    try:
        yield
    finally:
        _consumed.reset(token)


def inject_into_event(event: Event, caused_by: str = "") -> None:
    """Copy the trace context into the event envelope: that of the consumed event ``caused_by`` when it is
    part of the batch being applied (see ``consuming``), otherwise the active span's."""
    cause = (_consumed.get() or {}).get(caused_by) if caused_by else None
    if cause is not None and cause.traceparent:
        event.traceparent, event.tracestate = cause.traceparent, cause.tracestate
        return
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    event.traceparent = carrier.get("traceparent", "")
    event.tracestate = carrier.get("tracestate", "")


def context_from_event(event: Event) -> otel_context.Context:
    """The trace context an event carries, for starting the consumer's span as its child."""
    carrier = {"traceparent": event.traceparent}
    if event.tracestate:
        carrier["tracestate"] = event.tracestate
    return propagate.extract(carrier)


def trace_id_of(event: Event) -> str:
    """The trace id in an event's traceparent (``00-<trace>-<span>-<flags>``), or empty."""
    parts = event.traceparent.split("-")
    return parts[1] if len(parts) == 4 else ""


tracer = trace.get_tracer("covenant")
