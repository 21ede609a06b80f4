"""How Covenant talks on the wire: TLS, load spreading, keepalive, deadlines and retries.

Settings (environment, read by ``WireSettings.from_env``; TLS variables are in ``covenant.grpc.tls``):

- ``COVENANT_TIMEOUT_<KIND>_SECONDS``: default deadline per call kind: ``READ`` (Get*, List*, Check*,
  ...; 5), ``WRITE`` (single mutations; 10), ``BATCH`` (DeliverEvents, Ingest*, Import*, Record*, ...; 30),
  ``STREAM`` (streaming calls; 300). A deadline the caller sets itself wins.
- ``COVENANT_RETRY_ATTEMPTS``: attempts of an idempotent call failing UNAVAILABLE (4; 1 = no retry).
- ``COVENANT_MAX_CONNECTION_AGE_SECONDS``: servers close connections after this (plus the drain grace),
  so clients re-resolve and reach new replicas (60).
- ``COVENANT_KEEPALIVE_SECONDS``: keepalive ping interval, clients and servers alike (30).
- ``COVENANT_DNS_REFRESH_SECONDS``: minimum time between DNS re-resolutions of a channel (5).
- ``COVENANT_RECONNECT_MAX_BACKOFF_SECONDS``: longest wait between a channel's reconnection attempts to
  a peer that is down (1; gRPC's own default is 120), so a restarted consumer is reached within about a
  second of serving (docs/operations.md).
- ``COVENANT_HEALTH_LISTEN``: an extra plaintext listener serving only grpc.health.v1, for Kubernetes gRPC
  probes when the service port speaks TLS (off).

Every channel uses ``round_robin`` over every address its target resolves to (``dns:///<headless
service>:<port>`` in Kubernetes), gives calls without a deadline their kind's default, and has a gRPC
service config with, for idempotent methods only, a retry policy on UNAVAILABLE. A method is
idempotent when it only reads, or its request carries an ``idempotency_key``/``request_id`` (the
server de-duplicates), or it delivers events (the inbox de-duplicates by event id); every other
mutation is excluded from retries.
"""

from __future__ import annotations

import importlib
import json
import pkgutil
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from covenant.grpc.tls import TlsConfig

CALL_KINDS = ("read", "write", "batch", "stream")
DEFAULT_TIMEOUTS = {"read": 5.0, "write": 10.0, "batch": 30.0, "stream": 300.0}
READ_PREFIXES = (
    "Get",
    "List",
    "CheckPermission",
    "Find",
    "Validate",
    "Test",
    "Diff",
    "DryRun",
    "VerifyAudit",
)
BATCH_PREFIXES = ("Deliver", "Ingest", "Import", "Load", "Compute", "Record", "Scan", "Screen")
IDEMPOTENCY_FIELDS = ("idempotency_key", "request_id")
EVENT_DELIVERY = "covenant.events.v1.EventSinkService"


def _env(env: Mapping[str, str], name: str, default: str) -> str:
    value = env.get(name)
    return value if value not in (None, "") else default


@dataclass(frozen=True)
class WireSettings:
    """Transport settings shared by a process's servers and channels (see module docstring)."""

    tls: TlsConfig = field(default_factory=TlsConfig)
    timeouts: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_TIMEOUTS))
    retry_attempts: int = 4
    max_connection_age_seconds: float = 60.0
    keepalive_seconds: float = 30.0
    dns_refresh_seconds: float = 5.0
    health_listen: str = ""
    reconnect_max_backoff_seconds: float = 1.0

    @classmethod
    def from_env(cls, env: Mapping[str, str], name: str, data_dir: Path) -> WireSettings:
        timeouts = {
            kind: float(_env(env, f"COVENANT_TIMEOUT_{kind.upper()}_SECONDS", str(DEFAULT_TIMEOUTS[kind])))
            for kind in CALL_KINDS
        }
        for kind, value in timeouts.items():
            if value <= 0:
                raise ValueError(f"COVENANT_TIMEOUT_{kind.upper()}_SECONDS must be > 0, not {value}")
        attempts = int(_env(env, "COVENANT_RETRY_ATTEMPTS", "4"))
        if not 1 <= attempts <= 5:
            raise ValueError(f"COVENANT_RETRY_ATTEMPTS must be between 1 and 5, not {attempts}")
        return cls(
            tls=TlsConfig.from_env(env, name, data_dir),
            timeouts=timeouts,
            retry_attempts=attempts,
            max_connection_age_seconds=float(_env(env, "COVENANT_MAX_CONNECTION_AGE_SECONDS", "60")),
            keepalive_seconds=float(_env(env, "COVENANT_KEEPALIVE_SECONDS", "30")),
            dns_refresh_seconds=float(_env(env, "COVENANT_DNS_REFRESH_SECONDS", "5")),
            health_listen=_env(env, "COVENANT_HEALTH_LISTEN", ""),
            reconnect_max_backoff_seconds=_positive(env, "COVENANT_RECONNECT_MAX_BACKOFF_SECONDS", "1"),
        )


def _positive(env: Mapping[str, str], name: str, default: str) -> float:
    value = float(_env(env, name, default))
    if value <= 0:
        raise ValueError(f"{name} must be > 0, not {value}")
    return value


def reconnect_options(wire: WireSettings) -> list[tuple[str, int]]:
    """Reconnection backoff of a channel: start at 100 ms (or the maximum when lower), cap at
    ``reconnect_max_backoff_seconds``."""
    max_ms = max(1, int(wire.reconnect_max_backoff_seconds * 1000))
    first_ms = min(100, max_ms)
    return [
        ("grpc.initial_reconnect_backoff_ms", first_ms),
        ("grpc.min_reconnect_backoff_ms", first_ms),
        ("grpc.max_reconnect_backoff_ms", max_ms),
    ]


