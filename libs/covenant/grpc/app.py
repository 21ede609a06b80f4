"""What a service hands to the chassis (``ServiceApp``) and what the chassis hands to it (``ServiceContext``).

Each service package exposes ``create_app(ctx: ServiceContext) -> ServiceApp`` in ``services/<name>/app.py``.
The chassis (``covenant.grpc.server.ServiceHost``) builds the context, calls ``create_app``, serves the
returned servicers plus health, reflection, ``covenant.rules.v1.RulePackService`` and, when the app
consumes events, ``covenant.events.v1.EventSinkService``; it starts and stops the background workers.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import grpc
    from sqlalchemy.orm import Session

    from covenant.auth.tokens import TokenSource, TokenVerifier
    from covenant.db.engine import Database
    from covenant.events.v1.event_pb2 import Event
    from covenant.rules import RuleRuntime
    from covenant.secrets import SecretsProvider
    from covenant.settings import Settings


class BackgroundWorker(Protocol):
    """A loop the chassis runs beside the gRPC server (relay, scheduler, rule-pack watcher)."""

    def start(self) -> None: ...

    def stop(self, timeout: float | None = None) -> None: ...


# Applies one consumed event inside the inbox transaction: effects commit together with the
# inbox row, so a redelivered event is a no-op and a failed one is retried whole.
EventHandler = Callable[["Session", "Event"], None]
# Applies several consumed events at once (same contract, set-based); events it emits should pass
# ``caused_by=<consumed event id>`` to ``new_event`` so they stay in their cause's trace.
BatchEventHandler = Callable[["Session", "Sequence[Event]"], None]


@dataclass
class ServiceContext:
    """Everything the chassis provides to a service at start-up."""

    settings: Settings
    db: Database
    secrets: SecretsProvider
    verifier: TokenVerifier
    token_source: TokenSource
    rules: RuleRuntime | None = None
    channel_factory: Callable[[str], grpc.Channel] | None = None

    def channel(self, service_name: str) -> grpc.Channel:
        """A client channel to another Covenant service (token attached, tracing on)."""
        if self.channel_factory is None:
            raise RuntimeError("no channel factory configured")
        return self.channel_factory(service_name)


@dataclass
class ServiceApp:
    """What a service contributes to its process."""

    # (add_XServicer_to_server function, servicer instance) pairs.
    servicers: list[tuple[Callable[[Any, grpc.Server], None], Any]]
    # Full gRPC service names served (for health status and reflection).
    grpc_service_names: list[str]
    # Handler for events delivered by other services' outbox relays; None = consumes nothing.
    event_handler: EventHandler | None = None
    # Optional batch form of ``event_handler``, used when a delivery brings several new events.
    event_batch_handler: BatchEventHandler | None = None
    # Extra loops to run (schedulers, projections).
    workers: list[BackgroundWorker] = field(default_factory=list)
    # Full method names callable without a token (e.g. "/covenant.identity.v1.IdentityService/Login").
    public_methods: frozenset[str] = frozenset()
    # Called once after migrations, before serving (e.g. seed defaults).
    on_start: Callable[[], None] | None = None
