"""An in-memory ``services.compliance.ports.ComplianceStore`` for fast tests of the scan and case logic."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from types import SimpleNamespace
from typing import Any

from covenant.auth import DataOwner, ScopeFilter
from covenant.db import idempotency
from covenant.db.audit import VerifyResult
from covenant.events.v1.event_pb2 import Event
from services.compliance.ports import CaseFilter, HitFilter
from tests.support.fakes.unit import FakeUnits


@dataclass
class _State:
    scans: dict[str, dict[str, Any]] = field(default_factory=dict)
    cases: dict[str, dict[str, Any]] = field(default_factory=dict)
    dwell_anomalies: list[tuple[str, str, datetime]] = field(default_factory=list)  # (employee, day, at)
    dwell_events: set[str] = field(default_factory=set)
    watchlist: dict[str, dict[str, Any]] = field(default_factory=dict)
    client_activity: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)  # (employee, client)
    contacts: dict[str, dict[str, Any]] = field(default_factory=dict)  # by activity id
    client_risk: dict[str, dict[str, Any]] = field(default_factory=dict)
    screening_hits: list[dict[str, Any]] = field(default_factory=list)
    # (method, request_id) -> (fingerprint, response): the chassis idempotency table of one service
    requests: dict[tuple[str, str], tuple[str | None, str]] = field(default_factory=dict)
    events: list[Event] = field(default_factory=list)
    audit_log: list[dict[str, Any]] = field(default_factory=list)


class FakeComplianceStore(FakeUnits[_State]):
    """Committed state plus one open unit of work (``unit``, from ``FakeUnits``)."""

    def __init__(self) -> None:
        super().__init__(_State())

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

    def purge_scans(self, before: datetime) -> int:
        old = [k for k, v in self._s.scans.items() if v["scanned_at"] < before]
        for k in old:
            del self._s.scans[k]
        return len(old)

    def watchlist_count(self) -> int:
        return len(self._s.watchlist)

    def watchlist_entries(self, loaded_since: datetime | None = None) -> list[Any]:
        return [
            SimpleNamespace(**e)
            for _, e in sorted(self._s.watchlist.items())
            if loaded_since is None or (e["loaded_at"] is not None and e["loaded_at"] >= loaded_since)
        ]

    def watchlist_ids(self, ids: Sequence[str]) -> set[str]:
        return {i for i in ids if i in self._s.watchlist}

    def add_watchlist(self, entries: Sequence[dict[str, Any]]) -> None:
        for e in entries:
            assert e["id"] not in self._s.watchlist, "primary key"
            self._s.watchlist[e["id"]] = dict(e)

    def add_dwell_anomaly(self, *, event_id: str, employee_id: str, day: str, at: datetime) -> None:
        if event_id not in self._s.dwell_events:
            self._s.dwell_events.add(event_id)
            self._s.dwell_anomalies.append((employee_id, day, at))

    def client_activities(self, pairs: Iterable[tuple[str, str]]) -> dict[tuple[str, str], Any]:
        return {
            p: SimpleNamespace(**self._s.client_activity[p]) for p in pairs if p in self._s.client_activity
        }

    def add_client_activity(self, values: dict[str, Any]) -> None:
        key = (values["employee_id"], values["client_id"])
        assert key not in self._s.client_activity, "primary key"
        self._s.client_activity[key] = dict(values)

    def update_client_activity(self, employee_id: str, client_id: str, values: dict[str, Any]) -> None:
        self._s.client_activity[(employee_id, client_id)].update(values)

    def set_follow_ups(self, rows: Sequence[dict[str, Any]]) -> None:
        for r in rows:
            self._s.client_activity[(r["employee_id"], r["client_id"])]["last_follow_up_at"] = r[
                "last_follow_up_at"
            ]

    def open_clients(self) -> list[Any]:
        return [SimpleNamespace(**r) for r in self._s.client_activity.values() if r["open"] == 1]

    def add_contacts(self, rows: Sequence[dict[str, Any]]) -> set[str]:
        new = {r["activity_id"] for r in rows} - set(self._s.contacts)
        for r in rows:
            if r["activity_id"] in new:
                self._s.contacts.setdefault(r["activity_id"], dict(r))
        return new

    def contacts_between(
        self, pairs: Iterable[tuple[str, str]], after: datetime, until: datetime
    ) -> dict[tuple[str, str], list[Any]]:
        wanted, found = set(pairs), {}
        for c in sorted(self._s.contacts.values(), key=lambda c: (c["at"], c["activity_id"])):
            if (key := (c["employee_id"], c["client_id"])) in wanted and after < c["at"] <= until:
                found.setdefault(key, []).append(
                    SimpleNamespace(activity_id=c["activity_id"], org_unit=c["org_unit"], at=c["at"])
                )
        return found

    def client_risks(self, client_ids: Iterable[str]) -> dict[str, Any]:
        return {
            c: SimpleNamespace(client_id=c, **self._s.client_risk[c])
            for c in set(client_ids)
            if c in self._s.client_risk
        }

    def save_client_risk(self, client_id: str, values: dict[str, Any]) -> None:
        self._s.client_risk.setdefault(client_id, {}).update(values)

    def add_screening_hit(self, values: dict[str, Any]) -> None:
        key = (values["activity_id"], values["entry_id"])
        if all((h["activity_id"], h["entry_id"]) != key for h in self._s.screening_hits):
            self._s.screening_hits.append({"id": len(self._s.screening_hits) + 1, **values})

    def screening_hits(self, scope: ScopeFilter, where: HitFilter, limit: int) -> list[Any]:
        root = where.org_unit.rstrip("/")
        rows = [
            h
            for h in reversed(self._s.screening_hits)
            if scope.matches(DataOwner(h["employee_id"], h["org_unit"]))
            and (not root or h["org_unit"] == root or h["org_unit"].startswith(root + "/"))
            and (where.start is None or h["at"] >= where.start)
            and (where.end is None or h["at"] < where.end)
            and (not where.status or h["status"] == where.status)
            and (where.before_id is None or h["id"] < where.before_id)
        ]
        return [SimpleNamespace(**h) for h in rows[:limit]]

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

    def list_cases(self, scope: ScopeFilter, where: CaseFilter, limit: int) -> list[Any]:
        rows = sorted(self._s.cases.values(), key=lambda c: (c["opened_at"], c["id"]))
        rows = [
            c
            for c in rows
            if scope.matches(DataOwner(c["employee_id"], c["org_unit"]))
            and (not where.employee_id or c["employee_id"] == where.employee_id)
            and (not where.state or c["state"] == where.state)
            and (where.after is None or (c["opened_at"], c["id"]) > where.after)
        ]
        return [SimpleNamespace(**c) for c in rows[:limit]]

    def overdue_cases(self, as_of: datetime, limit: int) -> list[Any]:
        rows = [c for c in self._s.cases.values() if c["state"] == "OPEN" and c["sla_due_at"] < as_of]
        return [SimpleNamespace(**c) for c in sorted(rows, key=lambda c: c["sla_due_at"])[:limit]]

    def cases_with_phrase_hits(self) -> list[Any]:
        rows = [c for c in self._s.cases.values() if '"phrase"' in c["evidence_json"]]
        return [SimpleNamespace(**c) for c in sorted(rows, key=lambda c: (c["updated_at"], c["id"]))]

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
            raise idempotency.reused(what=f"{method} request")
        return response

    def remember(
        self, method: str, request_id: str, response: str, now: datetime, *, fingerprint: str | None = None
    ) -> None:
        if not request_id:
            return
        assert (method, request_id) not in self._s.requests, "primary key"
        self._s.requests[(method, request_id)] = (fingerprint, response)

    def purge_requests(self, before: datetime) -> None:
        pass  # the fake keeps no request times

    def emit(self, event: Event) -> None:
        self._s.events.append(event)

    def audit(self, *, actor: str, action: str, subject: str, data: dict[str, Any]) -> None:
        self._s.audit_log.append({"actor": actor, "action": action, "subject": subject, "data": data})

    def verify_audit(self, stream: str) -> VerifyResult:
        # the fake keeps entries unchained, of the compliance stream only
        return VerifyResult(ok=True, checked=len(self._s.audit_log) if stream == "compliance" else 0)
