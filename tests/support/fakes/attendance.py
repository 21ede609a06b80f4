"""An in-memory ``services.attendance.ports.AttendanceStore`` for fast tests of the check-in and silence
logic."""

from __future__ import annotations

import copy
from collections import Counter
from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from typing import Any

from covenant.events.v1.event_pb2 import Event
from services.attendance.domain.geo import Place
from services.attendance.domain.stops import Ping
from services.attendance.ports import CheckInIdTaken, CheckInReads, FixWindow
from services.attendance.storage import DayState, RosterRow
from tests.support.fakes.unit import FakeUnits


@dataclass
class _State:
    places: dict[str, Place] = field(default_factory=dict)
    revision: int = 0
    pings: dict[str, list[Ping]] = field(default_factory=dict)  # employee -> fixes
    days: dict[tuple[str, str], DayState] = field(default_factory=dict)
    visits: list[dict[str, Any]] = field(default_factory=list)
    anomalies: dict[tuple[str, str, str], dict[str, Any]] = field(default_factory=dict)
    roster: dict[str, RosterRow] = field(default_factory=dict)
    events: list[Event] = field(default_factory=list)
    check_ins: Counter[str] = field(default_factory=Counter)


class FakeAttendanceStore(FakeUnits[_State]):
    """Committed state plus one open unit of work (``unit``, from ``FakeUnits``)."""

    def __init__(self) -> None:
        super().__init__(_State())

    # -- test set-up (committed directly) -------------------------------------------------
    def add_place(self, place: Place) -> None:
        self.state.places[place.id] = place
        self.state.revision += 1

    def add_ping(self, employee_id: str, ping: Ping) -> None:
        self.state.pings.setdefault(employee_id, []).append(ping)

    # -- AttendanceStore ------------------------------------------------------------------
    def place_revision_now(self) -> int:
        return self._s.revision

    def places_since(self, revision: int) -> tuple[list[Place], int]:
        return (list(self._s.places.values()) if self._s.revision > revision else []), self._s.revision

    def visits_by_request(self, request_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        ids = set(request_ids)
        return {v["request_id"]: dict(v) for v in self._s.visits if v["request_id"] in ids}

    def lock_days(self, keys: Iterable[tuple[str, str, str, str]]) -> dict[tuple[str, str], DayState]:
        out = {}
        for emp, day, org, role in keys:
            st = self._s.days.setdefault((emp, day), DayState(emp, day, org, role))
            out[(emp, day)] = copy.copy(st)
        return out

    def save_days(self, states: Iterable[DayState]) -> None:
        for st in states:
            self._s.days[(st.employee_id, st.day)] = copy.copy(st)

    def check_in_reads(
        self,
        keys: Iterable[tuple[str, str, str, str]],
        request_ids: Sequence[str],
        wanted: Sequence[FixWindow],
    ) -> CheckInReads:
        def last(w: FixWindow) -> Ping | None:
            found = [p for p in self._s.pings.get(w.employee_id, []) if w.since <= p.at <= w.upto]
            return max(found, key=lambda p: p.at, default=None)

        return CheckInReads(
            self.lock_days(keys), self.visits_by_request(request_ids), [last(w) for w in wanted]
        )

    def add_visits(self, rows: Sequence[dict[str, Any]]) -> None:
        for r in rows:
            if r["request_id"] is not None and self.visits_by_request([r["request_id"]]):
                raise CheckInIdTaken(r["request_id"])
            self._s.visits.append(dict(r))

    def add_anomaly(self, row: dict[str, Any]) -> bool:
        key = (row["employee_id"], row["kind"], row["key"])
        if key in self._s.anomalies:
            return False
        self._s.anomalies[key] = dict(row)
        return True

    def emit(self, events: Sequence[Event]) -> None:
        self._s.events.extend(events)

    def pipelined(self, *, commit: bool = False) -> AbstractContextManager[None]:
        return nullcontext()

    def count_check_in(self, result: str) -> None:
        self._s.check_ins[result] += 1

    def roster_since(self, first_day: str) -> tuple[list[tuple[str, str, str, str]], dict[str, set[str]]]:
        latest: dict[str, tuple[str, str, str, str]] = {}
        seen: dict[str, set[str]] = {}
        for (emp, day), st in sorted(self._s.days.items()):
            if day < first_day:
                continue
            seen.setdefault(emp, set()).add(day)
            if st.pings > 0:
                first = latest[emp][1] if emp in latest else day
                latest[emp] = (emp, first, st.org_unit, st.role)
        return list(latest.values()), seen

    def roster_rows(self) -> dict[str, RosterRow]:
        return dict(self._s.roster)

    def days_seen_since(self, employee_ids: Sequence[str], first_day: str) -> dict[str, set[str]]:
        ids = set(employee_ids)
        seen: dict[str, set[str]] = {}
        for emp, day in self._s.days:
            if emp in ids and day >= first_day:
                seen.setdefault(emp, set()).add(day)
        return seen
