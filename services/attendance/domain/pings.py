"""Incoming location fixes: validation (whole batch, field-named errors) and in-batch normalisation."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from covenant.errors import InvalidArgument

MAX_FUTURE = timedelta(minutes=5)  # device clocks drift; beyond this a fix is rejected
MAX_AGE = timedelta(days=60)  # older fixes are rejected (the day has long been summarised)


@dataclass(frozen=True)
class PingIn:
    """A fix as sent by a device (or carried by a check-in)."""

    employee_id: str
    org_unit: str
    device_id: str
    at: datetime
    latitude: float
    longitude: float
    accuracy_m: float
    mock: bool = False
    role: str = ""

    @property
    def key(self) -> tuple[str, str, datetime]:
        """Identity of a fix: the same (employee, device, time) twice is one fix."""
        return self.employee_id, self.device_id, self.at


def validate_point(latitude: float, longitude: float, field: str) -> None:
    for name, value, bound in (("latitude", latitude, 90), ("longitude", longitude, 180)):
        if not isinstance(value, int | float) or not math.isfinite(value) or not -bound <= value <= bound:
            raise InvalidArgument(
                f"must be a number in [-{bound}, {bound}], got {value}", field=f"{field}.{name}"
            )
    if latitude == 0 and longitude == 0:
        raise InvalidArgument("(0, 0) is not a real fix", field=f"{field}.latitude")


def validate_ping(p: PingIn, field: str, now: datetime) -> None:
    """Raises InvalidArgument naming the offending field (e.g. ``pings[3].location.latitude``)."""
    if not p.employee_id:
        raise InvalidArgument("is required", field=f"{field}.employee_id")
    if not p.org_unit.startswith("/"):
        raise InvalidArgument("must be an org unit path like /hq/branch-1", field=f"{field}.org_unit")
    validate_point(p.latitude, p.longitude, f"{field}.location")
    if not math.isfinite(p.accuracy_m) or p.accuracy_m < 0:
        raise InvalidArgument(
            f"must be a non-negative number, got {p.accuracy_m}", field=f"{field}.accuracy_m"
        )
    if p.at > now + MAX_FUTURE:
        raise InvalidArgument(f"{p.at.isoformat()} is in the future", field=f"{field}.time")
    if p.at < now - MAX_AGE:
        raise InvalidArgument(
            f"{p.at.isoformat()} is more than {MAX_AGE.days} days old", field=f"{field}.time"
        )


def normalise_batch(pings: Sequence[PingIn], now: datetime, field: str = "pings") -> tuple[list[PingIn], int]:
    """Validates every fix (the first bad one rejects the batch), drops in-batch duplicates and sorts by
    time. Returns (fixes, duplicates dropped)."""
    if not pings:
        raise InvalidArgument("at least one ping is required", field=field)
    for i, p in enumerate(pings):
        validate_ping(p, f"{field}[{i}]", now)
    unique: dict[tuple[str, str, datetime], PingIn] = {}
    for p in pings:
        unique.setdefault(p.key, p)
    ordered = sorted(unique.values(), key=lambda p: (p.employee_id, p.at, p.device_id))
    return ordered, len(pings) - len(ordered)
