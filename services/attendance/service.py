"""Attendance use cases: places, check-ins, ping ingest with stop detection and integrity checks, reports,
daily summaries.

Thresholds (visit radius, stop radius, minimal stop, trip distance, dwell minutes, working hours, speed
limit, ...) are parameters of the active attendance pack, resolved per role and org unit at evaluation
time; the decisions that raise events are rules of the pack. Every recorded decision keeps rule_id,
pack_id and pack_version.

Pings are stored (unique per employee, device and time). Each employee-day keeps a resume point: a batch
that only appends to the day rescans from it; a batch with a fix earlier than the day's last one rescans
the stored day. Dwell anomalies are raised for closed stops once, matched by overlapping time (a stop whose
start moved because a late fix arrived is the same stop); integrity findings once per stable key.
"""

from __future__ import annotations

import bisect
import dataclasses
import hashlib
import json
import threading
import time as monotonic_time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from covenant import paging
from covenant.auth import DataOwner, Principal, authorize, scope_filter
from covenant.auth.directory import Directory, DirectoryEntry
from covenant.calendar import BusinessCalendar
from covenant.db.engine import Database
from covenant.db.outbox import Outbox, new_event
from covenant.errors import CovenantError, FailedPrecondition, InvalidArgument, NotFound
from covenant.periodic import PeriodicWorker
from covenant.rules import FiredAction
from covenant.rules.runtime import resolve_parameter
from covenant.telemetry import metrics
from services.attendance import storage as db
from services.attendance.domain.day import (
    DaySummary,
    RouteItem,
    WorkingHours,
    ordered_route,
    overlaps,
    stop_facts,
    summarise,
)
from services.attendance.domain.geo import Place, PlaceIndex, haversine_m
from services.attendance.domain.integrity import IntegrityParams, integrity_findings
from services.attendance.domain.pings import PingIn, normalise_batch, validate_ping, validate_point
from services.attendance.domain.silence import DirectoryStatus, RosterEntry, field_roster, silent_days
from services.attendance.domain.stops import Ping, Stop, StopParams, detect_stops, distance_m
from services.attendance.ports import AttendanceStore

SOURCE = "attendance"
DEFAULT_PAGE, MAX_PAGE = paging.DEFAULT_PAGE, paging.MAX_PAGE
IMPORT_CHUNK = 5_000
MAX_BATCH = 500  # check-ins per BatchCheckIns call


@dataclass(frozen=True)
class IngestStats:
    accepted: int
    duplicates: int
    stops: int
    anomalies: int


@dataclass(frozen=True)
class DayTail:
    """Cached tail of an employee-day (fixes from the resume point), valid while the stored day still has
    ``pings`` fixes and ends at ``last_at``; ``judged`` are the closed stops in it already judged."""

    pings: int
    last_at: datetime | None
    window: list[Ping]
    judged: frozenset[tuple[datetime, datetime]]


@dataclass(frozen=True)
class Rescan:
    since: datetime | None
    window: list[Ping]
    stops: list[Stop]
    first_new: datetime
    judged: frozenset[tuple[datetime, datetime]]


@dataclass(frozen=True)
class CheckInResult:
    visit_id: str
    verified: bool
    distance_m: float
    radius_m: float
    event_type: str
    rule_id: str
    pack_id: str
    pack_version: str
    suspicions: tuple[str, ...] = ()


@dataclass(frozen=True)
class CheckInIn:
    """One check-in as asked: the ping, the client visited and the check-in id (``request_id``)."""

    ping: PingIn
    client_id: str
    request_id: str = ""


@dataclass(frozen=True)
class _CheckInJudgement:
    ping: PingIn
    client_id: str
    day: str
    distance_m: float
    radius_m: float
    prev: Ping | None
    facts: dict[str, Any]
    fired: list[FiredAction]


# (index in the call, the item, its ping with the directory's identity, the client's place)
_CheckInTodo = tuple[int, CheckInIn, PingIn, Place]


@dataclass(frozen=True)
class AnomalyView:
    kind: str
    at: datetime
    ref_id: str
    detail: dict[str, Any]
    rule_id: str
    pack_id: str
    pack_version: str


@dataclass(frozen=True)
class RouteReport:
    summary: DaySummary
    items: list[RouteItem]
    anomalies: list[AnomalyView] = field(default_factory=list)


def stop_id(employee_id: str, start: datetime) -> str:
    return "stop_" + hashlib.sha256(f"{employee_id}|{start.isoformat()}".encode()).hexdigest()[:16]


def _visit_row(
    j: _CheckInJudgement, request_id: str, visit_id: str, verified: bool, stamp: dict[str, str]
) -> dict[str, Any]:
    """The visit row of a judged check-in."""
    return {
        "id": visit_id,
        "request_id": request_id or None,
        "employee_id": j.ping.employee_id,
        "org_unit": j.ping.org_unit,
        "client_id": j.client_id,
        "day": j.day,
        "at": j.ping.at,
        "latitude": j.ping.latitude,
        "longitude": j.ping.longitude,
        "distance_m": j.distance_m,
        "verified": verified,
        **stamp,
    }


