"""Location-integrity checks over consecutive pings; each finding carries its evidence."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from services.attendance.domain.geo import EARTH_M, haversine_m
from services.attendance.domain.stops import Ping

_M_PER_DEG = math.pi * EARTH_M / 180
CHECKS = ("impossible_speed", "mock_location", "repeated_coordinates", "implausible_accuracy")


@dataclass(frozen=True)
class IntegrityParams:
    max_speed_kmh: float = 200.0
    min_accuracy_m: float = 1.0
    repeat_limit: int = 6
    min_jump_m: float = 1_000.0  # speed is judged only over jumps at least this long (GPS noise)


@dataclass(frozen=True)
class Suspicion:
    """``check`` is one of ``CHECKS``; ``key`` identifies the finding within the employee-day (so a
    re-evaluation of the same pings finds the same suspicion, not a new one)."""

    check: str
    at: datetime
    key: str
    evidence: dict[str, Any] = field(default_factory=dict)


def integrity_findings(pings: Sequence[Ping], params: IntegrityParams) -> list[Suspicion]:
    """Suspicions over time-ordered pings (one employee-day or a tail of it)."""
    out: list[Suspicion] = []
    run = 1
    for k, p in enumerate(pings):
        if p.mock:
            out.append(
                Suspicion("mock_location", p.at, f"mock:{p.at.isoformat()}", {"device_id": p.device_id})
            )
        if p.accuracy_m < params.min_accuracy_m:
            out.append(
                Suspicion(
                    "implausible_accuracy",
                    p.at,
                    f"accuracy:{p.at.isoformat()}",
                    {"accuracy_m": p.accuracy_m, "min_accuracy_m": params.min_accuracy_m},
                )
            )
        if k == 0:
            continue
        prev = pings[k - 1]
        same = (p.latitude, p.longitude) == (prev.latitude, prev.longitude)
        run = run + 1 if same else 1
        if run == params.repeat_limit:
            out.append(
                Suspicion(
                    "repeated_coordinates",
                    p.at,
                    f"repeat:{p.latitude:.7f},{p.longitude:.7f}",
                    {
                        "count": run,
                        "latitude": p.latitude,
                        "longitude": p.longitude,
                        "since": pings[k - run + 1].at.isoformat(),
                    },
                )
            )
        if abs(p.latitude - prev.latitude) * _M_PER_DEG < params.min_jump_m * 0.5 and (
            abs(p.longitude - prev.longitude) * _M_PER_DEG < params.min_jump_m * 0.5
        ):
            continue  # a short step (cheap pre-check; longitude degrees are never longer than latitude's)
        seconds = (p.at - prev.at).total_seconds()
        d = haversine_m(prev.latitude, prev.longitude, p.latitude, p.longitude)
        if d >= params.min_jump_m and (seconds <= 0 or d / seconds * 3.6 > params.max_speed_kmh):
            out.append(
                Suspicion(
                    "impossible_speed",
                    p.at,
                    f"speed:{prev.at.isoformat()}>{p.at.isoformat()}",
                    {
                        "speed_kmh": round(d / seconds * 3.6) if seconds > 0 else None,
                        "max_speed_kmh": params.max_speed_kmh,
                        "distance_m": round(d),
                        "seconds": seconds,
                        "from": {
                            "at": prev.at.isoformat(),
                            "latitude": prev.latitude,
                            "longitude": prev.longitude,
                        },
                        "to": {"at": p.at.isoformat(), "latitude": p.latitude, "longitude": p.longitude},
                    },
                )
            )
    return out
