"""Runtime settings, read from the environment (12-factor). One ``Settings`` per service process.

Reference (every variable is optional locally):

| variable | meaning | default |
|---|---|---|
| COVENANT_DATA_DIR | local state: SQLite files, dev secrets, reports | ./.covenant |
| COVENANT_<SVC>_DB_URL, else COVENANT_DB_URL | SQLAlchemy URL of the service database | <data dir>/<svc>.db |
| COVENANT_LISTEN | host:port the service listens on | 0.0.0.0:<default port> |
| COVENANT_<SVC>_TARGET | where other services reach <SVC> | 127.0.0.1:<default port> |
| COVENANT_AUTH_MODE | ``jwt`` (every call needs a token) or ``dev`` (no token = local admin) | jwt |
| COVENANT_SECRETS_PROVIDER | ``dev`` (0600 file in the data dir) or ``vault`` | dev |
| COVENANT_RULES_DIR | default rule packs loaded at first start | <repo>/rules |
| COVENANT_OTEL_EXPORTER | ``none``, ``console`` or ``otlp`` (uses OTEL_EXPORTER_OTLP_ENDPOINT) | none |
| COVENANT_METRICS_PORT | serve Prometheus metrics (``/metrics``) on this port | off |
| COVENANT_LOG_LEVEL / COVENANT_LOG_FORMAT | logging level / ``json`` or ``text`` | INFO / json |
| COVENANT_LOG_SAMPLE_RATE | fraction (0-1) of successful calls logged; failures always are | 1.0 |
| COVENANT_GRACE_SECONDS | drain time for in-flight calls on SIGTERM | 10 |
| COVENANT_MAX_MESSAGE_BYTES | max gRPC message size | 16777216 |
| COVENANT_WORKERS | gRPC worker threads | 16 |
| COVENANT_RELAY_INTERVAL_SECONDS | outbox relay poll (what this process commits goes at once) | 0.5 |
| COVENANT_RELAY_HEARTBEAT_SECONDS | relay heartbeat; a relay silent for 3 beats loses its leases | 1.0 |
| COVENANT_RELAY_LINGER_SECONDS | gap between relay passes while events flow (one pass carries them) | 0.15 |
| COVENANT_RULES_POLL_SECONDS | how often replicas check the active rule-pack version | 1.0 |
| COVENANT_ATTENDANCE_CLOSE_INTERVAL_SECONDS | attendance day closer pass (summarises finished days) | 60 |
| COVENANT_COMPLIANCE_SCHEDULE_SECONDS | compliance behaviour rules, SLA escalation, retention pass | 3600 |
| COVENANT_SCHEDULER_INTERVAL_SECONDS | commitments deadline scheduler pass | 1.0 |
| COVENANT_TIMEZONE | org time zone for calendars | Asia/Shanghai |
| COVENANT_RULES_APPROVALS | approvals per pack: ``<pack glob>=<n>,...`` (docs/rule-packs.md) | none |
| COVENANT_DIRECTORY_TTL_SECONDS | cache of looked-up employees (identity's events refresh it) | 300 |
| COVENANT_DIRECTORY_DOWN_SECONDS | after identity failed to answer, uncached look-ups fail at once | 2 |
Vault variables (VAULT_ADDR, COVENANT_VAULT_*) are documented in ``covenant.secrets``.
Wire variables (COVENANT_TLS_*, COVENANT_TIMEOUT_*, COVENANT_MAX_CONNECTION_AGE_SECONDS, ...) are
documented in ``covenant.grpc.wire`` and ``covenant.grpc.tls``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from covenant.grpc.wire import WireSettings
from covenant.services import SERVICES, service

REPO_ROOT = Path(__file__).resolve().parents[2]


def _env(env: Mapping[str, str], name: str, default: str) -> str:
    value = env.get(name)
    return value if value not in (None, "") else default


@dataclass(frozen=True)
class Settings:
    """Everything one service process needs to know about its environment."""

    service: str
    data_dir: Path
    db_url: str
    listen: str
    targets: dict[str, str] = field(default_factory=dict)
    auth_mode: str = "jwt"
    secrets_provider: str = "dev"
    rules_dir: Path = REPO_ROOT / "rules"
    otel_exporter: str = "none"
    log_level: str = "INFO"
    log_format: str = "json"
    grace_seconds: float = 10.0
    max_message_bytes: int = 16 * 1024 * 1024
    workers: int = 16
    relay_interval_seconds: float = 0.5
    relay_heartbeat_seconds: float = 1.0
    relay_linger_seconds: float = 0.15
    rules_poll_seconds: float = 1.0
    attendance_close_interval_seconds: float = 60.0
    compliance_schedule_seconds: float = 3600.0
    scheduler_interval_seconds: float = 1.0
    timezone: str = "Asia/Shanghai"
    wire: WireSettings = field(default_factory=WireSettings)
    log_sample_rate: float = 1.0
    env: Mapping[str, str] = field(default_factory=dict, repr=False)

    @classmethod
    def from_env(cls, service_name: str, env: Mapping[str, str] | None = None) -> Settings:
        """Build settings for ``service_name`` from ``env`` (default: the process environment)."""
        env = dict(os.environ if env is None else env)
        info = service(service_name)
        data_dir = Path(_env(env, "COVENANT_DATA_DIR", str(Path.cwd() / ".covenant")))
        upper = service_name.upper()
        db_url = _env(
            env,
            f"COVENANT_{upper}_DB_URL",
            _env(env, "COVENANT_DB_URL", f"sqlite:///{data_dir / (service_name + '.db')}"),
        )
        targets = {
            name: _env(env, f"COVENANT_{name.upper()}_TARGET", other.default_target)
            for name, other in SERVICES.items()
        }
        auth_mode = _env(env, "COVENANT_AUTH_MODE", "jwt")
        if auth_mode not in ("jwt", "dev"):
            raise ValueError(f"COVENANT_AUTH_MODE must be jwt or dev, not {auth_mode!r}")
        return cls(
            service=service_name,
            data_dir=data_dir,
            db_url=db_url,
            listen=_env(env, "COVENANT_LISTEN", f"0.0.0.0:{info.port}"),
            targets=targets,
            auth_mode=auth_mode,
            secrets_provider=_env(env, "COVENANT_SECRETS_PROVIDER", "dev"),
            rules_dir=Path(_env(env, "COVENANT_RULES_DIR", str(REPO_ROOT / "rules"))),
            otel_exporter=_env(env, "COVENANT_OTEL_EXPORTER", "none"),
            log_level=_env(env, "COVENANT_LOG_LEVEL", "INFO"),
            log_format=_env(env, "COVENANT_LOG_FORMAT", "json"),
            grace_seconds=float(_env(env, "COVENANT_GRACE_SECONDS", "10")),
            max_message_bytes=int(_env(env, "COVENANT_MAX_MESSAGE_BYTES", str(16 * 1024 * 1024))),
            workers=int(_env(env, "COVENANT_WORKERS", "16")),
            relay_interval_seconds=float(_env(env, "COVENANT_RELAY_INTERVAL_SECONDS", "0.5")),
            relay_heartbeat_seconds=float(_env(env, "COVENANT_RELAY_HEARTBEAT_SECONDS", "1.0")),
            relay_linger_seconds=float(_env(env, "COVENANT_RELAY_LINGER_SECONDS", "0.15")),
            rules_poll_seconds=float(_env(env, "COVENANT_RULES_POLL_SECONDS", "1.0")),
            attendance_close_interval_seconds=float(
                _env(env, "COVENANT_ATTENDANCE_CLOSE_INTERVAL_SECONDS", "60")
            ),
            compliance_schedule_seconds=float(_env(env, "COVENANT_COMPLIANCE_SCHEDULE_SECONDS", "3600")),
            scheduler_interval_seconds=float(_env(env, "COVENANT_SCHEDULER_INTERVAL_SECONDS", "1.0")),
            timezone=_env(env, "COVENANT_TIMEZONE", "Asia/Shanghai"),
            wire=WireSettings.from_env(env, service_name, data_dir),
            log_sample_rate=min(1.0, max(0.0, float(_env(env, "COVENANT_LOG_SAMPLE_RATE", "1.0")))),
            env=env,
        )
