"""The storage port of the attendance check-in and silence use cases (the cosmicpython "repository").

``services.attendance.storage.SqlAttendanceStore`` implements it over one SQLAlchemy session (one unit of
work) with the storage functions of that module; ``tests/support/fakes/attendance.py`` implements it in
memory so the check-in judgement and silent days can be tested without a database.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

from covenant.events.v1.event_pb2 import Event
from services.attendance.domain.geo import Place
from services.attendance.domain.stops import Ping

if TYPE_CHECKING:
    from services.attendance.storage import DayState, RosterRow


class FixWindow(NamedTuple):
    """Where the fix before a check-in is looked for: the employee's fixes from ``since`` to ``upto``, which
    lie on the local days ``first_day`` to ``last_day`` (ISO dates; fixes are stored by local day)."""

    employee_id: str
    since: datetime
    upto: datetime
    first_day: str
    last_day: str


class CheckInReads(NamedTuple):
    """What a unit of check-ins reads first (``AttendanceStore.check_in_reads``)."""

    states: dict[tuple[str, str], DayState]  # the locked employee-days
    recorded: dict[str, dict[str, Any]]  # visits already recorded, by check-in id
    prevs: list[Ping | None]  # the fix before each check-in, per window


class CheckInIdTaken(Exception):
    """A visit's check-in id was recorded by another unit of work after this one looked it up (only the
    caller's own employee-days are locked): the unit rolls back, and running it again finds the visit."""


class AttendanceStore(Protocol):
    """What the check-in and silence logic (and the place index) read and write inside one unit of work."""

    def place_revision_now(self) -> int:
        """The revision of the newest place import."""
        ...

    def places_since(self, revision: int) -> tuple[list[Place], int]:
        """Places changed after ``revision`` and the newest revision among them (or ``revision``)."""
        ...

    def lock_days(self, keys: Iterable[tuple[str, str, str, str]]) -> dict[tuple[str, str], DayState]:
        """Day states of (employee, day, org_unit, role), created when missing, locked until the unit ends."""
        ...

    def save_days(self, states: Iterable[DayState]) -> None:
        """Write back day states."""
        ...

    def check_in_reads(
        self,
        keys: Iterable[tuple[str, str, str, str]],
        request_ids: Sequence[str],
        wanted: Sequence[FixWindow],
    ) -> CheckInReads:
        """What a unit of check-ins reads, in this order: the day states of ``keys`` as ``lock_days``; the
        visits already recorded for ``request_ids`` (check-in ids); for each window of ``wanted``, the
        employee's latest fix in it (None: none). The SQL store sends them in one round trip."""
        ...

    def add_visits(self, rows: Sequence[dict[str, Any]]) -> None:
        """Insert visit rows; ``CheckInIdTaken`` when a row's check-in id is recorded already (at once, or
        inside ``pipelined`` by the end of the block)."""
        ...

    def add_anomaly(self, row: dict[str, Any]) -> bool:
        """Record an anomaly once per (employee, kind, key); False when it was already there."""
        ...

    def emit(self, events: Sequence[Event]) -> None:
        """Queue outgoing events with the unit's changes."""
        ...

    def pipelined(self, *, commit: bool = False) -> AbstractContextManager[None]:
        """A block of writes whose answers nobody waits for (``add_visits``, ``emit``, ``save_days``): the
        SQL store sends them together (PostgreSQL pipeline mode); an error still fails the unit of work.
        ``commit``: the block is the unit's last, and its commit travels with it."""
        ...

    def count_check_in(self, result: str) -> None:
        """Count a judged check-in ("verified", "mismatched", "unverified") once the unit commits."""
        ...

    def roster_since(self, first_day: str) -> tuple[list[tuple[str, str, str, str]], dict[str, set[str]]]:
        """Employees with fixes on or after ``first_day`` as (employee, first such day, org unit, role), and
        every day each has a day row for."""
        ...

    def roster_rows(self) -> dict[str, RosterRow]:
        """The directory roster by employee id."""
        ...

    def days_seen_since(self, employee_ids: Sequence[str], first_day: str) -> dict[str, set[str]]:
        """The days on or after ``first_day`` each of these employees has a day row for."""
        ...
