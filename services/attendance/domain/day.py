"""One employee's working day: working hours, stop facts for the rule pack, the ordered route, the summary."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, time
from typing import Any

from covenant.errors import FailedPrecondition
from services.attendance.domain.geo import Place
from services.attendance.domain.stops import Stop


@dataclass(frozen=True)
class WorkingHours:
    """Local working time: ``start``–``end`` on ISO weekdays ``days`` (1 = Monday)."""

    start: time
    end: time
    days: frozenset[int] = frozenset({1, 2, 3, 4, 5})

    @classmethod
    def from_parameter(cls, value: Any) -> WorkingHours:
        """From the pack parameter ``{start: "09:00", end: "18:00", days: [1, 2, 3, 4, 5]}``."""
        try:
            days = frozenset(int(d) for d in value.get("days", (1, 2, 3, 4, 5)))
            return cls(time.fromisoformat(value["start"]), time.fromisoformat(value["end"]), days)
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            raise FailedPrecondition(f"rule pack parameter working_hours is malformed: {value!r}") from exc

    def contains(self, local: datetime) -> bool:
        return local.isoweekday() in self.days and self.start <= local.time() <= self.end


def stop_facts(
    stop: Stop, at_client: tuple[float, Place] | None, working: bool, dwell_minutes: float
) -> dict[str, Any]:
    """Derived facts the pack's stop rules see (``attendance.stop`` events)."""
    return {
        "duration_minutes": round(stop.minutes, 1),
        "at_client": at_client is not None,
        "client_id": at_client[1].id if at_client else "",
        "high_risk_client": bool(at_client and at_client[1].high_risk),
        "working_hours": working,
        "closed": stop.closed,
        "dwell_threshold_minutes": dwell_minutes,
        "exceeds_dwell": stop.minutes > dwell_minutes,
    }


def rederive_stop_facts(
    event: Mapping[str, Any], facts: Mapping[str, Any], parameter: Callable[[str, Any, Any, Any], Any]
) -> dict[str, Any]:
    """``stop_facts`` that depend on pack parameters, recomputed with ``parameter`` (a candidate pack's),
    so a dry run of a new dwell threshold shows which stops would (no longer) be anomalies."""
    if event.get("type") != "attendance.stop" or "duration_minutes" not in facts:
        return dict(facts)
    default = facts.get("dwell_threshold_minutes", 30)
    dwell = float(parameter("dwell_minutes", event.get("role"), event.get("org_unit"), default))
    return {
        **facts,
        "dwell_threshold_minutes": dwell,
        "exceeds_dwell": float(facts["duration_minutes"]) > dwell,
    }


def overlaps(a: tuple[datetime, datetime], b: tuple[datetime, datetime]) -> bool:
    """Closed intervals intersect (a stop re-detected with a shifted start is still the same stop)."""
    return a[0] <= b[1] and b[0] <= a[1]


@dataclass(frozen=True)
class RouteItem:
    kind: str  # "visit" or "stop"
    id: str
    start: datetime
    end: datetime
    latitude: float
    longitude: float
    client_id: str
    verified: bool
    minutes: float
    distance_to_client_m: float


def ordered_route(items: Iterable[RouteItem]) -> list[RouteItem]:
    """Visits and stops in time order (a stop before a check-in made during it)."""
    return sorted(items, key=lambda i: (i.start, 0 if i.kind == "stop" else 1, i.id))


@dataclass(frozen=True)
class DaySummary:
    employee_id: str
    org_unit: str
    date: str
    visits: int
    verified_visits: int
    location_mismatches: int
    stops: int
    stops_at_clients: int
    dwell_anomalies: int
    spoofing_suspicions: int
    distance_m: float
    first_ping_at: datetime | None
    last_ping_at: datetime | None

    def as_data(self) -> dict[str, Any]:
        """The ``attendance.daily_summary`` event data (without provenance)."""
        return {
            "employee_id": self.employee_id,
            "date": self.date,
            "visits": self.visits,
            "verified_visits": self.verified_visits,
            "location_mismatches": self.location_mismatches,
            "stops": self.stops,
            "stops_at_clients": self.stops_at_clients,
            "dwell_anomalies": self.dwell_anomalies,
            "spoofing_suspicions": self.spoofing_suspicions,
            "distance_m": round(self.distance_m, 1),
            "first_ping_at": self.first_ping_at.isoformat() if self.first_ping_at else None,
            "last_ping_at": self.last_ping_at.isoformat() if self.last_ping_at else None,
        }


def summarise(
    employee_id: str,
    org_unit: str,
    date: str,
    route: Iterable[RouteItem],
    anomaly_kinds: Iterable[str],
    distance: float,
    ping_times: tuple[datetime | None, datetime | None] = (None, None),
) -> DaySummary:
    items = list(route)
    kinds: Mapping[str, int] = Counter(anomaly_kinds)
    visits = [i for i in items if i.kind == "visit"]
    stops = [i for i in items if i.kind == "stop"]
    return DaySummary(
        employee_id=employee_id,
        org_unit=org_unit,
        date=date,
        visits=len(visits),
        verified_visits=sum(1 for v in visits if v.verified),
        location_mismatches=kinds.get("location_mismatch", 0),
        stops=len(stops),
        stops_at_clients=sum(1 for s in stops if s.client_id),
        dwell_anomalies=kinds.get("dwell_anomaly", 0),
        spoofing_suspicions=kinds.get("spoofing_suspected", 0),
        distance_m=distance,
        first_ping_at=ping_times[0],
        last_ping_at=ping_times[1],
    )
