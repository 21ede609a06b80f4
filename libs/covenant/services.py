"""The six Covenant services: names, gRPC service names, default ports and implementing modules."""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class ServiceInfo:
    """Static facts about one service."""

    name: str
    grpc_service: str
    port: int
    module: str  # exposes ``create_app(ctx: covenant.grpc.ServiceContext) -> covenant.grpc.ServiceApp``

    @property
    def default_target(self) -> str:
        return f"127.0.0.1:{self.port}"


SERVICES: dict[str, ServiceInfo] = {
    s.name: s
    for s in (
        ServiceInfo("identity", "covenant.identity.v1.IdentityService", 50051, "services.identity.app"),
        ServiceInfo(
            "attendance", "covenant.attendance.v1.AttendanceService", 50052, "services.attendance.app"
        ),
        ServiceInfo("scoring", "covenant.scoring.v1.ScoringService", 50053, "services.scoring.app"),
        ServiceInfo("points", "covenant.points.v1.PointsService", 50054, "services.points.app"),
        ServiceInfo(
            "compliance", "covenant.compliance.v1.ComplianceService", 50055, "services.compliance.app"
        ),
        ServiceInfo(
            "commitments", "covenant.commitments.v1.CommitmentsService", 50056, "services.commitments.app"
        ),
    )
}


def _types(source: str, *names: str) -> frozenset[str]:
    """``source``'s event types ``<source>.<name>``."""
    return frozenset(f"{source}.{n}" for n in names)


# Event provenance, declared once (docs/security.md, "Event provenance"). ``EMITS``: the event types each
# service may emit (its outbox refuses any other type). ``SUBSCRIBERS`` (derived from ``CONSUMES`` below):
# which services receive them (outbox fan-out). A consumer's inbox accepts an event only when it names a
# source the consumer subscribes to, its type is one that source emits, and the caller is that source's
# service account (``serviceAccounts/<source>``).
# Consumers ignore types they do not handle (still recorded in their inbox, so a redelivery is a no-op).
EMITS: dict[str, frozenset[str]] = {
    "identity": frozenset({"identity.employee.changed"}),  # the directory (covenant.auth.directory)
    "attendance": _types(
        "attendance",
        "visit_verified",
        "location_mismatch",
        "spoofing_suspected",
        "dwell_anomaly",
        "daily_summary",
    ),
    "scoring": _types("scoring", "attrition_risk", "coaching_needed", "contradiction"),
    "points": _types(
        "points",
        "awarded",
        "reversed",
        "adjusted",
        "redeemed",
        "refunded",
        "expired",
        "nudge",
        "team_goal_achieved",
        "redemption_approved",
        "redemption_fulfilled",
        "redemption_rejected",
        "redemption_cancelled",
    ),
    "compliance": _types("compliance", "case_opened", "alert_raised", "case_updated"),
    "commitments": _types(
        "commitments",
        "created",
        "extended",
        "cancelled",
        "fulfilled",
        "late_fulfilled",
        "breached",
        "outcome_reversed",
        "reminder",
    ),
}

# Subscriptions, declared by the consumer: the event types (``<source>.*`` for all a source emits) each
# service receives. The relay's routing (``SUBSCRIBERS``), the chart's ``callers:`` and the README's picture
# are derived from these (``scripts/gen_event_graph.py``; a test checks they agree).
CONSUMES: dict[str, tuple[str, ...]] = {
    # the directory cache (covenant.auth.directory.with_directory) in every service
    "attendance": ("identity.employee.changed",),
    # facts for KPIs and signals (services.scoring.app)
    "scoring": ("identity.*", "attendance.*", "points.*", "compliance.*", "commitments.*"),
    # rule-pack awards (services.points.app)
    "points": ("identity.*", "attendance.*", "scoring.*", "compliance.*", "commitments.*"),
    # behaviour facts: the types services.compliance.app.CONSUMED handles (the outbox routes by type)
    "compliance": (
        "identity.*",
        "attendance.visit_verified",
        "attendance.dwell_anomaly",
        "attendance.daily_summary",
        "commitments.breached",
    ),
    # fulfilling events (services.commitments.app)
    "commitments": ("identity.*",),
}


def _consumes(consumer: str, event_type: str) -> bool:
    return any(
        event_type == p or (p.endswith(".*") and event_type.startswith(p[:-1]))
        for p in CONSUMES.get(consumer, ())
    )


# Outbox fan-out: producer -> the consumers that declared one of its event types.
SUBSCRIBERS: dict[str, tuple[str, ...]] = {
    source: tuple(c for c in CONSUMES if any(_consumes(c, t) for t in sorted(types)))
    for source, types in EMITS.items()
}


# Outbox routing: event type -> the consumers that declared it (a source's other subscribers never get it).
ROUTES: dict[str, tuple[str, ...]] = {
    t: tuple(c for c in CONSUMES if _consumes(c, t)) for types in EMITS.values() for t in sorted(types)
}


def service_account(name: str) -> str:
    """The principal subject of ``name``'s service account (what identity puts in its tokens' ``sub``)."""
    return f"serviceAccounts/{name}"


def sources_of(consumer: str) -> tuple[str, ...]:
    """The services whose events ``consumer`` receives."""
    return tuple(src for src, dests in SUBSCRIBERS.items() if consumer in dests)


def emits(source: str, event_type: str) -> bool:
    """Whether ``source`` declares ``event_type`` among the events it emits."""
    return event_type in EMITS.get(source, frozenset())


def own_account_of(subject: str) -> str | None:
    """The Covenant service whose own account ``subject`` is, or None (users, source systems)."""
    return next((name for name in SERVICES if subject == service_account(name)), None)


def emitter_of(event_type: str) -> str | None:
    """The Covenant service that emits ``event_type``, or None for types no service declares."""
    return next((src for src, types in EMITS.items() if event_type in types), None)


def service(name: str) -> ServiceInfo:
    """Look up a service by short name; raises KeyError with the known names."""
    try:
        return SERVICES[name]
    except KeyError:
        raise KeyError(f"unknown service {name!r}; known: {', '.join(SERVICES)}") from None


def package_dir(name: str) -> Path | None:
    """Directory of the ``services.<name>`` package wherever it is installed (a checkout or site-packages),
    or None when this build does not include it."""
    try:
        spec = importlib.util.find_spec(f"services.{name}")
    except ModuleNotFoundError:
        return None
    return Path(spec.origin).parent if spec is not None and spec.origin else None