def _visit_data(j: _CheckInJudgement, visit_id: str) -> dict[str, Any]:
    """What the visit's event and anomalies say about it."""
    return {
        "client_id": j.client_id,
        "visit_id": visit_id,
        "checked_in_at": j.ping.at.isoformat(),
        "latitude": j.ping.latitude,
        "longitude": j.ping.longitude,
        "distance_m": round(j.distance_m, 1),
        "radius_m": j.radius_m,
        "device_id": j.ping.device_id,
    }


class AttendanceService:
    def __init__(
        self,
        database: Database,
        rules: Any,
        *,
        timezone: str = "Asia/Shanghai",
        clock: Callable[[], datetime] | None = None,
        index_refresh_seconds: float = 1.0,
        window_cache_size: int = 20_000,
        directory: Directory | None = None,
        stores: Callable[[], AbstractContextManager[AttendanceStore]] | None = None,
    ) -> None:
        """``stores`` opens one unit of work as an ``AttendanceStore`` (default: a SQL session of
        ``database``); check-ins, silent days and the place index go through it, the other use cases use
        ``database`` directly."""
        self.db = database
        # Who an employee is (org unit, role) comes from here, never from the ping (None: trust the ping,
        # only for in-process tools and benchmarks that construct the service directly).
        self.directory = directory
        self.rules = rules
        self.tz = ZoneInfo(timezone)
        self.clock = clock or (lambda: datetime.now(UTC))
        self.outbox = Outbox(SOURCE)
        self._index: PlaceIndex | None = None
        self._index_revision = 0
        self._index_checked = 0.0
        self._index_refresh = index_refresh_seconds
        # Two locks, never nested and never held by a thread waiting for the other: the index lock is held
        # while the index reads the database; the cache lock only around dict operations (ingest takes it
        # inside its write transaction, so holding it while opening a session could deadlock).
        self._index_lock = threading.Lock()
        self._lock = threading.Lock()
        # (employee, day) -> (fix count, last fix time, fixes from the resume point): the tail a batch
        # that appends to the day rescans. Valid only while the day row still has that count and time.
        self._windows: OrderedDict[tuple[str, str], DayTail] = OrderedDict()
        self._silence_checked = ""  # the local day silence was last recorded for
        self._window_cache_size = window_cache_size
        self.stores = stores or self._sql_store

    @contextmanager
    def _sql_store(self) -> Iterator[AttendanceStore]:
        with self.db.session() as s:
            yield self.store(s)

    def store(self, s: Session) -> db.SqlAttendanceStore:
        """The storage port over the caller's session."""
        return db.SqlAttendanceStore(s, self.outbox)

    # -- pack parameters (read per evaluation: a newly activated pack applies at once) ---------------
    def param(self, name: str, role: str, org_unit: str, default: Any) -> Any:
        return self.rules.parameter(name, role=role or None, org_unit=org_unit or None, default=default)

    def _num(self, name: str, role: str, org_unit: str, default: float) -> float:
        return float(self.param(name, role, org_unit, default))

    def stop_params(self, role: str, org_unit: str) -> StopParams:
        return StopParams(
            stop_radius_m=self._num("stop_radius_m", role, org_unit, 100),
            min_stop_minutes=self._num("min_stop_minutes", role, org_unit, 10),
            min_trip_m=self._num("min_trip_m", role, org_unit, 200),
            max_gap_minutes=self._num("max_gap_minutes", role, org_unit, 30),
        )

    def integrity_params(self, role: str, org_unit: str) -> IntegrityParams:
        return IntegrityParams(
            max_speed_kmh=self._num("max_speed_kmh", role, org_unit, 200),
            min_accuracy_m=self._num("min_accuracy_m", role, org_unit, 1.0),
            repeat_limit=int(self._num("repeated_coordinates_limit", role, org_unit, 6)),
            min_jump_m=self._num("min_jump_m", role, org_unit, 1000),
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
            with self.db.session() as s:
                db.upsert_places(s, rows[start : start + IMPORT_CHUNK])
        self.index(force=True)
        return len(rows)

    def nearby(
        self, principal: Principal, lat: float, lon: float, radius_m: float, limit: int
    ) -> list[tuple[float, Place]]:
        authorize(principal, "attendance.places.read")
        validate_point(lat, lon, "location")
        if not 0 < radius_m <= 50_000:
            raise InvalidArgument("must be in (0, 50000] metres", field="radius_m")
        if not 0 <= limit <= MAX_PAGE:
            raise InvalidArgument(f"must be in [0, {MAX_PAGE}]", field="limit")
        return self.index().within(lat, lon, radius_m, limit or DEFAULT_PAGE)

    # -- events ---------------------------------------------------------------------------------------
    def _event(
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

    def _emit(
        self,
        st: AttendanceStore,
        kind: str,
        employee: str,
        org_unit: str,
        key: str,
        at: datetime,
        data: dict[str, Any],
    ) -> None:
        st.emit([self._event(kind, employee, org_unit, key, at, data)])

    def _anomaly(
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
        self._emit(st, kind, employee, org_unit, key, at, {"day": day, **detail, **provenance})
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

    # -- check-ins ------------------------------------------------------------------------------------
    # One check-in is four steps: facts (directory, validation, authorization, place), judgement on ONE pack
    # snapshot (radius, parameters and rules of the same versions), rows, events. A batch runs the steps
    # over all its items in one transaction and on one snapshot.
    def check_in(self, principal: Principal, ping: PingIn, client_id: str, request_id: str) -> CheckInResult:
        """Verifies a check-in for a named client visit against the client's radius (pack rules decide)."""
        (out,) = self._check_ins(principal, [CheckInIn(ping, client_id, request_id)], batch=False)
        if isinstance(out, CovenantError):
            raise out
        return out

    def batch_check_ins(
        self, principal: Principal, items: Sequence[CheckInIn]
    ) -> list[CheckInResult | CovenantError]:
        """Check-ins judged on one pack snapshot in one transaction, idempotent per check-in id
        (``request_id``, required): per item a result or its error (bad input, unknown client or
        employee); an authorization failure on any item refuses the whole batch."""
        if not items:
            raise InvalidArgument("at least one check-in is required", field="check_ins")
        if len(items) > MAX_BATCH:
            raise InvalidArgument(f"at most {MAX_BATCH} check-ins per call", field="check_ins")
        return self._check_ins(principal, items, batch=True)

    def _check_in_facts(
        self, principal: Principal, item: CheckInIn, where: str, now: datetime, batch: bool
    ) -> tuple[PingIn, Place]:
        """Step 1: the ping with the directory's identity, validated and authorized, and its place."""
        (ping,) = self.from_directory([item.ping], f"{where}ping", indexed=False)
        validate_ping(ping, f"{where}ping", now)
        if not item.client_id:
            raise InvalidArgument("is required", field=f"{where}client_id")
        if batch and not item.request_id:
            raise InvalidArgument(
                "is required (the check-in id a resent batch is matched by)", field=f"{where}request_id"
            )
        authorize(principal, "attendance.visits.write", DataOwner(ping.employee_id, ping.org_unit))
        place = self.index().get(item.client_id)
        if place is None:
            raise NotFound(f"client place {item.client_id!r} is not known; import it first")
        return ping, place

    def _check_ins(
        self, principal: Principal, items: Sequence[CheckInIn], *, batch: bool
    ) -> list[CheckInResult | CovenantError]:
        out: list[CheckInResult | CovenantError | None] = [None] * len(items)
        todo = self._gather_check_ins(principal, items, out, batch=batch)
        if todo:
            packs = self.rules.snapshot()  # step 2 judges every item of the call on this one pack set
            with self.stores() as st:
                self._record_check_ins(st, packs, self._replay_recorded(st, todo, out), out)
        return [r for r in out if r is not None]

    def _gather_check_ins(
        self,
        principal: Principal,
        items: Sequence[CheckInIn],
        out: list[CheckInResult | CovenantError | None],
        *,
        batch: bool,
    ) -> list[_CheckInTodo]:
        """Step 1 over every item; in a batch an item's bad input becomes its result in ``out`` (raised
        otherwise)."""
        now = self.clock()
        if self.directory is not None and len(items) > 1:
            self.directory.prefetch(item.ping.employee_id for item in items)
        todo: list[_CheckInTodo] = []
        for i, item in enumerate(items):
            try:
                ping, place = self._check_in_facts(
                    principal, item, f"check_ins[{i}]." if batch else "", now, batch
                )
            except (InvalidArgument, NotFound, FailedPrecondition) as e:
                if not batch:
                    raise
                out[i] = e
                continue
            todo.append((i, item, ping, place))
        return todo

    def _replay_recorded(
        self, st: AttendanceStore, todo: list[_CheckInTodo], out: list[CheckInResult | CovenantError | None]
    ) -> list[_CheckInTodo]:
        """Items whose check-in id is already recorded get the recorded result in ``out``; the rest."""
        ids = [item.request_id for _, item, _, _ in todo if item.request_id]
        done = st.visits_by_request(ids) if ids else {}
        fresh = []
        for i, item, ping, place in todo:
            if item.request_id in done:
                out[i] = self._replayed(done[item.request_id])
            else:
                fresh.append((i, item, ping, place))
        return fresh

    def _record_check_ins(
        self,
        st: AttendanceStore,
        packs: Sequence[Any],
        fresh: list[_CheckInTodo],
        out: list[CheckInResult | CovenantError | None],
    ) -> None:
        """Steps 2 to 4 for the new items in one unit: a check-in id sent twice in one batch is one visit;
        the employee-days touched are locked first and marked out of date."""
        states = st.lock_days(
            [(p.employee_id, self.day_of(p.at), p.org_unit, p.role) for _, _, p, _ in fresh]
        )
        visits: list[dict[str, Any]] = []
        events: list[Any] = []
        seen: dict[str, int] = {}
        for i, item, ping, place in fresh:
            if item.request_id and item.request_id in seen:  # sent twice in one batch: one visit
                out[i] = out[seen[item.request_id]]
                continue
            judged = self._judge_check_in(st, packs, ping, place, item.client_id)
            out[i] = self._record_check_in(st, judged, item, visits, events)
            if item.request_id:
                seen[item.request_id] = i
        st.add_visits(visits)
        st.emit(events)
        for day_state in states.values():
            day_state.dirty = True
        st.save_days(states.values())

    def _judge_check_in(
        self, st: AttendanceStore, packs: Sequence[Any], ping: PingIn, place: Place, client_id: str
    ) -> _CheckInJudgement:
        """Step 2: facts and the fired rules, parameters and rules all from ``packs``."""
        role, org = ping.role or None, ping.org_unit or None

        def num(name: str, default: float) -> float:
            return float(resolve_parameter(packs, name, role, org, default))

        radius = place.radius_m or num("visit_radius_m", 150)
        dist = haversine_m(ping.latitude, ping.longitude, place.latitude, place.longitude)
        window = timedelta(minutes=num("checkin_ping_window_minutes", 15))
        prev = st.last_ping_before(ping.employee_id, ping.at, ping.at - window)
        gap = haversine_m(prev.latitude, prev.longitude, ping.latitude, ping.longitude) if prev else None
        facts = {
            "distance_m": round(dist, 1),
            "radius_m": radius,
            "within_radius": dist <= radius,
            "has_preceding_ping": prev is not None,
            "distance_from_last_ping_m": round(gap, 1) if gap is not None else -1,
            "far_from_pings": gap is not None and gap > num("checkin_ping_gap_m", 1000),
            "mock_location": ping.mock,
            "accuracy_m": ping.accuracy_m,
            "high_risk_client": place.high_risk,
        }
        fired = self.rules.evaluate(
            {
                "type": "attendance.check_in",
                "role": ping.role,
                "org_unit": ping.org_unit,
                "client_id": client_id,
            },
            facts,
            packs=packs,
        )
        return _CheckInJudgement(ping, client_id, self.day_of(ping.at), dist, radius, prev, facts, fired)

    def _record_check_in(
        self,
        st: AttendanceStore,
        j: _CheckInJudgement,
        item: CheckInIn,
        visits: list[dict[str, Any]],
        events: list[Any],
    ) -> CheckInResult:
        """Steps 3 and 4: the visit row (appended to ``visits``), its outcome and spoofing anomalies."""
        verify = next((a for a in j.fired if a.action == "verify_visit"), None)
        mismatch = next((a for a in j.fired if a.action == "flag_location_mismatch"), None)
        verified = verify is not None and mismatch is None
        decision = verify if verified else mismatch
        visit_id = "visit_" + uuid.uuid4().hex[:16]
        stamp = {
            "rule_id": decision.rule_id if decision else "",
            "pack_id": decision.pack_id if decision else "",
            "pack_version": decision.pack_version if decision else "",
        }
        visits.append(_visit_row(j, item.request_id, visit_id, verified, stamp))
        result = "verified" if verified else "mismatched" if mismatch is not None else "unverified"
        st.count_check_in(result)
        data = _visit_data(j, visit_id)
        event_type = ""
        if verified:
            event_type = "attendance.visit_verified"
            events.append(
                self._event(
                    "visit_verified",
                    j.ping.employee_id,
                    j.ping.org_unit,
                    visit_id,
                    j.ping.at,
                    {"day": j.day, **data, **stamp},
                )
            )
        elif mismatch is not None:
            event_type = "attendance.location_mismatch"
            self._anomaly(
                st,
                "location_mismatch",
                j.ping.employee_id,
                j.ping.org_unit,
                j.day,
                visit_id,
                j.ping.at,
                data,
                mismatch,
                ref_id=visit_id,
            )
        suspicions = self._flag_spoofing(st, j, visit_id, data)
        return CheckInResult(
            visit_id, verified, j.distance_m, j.radius_m, event_type, *stamp.values(), tuple(suspicions)
        )

    def _flag_spoofing(
        self, st: AttendanceStore, j: _CheckInJudgement, visit_id: str, data: dict[str, Any]
    ) -> list[str]:
        """Step 4, spoofing: one anomaly per ``flag_spoofing`` rule fired, with the facts and the preceding
        fix as evidence; returns the rule ids."""
        suspicions = []
        for a in j.fired:
            if a.action != "flag_spoofing":
                continue
            suspicions.append(a.rule_id)
            evidence = {"check": a.rule_id, **data, **j.facts}
            if j.prev is not None:
                evidence["preceding_ping"] = {
                    "at": j.prev.at.isoformat(),
                    "latitude": j.prev.latitude,
                    "longitude": j.prev.longitude,
                }
            self._anomaly(
                st,
                "spoofing_suspected",
                j.ping.employee_id,
                j.ping.org_unit,
                j.day,
                f"checkin:{visit_id}:{a.rule_id}",
                j.ping.at,
                evidence,
                a,
                ref_id=visit_id,
            )
        return suspicions

    @staticmethod
    def _replayed(row: dict[str, Any]) -> CheckInResult:
        verified = bool(row["verified"])
        kind = (
            "attendance.visit_verified"
            if verified
            else ("attendance.location_mismatch" if row["rule_id"] else "")
        )
        return CheckInResult(
            row["id"],
            verified,
            row["distance_m"],
            0.0,
            kind,
            row["rule_id"],
            row["pack_id"],
            row["pack_version"],
        )

    # -- pings ----------------------------------------------------------------------------------------
    def ingest(self, principal: Principal, pings: Sequence[PingIn]) -> IngestStats:
        """Stores a batch of fixes (validated whole: the first bad fix rejects it, naming pings[i]) and
        re-evaluates each touched employee-day. Duplicates (same employee, device and time, within the
        batch or already stored) are counted and ignored; order does not matter."""
        fixes, _ = normalise_batch(self.from_directory(pings, "pings"), self.clock())
        for owner in sorted({(p.employee_id, p.org_unit) for p in fixes}):
            authorize(principal, "attendance.pings.write", DataOwner(*owner))
        index = self.index()  # outside the write transaction
        rows = [self._ping_row(p) for p in fixes]
        latest = {p.employee_id: (p.org_unit, p.role) for p in fixes}  # fixes are time-ordered
        windows: dict[tuple[str, str], DayTail] = {}
        with self.db.session() as s:
            # lock the employee-days first: no other writer can add their fixes until we commit
            states = db.lock_days(s, {(r["employee_id"], r["day"], *latest[r["employee_id"]]) for r in rows})
            rows = self._insert_new_fixes(s, rows, fixes, latest)
            new: dict[tuple[str, str], list[Ping]] = {}
            for r in rows:
                new.setdefault((r["employee_id"], r["day"]), []).append(
                    Ping(r["at"], r["latitude"], r["longitude"], r["accuracy_m"], r["mock"], r["device_id"])
                )
            rescans = self._rescan_days(s, states, new, latest, index)
            stops = sum(len(r.stops) for _, r in rescans)
            anomalies = sum(self._judge_rescan(s, state, r, index, windows) for state, r in rescans)
            db.save_days(s, [states[k] for k in new])
        self._remember_tails(windows)  # only after the commit: a rolled-back batch never reaches the cache
        return IngestStats(len(rows), len(pings) - len(rows), stops, anomalies)

    def _ping_row(self, p: PingIn) -> dict[str, Any]:
        return {
            "employee_id": p.employee_id,
            "org_unit": p.org_unit,
            "device_id": p.device_id,
            "day": self.day_of(p.at),
            "at": p.at,
            "latitude": p.latitude,
            "longitude": p.longitude,
            "accuracy_m": p.accuracy_m,
            "mock": p.mock,
        }

    @staticmethod
    def _insert_new_fixes(
        s: Session, rows: list[dict[str, Any]], fixes: Sequence[PingIn], latest: dict[str, tuple[str, str]]
    ) -> list[dict[str, Any]]:
        """Stores the rows not stored yet (same employee, device and time); returns them."""
        stored = db.existing_ping_keys(
            s, list(latest), [r["day"] for r in rows], min(p.at for p in fixes), max(p.at for p in fixes)
        )
        rows = [r for r in rows if (r["employee_id"], r["device_id"], r["at"]) not in stored]
        db.insert_pings(s, rows)
        metrics.add_on_commit(s, metrics.PINGS_INGESTED, len(rows), {})
        return rows

    def _rescan_days(
        self,
        s: Session,
        states: dict[tuple[str, str], db.DayState],
        new: dict[tuple[str, str], list[Ping]],
        latest: dict[str, tuple[str, str]],
        index: PlaceIndex,
    ) -> list[tuple[db.DayState, Rescan]]:
        """Stop detection over each touched employee-day; the stops found replace the stored ones."""
        scopes: list[tuple[str, str, datetime | None]] = []
        stop_rows: list[dict[str, Any]] = []
        rescans: list[tuple[db.DayState, Rescan]] = []
        for key in sorted(new):
            state = states[key]
            state.org_unit, state.role = latest[key[0]]
            r = self._rescan(s, state, sorted(new[key], key=lambda p: p.at))
            scopes.append((state.employee_id, state.day, r.since))
            stop_rows += self._stop_rows(state, r.stops, index)
            rescans.append((state, r))
        db.replace_stops(s, scopes, stop_rows)
        return rescans

    def _judge_rescan(
        self,
        s: Session,
        state: db.DayState,
        r: Rescan,
        index: PlaceIndex,
        windows: dict[tuple[str, str], DayTail],
    ) -> int:
        """Judges a rescanned day's newly closed stops and its new fixes' integrity; records the day's tail
        (with the stops judged in it) in ``windows``. Returns the anomalies raised."""
        anomalies = 0
        judged = set(r.judged)
        for x in r.stops:
            if x.closed and (x.start, x.end) not in judged:  # a stop is judged once it has ended
                anomalies += self._judge_stop(s, state, x, index)
                judged.add((x.start, x.end))
        anomalies += self._judge_integrity(s, state, r.window, r.first_new if r.since else None)
        tail = [p for p in r.window if p.at >= state.resume_at]
        kept = frozenset(j for j in judged if tail and j[0] >= tail[0].at)
        windows[(state.employee_id, state.day)] = DayTail(state.pings, state.last_at, tail, kept)
        return anomalies

    def _remember_tails(self, windows: dict[tuple[str, str], DayTail]) -> None:
        with self._lock:
            for key, value in windows.items():
                self._windows[key] = value
                self._windows.move_to_end(key)
            while len(self._windows) > self._window_cache_size:
                self._windows.popitem(last=False)

    def _rescan(self, s: Session, st: db.DayState, new: list[Ping]) -> Rescan:
        """Stop detection over the part of the day new fixes can change: from the resume point when they
        all come after the day's last fix (the tail is served from a cache validated by the day's fix
        count and last time, else read back), the whole stored day otherwise."""
        first_new = new[0].at
        appending = st.last_at is not None and st.resume_at is not None and first_new > st.last_at
        judged: frozenset[tuple[datetime, datetime]] = frozenset()
        if st.pings == 0:
            since, window = None, new  # the day's first fixes
        elif appending:
            since = st.resume_at
            with self._lock:
                cached = self._windows.get((st.employee_id, st.day))
            if cached is not None and cached.pings == st.pings and cached.last_at == st.last_at:
                window, judged = cached.window + new, cached.judged
            else:
                window = db.day_pings(s, st.employee_id, st.day, since)
        else:
            since = None
            window = db.day_pings(s, st.employee_id, st.day)
        scan = detect_stops(window, self.stop_params(st.role, st.org_unit))
        st.pings += len(new)
        st.first_at = min(filter(None, (st.first_at, first_new)))
        st.last_at = max(filter(None, (st.last_at, new[-1].at)))
        st.resume_at = scan.resume_at
        st.dirty = True
        return Rescan(since, window, scan.stops, first_new, judged)

    def _stop_rows(self, st: db.DayState, found: list[Stop], index: PlaceIndex) -> list[dict[str, Any]]:
        radius = self._radius(st.role, st.org_unit)
        rows = []
        for x in found:
            hit = index.client_at(x.latitude, x.longitude, radius)
            rows.append(
                {
                    "employee_id": st.employee_id,
                    "org_unit": st.org_unit,
                    "day": st.day,
                    "start_at": x.start,
                    "end_at": x.end,
                    "latitude": x.latitude,
                    "longitude": x.longitude,
                    "client_id": hit[1].id if hit else "",
                    "minutes": x.minutes,
                    "stop_id": stop_id(st.employee_id, x.start),
                    "closed": x.closed,
                }
            )
        return rows

    def _judge_integrity(
        self, s: Session, st: db.DayState, window: list[Ping], only_from: datetime | None
    ) -> int:
        """Integrity checks over the window; with ``only_from``, findings before it were judged when
        those fixes arrived."""
        params = self.integrity_params(st.role, st.org_unit)
        if only_from is not None:  # the new fixes, after enough context for a run of repeats
            k = bisect.bisect_left([p.at for p in window], only_from)
            window = window[max(0, k - params.repeat_limit) :]
        raised = 0
        for finding in integrity_findings(window, params):
            if only_from is not None and finding.at < only_from:
                continue
            for a in self.rules.evaluate(
                {
                    "type": "attendance.integrity",
                    "check": finding.check,
                    "role": st.role,
                    "org_unit": st.org_unit,
                },
                {"check": finding.check},
            ):
                if a.action == "flag_spoofing":
                    raised += self._anomaly(
                        self.store(s),
                        "spoofing_suspected",
                        st.employee_id,
                        st.org_unit,
                        st.day,
                        finding.key,
                        finding.at,
                        {"check": finding.check, "at": finding.at.isoformat(), "evidence": finding.evidence},
                        a,
                    )
        return raised

    def _radius(self, role: str, org: str) -> float:
        return self._num("visit_radius_m", role, org, 150)

    def _judge_stop(
        self, s: Session, st: db.DayState, x: Stop, index: PlaceIndex, *, closing: bool = False
    ) -> int:
        """Evaluates the stop rules; raises a dwell anomaly once per stop (overlap-matched)."""
        role, org = st.role, st.org_unit
        if closing:
            x = Stop(x.start, x.end, x.latitude, x.longitude, x.pings, True)
        at_client = index.client_at(x.latitude, x.longitude, self._radius(role, org))
        dwell = self._num("dwell_minutes", role, org, 30)
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
            raised += self._anomaly(
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

    # -- reports --------------------------------------------------------------------------------------
    @staticmethod
    def _check_day(day: str, field_name: str = "date") -> None:
        try:
            date.fromisoformat(day)
        except ValueError:
            raise InvalidArgument(f"must be YYYY-MM-DD, got {day!r}", field=field_name) from None

    def _report(self, s: Session, employee_id: str, org_unit: str, day: str) -> RouteReport:
        items = [_visit_item(v) for v in db.day_visits(s, employee_id, day)]
        items += [_stop_item(x) for x in db.day_stops(s, employee_id, day)]
        anomalies = [
            AnomalyView(
                a.kind,
                db.utc(a.at),
                a.ref_id,
                json.loads(a.detail_json),
                a.rule_id,
                a.pack_id,
                a.pack_version,
            )
            for a in db.day_anomalies(s, employee_id, day)
        ]
        pings = db.day_pings(s, employee_id, day)
        route = ordered_route(items)
        times = (pings[0].at, pings[-1].at) if pings else (None, None)
        summary = summarise(
            employee_id, org_unit, day, route, [a.kind for a in anomalies], distance_m(pings), times
        )
        return RouteReport(summary, route, anomalies)

    def route_report(self, principal: Principal, employee_id: str, day: str) -> RouteReport:
        """The route of one employee for one (org-calendar) day: visits and stops in order, anomalies."""
        if not employee_id:
            raise InvalidArgument("is required", field="employee_id")
        self._check_day(day)
        with self.db.session() as s:
            state = db.get_day(s, employee_id, day)
            org = state.org_unit if state else db.known_org_unit(s, employee_id)
            authorize(principal, "attendance.routes.read", DataOwner(employee_id, org))
            return self._report(s, employee_id, org, day)

    def team_summary(
        self, principal: Principal, org_unit: str, day: str, page_size: int, page_token: str
    ) -> tuple[list[DaySummary], str]:
        """Per-employee summaries of one day under an org unit (subtree), paged by employee id."""
        if not org_unit.startswith("/"):
            raise InvalidArgument("must be an org unit path like /hq/branch-1", field="org_unit")
        self._check_day(day)
        if not 0 <= page_size <= MAX_PAGE:
            raise InvalidArgument(f"must be in [0, {MAX_PAGE}]", field="page_size")
        authorize(principal, "attendance.routes.read", DataOwner("", org_unit))
        visible = scope_filter(principal, "attendance.routes.read")
        bound = ("team-days", org_unit, day)
        size, after = page_size or DEFAULT_PAGE, paging.page_cursor(page_token, bound, kind=str) or ""
        out: list[DaySummary] = []
        with self.db.session() as s:
            while len(out) < size:
                rows = db.team_days(s, org_unit, day, after, size)
                for st in rows:
                    after = st.employee_id
                    if visible.matches(DataOwner(st.employee_id, st.org_unit)):
                        out.append(self._report(s, st.employee_id, st.org_unit, day).summary)
                        if len(out) == size:
                            break
                if len(rows) < size:
                    after = ""
                    break
        return out, paging.page_token(after if len(out) == size and after else None, bound)

    # -- end of day -----------------------------------------------------------------------------------
    def close_days(self, *, day: str | None = None, limit: int = 200) -> int:
        """Summarises employee-days before today whose summary is out of date (all of ``day`` if given):
        open stops are judged as closed, and the pack decides whether to publish attendance.daily_summary.
        A day changed after its summary (a late fix) is summarised again with the next revision."""
        today = self.today()
        if day is not None and day >= today:
            raise InvalidArgument(f"must be a past day (today is {today})", field="date")
        index = self.index()
        calendars: dict[str, BusinessCalendar] = {}
        self.record_silence(today, only_day=day)
        with self.db.session() as s:
            claimed = db.claim_dirty_days(s, today, limit, only_day=day)
            for st in claimed:
                if st.org_unit not in calendars:
                    calendars[st.org_unit] = self.calendar(st.org_unit)
                self._close_day(s, st, index, calendars[st.org_unit])
            db.save_days(s, claimed)
        return len(claimed)

    def _close_day(self, s: Session, st: db.DayState, index: PlaceIndex, calendar: BusinessCalendar) -> None:
        """One employee-day: its open stops judged as closed, then its summary for the pack to publish."""
        for x in db.day_stops(s, st.employee_id, st.day):
            if not x.closed:
                stop = Stop(db.utc(x.start_at), db.utc(x.end_at), x.latitude, x.longitude, 0, False)
                self._judge_stop(s, st, stop, index, closing=True)
        report = self._report(s, st.employee_id, st.org_unit, st.day)
        data = report.summary.as_data()
        data["working_day"] = int(calendar.is_business_day(date.fromisoformat(st.day)))
        data["pings"] = st.pings
        data["silent"] = int(st.pings == 0 and report.summary.visits == 0)
        fired = self.rules.evaluate(
            {"type": "attendance.day_closed", "role": st.role, "org_unit": st.org_unit}, data
        )
        publish = next((a for a in fired if a.action == "publish_daily_summary"), None)
        if publish is not None:
            st.summary_revision += 1
            self._emit(
                self.store(s),
                "daily_summary",
                st.employee_id,
                st.org_unit,
                f"{st.day}:{st.summary_revision}",
                report.summary.last_ping_at or datetime.fromisoformat(st.day).replace(tzinfo=self.tz),
                {
                    **data,
                    "revision": st.summary_revision,
                    "rule_id": publish.rule_id,
                    "pack_id": publish.pack_id,
                    "pack_version": publish.pack_version,
                },
            )
        st.dirty = False

    def record_silence(self, today: str, only_day: str | None = None) -> int:
        """Creates the employee-days of the roster (``field_roster``: the directory's field reps and the
        recently seen) who sent nothing on a past working day (``silence_lookback_days``), so the day is
        summarised like any other: no visit. Once per local day per process unless ``only_day`` is given;
        idempotent across replicas (insert if missing)."""
        if only_day is None and self._silence_checked == today:
            return 0
        lookback = int(self._num("silence_lookback_days", "", "", 30))
        field_roles = {str(r) for r in self.param("field_roles", "", "", []) or []}
        end = date.fromisoformat(only_day) if only_day else date.fromisoformat(today) - timedelta(days=1)
        start = end if only_day else date.fromisoformat(today) - timedelta(days=lookback)
        since = (start - timedelta(days=lookback)).isoformat()
        with self.stores() as st:
            rows, seen = st.roster_since(since)
            pinged = [RosterEntry(e, date.fromisoformat(first), org, role) for e, first, org, role in rows]
            listed = {e: _directory_status(r) for e, r in st.roster_rows().items()}
            quiet = sorted(set(listed) - set(seen))
            seen.update(st.days_seen_since(quiet, since))
            roster = field_roster(pinged, listed, field_roles)
            by_day = {e: {date.fromisoformat(d) for d in ds} for e, ds in seen.items()}
            found = silent_days(roster, by_day, self.calendar, start, end)
            if found:
                st.lock_days([(r.employee_id, d.isoformat(), r.org_unit, r.role) for r, d in found])
        if only_day is None:
            self._silence_checked = today
        return len(found)

    def observe_employee(self, s: Any, event: Any) -> None:
        """Keeps the roster in step with identity's ``identity.employee.changed`` events (already accepted
        by the directory, which checks the sender); the change's local day is when it took effect."""
        from google.protobuf.json_format import MessageToDict

        entry = DirectoryEntry.from_data(MessageToDict(event.data))
        if not entry.employee_id:
            return
        at = event.occurred_at.ToDatetime(tzinfo=UTC) if event.HasField("occurred_at") else self.clock()
        day = at.astimezone(self.tz).date().isoformat()
        db.observe_roster(s, entry.employee_id, entry.org_unit, entry.role, entry.status, day, at)

    def close_day(self, principal: Principal, day: str) -> int:
        """Summarises every out-of-date employee-day of a past ``day`` now (instead of waiting for the
        worker); returns how many were summarised."""
        authorize(principal, "attendance.days.close")
        self._check_day(day)
        total = 0
        while (n := self.close_days(day=day, limit=500)) > 0:
            total += n
        return total


def _visit_item(v: Any) -> RouteItem:
    """A stored visit on the route: a moment, with its distance to the client."""
    at = db.utc(v.at)
    return RouteItem(
        "visit", v.id, at, at, v.latitude, v.longitude, v.client_id, bool(v.verified), 0.0, v.distance_m
    )


def _stop_item(x: Any) -> RouteItem:
    """A stored stop on the route: a span, with its minutes."""
    start, end = db.utc(x.start_at), db.utc(x.end_at)
    return RouteItem(
        "stop", x.stop_id, start, end, x.latitude, x.longitude, x.client_id, False, x.minutes, 0.0
    )


def _directory_status(r: db.RosterRow) -> DirectoryStatus:
    away = (date.fromisoformat(r.away_from), date.fromisoformat(r.away_until)) if r.away_from else None
    return DirectoryStatus(
        r.org_unit, r.role, r.status, date.fromisoformat(r.joined), date.fromisoformat(r.status_since), away
    )


class DayCloser(PeriodicWorker):
    """Background worker: every ``interval`` seconds, summarise the employee-days that need it."""

    thread_name = "attendance-day-closer"

    def __init__(self, service: AttendanceService, *, interval: float = 60.0) -> None:
        super().__init__(interval)
        self.service = service

    def run_once(self) -> int:
        total = 0
        while (n := self.service.close_days()) > 0:
            total += n
        return total

    def tick(self) -> None:
        self.run_once()
