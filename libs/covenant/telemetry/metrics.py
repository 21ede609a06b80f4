"""Covenant's metrics, through OpenTelemetry (the catalogue is in docs/operations.md).

``install(service, prometheus=..., otlp=...)`` sets the SDK ``MeterProvider`` once per process: a
``PrometheusMetricReader`` (its collector joins prometheus_client's default registry, which
``start_metrics_server`` serves on ``COVENANT_METRICS_PORT``) and, with ``COVENANT_OTEL_EXPORTER=otlp``, an
OTLP exporter. Until then every instrument here is the API's no-op proxy, so code records freely.

Instruments are created once, here, from the ``covenant`` meter. Gauges that read state (outbox backlog,
active pack versions, pool use, domain gauges) are observable: a source registers a callback with
``observe(family, fn)`` and removes it with the returned handle when it stops. Label values are bounded
sets (services, destinations, pack and rule ids, status codes, severities), never employee or event ids.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from opentelemetry import metrics
from opentelemetry.metrics import CallbackOptions, Observation
from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)

METER = metrics.get_meter("covenant")

MS_BUCKETS = (0.25, 0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000)
FAST_MS_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 100)

_install_lock = threading.Lock()
_installed = False


def install(service: str, *, prometheus: bool = True, otlp: bool = False) -> bool:
    """Install the SDK meter provider (once per process); returns False when one was already installed."""
    global _installed
    with _install_lock:
        if _installed:
            return False
        from opentelemetry.sdk.metrics import MeterProvider
        from opentelemetry.sdk.resources import Resource

        readers: list[Any] = []
        if prometheus:
            from opentelemetry.exporter.prometheus import PrometheusMetricReader

            readers.append(PrometheusMetricReader())
        if otlp:
            from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter
            from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader

            readers.append(PeriodicExportingMetricReader(OTLPMetricExporter()))
        resource = Resource.create({"service.name": f"covenant-{service}"})
        metrics.set_meter_provider(MeterProvider(metric_readers=readers, resource=resource))
        _installed = True
        return True


# -- observable families: sources register callbacks ------------------------------------------------
Source = Callable[[], Iterable[tuple[float, Mapping[str, str]]]]


class _Family:
    """One observable instrument fed by any number of registered sources."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._sources: dict[int, Source] = {}
        self._lock = threading.Lock()
        self._next = 0

    def add(self, fn: Source) -> Callable[[], None]:
        with self._lock:
            key = self._next
            self._next += 1
            self._sources[key] = fn

        def remove() -> None:
            with self._lock:
                self._sources.pop(key, None)

        return remove

    def __call__(self, _options: CallbackOptions) -> Iterable[Observation]:
        with self._lock:
            sources = list(self._sources.values())
        out: list[Observation] = []
        for fn in sources:
            try:
                out.extend(Observation(value, dict(attrs)) for value, attrs in fn())
            except Exception:  # one broken source must not hide the others
                log.warning("metric source for %s failed", self.name, exc_info=True)
        return out


_families: dict[str, _Family] = {}


def _counter(name: str, unit: str, description: str) -> Any:
    return METER.create_counter(name, unit=unit, description=description)


def _histogram(name: str, unit: str, description: str, buckets: Sequence[float]) -> Any:
    return METER.create_histogram(
        name, unit=unit, description=description, explicit_bucket_boundaries_advisory=buckets
    )


def _gauge(name: str, unit: str, description: str) -> _Family:
    family = _families[name] = _Family(name)
    METER.create_observable_gauge(name, [family], unit=unit, description=description)
    return family


def observe(name: str, fn: Source) -> Callable[[], None]:
    """Feed the observable gauge ``name`` from ``fn`` (``[(value, labels), ...]``); returns the remover."""
    return _families[name].add(fn)


# -- RPC (OpenTelemetry semantic conventions for gRPC) ----------------------------------------------
RPC_SERVER_DURATION = _histogram(
    "rpc.server.duration",
    "ms",
    "Duration of inbound gRPC calls, by service, method and status code",
    MS_BUCKETS,
)
RPC_CLIENT_DURATION = _histogram(
    "rpc.client.duration",
    "ms",
    "Duration of outbound gRPC calls, by service, method and status code",
    MS_BUCKETS,
)


def rpc_attributes(full_method: str, code: int) -> dict[str, Any]:
    """``/pkg.Service/Method`` and a status code as the semantic-convention attributes."""
    _, _, rest = full_method.partition("/")
    service, _, method = rest.partition("/")
    return {"rpc.system": "grpc", "rpc.service": service, "rpc.method": method, "rpc.grpc.status_code": code}


