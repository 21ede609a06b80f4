"""Repeated stays at one place: two stays are one stop only when nothing happened between them (issue 16)."""

from __future__ import annotations

import itertools
import math
from datetime import UTC, datetime, timedelta

import pytest

from services.attendance.domain.geo import EARTH_M, haversine_m
from services.attendance.domain.stops import Ping, StopParams, detect_stops

T0 = datetime(2026, 11, 18, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
MALL = (22.5333, 114.0453)
PARAMS = StopParams(stop_radius_m=100, min_stop_minutes=10, min_trip_m=200, max_gap_minutes=30)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def north(point: tuple[float, float], metres: float) -> tuple[float, float]:
    return point[0] + math.degrees(metres / EARTH_M), point[1]


def stay(place: tuple[float, float], start: float, end: float, every: float) -> list[Ping]:
    n = int((end - start) // every)
    return [Ping(at(start + k * every), place[0] + 0.00002 * (k % 2), place[1]) for k in range(n + 1)]


def test_the_issue_day_mall_trip_office_mall_is_three_stops() -> None:
    far = north(MALL, 3500)
    office = north(MALL, -2000)
    pings = stay(MALL, 0, 40, 5)
    pings += [
        Ping(at(50), *north(MALL, 1500)),
        Ping(at(60), *far),
        Ping(at(120), *far),
    ]  # no 10-min run there
    pings += stay(office, 165, 225, 5)  # the office 12:45-13:45
    pings += [Ping(at(232), *north(MALL, -900))]
    pings += stay(MALL, 240, 280, 5)
    pings += [Ping(at(290), *north(MALL, 4000))]
    stops = detect_stops(pings, PARAMS).stops
    assert [(s.start, s.end) for s in stops] == [(at(0), at(40)), (at(165), at(225)), (at(240), at(280))]
    assert haversine_m(stops[2].latitude, stops[2].longitude, *MALL) < 20
    assert all(s.minutes <= 60 for s in stops)  # never one 280-minute stop


@pytest.mark.parametrize(
    ("excursion_m", "every", "away_minutes", "return_offset_m"),
    list(itertools.product([250, 600, 3500, 12000], [1, 2, 5], [8, 45, 190], [0, 60, 150])),
)
def test_a_trip_away_and_back_keeps_two_stays_apart(
    excursion_m: float, every: float, away_minutes: float, return_offset_m: float
) -> None:
    """A trip past min_trip_m (too short anywhere to be a stop) between two stays: two stops."""
    pings = stay(MALL, 0, 40, every)
    out = 40 + every
    pings += [Ping(at(out), *north(MALL, excursion_m))]
    if away_minutes > 8:
        pings += [
            Ping(
                at(out + m),
                *north(MALL, excursion_m + 300 * (m // 7)),
            )
            for m in range(7, int(away_minutes), 7)
        ]
    back = out + away_minutes
    pings += stay(north(MALL, return_offset_m), back, back + 40, every)
    stops = detect_stops(pings, PARAMS).stops
    assert len(stops) == 2, [(s.start, s.end) for s in stops]
    assert stops[0].end == at(40) and stops[1].start == at(back)


@pytest.mark.parametrize(("wander_m", "every"), list(itertools.product([110, 140, 170, 195], [1, 2, 5])))
def test_gps_wander_or_a_walk_to_the_car_park_between_two_stays_is_one_stop(
    wander_m: float, every: float
) -> None:
    pings = stay(MALL, 0, 40, every)
    pings += [
        Ping(at(40 + every), *north(MALL, wander_m)),
        Ping(at(40 + 2 * every), *north(MALL, wander_m - 5)),
    ]
    pings += stay(MALL, 40 + 3 * every, 90, every)
    stops = detect_stops(pings, PARAMS).stops
    assert [(s.start, s.end) for s in stops] == [(at(0), pings[-1].at)]


@pytest.mark.parametrize("gap_minutes", [31, 45, 90, 200])
@pytest.mark.parametrize("every", [2, 5])
def test_a_gap_in_fixes_a_trip_explains_keeps_the_stays_apart(gap_minutes: float, every: float) -> None:
    """No fixes at all for longer than max_gap_minutes, then the same place again: two stops."""
    first = stay(MALL, 0, 40, every)
    second = stay(MALL, 40 + gap_minutes, 80 + gap_minutes, every)
    stops = detect_stops(first + second, PARAMS).stops
    assert [(s.start, s.end) for s in stops] == [(at(0), at(40)), (at(40 + gap_minutes), second[-1].at)]


@pytest.mark.parametrize("gap_minutes", [10, 20, 29])
def test_a_short_gap_in_fixes_at_one_place_is_still_one_stop(gap_minutes: float) -> None:
    pings = stay(MALL, 0, 40, 5) + stay(MALL, 40 + gap_minutes, 80 + gap_minutes, 5)
    assert len(detect_stops(pings, PARAMS).stops) == 1


@pytest.mark.parametrize("gap_minutes", [45, 120])
def test_a_gap_between_wander_and_the_second_stay_keeps_them_apart(gap_minutes: float) -> None:
    pings = [*stay(MALL, 0, 40, 5), Ping(at(45), *north(MALL, 150))]
    pings += stay(MALL, 45 + gap_minutes, 90 + gap_minutes, 5)
    assert len(detect_stops(pings, PARAMS).stops) == 2
