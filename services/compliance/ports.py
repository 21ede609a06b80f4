"""The storage port of the compliance use cases (the cosmicpython "repository").

``services.compliance.storage.SqlComplianceStore`` implements it over one SQLAlchemy session (one unit of
work); ``tests/support/fakes/compliance.py`` implements it in memory so the service logic can be tested
without a database. Case rows are read by attribute (``row.state``, ``row.evidence_json``, ...).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from covenant.auth import ScopeFilter
from covenant.db.audit import VerifyResult
from covenant.events.v1.event_pb2 import Event


@dataclass(frozen=True)
class HitFilter:
    """Which screening hits a list wants (each when given): in the ``org_unit`` subtree, at or after
    ``start``, before ``end``, in ``status``, below the id ``before_id`` (the page token)."""

    org_unit: str = ""
    start: datetime | None = None
    end: datetime | None = None
    status: str = ""
    before_id: int | None = None


@dataclass(frozen=True)
class CaseFilter:
    """Which cases a list wants (each when given): of ``employee_id``, in ``state``, after the keyset
    position ``after`` (opened_at, id; the page token)."""

    employee_id: str = ""
    state: str = ""
    after: tuple[datetime, str] | None = None


class ComplianceStore(Protocol):
    """What the compliance logic reads and writes inside one unit of work."""

    def scan_result(self, text_id: str) -> str | None:
        """The recorded outcome (JSON) of a text scanned before, else None."""
        ...

    def save_scan(self, *, text_id: str, employee_id: str, scanned_at: datetime, result_json: str) -> None:
        """Record a text's scan outcome."""
        ...

    def purge_scans(self, before: datetime) -> int:
        """Retention: forget the scan outcomes recorded before ``before``; returns how many."""
        ...

    def watchlist_count(self) -> int:
        """How many watchlist entries there are."""
        ...

    def watchlist_entries(self, loaded_since: datetime | None = None) -> list[Any]:
        """Watchlist entries (``id``, ``list_name``, ``name``, ``loaded_at``) by id; only those loaded at or
        after ``loaded_since`` when given."""
        ...

    def watchlist_ids(self, ids: Sequence[str]) -> set[str]:
        """Which of ``ids`` are loaded already."""
        ...

    def add_watchlist(self, entries: Sequence[dict[str, Any]]) -> None:
        """Insert watchlist entries (``id``, ``list_name``, ``name``, ``loaded_at``)."""
        ...

    def add_dwell_anomaly(self, *, event_id: str, employee_id: str, day: str, at: datetime) -> None:
        """Record a dwell anomaly (once per ``event_id``)."""
        ...

    def client_activities(self, pairs: Iterable[tuple[str, str]]) -> dict[tuple[str, str], Any]:
        """The lifecycle rows of the given (employee, client) pairs that exist, by pair."""
        ...

    def add_client_activity(self, values: dict[str, Any]) -> None:
        """Insert a client lifecycle row (every column of ``client_activity``)."""
        ...

    def update_client_activity(self, employee_id: str, client_id: str, values: dict[str, Any]) -> None:
        """Change some columns of a client lifecycle row."""
        ...

    def set_follow_ups(self, rows: Sequence[dict[str, Any]]) -> None:
        """Set ``last_follow_up_at`` of existing lifecycle rows (``employee_id``, ``client_id``,
        ``last_follow_up_at`` each), in one statement."""
        ...

    def open_clients(self) -> list[Any]:
        """Every open client lifecycle row."""
        ...

    def add_contacts(self, rows: Sequence[dict[str, Any]]) -> set[str]:
        """Record client contacts (``activity_id``, ``employee_id``, ``client_id``, ``org_unit``, ``at``);
        returns the activity ids newly recorded (a known id writes nothing)."""
        ...

    def contacts_between(
        self, pairs: Iterable[tuple[str, str]], after: datetime, until: datetime
    ) -> dict[tuple[str, str], list[Any]]:
        """Each (employee, client) pair's contacts (``activity_id``, ``org_unit``, ``at`` in UTC) in
        (``after``, ``until``], by time."""
        ...

    def client_risks(self, client_ids: Iterable[str]) -> dict[str, Any]:
        """The risk rows (``high_risk``, ``reason``) of the given clients that are classified, by client."""
        ...

    def save_client_risk(self, client_id: str, values: dict[str, Any]) -> None:
        """Insert or change a client's risk row."""
        ...

    def add_screening_hit(self, values: dict[str, Any]) -> None:
        """Keep a watchlist match of a contact (once per ``activity_id`` + ``entry_id``)."""
        ...

    def screening_hits(self, scope: ScopeFilter, where: HitFilter, limit: int) -> list[Any]:
        """Screening hits ``scope`` lets its principal see and ``where`` picks, newest (highest id) first,
        at most ``limit``."""
        ...

    def last_dwell_anomaly(self, employee_id: str, day: str, at_or_before: datetime) -> datetime | None:
        """The latest dwell anomaly of the employee on local ``day`` up to ``at_or_before``."""
        ...

    def case_in_window(self, employee_id: str, rule_id: str, window_key: str) -> Any | None:
        """The case of employee + rule + window, locked until the unit ends; None when there is none."""
        ...

    def case(self, case_id: str, *, lock: bool = False) -> Any | None:
        """A case by id (locked until the unit ends when ``lock``), None when there is none."""
        ...

    def list_cases(self, scope: ScopeFilter, where: CaseFilter, limit: int) -> list[Any]:
        """Cases ``scope`` lets its principal see and ``where`` picks, by (opened_at, id), at most
        ``limit``."""
        ...

    def overdue_cases(self, as_of: datetime, limit: int) -> list[Any]:
        """OPEN cases whose SLA fell due before ``as_of``, most overdue first, locked until the unit ends."""
        ...

    def cases_with_phrase_hits(self) -> list[Any]:
        """(``state``, ``evidence_json``, ``comments_json``) of the cases holding phrase hits, by their last
        change then id."""
        ...

    def add_case(self, values: dict[str, Any]) -> None:
        """Insert a case (every column of ``cases``)."""
        ...

    def update_case(self, case_id: str, values: dict[str, Any]) -> None:
        """Change some columns of a case."""
        ...

    def replayed(self, method: str, request_id: str, *, fingerprint: str | None = None) -> str | None:
        """The response recorded for an already handled ``(method, request_id)``, else None (also for
        an empty id); a reuse of the id with another ``fingerprint`` raises ``InvalidArgument``
        (field ``request_id``), as ``covenant.db.idempotency.replayed`` does."""
        ...

    def remember(
        self, method: str, request_id: str, response: str, now: datetime, *, fingerprint: str | None = None
    ) -> None:
        """Record a handled ``(method, request_id)`` with its response (an empty id: nothing)."""
        ...

    def purge_requests(self, before: datetime) -> None:
        """Retention: forget request ids recorded before ``before``."""
        ...

    def emit(self, event: Event) -> None:
        """Queue an outgoing event with the unit's changes."""
        ...

    def audit(self, *, actor: str, action: str, subject: str, data: dict[str, Any]) -> None:
        """Append an audit entry with the unit's changes."""
        ...

    def verify_audit(self, stream: str) -> VerifyResult:
        """Recompute the hash chain of audit ``stream``."""
        ...
