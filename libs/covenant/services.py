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

# Which services receive the events each service emits (outbox fan-out). Consumers ignore types
# they do not handle (still recorded in their inbox, so a redelivery is a no-op).
SUBSCRIBERS: dict[str, tuple[str, ...]] = {
    "identity": ("attendance", "scoring", "points", "compliance", "commitments"),
    "attendance": ("scoring", "points", "compliance"),
    "scoring": ("points", "compliance"),
    "points": ("scoring",),
    "compliance": ("scoring", "points"),
    "commitments": ("points", "scoring", "compliance"),
}


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
