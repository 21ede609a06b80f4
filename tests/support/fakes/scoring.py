"""An in-memory ``services.scoring.ports.ScoringStore`` for fast tests of the scoring service logic."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from types import SimpleNamespace
from typing import Any

from covenant.auth import DataOwner, ScopeFilter
from covenant.db import idempotency
from covenant.events.v1.event_pb2 import Event
from tests.support.fakes.unit import FakeUnits


def _under(org_unit: str, root: str) -> bool:
    root = root.rstrip("/")
    return not root or org_unit == root or org_unit.startswith(root + "/")


@dataclass
class _State:
    cards: list[SimpleNamespace] = field(default_factory=list)
    profiles: dict[str, SimpleNamespace] = field(default_factory=dict)
    metric_values: list[dict[str, Any]] = field(default_factory=list)  # in write order
    scores: dict[tuple[str, str], SimpleNamespace] = field(default_factory=dict)  # (employee, period)
    calibrations: list[SimpleNamespace] = field(default_factory=list)
    signals: list[SimpleNamespace] = field(default_factory=list)
    # (method, request_id) -> (fingerprint, response): the chassis idempotency table of one service
    requests: dict[tuple[str, str], tuple[str | None, str]] = field(default_factory=dict)
    events: list[Event] = field(default_factory=list)
    audit_log: list[dict[str, Any]] = field(default_factory=list)


class FakeScoringStore(FakeUnits[_State]):
    def __init__(self) -> None:
        super().__init__(_State())

    # -- ScoringStore -----------------------------------------------------------------------
    def latest_card_version(self, card_id: str) -> int | None:
        return max((c.version for c in self._s.cards if c.id == card_id), default=None)

    def add_card(self, row: dict[str, Any]) -> None:
        assert self.latest_card_version(row["id"]) != row["version"], "primary key"
        self._s.cards.append(SimpleNamespace(**row))

    def cards_of(self, role: str) -> list[Any]:
        return sorted(
            (c for c in self._s.cards if not role or c.role == role), key=lambda c: (c.id, c.version)
        )

    def has_cards(self) -> bool:
        return bool(self._s.cards)

    def cards_in_force(self, role: str, start: date) -> list[Any]:
        return [c for c in self._s.cards if c.role == role and c.effective_from <= start]

    def profile(self, employee_id: str) -> Any:
        return self._s.profiles.get(employee_id)

    def upsert_profiles(self, wanted: Mapping[str, tuple[str, str]]) -> None:
        for employee_id, (org_unit, role) in wanted.items():
            row = self._s.profiles.get(employee_id)
            if row is None:
                self._s.profiles[employee_id] = SimpleNamespace(
                    employee_id=employee_id, org_unit=org_unit, role=role or ""
                )
            else:
                row.org_unit, row.role = org_unit or row.org_unit, role or row.role

    def people(self, org_unit: str = "", role: str = "") -> list[tuple[str, str, str]]:
        return [
            (p.employee_id, p.org_unit, p.role)
            for p in self._s.profiles.values()
            if _under(p.org_unit, org_unit) and (not role or p.role == role)
        ]

    def add_metric_values(self, rows: Sequence[dict[str, Any]]) -> None:
        self._s.metric_values += [dict(r) for r in rows]

    def metric_rows(self, period: str, org_unit: str = "", role: str = "") -> Iterator[tuple[Any, ...]]:
        who = {e for e, _, _ in self.people(org_unit, role)}
        for m in self._s.metric_values:
            if m["period"] == period and m["employee_id"] in who:
                yield tuple(
                    m[k]
                    for k in ("employee_id", "metric", "value", "mode", "source", "rule_id", "pack_version")
                )

    def replace_scores(self, period: str, ids: Sequence[str], rows: Sequence[dict[str, Any]]) -> None:
        for i in ids:
            self._s.scores.pop((i, period), None)
        for r in rows:
            self._s.scores[(r["employee_id"], r["period"])] = SimpleNamespace(**r)

    def score_history(self, ids: Sequence[str], oldest: str, period: str) -> Iterator[tuple[str, str, str]]:
        wanted = set(ids)
        for (e, p), row in self._s.scores.items():
            if e in wanted and oldest <= p < period:
                yield e, p, row.score

    def score(self, employee_id: str, period: str) -> Any:
        return self._s.scores.get((employee_id, period))

    def scores_page(
        self, period: str, org_unit: str, scope: ScopeFilter, after: tuple[Any, ...] | None, limit: int
    ) -> list[Any]:
        rows = sorted(
            (
                r
                for r in self._s.scores.values()
                if r.period == period
                and (not org_unit or _under(r.org_unit, org_unit))
                and scope.matches(DataOwner(r.employee_id, r.org_unit))
            ),
            key=lambda r: (r.org_unit, r.rank_in_team, r.employee_id),
        )
        if after is not None:
            rows = [r for r in rows if (r.org_unit, r.rank_in_team, r.employee_id) > tuple(after)]
        return rows[:limit]

    def calibrations_of(self, ids: Sequence[str], period: str) -> dict[str, list[Any]]:
        out: dict[str, list[Any]] = {}
        for c in self._s.calibrations:
            if c.period == period and c.employee_id in ids:
                out.setdefault(c.employee_id, []).append(c)
        return out

    def calibrated(self, request_id: str) -> bool:
        return any(c.request_id == request_id for c in self._s.calibrations)

    def add_calibration(self, row: dict[str, Any]) -> None:
        self._s.calibrations.append(SimpleNamespace(id=len(self._s.calibrations) + 1, **row))

    def signalled(self, ids: Sequence[str], period: str) -> set[tuple[str, str]]:
        return {
            (s.employee_id, s.kind) for s in self._s.signals if s.period == period and s.employee_id in ids
        }

    def add_signals(self, rows: Sequence[dict[str, Any]]) -> None:
        for r in rows:
            assert (r["employee_id"], r["kind"]) not in self.signalled([r["employee_id"]], r["period"]), (
                "unique"
            )
            self._s.signals.append(SimpleNamespace(id=len(self._s.signals) + 1, **r))

    def signals_of(self, period: str, org_unit: str, scope: ScopeFilter) -> list[Any]:
        return [
            s
            for s in self._s.signals
            if s.period == period
            and (not org_unit or _under(s.org_unit, org_unit))
            and scope.matches(DataOwner(s.employee_id, s.org_unit))
        ]

    def replayed(self, method: str, request_id: str, fingerprint: str | None) -> str | None:
        if not request_id or (method, request_id) not in self._s.requests:
            return None
        fp, response = self._s.requests[(method, request_id)]
        if fingerprint is not None and fp is not None and fp != fingerprint:
            raise idempotency.reused(what=f"{method} request")
        return response

    def remember(
        self, method: str, request_id: str, response: str, now: datetime, fingerprint: str | None
    ) -> None:
        if request_id:
            assert (method, request_id) not in self._s.requests, "primary key"  # as the real table
            self._s.requests[(method, request_id)] = (fingerprint, response)

    def emit(self, events: Sequence[Event]) -> None:
        self._s.events += list(events)

    def audit(self, *, actor: str, action: str, subject: str, data: dict[str, Any]) -> None:
        self._s.audit_log.append({"actor": actor, "action": action, "subject": subject, "data": data})
