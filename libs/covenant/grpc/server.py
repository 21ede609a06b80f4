"""One server bootstrap for every service: ``ServiceHost``.

It builds the service's context (settings, database, secrets, token verification, rule runtime,
channels), runs migrations, loads default rule packs, calls the service's ``create_app`` and serves:
the service's own servicers, ``covenant.rules.v1.RulePackService``, ``covenant.events.v1.EventSinkService``
(when the service consumes events), gRPC health (per service name; NOT_SERVING while starting and
draining) and server reflection. It runs the outbox relay, the rule-pack watcher and the service's own
workers, and on SIGTERM/SIGINT drains: health goes NOT_SERVING, new calls are refused, in-flight calls
get ``grace_seconds`` to finish; handlers still running then are cancelled and their transactions roll back
(commit guard, docs/operations.md); then workers stop.
"""

from __future__ import annotations

import importlib
import logging
import signal
import threading
from collections.abc import Callable
from concurrent import futures
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection
from opentelemetry.instrumentation.grpc import server_interceptor

from covenant import telemetry
from covenant.auth.tokens import (
    ClientCredentialsTokenSource,
    JwksKeySource,
    StaticTokenSource,
    TokenSource,
    TokenVerifier,
)
from covenant.db.engine import Database
from covenant.grpc.app import BackgroundWorker, ServiceApp, ServiceContext
from covenant.grpc.client import (
    ChannelFactory,
    identity_jwks_fetcher,
    identity_token_issuer,
    plain_channel,
)
from covenant.grpc.context import current_principal
from covenant.grpc.deadlines import DeadlineInterceptor
from covenant.grpc.interceptors import ChassisInterceptor
from covenant.grpc.tls import CertFiles, PeerIdentityInterceptor, server_credentials
from covenant.grpc.validation import ValidationInterceptor
from covenant.grpc.wire import server_options
from covenant.listening import ListenError
from covenant.services import package_dir
from covenant.services import service as service_info
from covenant.settings import Settings
from covenant.telemetry.instrument import ServiceTelemetry

log = logging.getLogger("covenant.server")

RULES_SERVICE = "covenant.rules.v1.RulePackService"
EVENTS_SERVICE = "covenant.events.v1.EventSinkService"


def service_migrations_dir(service_name: str) -> Path | None:
    """``services/<name>/migrations`` when the service has one."""
    package = package_dir(service_name)
    path = package / "migrations" if package is not None else None
    return path if path is not None and path.is_dir() else None


def load_vocabulary(service_name: str) -> Any:
    """The service's rule action vocabulary (``services.<name>.actions.VOCABULARY``)."""
    return importlib.import_module(f"services.{service_name}.actions").VOCABULARY


def migrate_service(settings: Settings, url: str | None = None) -> None:
    """Run chassis, rule-pack and service migrations for ``settings.service`` (on ``url``, default
    ``settings.db_url``)."""
    from covenant.db.migrations import migrate

    migrate(url or settings.db_url, settings.service, service_migrations_dir(settings.service))


def listen(add_port: Callable[[str], int], address: str, setting: str = "COVENANT_LISTEN") -> int:
    """Bind ``address`` with gRPC's ``add_port``; the bound port. gRPC says only "Failed to bind" (newer
    releases) or returns 0 (older); ``ListenError`` names the address and the setting that moves it."""
    try:
        port = add_port(address)
    except RuntimeError:
        port = 0
    if port == 0:
        raise ListenError(address, setting)
    return port


