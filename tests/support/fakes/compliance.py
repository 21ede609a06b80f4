"""An in-memory ``services.compliance.ports.ComplianceStore`` for fast tests of the scan and case logic."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from types import SimpleNamespace
from typing import Any

from covenant.errors import InvalidArgument
from covenant.events.v1.event_pb2 import Event


@dataclass
class _State:
    scans: dict[str, dict[str, Any]] = field(default_factory=dict)
    cases: dict[str, dict[str, Any]] = field(default_factory=dict)
    dwell_anomalies: list[tuple[str, str, datetime]] = field(default_factory=list)  # (employee, day, at)
    # (method, request_id) -> (fingerprint, response): the chassis idempotency table of one service
    requests: dict[tuple[str, str], tuple[str | None, str]] = field(default_factory=dict)
    events: list[Event] = field(default_factory=list)
    audit_log: list[dict[str, Any]] = field(default_factory=list)


class FakeComplianceStore:
    """Committed state plus one open unit of work (``unit``): a unit that raises leaves no trace."""

    def __init__(self) -> None:
        self.state = _State()
        self._work: _State | None = None

    @contextmanager
    def unit(self) -> Iterator[FakeComplianceStore]:
        self._work = copy.deepcopy(self.state)
        try:
            yield self
            self.state = self._work
        finally:
            self._work = None

    @property
    def _s(self) -> _State:
        assert self._work is not None, "outside a unit of work"
        return self._work

    # -- ComplianceStore ------------------------------------------------------------------
    def scan_result(self, text_id: str) -> str | None:
        row = self._s.scans.get(text_id)
        return row["result_json"] if row else None

    def save_scan(self, *, text_id: str, employee_id: str, scanned_at: datetime, result_json: str) -> None:
        assert text_id not in self._s.scans, "primary key"
        self._s.scans[text_id] = {
            "employee_id": employee_id,
            "scanned_at": scanned_at,
            "result_json": result_json,
        }

    def last_dwell_anomaly(self, employee_id: str, day: str, at_or_before: datetime) -> datetime | None:
        found = [
            at for e, d, at in self._s.dwell_anomalies if e == employee_id and d == day and at <= at_or_before
        ]
        return max(found, default=None)

    def case_in_window(self, employee_id: str, rule_id: str, window_key: str) -> Any | None:
        for c in self._s.cases.values():
            if (c["employee_id"], c["rule_id"], c["window_key"]) == (employee_id, rule_id, window_key):
                return SimpleNamespace(**c)
        return None

    def case(self, case_id: str, *, lock: bool = False) -> Any | None:
        c = self._s.cases.get(case_id)
        return SimpleNamespace(**c) if c else None

    def add_case(self, values: dict[str, Any]) -> None:
        assert values["id"] not in self._s.cases, "primary key"
        self._s.cases[values["id"]] = dict(values)

    def update_case(self, case_id: str, values: dict[str, Any]) -> None:
        self._s.cases[case_id].update(values)

    def replayed(self, method: str, request_id: str, *, fingerprint: str | None = None) -> str | None:
        # as covenant.db.idempotency.replayed: no id, no replay; another payload under the id is refused
        if not request_id or (method, request_id) not in self._s.requests:
            return None
        recorded, response = self._s.requests[(method, request_id)]
        if fingerprint is not None and recorded is not None and recorded != fingerprint:
            raise InvalidArgument(f"was already used for a different {method} request", field="request_id")
        return response

    def remember(
        self, method: str, request_id: str, response: str, now: datetime, *, fingerprint: str | None = None
    ) -> None:
        if not request_id:
            return
        assert (method, request_id) not in self._s.requests, "primary key"
        self._s.requests[(method, request_id)] = (fingerprint, response)

    def emit(self, event: Event) -> None:
        self._s.events.append(event)

    def audit(self, *, actor: str, action: str, subject: str, data: dict[str, Any]) -> None:
        self._s.audit_log.append({"actor": actor, "action": action, "subject": subject, "data": data})
