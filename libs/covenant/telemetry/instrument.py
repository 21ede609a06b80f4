"""Hooks that feed ``covenant.telemetry.metrics``: database statements and pool, outgoing gRPC calls, and
``ServiceTelemetry``, the background worker a service host runs so that its state-reading gauges (pool use,
active rule packs, the service's domain gauges in ``services/<name>/metrics.py``) report while it serves."""

from __future__ import annotations

import contextlib
import importlib
import logging
import re
import time
import weakref
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import grpc
from sqlalchemy import Engine
from sqlalchemy import event as sa_event

from covenant.telemetry import metrics as m

log = logging.getLogger(__name__)

_OPERATIONS = frozenset(
    {"SELECT", "INSERT", "UPDATE", "DELETE", "WITH", "BEGIN", "COMMIT", "ROLLBACK", "PRAGMA"}
)
_FIRST_WORD = re.compile(r"\s*(\w+)")


def operation_of(statement: str) -> str:
    """The statement's leading keyword when it is a common one, else ``OTHER`` (a bounded label)."""
    match = _FIRST_WORD.match(statement)
    word = match.group(1).upper() if match else ""
    return word if word in _OPERATIONS else "OTHER"


#: The pool name of each instrumented engine, for ``record_statement``.
_pool_names: weakref.WeakKeyDictionary[Engine, str] = weakref.WeakKeyDictionary()


def _record(system: str, pool_name: str, statement: str, started: float, ended: float) -> None:
    m.DB_OPERATION_DURATION.record(
        (ended - started) * 1000,
        {"db.system": system, "pool.name": pool_name, "db.operation.name": operation_of(statement)},
    )


def record_statement(engine: Engine, statement: str, started: float, ended: float) -> None:
    """Record a statement sent on ``engine`` past SQLAlchemy's cursor events (``covenant.db.bulk`` sends
    some through psycopg), from ``started`` until its result came (``time.perf_counter`` values), as
    ``instrument_database`` records the others; nothing when the engine is not instrumented."""
    pool_name = _pool_names.get(engine)
    if pool_name is not None:
        _record(engine.dialect.name, pool_name, statement, started, ended)


def instrument_database(db: Any, pool_name: str) -> Callable[[], None]:
    """Time every statement of ``db`` (a ``covenant.db.engine.Database``) and report its pool use;
    returns a function that removes the hooks."""
    engine = db.engine
    system = engine.dialect.name

    def before(_conn, _cursor, _statement, _params, context, _many) -> None:  # type: ignore[no-untyped-def]
        context._covenant_t0 = time.perf_counter()

    def after(_conn, _cursor, statement, _params, context, _many) -> None:  # type: ignore[no-untyped-def]
        started = getattr(context, "_covenant_t0", None)
        if started is not None:
            _record(system, pool_name, statement, started, time.perf_counter())

    def pool_usage() -> Iterable[tuple[float, Mapping[str, str]]]:
        pool = engine.pool
        used = getattr(pool, "checkedout", lambda: 0)()
        idle = getattr(pool, "checkedin", lambda: 0)()
        return [
            (used, {"pool.name": pool_name, "state": "used"}),
            (idle, {"pool.name": pool_name, "state": "idle"}),
        ]

    def pool_max() -> Iterable[tuple[float, Mapping[str, str]]]:
        pool = engine.pool
        size = getattr(pool, "size", lambda: 0)() + max(0, getattr(pool, "_max_overflow", 0))
        return [(size, {"pool.name": pool_name})]

    sa_event.listen(engine, "before_cursor_execute", before)
    sa_event.listen(engine, "after_cursor_execute", after)
    _pool_names[engine] = pool_name
    removers = [
        m.observe("db.client.connections.usage", pool_usage),
        m.observe("db.client.connections.max", pool_max),
    ]

    def remove() -> None:
        for r in removers:
            r()
        sa_event.remove(engine, "before_cursor_execute", before)
        sa_event.remove(engine, "after_cursor_execute", after)
        _pool_names.pop(engine, None)

    return remove


def observe_active_packs(service: str, runtime: Any) -> Callable[[], None]:
    """Report ``covenant.rules.active_pack`` (1 per active pack version) for a ``RuleRuntime``."""

    def active() -> Iterable[tuple[float, Mapping[str, str]]]:
        return [
            (1, {"service": service, "pack": pack, "version": version})
            for pack, version in sorted(runtime.active_versions().items())
        ]

    return m.observe("covenant.rules.active_pack", active)


class ClientMetricsInterceptor(
    grpc.UnaryUnaryClientInterceptor,
    grpc.UnaryStreamClientInterceptor,
    grpc.StreamUnaryClientInterceptor,
    grpc.StreamStreamClientInterceptor,
):
    """Records ``rpc.client.duration`` for every outgoing call, when it completes."""

    def _timed(self, continuation: Any, details: Any, request: Any) -> Any:
        started = time.perf_counter()
        call = continuation(details, request)

        def done(c: Any) -> None:
            try:
                code = c.code()
            except Exception:  # a call that never got a status
                code = grpc.StatusCode.UNKNOWN
            value = code.value[0] if code is not None else grpc.StatusCode.UNKNOWN.value[0]
            m.RPC_CLIENT_DURATION.record(
                (time.perf_counter() - started) * 1000, m.rpc_attributes(details.method, value)
            )

        with contextlib.suppress(Exception):  # not a future: nothing to time
            call.add_done_callback(done)
        return call

    def intercept_unary_unary(self, continuation, details, request):  # type: ignore[no-untyped-def]
        return self._timed(continuation, details, request)

    def intercept_unary_stream(self, continuation, details, request):  # type: ignore[no-untyped-def]
        return self._timed(continuation, details, request)

    def intercept_stream_unary(self, continuation, details, request_iterator):  # type: ignore[no-untyped-def]
        return self._timed(continuation, details, request_iterator)

    def intercept_stream_stream(self, continuation, details, request_iterator):  # type: ignore[no-untyped-def]
        return self._timed(continuation, details, request_iterator)


def metered_channel(channel: grpc.Channel) -> grpc.Channel:
    """``channel`` with ``rpc.client.duration`` recorded for every call."""
    return grpc.intercept_channel(channel, ClientMetricsInterceptor())


class ServiceTelemetry:
    """Background worker (``start``/``stop``) that registers a running service's state-reading gauges:
    database pool use and statement time, active rule-pack versions and, when the service has
    ``services/<name>/metrics.py``, its domain gauges (``register(db) -> remover``)."""

    def __init__(self, service: str, db: Any, rules: Any = None) -> None:
        self.service = service
        self.db = db
        self.rules = rules
        self._removers: list[Callable[[], None]] = []

    def start(self) -> None:
        if self._removers:
            return
        self._removers.append(instrument_database(self.db, self.service))
        if self.rules is not None:
            self._removers.append(observe_active_packs(self.service, self.rules))
        try:
            domain = importlib.import_module(f"services.{self.service}.metrics")
        except ModuleNotFoundError as exc:
            if exc.name not in ("services", f"services.{self.service}", f"services.{self.service}.metrics"):
                raise
            domain = None
        if domain is not None:
            self._removers.append(domain.register(self.db))

    def stop(self, timeout: float | None = None) -> None:
        while self._removers:
            self._removers.pop()()