@dataclass
class ServiceHost:
    """A running (or startable) Covenant service process. See module docstring."""

    settings: Settings
    verifier: TokenVerifier | None = None
    token_source: TokenSource | None = None
    secrets: Any = None
    run_migrations: bool = True
    load_default_packs: bool = True
    create_app: Any = None  # overrides services.<name>.app.create_app (chassis tests)
    vocabulary: Any = None  # overrides services.<name>.actions.VOCABULARY
    port: int = 0
    ctx: ServiceContext | None = None
    app: ServiceApp | None = None
    server: grpc.Server | None = None
    health: health.HealthServicer | None = None
    workers: list[BackgroundWorker] = field(default_factory=list)
    _started: bool = False
    _stopped: threading.Event = field(default_factory=threading.Event)
    _channels: ChannelFactory | None = None
    health_server: grpc.Server | None = None
    health_port: int = 0
    _grace_expired: threading.Event = field(default_factory=threading.Event)

    # -- construction -------------------------------------------------------------------------
    def _build_context(self) -> ServiceContext:
        from covenant.secrets.database import database_url

        s = self.settings
        if self.secrets is None:
            from covenant.secrets import provider_from_settings

            self.secrets = provider_from_settings(s)
        if self.verifier is None:
            identity = plain_channel(s.targets["identity"], s.max_message_bytes, s.wire)
            self.verifier = TokenVerifier(JwksKeySource(identity_jwks_fetcher(identity)))
        if self.token_source is None:
            self.token_source = self._service_token_source()
        self._channels = ChannelFactory(s.targets, self.token_source, s.max_message_bytes, s.wire)
        return ServiceContext(
            settings=s,
            db=Database(database_url(s, self.secrets)),
            secrets=self.secrets,
            verifier=self.verifier,
            token_source=self.token_source,
            channel_factory=self._channels,
        )

    def _service_token_source(self) -> TokenSource:
        s = self.settings
        try:
            secret = self.secrets.get_secret(f"service-accounts/{s.service}")["client_secret"]
        except Exception:  # no credentials configured: outgoing calls go without a token
            log.warning("no service-account secret for %s; outgoing calls are unauthenticated", s.service)
            return StaticTokenSource(None)
        issuer = identity_token_issuer(plain_channel(s.targets["identity"], s.max_message_bytes, s.wire))
        return ClientCredentialsTokenSource(issuer, s.service, secret)

    def build(self) -> None:
        """Create context, migrate, load rule packs, create the app and the (unstarted) server."""
        telemetry.setup(self.settings)
        ctx = self.ctx = self._build_context()
        try:
            self._build_on(ctx)
        except BaseException:  # a port held, a migration refused...: nothing this build opened stays open
            self._release()
            raise

    def _build_on(self, ctx: ServiceContext) -> None:
        from covenant.db.inbox import EventSinkServicer, inbox_purger
        from covenant.db.relay import OutboxRelay
        from covenant.events.v1 import event_pb2_grpc
        from covenant.rules.component import build_rules_component

        s = self.settings
        if self.run_migrations:
            migrate_service(s, ctx.db.url)
        vocabulary = self.vocabulary if self.vocabulary is not None else load_vocabulary(s.service)
        rules = build_rules_component(ctx.db, s.service, vocabulary, s.rules_dir, s.rules_poll_seconds)
        if self.load_default_packs:
            rules.load_default_packs()
        ctx.rules = rules.runtime
        create_app = self.create_app or importlib.import_module(service_info(s.service).module).create_app
        app = self.app = create_app(ctx)
        if app.on_start is not None:
            app.on_start()

        interceptor = ChassisInterceptor(
            ctx.verifier,
            auth_mode=s.auth_mode,
            public_methods=app.public_methods,
            log_sample_rate=s.log_sample_rate,
            grace_expired=self._grace_expired,
        )
        server = grpc.server(
            futures.ThreadPoolExecutor(max_workers=s.workers, thread_name_prefix=f"{s.service}-rpc"),
            interceptors=[
                server_interceptor(),
                interceptor,
                DeadlineInterceptor(),
                PeerIdentityInterceptor(s.wire.tls, current_principal),
                ValidationInterceptor(),
            ],
            options=server_options(s.wire, s.max_message_bytes, s.grace_seconds),
        )
        for add, servicer in app.servicers:
            add(servicer, server)
        rules.add_to_server(rules.servicer, server)
        names = [*app.grpc_service_names, RULES_SERVICE]
        inbox_workers = []  # a consumer forgets applied events after the inbox retention
        if app.event_handler is not None:
            sink = EventSinkServicer(ctx.db, s.service, app.event_handler, app.event_batch_handler)
            event_pb2_grpc.add_EventSinkServiceServicer_to_server(sink, server)
            names.append(EVENTS_SERVICE)
            inbox_workers.append(inbox_purger(ctx.db, s.service))
        self.health = health.HealthServicer(experimental_non_blocking=True)
        health_pb2_grpc.add_HealthServicer_to_server(self.health, server)
        for name in ["", *names]:
            self.health.set(name, health_pb2.HealthCheckResponse.NOT_SERVING)
        reflection.enable_server_reflection([*names, health.SERVICE_NAME, reflection.SERVICE_NAME], server)
        if s.wire.tls.enabled:
            credentials = server_credentials(CertFiles(s.wire.tls))
            self.port = listen(lambda a: server.add_secure_port(a, credentials), s.listen)
        else:
            self.port = listen(server.add_insecure_port, s.listen)
        if s.wire.health_listen:
            self._build_health_server()
        self.server = server
        self.workers = [
            rules.watcher,
            OutboxRelay(
                ctx.db,
                self._channels,
                interval=s.relay_interval_seconds,
                source=s.service,
                heartbeat_seconds=s.relay_heartbeat_seconds,
                linger=s.relay_linger_seconds,
            ),
            ServiceTelemetry(s.service, ctx.db, ctx.rules),
            *inbox_workers,
            *app.workers,
        ]
        self._service_names = names

    def _build_health_server(self) -> None:
        """A plaintext listener serving only grpc.health.v1 (Kubernetes gRPC probes cannot speak TLS)."""
        s = self.settings
        server = grpc.server(
            futures.ThreadPoolExecutor(max_workers=2, thread_name_prefix=f"{s.service}-health"),
            options=[("grpc.so_reuseport", 0)],
        )
        health_pb2_grpc.add_HealthServicer_to_server(self.health, server)
        self.health_port = listen(server.add_insecure_port, s.wire.health_listen, "COVENANT_HEALTH_LISTEN")
        self.health_server = server

    # -- lifecycle ----------------------------------------------------------------------------
    def start(self) -> ServiceHost:
        """Build (if needed), start serving and mark every service name SERVING."""
        if self._started:
            return self
        if self.server is None:
            self.build()
        assert self.server is not None and self.health is not None
        self._started = True
        self.server.start()
        if self.health_server is not None:
            self.health_server.start()
        for worker in self.workers:
            worker.start()
        for name in ["", *self._service_names]:
            self.health.set(name, health_pb2.HealthCheckResponse.SERVING)
        log.info("%s serving on port %d", self.settings.service, self.port)
        return self

    def stop(self, grace: float | None = None) -> None:
        """Drain: NOT_SERVING, refuse new calls, let in-flight calls finish within the grace period."""
        if self._stopped.is_set():
            return
        self._stopped.set()
        grace = self.settings.grace_seconds if grace is None else grace
        if self.health is not None:
            self.health.enter_graceful_shutdown()
        if self.server is not None:
            self.server.stop(grace).wait(grace + 1)
        # Handlers still running past the grace were cancelled (their clients got UNAVAILABLE): from now on
        # their units of work roll back instead of committing (covenant.db.engine.commit_guard).
        self._grace_expired.set()
        if self.health_server is not None:
            self.health_server.stop(0)
        for worker in reversed(self.workers):
            try:
                worker.stop(timeout=5)
            except Exception:  # a worker failing to stop must not block the others
                log.exception("worker failed to stop")
        self._release()
        log.info("%s stopped", self.settings.service)

    def _release(self) -> None:
        """Close the outgoing channels, the database engine and the secrets provider."""
        if self._channels is not None:
            self._channels.close()
        if self.ctx is not None:
            self.ctx.db.dispose()
            close = getattr(self.ctx.secrets, "close", None)
            if close:
                close()

    def wait(self) -> None:
        """Block until ``stop`` has run (e.g. from a signal handler)."""
        self._stopped.wait()

    def serve_forever(self) -> None:
        """Start, install SIGTERM/SIGINT handlers that drain, and block until stopped."""
        self.start()

        def on_signal(signum: int, _frame: Any) -> None:
            log.info("signal %d: draining", signum)
            threading.Thread(target=self.stop, name="drain", daemon=False).start()

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
        self.wait()
        # let the drain thread finish closing resources
        for t in threading.enumerate():
            if t.name == "drain":
                t.join()
