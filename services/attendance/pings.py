"""Attendance: ping ingest. Pings are stored (unique per employee, device and time). Each employee-day keeps
a resume point: a batch that only appends to the day rescans from it; a batch with a fix earlier than the
day's last one rescans the stored day. Dwell anomalies are raised for closed stops once, matched by
overlapping time (a stop whose start moved because a late fix arrived is the same stop); integrity findings
once per stable key."""

from __future__ import annotations

import bisect
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from covenant.auth import DataOwner, Principal, authorize
from covenant.telemetry import metrics
from services.attendance import storage as db
from services.attendance.base import AttendanceBase, stop_id
from services.attendance.domain.geo import PlaceIndex
from services.attendance.domain.integrity import integrity_findings
from services.attendance.domain.pings import PingIn, normalise_batch
from services.attendance.domain.stops import Ping, Stop, detect_stops


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


class PingIngest:
    """Stores batches of fixes and re-evaluates the employee-days they touch."""

    def __init__(self, base: AttendanceBase) -> None:
        self.base = base
        # Held only around dict operations (ingest takes it inside its write transaction, so holding it while
        # opening a session could deadlock); never nested with the base's index lock.
        self._lock = threading.Lock()
        # (employee, day) -> (fix count, last fix time, fixes from the resume point): the tail a batch
        # that appends to the day rescans. Valid only while the day row still has that count and time.
        self._windows: OrderedDict[tuple[str, str], DayTail] = OrderedDict()
        self._window_cache_size = base.window_cache_size

    def ingest(self, principal: Principal, pings: Sequence[PingIn]) -> IngestStats:
        """Stores a batch of fixes (validated whole: the first bad fix rejects it, naming pings[i]) and
        re-evaluates each touched employee-day. Duplicates (same employee, device and time, within the
        batch or already stored) are counted and ignored; order does not matter."""
        fixes, _ = normalise_batch(self.base.from_directory(pings, "pings"), self.base.clock())
        for owner in sorted({(p.employee_id, p.org_unit) for p in fixes}):
            authorize(principal, "attendance.pings.write", DataOwner(*owner))
        index = self.base.index()  # outside the write transaction
        rows = [self._ping_row(p) for p in fixes]
        latest = {p.employee_id: (p.org_unit, p.role) for p in fixes}  # fixes are time-ordered
        windows: dict[tuple[str, str], DayTail] = {}
        with self.base.db.session() as s:
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
            "day": self.base.day_of(p.at),
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
                anomalies += self.base.judge_stop(s, state, x, index)
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
        scan = detect_stops(window, self.base.stop_params(st.role, st.org_unit))
        st.pings += len(new)
        st.first_at = min(filter(None, (st.first_at, first_new)))
        st.last_at = max(filter(None, (st.last_at, new[-1].at)))
        st.resume_at = scan.resume_at
        st.dirty = True
        return Rescan(since, window, scan.stops, first_new, judged)

    def _stop_rows(self, st: db.DayState, found: list[Stop], index: PlaceIndex) -> list[dict[str, Any]]:
        radius = self.base.radius(st.role, st.org_unit)
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
        params = self.base.integrity_params(st.role, st.org_unit)
        if only_from is not None:  # the new fixes, after enough context for a run of repeats
            k = bisect.bisect_left([p.at for p in window], only_from)
            window = window[max(0, k - params.repeat_limit) :]
        raised = 0
        for finding in integrity_findings(window, params):
            if only_from is not None and finding.at < only_from:
                continue
            for a in self.base.rules.evaluate(
                {
                    "type": "attendance.integrity",
                    "check": finding.check,
                    "role": st.role,
                    "org_unit": st.org_unit,
                },
                {"check": finding.check},
            ):
                if a.action == "flag_spoofing":
                    raised += self.base.anomaly(
                        self.base.store(s),
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
