"""Pictures drawn on the server as SVG: a rep's route over the client places, and a score trend.

No map server is needed: positions are projected onto the org's own local plane (metres around the
route's centre). Installations with a tile server can set a tile URL template; tiles are then laid under
the route in Web Mercator (docs/console.md).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

EARTH_M = 6_371_000.0


@dataclass(frozen=True)
class MapPoint:
    """Something to draw at a position: ``kind`` is visit, stop, place, anomaly or ping."""

    lat: float
    lon: float
    kind: str
    label: str = ""
    verified: bool = False
    minutes: float = 0.0
    flagged: bool = False


def _project(points: Sequence[MapPoint]) -> tuple[float, float, float]:
    lat0 = sum(p.lat for p in points) / len(points)
    lon0 = sum(p.lon for p in points) / len(points)
    return lat0, lon0, math.cos(math.radians(lat0))


def route_svg(
    route: Sequence[MapPoint],
    places: Sequence[MapPoint] = (),
    *,
    width: int = 640,
    height: int = 420,
    title: str = "",
    tile_url: str = "",
) -> Markup:
    """An SVG of ``route`` (in time order) over ``places``; an empty picture when there is nothing."""
    everything = [*route, *places]
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" aria-label="{escape(title)}" class="route-map">'
        f"<title>{escape(title)}</title>"
    )
    if not everything:
        return Markup(head + '<rect width="100%" height="100%" class="map-bg"/></svg>')
    lat0, lon0, coslat = _project(everything)
    xs = [math.radians(p.lon - lon0) * coslat * EARTH_M for p in everything]
    ys = [math.radians(p.lat - lat0) * EARTH_M for p in everything]
    span = max(max(xs) - min(xs), max(ys) - min(ys), 200.0)
    pad = 30
    scale = min(width - 2 * pad, height - 2 * pad) / span
    cx, cy = (max(xs) + min(xs)) / 2, (max(ys) + min(ys)) / 2

    def xy(p: MapPoint) -> tuple[float, float]:
        x = math.radians(p.lon - lon0) * coslat * EARTH_M
        y = math.radians(p.lat - lat0) * EARTH_M
        return width / 2 + (x - cx) * scale, height / 2 - (y - cy) * scale

    parts = [head, '<rect width="100%" height="100%" class="map-bg"/>']
    if tile_url:
        parts.append(_tiles(everything, xy, tile_url, width, height))
    # Scale bar: a round distance about a fifth of the width.
    metres = _round_distance(span / 5)
    bar = metres * scale
    parts.append(
        f'<g class="scale"><line x1="{pad}" y1="{height - 12}" x2="{pad + bar:.1f}" y2="{height - 12}"/>'
        f'<text x="{pad}" y="{height - 16}">{_fmt_distance(metres)}</text></g>'
    )
    for p in places:
        x, y = xy(p)
        parts.append(
            f'<rect class="place" x="{x - 4:.1f}" y="{y - 4:.1f}" width="8" height="8">'
            f"<title>{escape(p.label)}</title></rect>"
        )
    if len(route) > 1:
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in (xy(p) for p in route))
        parts.append(f'<polyline class="trip" points="{path}"/>')
    for i, p in enumerate(route, 1):
        x, y = xy(p)
        r = 5 + min(p.minutes, 120) / 12
        cls = "visit verified" if p.kind == "visit" and p.verified else p.kind
        if p.flagged:
            cls += " flagged"
        parts.append(
            f'<g class="{escape(cls)}"><circle cx="{x:.1f}" cy="{y:.1f}" r="{r:.1f}"/>'
            f'<text x="{x + r + 2:.1f}" y="{y + 4:.1f}">{i}</text><title>{escape(p.label)}</title></g>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def _round_distance(metres: float) -> float:
    for step in (10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10_000, 20_000, 50_000):
        if step >= metres:
            return float(step)
    return 100_000.0


def _fmt_distance(metres: float) -> str:
    return f"{metres / 1000:g} km" if metres >= 1000 else f"{metres:g} m"


def _tiles(points: Sequence[MapPoint], xy, tile_url: str, width: int, height: int) -> str:  # type: ignore[no-untyped-def]
    """Web Mercator tiles under the picture, at the zoom whose tile size best matches the drawing scale."""
    lats = [p.lat for p in points]
    lons = [p.lon for p in points]
    lat_c, lon_c = (max(lats) + min(lats)) / 2, (max(lons) + min(lons)) / 2
    # metres per pixel of our drawing, measured between the extreme points
    a, b = MapPoint(min(lats), min(lons), "x"), MapPoint(max(lats), max(lons), "x")
    (ax, ay), (bx, by) = xy(a), xy(b)
    px = max(math.hypot(bx - ax, by - ay), 1.0)
    metres = math.hypot(
        math.radians(b.lon - a.lon) * math.cos(math.radians(lat_c)) * EARTH_M,
        math.radians(b.lat - a.lat) * EARTH_M,
    )
    mpp = max(metres / px, 0.1)
    zoom = max(0, min(19, round(math.log2(156_543.03 * math.cos(math.radians(lat_c)) / mpp))))
    n = 2**zoom

    def tile_of(lat: float, lon: float) -> tuple[float, float]:
        x = (lon + 180) / 360 * n
        y = (1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n
        return x, y

    def lat_lon(tx: float, ty: float) -> tuple[float, float]:
        lon = tx / n * 360 - 180
        lat = math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * ty / n))))
        return lat, lon

    tx0, ty0 = tile_of(lat_c, lon_c)
    out = ['<g class="tiles">']
    for dx in range(-2, 3):
        for dy in range(-2, 3):
            tx, ty = int(tx0) + dx, int(ty0) + dy
            if not (0 <= tx < n and 0 <= ty < n):
                continue
            la, lo = lat_lon(tx, ty)
            la2, lo2 = lat_lon(tx + 1, ty + 1)
            x1, y1 = xy(MapPoint(la, lo, "x"))
            x2, y2 = xy(MapPoint(la2, lo2, "x"))
            if x2 < 0 or y2 < 0 or x1 > width or y1 > height:
                continue
            href = escape(tile_url.format(z=zoom, x=tx, y=ty))
            out.append(
                f'<image href="{href}" x="{x1:.1f}" y="{y1:.1f}" width="{x2 - x1:.1f}" '
                f'height="{y2 - y1:.1f}" preserveAspectRatio="none"/>'
            )
    out.append("</g>")
    return "".join(out)


def trend_svg(
    points: Sequence[tuple[str, float]], *, width: int = 520, height: int = 180, title: str = ""
) -> Markup:
    """A line chart of ``(label, value)`` in order; values are shown at each point."""
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" '
        f'height="{height}" role="img" aria-label="{escape(title)}" class="trend">'
        f"<title>{escape(title)}</title>"
    )
    if not points:
        return Markup(head + "</svg>")
    lo = min(v for _, v in points)
    hi = max(v for _, v in points)
    if hi - lo < 1e-9:
        lo, hi = lo - 1, hi + 1
    pad_x, pad_y = 40, 24
    step = (width - 2 * pad_x) / max(len(points) - 1, 1)

    def xy(i: int, v: float) -> tuple[float, float]:
        return pad_x + i * step, height - pad_y - (v - lo) / (hi - lo) * (height - 2 * pad_y)

    coords = [xy(i, v) for i, (_, v) in enumerate(points)]
    parts = [
        head,
        f'<line class="axis" x1="{pad_x}" y1="{height - pad_y}" x2="{width - pad_x}" y2="{height - pad_y}"/>',
    ]
    parts.append('<polyline class="line" points="' + " ".join(f"{x:.1f},{y:.1f}" for x, y in coords) + '"/>')
    for (label, value), (x, y) in zip(points, coords, strict=True):
        parts.append(
            f'<g class="point"><circle cx="{x:.1f}" cy="{y:.1f}" r="4"/>'
            f'<text class="value" x="{x:.1f}" y="{y - 8:.1f}">{value:g}</text>'
            f'<text class="label" x="{x:.1f}" y="{height - 6}">{escape(label)}</text></g>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))
