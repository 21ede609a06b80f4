"""What the attendance use cases share: the pack parameters (read per evaluation, so a newly activated pack
applies at once), the local day, the place index, the identity of employees from the directory, events and
anomalies (recorded once, with the rule and pack behind them) and the judgement of a stop."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import threading
import time as monotonic_time
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy.orm import Session

from covenant.calendar import BusinessCalendar
from covenant.db.engine import Database
from covenant.db.outbox import new_event
from covenant.errors import InvalidArgument
from covenant.rules import FiredAction
from covenant.units import ServiceUnits
from services.attendance import storage as db
from services.attendance.domain.day import WorkingHours, overlaps, stop_facts
from services.attendance.domain.geo import PlaceIndex
from services.attendance.domain.integrity import IntegrityParams
from services.attendance.domain.pings import PingIn
from services.attendance.domain.stops import Stop, StopParams
from services.attendance.ports import AttendanceStore

SOURCE = "attendance"


def stop_id(employee_id: str, start: datetime) -> str:
    return "stop_" + hashlib.sha256(f"{employee_id}|{start.isoformat()}".encode()).hexdigest()[:16]


class AttendanceBase(ServiceUnits[AttendanceStore]):
    """The wiring and rules every attendance capability uses (``services.attendance.service``)."""

    def __init__(
        self,
        database: Database,
        rules: Any,
        *,
        index_refresh_seconds: float = 1.0,
        window_cache_size: int = 20_000,
        **wiring: Any,
    ) -> None:
        """``wiring``: the keyword arguments of ``ServiceUnits`` but ``source``; ``stores`` opens one unit
        of work as an ``AttendanceStore`` (default: a SQL session of ``database``); check-ins, silent days
        and the place index go through it, the other use cases use ``database`` directly.
        ``window_cache_size``: the employee-days whose tail ping ingest keeps."""
        super().__init__(database, rules, source=SOURCE, **wiring)
        self._index: PlaceIndex | None = None
        self._index_revision = 0
        self._index_checked = 0.0
        self._index_refresh = index_refresh_seconds
        # Held while the index reads the database (never while waiting for ingest's tail cache lock).
        self._index_lock = threading.Lock()
        self.window_cache_size = window_cache_size

    def store(self, s: Session) -> db.SqlAttendanceStore:
        """The storage port over the caller's session."""
        return db.SqlAttendanceStore(s, self.outbox)

    # -- pack parameters (read per evaluation: a newly activated pack applies at once) ---------------
    def param(self, name: str, role: str, org_unit: str, default: Any) -> Any:
        return self.rules.parameter(name, role=role or None, org_unit=org_unit or None, default=default)

    def num(self, name: str, role: str, org_unit: str, default: float) -> float:
        return float(self.param(name, role, org_unit, default))

    def stop_params(self, role: str, org_unit: str) -> StopParams:
        return StopParams(
            stop_radius_m=self.num("stop_radius_m", role, org_unit, 100),
            min_stop_minutes=self.num("min_stop_minutes", role, org_unit, 10),
            min_trip_m=self.num("min_trip_m", role, org_unit, 200),
            max_gap_minutes=self.num("max_gap_minutes", role, org_unit, 30),
        )

    def integrity_params(self, role: str, org_unit: str) -> IntegrityParams:
        return IntegrityParams(
            max_speed_kmh=self.num("max_speed_kmh", role, org_unit, 200),
            min_accuracy_m=self.num("min_accuracy_m", role, org_unit, 1.0),
            repeat_limit=int(self.num("repeated_coordinates_limit", role, org_unit, 6)),
            min_jump_m=self.num("min_jump_m", role, org_unit, 1000),
        )

    def working_hours(self, role: str, org_unit: str) -> WorkingHours:
        return WorkingHours.from_parameter(
            self.param("working_hours", role, org_unit, {"start": "09:00", "end": "18:00"})
        )

    def calendar(self, org_unit: str = "") -> BusinessCalendar:
        """The business calendar of the pack for ``org_unit`` (a region may override it): what "a day"
        means for visits per day and silence."""
        config = self.param("business_calendar", "", org_unit, {"official": "cn"})
        return BusinessCalendar.from_config({"timezone": str(self.tz), **dict(config or {})})

    def day_of(self, at: datetime) -> str:
        return at.astimezone(self.tz).date().isoformat()

    def today(self) -> str:
        return self.day_of(self.clock())

    # -- places ---------------------------------------------------------------------------------------
    def index(self, force: bool = False) -> PlaceIndex:
        """The place index, brought up to date with places other replicas imported (checked at most
        every ``index_refresh_seconds``)."""
        with self._index_lock:
            now = monotonic_time.monotonic()
            if self._index is not None and not force and now - self._index_checked < self._index_refresh:
                return self._index
            since = 0 if self._index is None else self._index_revision
            with self.stores() as st:  # read only; the index is built after the unit ends
                changed = self._index is None or st.place_revision_now() != since
                found, rev = st.places_since(since) if changed else ([], since)
            if self._index is None:
                self._index = PlaceIndex(found)
            elif found:
                self._index.upsert(found)
            self._index_revision, self._index_checked = rev, now
            return self._index

    # -- events ---------------------------------------------------------------------------------------
    def event(
        self, kind: str, employee: str, org_unit: str, key: str, at: datetime, data: dict[str, Any]
    ) -> Any:
        return new_event(
            f"attendance.{kind}",
            source=SOURCE,
            subject=f"employees/{employee}",
            org_unit=org_unit,
            data={"employee_id": employee, **data},
            idempotency_key=f"attendance.{kind}:{employee}:{key}",
            occurred_at=at,
        )

    def emit(
        self,
        st: AttendanceStore,
        kind: str,
        employee: str,
        org_unit: str,
        key: str,
        at: datetime,
        data: dict[str, Any],
    ) -> None:
        st.emit([self.event(kind, employee, org_unit, key, at, data)])

    def anomaly(
        self,
        st: AttendanceStore,
        kind: str,
        employee: str,
        org_unit: str,
        day: str,
        key: str,
        at: datetime,
        data: dict[str, Any],
        fired: FiredAction,
        ref_id: str = "",
        interval: tuple[datetime, datetime] | None = None,
    ) -> int:
        """Records an anomaly and its event once (per employee, kind and key); returns 1 when new."""
        provenance = {"rule_id": fired.rule_id, "pack_id": fired.pack_id, "pack_version": fired.pack_version}
        detail = {**data, "reason": fired.params.get("reason", "")}
        inserted = st.add_anomaly(
            {
                "employee_id": employee,
                "org_unit": org_unit,
                "day": day,
                "kind": kind,
                "key": key[:128],
                "at": at,
                "detail_json": json.dumps(detail, ensure_ascii=False, default=str),
                "ref_id": ref_id,
                "start_at": interval[0] if interval else None,
                "end_at": interval[1] if interval else None,
                **provenance,
            },
        )
        if not inserted:
            return 0
        self.emit(st, kind, employee, org_unit, key, at, {"day": day, **detail, **provenance})
        return 1

    # -- identity from the directory -----------------------------------------------------------------
    def from_directory(self, pings: Sequence[PingIn], field: str, *, indexed: bool = True) -> list[PingIn]:
        """``pings`` with each employee's org unit and role as the directory has them; a ping asserting
        anything else is refused naming ``<field>[i].org_unit`` / ``.role`` (``<field>.…`` when not
        ``indexed``)."""
        if self.directory is None:
            return list(pings)
        out = []
        for i, p in enumerate(pings):
            where = f"{field}[{i}]" if indexed else field
            entry = self.directory.resolve(p.employee_id, org_unit=p.org_unit, role=p.role, field=where)
            role = p.role if p.role in entry.role_titles else entry.role
            out.append(dataclasses.replace(p, org_unit=entry.org_unit, role=role))
        return out

    def radius(self, role: str, org: str) -> float:
        return self.num("visit_radius_m", role, org, 150)

    def judge_stop(
        self, s: Session, st: db.DayState, x: Stop, index: PlaceIndex, *, closing: bool = False
    ) -> int:
        """Evaluates the stop rules; raises a dwell anomaly once per stop (overlap-matched)."""
        role, org = st.role, st.org_unit
        if closing:
            x = Stop(x.start, x.end, x.latitude, x.longitude, x.pings, True)
        at_client = index.client_at(x.latitude, x.longitude, self.radius(role, org))
        dwell = self.num("dwell_minutes", role, org, 30)
        working = self.working_hours(role, org).contains(x.start.astimezone(self.tz))
        facts = stop_facts(x, at_client, working, dwell)
        raised = 0
        for a in self.rules.evaluate({"type": "attendance.stop", "role": role, "org_unit": org}, facts):
            if a.action != "raise_dwell_anomaly":
                continue
            if any(
                overlaps((x.start, x.end), seen) for seen in db.dwell_intervals(s, st.employee_id, st.day)
            ):
                continue  # the same stop, already raised (perhaps with another start)
            nearest = index.within(x.latitude, x.longitude, 5_000, limit=1)
            sid = stop_id(st.employee_id, x.start)
            data = {
                "stop_id": sid,
                "start": x.start.isoformat(),
                "end": x.end.isoformat(),
                "duration_minutes": round(x.minutes, 1),
                "latitude": round(x.latitude, 6),
                "longitude": round(x.longitude, 6),
                "threshold_minutes": dwell,
                "nearest_client_id": nearest[0][1].id if nearest else "",
                "nearest_client_distance_m": round(nearest[0][0], 1) if nearest else None,
            }
            raised += self.anomaly(
                self.store(s),
                "dwell_anomaly",
                st.employee_id,
                org,
                st.day,
                sid,
                x.start,
                data,
                a,
                ref_id=sid,
                interval=(x.start, x.end),
            )
        return raised

    # -- days ----------------------------------------------------------------------------------------------
    @staticmethod
    def check_day(day: str, field_name: str = "date") -> None:
        try:
            date.fromisoformat(day)
        except ValueError:
            raise InvalidArgument(f"must be YYYY-MM-DD, got {day!r}", field=field_name) from None
