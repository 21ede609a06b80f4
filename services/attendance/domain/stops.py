"""Stop detection over one employee-day of pings, in the spirit of Traccar's (minimal parking duration,
minimal trip distance), resumable so a day can be extended batch by batch without rescanning it whole.

A *stop* is a run of consecutive pings staying within ``stop_radius_m`` of the run's running centre for at
least ``min_stop_minutes``. A gap in fixes longer than ``max_gap_minutes`` ends a run: a trip may hide in it.
Two stays are one stop (located where the first began) only when nothing happened between them: every fix
between them stayed within ``min_trip_m`` of the first stay (GPS wander, a walk to the car park) and no gap
between them was longer than ``max_gap_minutes``. A rep at a mall, then 3.5 km away, then back at the same
mall has two stops, whatever the distance between the two stays. A stop is *closed* once a later ping left
it; the run still going at the last ping is *open* (it may grow with the next batch).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from services.attendance.domain.geo import EARTH_M, haversine_m

_M_PER_DEG = math.pi * EARTH_M / 180


@dataclass(frozen=True)
class Ping:
    """One stored location fix."""

    at: datetime
    latitude: float
    longitude: float
    accuracy_m: float = 10.0
    mock: bool = False
    device_id: str = ""


@dataclass(frozen=True)
class StopParams:
    stop_radius_m: float = 100.0
    min_stop_minutes: float = 10.0
    min_trip_m: float = 200.0
    max_gap_minutes: float = 30.0


@dataclass(frozen=True)
class Stop:
    start: datetime
    end: datetime
    latitude: float
    longitude: float
    pings: int
    closed: bool

    @property
    def minutes(self) -> float:
        return (self.end - self.start).total_seconds() / 60


@dataclass(frozen=True)
class StopScan:
    """The stops found and ``resume_at``: rescanning from the first ping at or after it reproduces every
    stop from there on, whatever pings are appended later (all earlier stops are final)."""

    stops: list[Stop]
    resume_at: datetime | None


def _run(pings: Sequence[Ping], i: int, radius_m: float, max_gap: timedelta) -> tuple[int, float, float]:
    """End index (exclusive) and centre of the run starting at ``i``. Distances to the centre are
    equirectangular (within a stop radius the difference from haversine is far below GPS noise)."""
    lat_sum, lon_sum, n = pings[i].latitude, pings[i].longitude, 1
    kx = math.cos(math.radians(lat_sum))
    limit = (radius_m / _M_PER_DEG) ** 2
    j, end = i + 1, len(pings)
    while j < end:
        p = pings[j]
        if p.at - pings[j - 1].at > max_gap:
            break
        dy = p.latitude - lat_sum / n
        dx = (p.longitude - lon_sum / n) * kx
        if dx * dx + dy * dy > limit:
            break
        lat_sum += p.latitude
        lon_sum += p.longitude
        n += 1
        j += 1
    return j, lat_sum / n, lon_sum / n


def _nothing_between(pings: Sequence[Ping], prev: Stop, a: int, b: int, params: StopParams) -> bool:
    """True when the fixes ``pings[a:b]`` between the stay ending at ``pings[a - 1]`` and the one starting at
    ``pings[b]`` are no trip: all within ``min_trip_m`` of the first stay, no gap longer than allowed."""
    max_gap = timedelta(minutes=params.max_gap_minutes)
    for k in range(a, b + 1):
        if pings[k].at - pings[k - 1].at > max_gap:
            return False
        if k < b and haversine_m(prev.latitude, prev.longitude, pings[k].latitude, pings[k].longitude) >= (
            params.min_trip_m
        ):
            return False
    return True


def detect_stops(pings: Sequence[Ping], params: StopParams) -> StopScan:
    """Stops in time-ordered ``pings`` (see the module docstring)."""
    stops: list[Stop] = []
    open_from: int | None = None  # the earliest scan start whose run reached the last ping
    max_gap = timedelta(minutes=params.max_gap_minutes)
    prev_end = 0  # index just after the last stop's final fix
    i = 0
    while i < len(pings):
        j, clat, clon = _run(pings, i, params.stop_radius_m, max_gap)
        reached_end = j == len(pings)
        if reached_end and open_from is None:
            open_from = i
        minutes = (pings[j - 1].at - pings[i].at).total_seconds() / 60
        if j - i >= 2 and minutes >= params.min_stop_minutes:
            stop = Stop(pings[i].at, pings[j - 1].at, clat, clon, j - i, not reached_end)
            prev = stops[-1] if stops else None
            if (
                prev
                and haversine_m(prev.latitude, prev.longitude, clat, clon) < params.min_trip_m
                and _nothing_between(pings, prev, prev_end, i, params)
            ):
                stops[-1] = replace(prev, end=stop.end, pings=prev.pings + stop.pings, closed=stop.closed)
            else:
                stops.append(stop)
            i = prev_end = j
        else:
            i += 1
    if open_from is None:
        return StopScan(stops, None)
    resume = pings[open_from].at
    before = [s for s in stops if s.start < resume]
    if before:  # the last stop before the open run may still absorb it (short trip): rescan it too
        resume = min(resume, before[-1].start)
    return StopScan(stops, resume)


def distance_m(pings: Sequence[Ping], jitter_m: float = 15.0) -> float:
    """Distance travelled, ignoring GPS jitter below ``jitter_m`` between consecutive pings."""
    total = 0.0
    for a, b in itertools.pairwise(pings):
        d = haversine_m(a.latitude, a.longitude, b.latitude, b.longitude)
        if d >= jitter_m:
            total += d
    return total
