"""Distances on the earth and a spatial index of client places for "nearest within R metres" look-ups.

Two structures, chosen by radius (measured: benchmarks/geo_ingest.py):
- a fine lat/lon grid (cells of ~170 m) for the common small radii (visit radii, stop matching): a few
  dictionary look-ups and a handful of distance checks, ~10-20 us over 100k places;
- a KD-tree (scipy ``cKDTree``) over unit vectors on the sphere for larger radii: a great-circle radius R
  is a chord of length ``2 sin(R / 2E)``, so a ball query returns exactly the places within R. Places added
  or moved after the tree was built live in a small overlay scanned linearly until the next rebuild.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree

EARTH_M = 6_371_008.8
M_PER_DEG = math.pi * EARTH_M / 180
REBUILD_AFTER = 2_000  # overlay size that triggers a tree rebuild
CELL_DEG = 0.0015  # grid cell (~167 m of latitude)
GRID_MAX_M = 300.0  # radii up to this use the grid, larger ones the tree


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_M * math.asin(min(1.0, math.sqrt(a)))


def _unit(lat: float, lon: float) -> tuple[float, float, float]:
    la, lo = math.radians(lat), math.radians(lon)
    c = math.cos(la)
    return c * math.cos(lo), c * math.sin(lo), math.sin(la)


def _chord(radius_m: float) -> float:
    return 2 * math.sin(min(radius_m, math.pi * EARTH_M) / (2 * EARTH_M))


def _entry(p: Place) -> tuple[float, float, str, Place]:
    return p.latitude, p.longitude, p.id, p


@dataclass(frozen=True)
class Place:
    """A client's registered location; ``radius_m`` 0 means "use the pack's default visit radius"."""

    id: str
    name: str
    latitude: float
    longitude: float
    radius_m: int = 0
    high_risk: bool = False


@dataclass(frozen=True)
class _Tree:
    """The KD-tree and what it was built from, swapped as one reference."""

    tree: cKDTree | None
    places: list[Place]
    points: np.ndarray
    overlay: dict[str, Place]  # added or moved since the build (never mutated: replaced on change)


class PlaceIndex:
    """Client places by id, with nearest-within-R queries.

    One writer at a time (the owner serialises ``upsert``); readers never lock: every update builds new
    cell lists, a new id map and a new overlay and swaps them in, so a query running concurrently sees
    either the old or the new state of each structure, never a half-changed one.
    """

    def __init__(self, places: Iterable[Place] = ()) -> None:
        self.by_id: dict[str, Place] = {p.id: p for p in places}
        self._cells: dict[tuple[int, int], list[tuple[float, float, str, Place]]] = {}
        for p in self.by_id.values():
            self._cells.setdefault(self._cell(p.latitude, p.longitude), []).append(_entry(p))
        self.max_radius_m = max((p.radius_m for p in self.by_id.values()), default=0)
        self._t = self._build(self.by_id)

    @staticmethod
    def _cell(lat: float, lon: float) -> tuple[int, int]:
        return math.floor(lat / CELL_DEG), math.floor(lon / CELL_DEG)

    @staticmethod
    def _build(by_id: dict[str, Place]) -> _Tree:
        places = list(by_id.values())
        points = np.array([_unit(p.latitude, p.longitude) for p in places], dtype=float).reshape(-1, 3)
        return _Tree(cKDTree(points) if places else None, places, points, {})

    def __len__(self) -> int:
        return len(self.by_id)

    def get(self, place_id: str) -> Place | None:
        return self.by_id.get(place_id)

    def upsert(self, places: Iterable[Place]) -> None:
        """Adds or moves places; the tree is rebuilt once the overlay grows past ``REBUILD_AFTER``."""
        by_id, overlay = dict(self.by_id), dict(self._t.overlay)
        for p in places:
            old = by_id.get(p.id)
            if old is not None:
                key = self._cell(old.latitude, old.longitude)
                self._cells[key] = [e for e in self._cells.get(key, ()) if e[2] != p.id]
            key = self._cell(p.latitude, p.longitude)
            self._cells[key] = [*self._cells.get(key, ()), _entry(p)]
            by_id[p.id] = p
            overlay[p.id] = p
            self.max_radius_m = max(self.max_radius_m, p.radius_m)
        self.by_id = by_id
        t = self._t
        self._t = (
            self._build(by_id) if len(overlay) > REBUILD_AFTER else _Tree(t.tree, t.places, t.points, overlay)
        )

    def within(self, lat: float, lon: float, radius_m: float, limit: int = 0) -> list[tuple[float, Place]]:
        """Places within ``radius_m`` of the point, nearest first, with their distance in metres."""
        if abs(lat) < 85:
            if radius_m <= GRID_MAX_M:
                found = self._grid_within(lat, lon, radius_m)
                return found[:limit] if limit else found
            if limit:  # expanding search: enough places close by are the nearest ones within any R
                for probe in (GRID_MAX_M / 2, GRID_MAX_M):
                    near = self._grid_within(lat, lon, probe)
                    if len(near) >= limit:
                        return near[:limit]
        t = self._t
        found: list[tuple[float, Place]] = []
        if t.tree is not None:
            q = _unit(lat, lon)
            hits = t.tree.query_ball_point(q, _chord(radius_m))
            if len(hits) > 24:  # vectorised: arc length from the chord between unit vectors
                chord = np.linalg.norm(t.points[hits] - q, axis=1)
                arcs = (2 * EARTH_M) * np.arcsin(np.minimum(chord / 2, 1.0))
                order = np.argsort(arcs, kind="stable")
                if limit:
                    order = order[: limit + len(t.overlay)]
                pairs = [(float(arcs[k]), t.places[hits[k]]) for k in order]
            else:
                pairs = [
                    (haversine_m(lat, lon, p.latitude, p.longitude), p) for p in (t.places[k] for k in hits)
                ]
            found = [(d, p) for d, p in pairs if p.id not in t.overlay]  # moved ones answer below
        for p in t.overlay.values():
            d = haversine_m(lat, lon, p.latitude, p.longitude)
            if d <= radius_m:
                found.append((d, p))
        found = [x for x in found if x[0] <= radius_m]
        found.sort(key=lambda x: (x[0], x[1].id))
        return found[:limit] if limit else found

    def _grid_within(self, lat: float, lon: float, radius_m: float) -> list[tuple[float, Place]]:
        kx = math.cos(math.radians(lat))
        ci, cj = self._cell(lat, lon)
        di = int(radius_m / (CELL_DEG * M_PER_DEG)) + 1
        dj = int(radius_m / (CELL_DEG * M_PER_DEG * kx)) + 1
        # equirectangular pre-filter with 1% slack, then the exact distance
        limit = (radius_m * 1.01 / M_PER_DEG) ** 2
        get = self._cells.get
        hits = []
        for i in range(ci - di, ci + di + 1):
            for j in range(cj - dj, cj + dj + 1):
                cell = get((i, j))
                if cell:
                    for plat, plon, pid, p in cell:
                        dy = plat - lat
                        dx = (plon - lon) * kx
                        if dx * dx + dy * dy <= limit:
                            d = haversine_m(lat, lon, plat, plon)
                            if d <= radius_m:
                                hits.append((d, pid, p))
        hits.sort()
        return [(d, p) for d, _, p in hits]

    def client_at(self, lat: float, lon: float, default_radius_m: float) -> tuple[float, Place] | None:
        """The nearest place whose own visit radius (or the default when it has none) contains the point."""
        for d, p in self.within(lat, lon, max(default_radius_m, self.max_radius_m)):
            if d <= (p.radius_m or default_radius_m):
                return d, p
        return None
