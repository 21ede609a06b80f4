"""Coordinate datums (issue 16): WGS-84 / GCJ-02 / BD-09 conversions checked against published reference
points, round trips and the out-of-China identity."""

from __future__ import annotations

import random

import pytest

from services.attendance.domain.datum import (
    BD09,
    GCJ02,
    WGS84,
    from_wgs84,
    gcj02_to_wgs84,
    to_wgs84,
    wgs84_to_gcj02,
)
from services.attendance.domain.geo import haversine_m

# City centres with their WGS-84, GCJ-02 and BD-09 coordinates as (longitude, latitude), from the
# china-cities fixture published with the gcoord library (github.com/hujiulong/gcoord, test/fixtures).
CITIES = [
    ("驻马店", (114.0164322, 33.0133556), (114.022306, 33.0115324), (114.0287781, 33.0176697)),
    ("邵阳", (111.4622119, 27.242124), (111.4677938, 27.2388981), (111.4742271, 27.2451662)),
    ("邢台", (114.498916, 37.0700925), (114.5048503, 37.0705911), (114.5113116, 37.0766797)),
    ("那曲", (92.0499619, 31.4784436), (92.0512438, 31.4762063), (92.0576832, 31.4824421)),
    ("郑州", (113.6192856, 34.7478004), (113.6253334, 34.7466173), (113.6317519, 34.7528605)),
    ("梅州", (116.1174053, 24.2912377), (116.1222426, 24.2886182), (116.1287823, 24.2944828)),
    ("辽阳", (123.2312099, 41.2651725), (123.2369518, 41.2672464), (123.2433178, 41.2736074)),
    ("汕头", (116.6775114, 23.3567569), (116.6819735, 23.3540964), (116.6885014, 23.3598884)),
    ("沈阳", (123.4253306, 41.8032629), (123.4314787, 41.8057023), (123.438095, 41.8114013)),
    ("泉州", (118.6711365, 24.8770487), (118.6756787, 24.8741363), (118.6821251, 24.8804872)),
    ("锡林郭勒", (116.0414035, 43.9312805), (116.0482308, 43.9334573), (116.0546232, 43.9397782)),
    ("酒泉", (98.4937175, 39.7319946), (98.4943595, 39.7328234), (98.5008441, 39.7388949)),
    ("钦州", (108.6503952, 21.9828281), (108.6541485, 21.9799392), (108.6607283, 21.9856319)),
    ("金华", (119.6427465, 29.0820414), (119.6474509, 29.0790641), (119.6538875, 29.0854003)),
]
# (WGS-84 lat, lon, GCJ-02 lat, lon) from the tests of eviltransform (github.com/googollee/eviltransform).
EVIL = [
    (31.1774276, 121.5272106, 31.17530398364597, 121.531541859215),  # Shanghai
    (22.543847, 113.912316, 22.540796131694766, 113.9171764808363),  # Shenzhen
    (39.911954, 116.377817, 39.91334545536069, 116.38404722455657),  # Beijing
]
TOLERANCE_M = 1.5  # the references are rounded / produced by map services; far below a 150 m visit radius


def metres(a: tuple[float, float], b: tuple[float, float]) -> float:
    return haversine_m(a[0], a[1], b[0], b[1])


@pytest.mark.parametrize(("name", "wgs", "gcj", "bd"), CITIES)
def test_city_reference_points_both_ways(
    name: str, wgs: tuple[float, float], gcj: tuple[float, float], bd: tuple[float, float]
) -> None:
    w, g, b = (wgs[1], wgs[0]), (gcj[1], gcj[0]), (bd[1], bd[0])
    assert metres(from_wgs84(*w, GCJ02), g) < TOLERANCE_M
    assert metres(from_wgs84(*w, BD09), b) < TOLERANCE_M
    assert metres(to_wgs84(*g, GCJ02), w) < TOLERANCE_M
    assert metres(to_wgs84(*b, BD09), w) < TOLERANCE_M
    assert 100 < metres(g, w) < 800 and 500 < metres(b, w) < 1500  # the offsets are real


@pytest.mark.parametrize("ref", EVIL)
def test_eviltransform_reference_points(ref: tuple[float, float, float, float]) -> None:
    wl, wn, gl, gn = ref
    assert metres(wgs84_to_gcj02(wl, wn), (gl, gn)) < 0.01
    assert metres(gcj02_to_wgs84(gl, gn), (wl, wn)) < 0.01


@pytest.mark.parametrize("datum", [GCJ02, BD09])
def test_round_trips_over_mainland_china_are_exact(datum: str) -> None:
    rnd = random.Random(16)
    for _ in range(2000):
        p = (rnd.uniform(18.2, 53.5), rnd.uniform(73.5, 134.8))
        assert metres(to_wgs84(*from_wgs84(*p, datum), datum), p) < 0.001


@pytest.mark.parametrize(
    "point",
    [(51.5007, -0.1246), (40.6892, -74.0445), (35.6586, 139.7454), (-33.8568, 151.2153)],
)
def test_outside_china_gcj02_is_wgs84(point: tuple[float, float]) -> None:
    assert from_wgs84(*point, GCJ02) == point == to_wgs84(*point, GCJ02)
    assert from_wgs84(*point, WGS84) == point