# -- outbox and inbox ----------------------------------------------------------------------------------
OUTBOX_DELIVERED = _counter("covenant.outbox.delivered", "{event}", "Outbox rows delivered, per destination")
OUTBOX_FAILED = _counter("covenant.outbox.failed", "{event}", "Outbox rows whose delivery attempt failed")
OUTBOX_RETRIED = _counter(
    "covenant.outbox.retried", "{event}", "Outbox rows sent again after a failed attempt"
)
OUTBOX_BACKLOG = _gauge("covenant.outbox.backlog", "{event}", "Undelivered outbox rows per destination")
OUTBOX_OLDEST_AGE = _gauge(
    "covenant.outbox.oldest_age", "s", "Age of the oldest undelivered outbox row per destination (0 if none)"
)
OUTBOX_POISON = _gauge(
    "covenant.outbox.poison",
    "{event}",
    "Undelivered rows that failed at least the poison threshold of attempts (parked at maximum backoff)",
)
INBOX_DUPLICATES = _counter(
    "covenant.inbox.duplicates", "{event}", "Delivered events dropped as already applied"
)
INBOX_APPLIED = _counter("covenant.inbox.applied", "{event}", "Delivered events applied for the first time")
INBOX_APPLY_DURATION = _histogram(
    "covenant.inbox.apply.duration",
    "ms",
    "Time a consumer takes to apply one delivered batch, by outcome",
    MS_BUCKETS,
)

# -- rules ----------------------------------------------------------------------------------------------
RULE_EVALUATIONS = _counter(
    "covenant.rules.evaluations", "{evaluation}", "Events evaluated, per pack and version"
)
RULE_HITS = _counter("covenant.rules.hits", "{hit}", "Rules that fired, per pack, version and rule")
RULE_EVALUATION_DURATION = _histogram(
    "covenant.rules.evaluation.duration",
    "ms",
    "Time to evaluate one event against the service's active packs",
    FAST_MS_BUCKETS,
)
RULE_COMPILE_FAILURES = _counter(
    "covenant.rules.compile_failures",
    "{failure}",
    "Active pack versions this replica could not compile (it keeps the last good one)",
)
RULES_ACTIVE_PACK = _gauge(
    "covenant.rules.active_pack", "1", "1 for each (service, pack, version) active on this replica"
)

# -- database -------------------------------------------------------------------------------------------
DB_OPERATION_DURATION = _histogram(
    "db.client.operation.duration", "ms", "Duration of database statements, by pool and operation", MS_BUCKETS
)
DB_CONNECTIONS_USAGE = _gauge(
    "db.client.connections.usage", "{connection}", "Pool connections by state (used, idle)"
)
DB_CONNECTIONS_MAX = _gauge("db.client.connections.max", "{connection}", "Pool size limit (with overflow)")

# -- domain ---------------------------------------------------------------------------------------------
PINGS_INGESTED = _counter(
    "covenant.attendance.pings_ingested", "{ping}", "Location pings stored (no duplicates)"
)
CHECK_INS = _counter("covenant.attendance.check_ins", "{check_in}", "Check-ins recorded, by result")
POINTS_AWARDED = _counter(
    "covenant.points.awarded", "{point}", "Points credited to the ledger, by entry kind"
)
OPEN_CASES = _gauge("covenant.compliance.open_cases", "{case}", "Open compliance cases by severity and age")
OLDEST_OPEN_CASE = _gauge(
    "covenant.compliance.oldest_open_case_age", "s", "Age of the oldest open case per severity"
)
COMMITMENTS = _gauge(
    "covenant.commitments.open", "{commitment}", "Open commitments: due within 24 h, overdue, later"
)
SCHEDULER_LAG = _gauge(
    "covenant.commitments.scheduler_lag", "s", "How far behind the oldest unfired due timer is (0 if none)"
)


_PENDING = "covenant.metrics.pending"  # session.info: (counter, attributes) -> value to add at the commit


def add_on_commit(session: Session, counter: Any, value: float, attributes: Mapping[str, str]) -> None:
    """Add ``value`` to ``counter`` when ``session``'s transaction commits (never for a rollback). A
    transaction's additions are summed per counter and attributes and added by the listeners below, set once
    on every Session (listeners of one session cost about 30 µs each to set: a batch of 200 check-ins set
    200, a unary check-in two)."""
    if not value:
        return
    pending = session.info.get(_PENDING)
    if pending is None:
        pending = session.info[_PENDING] = {}
    key = (counter, tuple(sorted(attributes.items())))
    pending[key] = pending.get(key, 0) + value


@sa_event.listens_for(Session, "after_commit")
def _add_pending(session: Session) -> None:
    pending = session.info.get(_PENDING)
    if pending:
        for (counter, attributes), value in pending.items():
            counter.add(value, dict(attributes))
        pending.clear()


@sa_event.listens_for(Session, "after_rollback")
def _drop_pending(session: Session) -> None:
    pending = session.info.get(_PENDING)
    if pending:
        pending.clear()


def cached(fn: Callable[[], Any], seconds: float = 1.0) -> Callable[[], Any]:
    """``fn`` whose result is reused for ``seconds`` (several gauges read one query per scrape)."""
    lock = threading.Lock()
    state: list[Any] = [float("-inf"), None]

    def get() -> Any:
        with lock:
            if time.monotonic() - state[0] >= seconds:
                state[1] = fn()
                state[0] = time.monotonic()
            return state[1]

    return get


def remover(removers: list[Callable[[], None]]) -> Callable[[], None]:
    """One function calling every remover in ``removers``."""

    def remove() -> None:
        for r in removers:
            r()

    return remove
