"""Attendance: client places (import, nearby search)."""

from __future__ import annotations

from collections.abc import Sequence

from covenant import paging
from covenant.auth import Principal, authorize
from covenant.errors import InvalidArgument
from services.attendance import storage as db
from services.attendance.base import AttendanceBase
from services.attendance.domain.geo import Place
from services.attendance.domain.pings import validate_point

IMPORT_CHUNK = 5_000


class Places:
    """Imports client places and finds them near a point (over the shared place index)."""

    def __init__(self, base: AttendanceBase) -> None:
        self.base = base

    def import_places(self, principal: Principal, places: Sequence[Place], address: Sequence[str]) -> int:
        """Inserts or updates client places. Validated whole first (one bad row rejects the import and
        nothing is written), then upserted in chunks of ``IMPORT_CHUNK`` (each idempotent, so a failed
        import is simply sent again) to keep every write transaction short."""
        authorize(principal, "attendance.places.write")
        if not places:
            raise InvalidArgument("at least one place is required", field="places")
        seen: set[str] = set()
        for i, p in enumerate(places):
            if not p.id:
                raise InvalidArgument("is required", field=f"places[{i}].client_id")
            if p.id in seen:
                raise InvalidArgument(f"client {p.id!r} appears twice", field=f"places[{i}].client_id")
            seen.add(p.id)
            validate_point(p.latitude, p.longitude, f"places[{i}].location")
            if not 0 <= p.radius_m <= 10_000:
                raise InvalidArgument("must be in [0, 10000] metres", field=f"places[{i}].visit_radius_m")
        rows = [
            {
                "client_id": p.id,
                "name": p.name or p.id,
                "address": a,
                "latitude": p.latitude,
                "longitude": p.longitude,
                "radius_m": p.radius_m,
                "high_risk": p.high_risk,
            }
            for p, a in zip(places, address, strict=True)
        ]
        for start in range(0, len(rows), IMPORT_CHUNK):  # short write transactions: ingest keeps going
            with self.base.db.session() as s:
                db.upsert_places(s, rows[start : start + IMPORT_CHUNK])
        self.base.index(force=True)
        return len(rows)

    def nearby(
        self, principal: Principal, lat: float, lon: float, radius_m: float, limit: int
    ) -> list[tuple[float, Place]]:
        authorize(principal, "attendance.places.read")
        validate_point(lat, lon, "location")
        if not 0 < radius_m <= 50_000:
            raise InvalidArgument("must be in (0, 50000] metres", field="radius_m")
        if not 0 <= limit <= paging.MAX_PAGE:
            raise InvalidArgument(f"must be in [0, {paging.MAX_PAGE}]", field="limit")
        return self.base.index().within(lat, lon, radius_m, limit or paging.DEFAULT_PAGE)