# -- call kinds ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class MethodInfo:
    service: str
    method: str
    kind: str
    idempotent: bool


def classify(service: str, method: Any) -> MethodInfo:
    """Kind and idempotency of one method descriptor (see module docstring)."""
    name = method.name
    if method.client_streaming or method.server_streaming:
        kind = "stream"
    elif name.startswith(READ_PREFIXES):
        kind = "read"
    elif name.startswith(BATCH_PREFIXES):
        kind = "batch"
    else:
        kind = "write"
    fields = {f.name for f in method.input_type.fields}
    idempotent = kind != "stream" and (
        kind == "read" or service == EVENT_DELIVERY or bool(fields & set(IDEMPOTENCY_FIELDS))
    )
    return MethodInfo(service, name, kind, idempotent)


@lru_cache(maxsize=1)
def covenant_methods() -> tuple[MethodInfo, ...]:
    """Every method of every ``covenant.*.v1`` service (imports the generated modules)."""
    import covenant

    out: list[MethodInfo] = []
    seen: set[str] = set()
    root = Path(covenant.__file__).parent
    for domain in sorted(p.name for p in root.iterdir() if (p / "v1").is_dir()):
        package = f"covenant.{domain}.v1"
        for mod in pkgutil.iter_modules([str(root / domain / "v1")]):
            if not mod.name.endswith("_pb2"):
                continue
            module = importlib.import_module(f"{package}.{mod.name}")
            for svc in module.DESCRIPTOR.services_by_name.values():
                if svc.full_name in seen:
                    continue
                seen.add(svc.full_name)
                out.extend(classify(svc.full_name, m) for m in svc.methods)
    return tuple(out)


@lru_cache(maxsize=1)
def _by_path() -> dict[str, MethodInfo]:
    return {f"/{m.service}/{m.method}": m for m in covenant_methods()}


def method_kind(full_method: str) -> MethodInfo | None:
    """The ``MethodInfo`` of ``/pkg.Service/Method``, if it is a Covenant method."""
    return _by_path().get(full_method)


def default_timeout(wire: WireSettings, full_method: str) -> float:
    """The deadline a call to ``full_method`` gets when its caller sets none (unknown methods: read)."""
    info = method_kind(full_method)
    return wire.timeouts[info.kind if info is not None else "read"]


def service_config(wire: WireSettings) -> str:
    """The gRPC service config of every Covenant channel: round_robin and retries. (Default deadlines are
    set by ``covenant.grpc.client`` per call: grpcio 1.85 fails calls at once when the service config has
    a ``timeout``.)"""
    idempotent = [{"service": m.service, "method": m.method} for m in covenant_methods() if m.idempotent]
    method_config: list[dict[str, Any]] = []
    if idempotent and wire.retry_attempts > 1:
        method_config.append(
            {
                "name": idempotent,
                "retryPolicy": {
                    "maxAttempts": wire.retry_attempts,
                    "initialBackoff": "0.1s",
                    "maxBackoff": "2s",
                    "backoffMultiplier": 2,
                    "retryableStatusCodes": ["UNAVAILABLE"],
                },
            }
        )
    return json.dumps({"loadBalancingConfig": [{"round_robin": {}}], "methodConfig": method_config})


# -- channel and server options ------------------------------------------------------------------


def keepalive_options(wire: WireSettings) -> list[tuple[str, int]]:
    """Keepalive for both sides: clients ping every ``keepalive_seconds``; servers accept pings that often."""
    ms = int(wire.keepalive_seconds * 1000)
    return [
        ("grpc.keepalive_time_ms", ms),
        ("grpc.keepalive_timeout_ms", 10_000),
        ("grpc.keepalive_permit_without_calls", 1),
        ("grpc.http2.max_pings_without_data", 0),
    ]


def channel_options(wire: WireSettings, max_message_bytes: int) -> list[tuple[str, Any]]:
    options: list[tuple[str, Any]] = [
        *keepalive_options(wire),
        *reconnect_options(wire),
        ("grpc.max_send_message_length", max_message_bytes),
        ("grpc.max_receive_message_length", max_message_bytes),
        ("grpc.service_config", service_config(wire)),
        ("grpc.service_config_disable_resolution", 1),
        ("grpc.enable_retries", 1),
        ("grpc.dns_min_time_between_resolutions_ms", int(wire.dns_refresh_seconds * 1000)),
    ]
    if wire.tls.enabled and wire.tls.server_name:
        options.append(("grpc.ssl_target_name_override", wire.tls.server_name))
    return options


def server_options(wire: WireSettings, max_message_bytes: int, grace_seconds: float) -> list[tuple[str, Any]]:
    age_ms = int(wire.max_connection_age_seconds * 1000)
    ping_ms = min(int(wire.keepalive_seconds * 1000), 10_000)
    return [
        *keepalive_options(wire),
        ("grpc.max_send_message_length", max_message_bytes),
        ("grpc.max_receive_message_length", max_message_bytes),
        # accept client pings as often as clients are configured to send them
        ("grpc.http2.min_ping_interval_without_data_ms", ping_ms),
        ("grpc.http2.min_recv_ping_interval_without_data_ms", ping_ms),
        ("grpc.max_connection_age_ms", age_ms),
        ("grpc.max_connection_age_grace_ms", int(grace_seconds * 1000)),
        ("grpc.so_reuseport", 0),
    ]
