"""The storage port of the compliance scan and case use cases (the cosmicpython "repository").

``services.compliance.storage.SqlComplianceStore`` implements it over one SQLAlchemy session (one unit of
work); ``tests/support/fakes/compliance.py`` implements it in memory so the service logic can be tested
without a database. Case rows are read by attribute (``row.state``, ``row.evidence_json``, ...).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from covenant.events.v1.event_pb2 import Event


class ComplianceStore(Protocol):
    """What the scan and case logic reads and writes inside one unit of work."""

    def scan_result(self, text_id: str) -> str | None:
        """The recorded outcome (JSON) of a text scanned before, else None."""
        ...

    def save_scan(self, *, text_id: str, employee_id: str, scanned_at: datetime, result_json: str) -> None:
        """Record a text's scan outcome."""
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

    def emit(self, event: Event) -> None:
        """Queue an outgoing event with the unit's changes."""
        ...

    def audit(self, *, actor: str, action: str, subject: str, data: dict[str, Any]) -> None:
        """Append an audit entry with the unit's changes."""
        ...
