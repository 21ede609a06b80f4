"""Spans are recorded only while something exports them (``covenant.telemetry.sampler``): with exporter
``none`` a new trace gets a real trace id but no recorded span; a span processor switches recording on; a
sampled parent from upstream is recorded anyway; OTEL_TRACES_SAMPLER, when set, is the SDK's to apply.
Span and trace ids leave the process-wide ``random`` state alone."""

from __future__ import annotations

import random
from collections.abc import Iterator

import pytest
from opentelemetry import trace
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags

from covenant import telemetry


@pytest.fixture
def exporting(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(telemetry, "_exporting", False)
    yield


def _tracer() -> trace.Tracer:
    return telemetry.tracer_provider({}).get_tracer("probe")


def test_a_new_trace_is_not_recorded_while_nothing_exports_yet_has_a_trace_id(exporting: None) -> None:
    with _tracer().start_as_current_span("call") as span:
        assert not span.is_recording()
        assert span.get_span_context().is_valid
        assert telemetry.current_trace_id() == format(span.get_span_context().trace_id, "032x")


def test_a_new_trace_is_recorded_while_exported(exporting: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(telemetry, "_exporting", True)
    with _tracer().start_as_current_span("call") as span:
        assert span.is_recording()


def test_a_trace_recorded_upstream_is_recorded_here_too(exporting: None) -> None:
    upstream = SpanContext(0x1234, 0x5678, is_remote=True, trace_flags=TraceFlags(TraceFlags.SAMPLED))
    parent = trace.set_span_in_context(NonRecordingSpan(upstream))
    with _tracer().start_as_current_span("call", context=parent) as span:
        assert span.is_recording() and span.get_span_context().trace_id == 0x1234


def test_otel_traces_sampler_is_left_to_the_sdk() -> None:
    assert telemetry.sampler({"OTEL_TRACES_SAMPLER": "always_on"}) is None


def test_ids_are_drawn_without_touching_the_process_wide_random_state(exporting: None) -> None:
    random.seed(7)
    state = random.getstate()
    with _tracer().start_as_current_span("call") as span, _tracer().start_as_current_span("child"):
        assert span.get_span_context().is_valid
    assert random.getstate() == state
