"""Coordinate datums. Phone GPS is WGS-84; in mainland China, addresses geocoded by AMap or Tencent are
GCJ-02 and by Baidu BD-09, 300-700 m away from WGS-84 - about one visit radius. Covenant stores WGS-84 and
converts every coordinate it accepts with the published transforms: GCJ-02 is WGS-84 plus the national
offset (the Krasovsky-ellipsoid formula used by every public implementation, e.g. eviltransform), inverted
by fixed-point iteration to well under a millimetre; BD-09 is Baidu's published rotation of GCJ-02. Outside
mainland China (the usual bounding box) GCJ-02 equals WGS-84.
"""

from __future__ import annotations

import math
from collections.abc import Callable

WGS84, GCJ02, BD09 = "WGS-84", "GCJ-02", "BD-09"
DATUMS = (WGS84, GCJ02, BD09)
_A = 6378245.0  # Krasovsky 1940 semi-major axis
_EE = 0.00669342162296594323  # its first eccentricity squared
_X_PI = math.pi * 3000.0 / 180.0


def outside_china(lat: float, lon: float) -> bool:
    return not (72.004 <= lon <= 137.8347 and 0.8293 <= lat <= 55.8271)


def _offset(lat: float, lon: float) -> tuple[float, float]:
    """The GCJ-02 offset (degrees of latitude, longitude) at a WGS-84 point."""
    x, y = lon - 105.0, lat - 35.0
    common = (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    d_lat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * math.sqrt(abs(x)) + common
    d_lat += (20.0 * math.sin(y * math.pi) + 40.0 * math.sin(y / 3.0 * math.pi)) * 2.0 / 3.0
    d_lat += (160.0 * math.sin(y / 12.0 * math.pi) + 320.0 * math.sin(y * math.pi / 30.0)) * 2.0 / 3.0
    d_lon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * math.sqrt(abs(x)) + common
    d_lon += (20.0 * math.sin(x * math.pi) + 40.0 * math.sin(x / 3.0 * math.pi)) * 2.0 / 3.0
    d_lon += (150.0 * math.sin(x / 12.0 * math.pi) + 300.0 * math.sin(x / 30.0 * math.pi)) * 2.0 / 3.0
    rad = lat / 180.0 * math.pi
    magic = 1 - _EE * math.sin(rad) ** 2
    sqrt_magic = math.sqrt(magic)
    d_lat = (d_lat * 180.0) / ((_A * (1 - _EE)) / (magic * sqrt_magic) * math.pi)
    d_lon = (d_lon * 180.0) / (_A / sqrt_magic * math.cos(rad) * math.pi)
    return d_lat, d_lon


def _invert(
    forward: Callable[[float, float], tuple[float, float]],
    lat: float,
    lon: float,
    guess: tuple[float, float],
    rounds: int,
) -> tuple[float, float]:
    """The point near ``guess`` that ``forward`` maps to (``lat``, ``lon``), by fixed-point iteration
    (at most ``rounds`` steps, until the error is below 1e-12 degrees)."""
    x_lat, x_lon = guess
    for _ in range(rounds):
        f_lat, f_lon = forward(x_lat, x_lon)
        e_lat, e_lon = f_lat - lat, f_lon - lon
        x_lat, x_lon = x_lat - e_lat, x_lon - e_lon
        if abs(e_lat) < 1e-12 and abs(e_lon) < 1e-12:
            break
    return x_lat, x_lon


def wgs84_to_gcj02(lat: float, lon: float) -> tuple[float, float]:
    if outside_china(lat, lon):
        return lat, lon
    d_lat, d_lon = _offset(lat, lon)
    return lat + d_lat, lon + d_lon


def gcj02_to_wgs84(lat: float, lon: float) -> tuple[float, float]:
    """Exact inverse by iteration (the offset changes slowly, so each step gains ~5 digits)."""
    if outside_china(lat, lon):
        return lat, lon
    return _invert(wgs84_to_gcj02, lat, lon, (lat, lon), 30)


def gcj02_to_bd09(lat: float, lon: float) -> tuple[float, float]:
    z = math.sqrt(lon * lon + lat * lat) + 0.00002 * math.sin(lat * _X_PI)
    theta = math.atan2(lat, lon) + 0.000003 * math.cos(lon * _X_PI)
    return z * math.sin(theta) + 0.006, z * math.cos(theta) + 0.0065


def bd09_to_gcj02(lat: float, lon: float) -> tuple[float, float]:
    """Baidu's published inverse (good to a few centimetres), refined by iteration to the exact inverse."""
    x, y = lon - 0.0065, lat - 0.006
    z = math.sqrt(x * x + y * y) - 0.00002 * math.sin(y * _X_PI)
    theta = math.atan2(y, x) - 0.000003 * math.cos(x * _X_PI)
    return _invert(gcj02_to_bd09, lat, lon, (z * math.sin(theta), z * math.cos(theta)), 10)


def _bd09_to_wgs84(lat: float, lon: float) -> tuple[float, float]:
    return gcj02_to_wgs84(*bd09_to_gcj02(lat, lon))


def _wgs84_to_bd09(lat: float, lon: float) -> tuple[float, float]:
    return gcj02_to_bd09(*wgs84_to_gcj02(lat, lon))


_TO_WGS84 = {GCJ02: gcj02_to_wgs84, BD09: _bd09_to_wgs84}
_FROM_WGS84 = {GCJ02: wgs84_to_gcj02, BD09: _wgs84_to_bd09}


def to_wgs84(lat: float, lon: float, datum: str) -> tuple[float, float]:
    """A point given in ``datum`` as WGS-84."""
    convert = _TO_WGS84.get(datum)
    return convert(lat, lon) if convert else (lat, lon)


def from_wgs84(lat: float, lon: float, datum: str) -> tuple[float, float]:
    """A WGS-84 point shown in ``datum``."""
    convert = _FROM_WGS84.get(datum)
    return convert(lat, lon) if convert else (lat, lon)
