"""The storage port of the scoring use cases (the cosmicpython "repository").

``services.scoring.storage.SqlScoringStore`` implements it over one SQLAlchemy session (one unit of work)
with the repository functions of that module; ``tests/support/fakes/scoring.py`` implements it in memory so
scorecards, metric intake, period scoring and calibration can be tested without a database.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import date, datetime
from typing import Any, Protocol

from covenant.auth import ScopeFilter
from covenant.events.v1.event_pb2 import Event


class ScoringStore(Protocol):
    """What the scoring service logic reads and writes inside one unit of work."""

    def latest_card_version(self, card_id: str) -> int | None:
        """The highest version of scorecard ``card_id`` (None when it has none)."""
        ...

    def add_card(self, row: dict[str, Any]) -> None:
        """Insert a scorecard version row."""
        ...

    def cards_of(self, role: str) -> list[Any]:
        """Every scorecard version (of ``role`` when given), by id and version."""
        ...

    def has_cards(self) -> bool:
        """There is at least one scorecard version."""
        ...

    def cards_in_force(self, role: str, start: date) -> list[Any]:
        """The scorecard versions of a role in force on ``start`` (every org-unit variant)."""
        ...

    def profile(self, employee_id: str) -> Any:
        """The employee's profile row (employee_id, org_unit, role), None when there is none."""
        ...

    def upsert_profiles(self, wanted: Mapping[str, tuple[str, str]]) -> None:
        """Create each profile (employee id -> org unit, role), or move it to the org unit and role where
        those are given."""
        ...

    def people(self, org_unit: str = "", role: str = "") -> list[tuple[str, str, str]]:
        """(employee_id, org_unit, role) of the profiles under ``org_unit`` (of ``role`` when given)."""
        ...

    def add_metric_values(self, rows: Sequence[dict[str, Any]]) -> None:
        """Insert metric value rows."""
        ...

    def metric_rows(self, period: str, org_unit: str = "", role: str = "") -> Iterable[tuple[Any, ...]]:
        """(employee_id, metric, value, mode, source, rule_id, pack_version) of the period's metric values
        of the profiles under ``org_unit`` (of ``role`` when given), in write order."""
        ...

    def replace_scores(self, period: str, ids: Sequence[str], rows: Sequence[dict[str, Any]]) -> None:
        """The period's scores of ``ids`` become ``rows``."""
        ...

    def score_history(self, ids: Sequence[str], oldest: str, period: str) -> Iterable[tuple[str, str, str]]:
        """(employee_id, period, score) of ``ids`` from ``oldest`` up to before ``period``."""
        ...

    def score(self, employee_id: str, period: str) -> Any:
        """An employee's score row of ``period`` (None when there is none)."""
        ...

    def scores_page(
        self, period: str, org_unit: str, scope: ScopeFilter, after: tuple[Any, ...] | None, limit: int
    ) -> list[Any]:
        """Up to ``limit`` visible scores by (org_unit, rank_in_team, employee_id) after ``after``."""
        ...

    def calibrations_of(self, ids: Sequence[str], period: str) -> dict[str, list[Any]]:
        """employee -> their calibrations of ``period``, oldest first."""
        ...

    def calibrated(self, request_id: str) -> bool:
        """A calibration with this request id was recorded."""
        ...

    def add_calibration(self, row: dict[str, Any]) -> None:
        """Insert a calibration row."""
        ...

    def signalled(self, ids: Sequence[str], period: str) -> set[tuple[str, str]]:
        """(employee, kind) of the signals already raised for ``period``."""
        ...

    def add_signals(self, rows: Sequence[dict[str, Any]]) -> None:
        """Insert signal rows, in order."""
        ...

    def signals_of(self, period: str, org_unit: str, scope: ScopeFilter) -> list[Any]:
        """The period's signals ``scope`` lets see (under ``org_unit`` when given), in raising order."""
        ...

    def replayed(self, method: str, request_id: str, fingerprint: str | None) -> str | None:
        """The response recorded for an earlier request id (covenant.db.idempotency.replayed)."""
        ...

    def remember(
        self, method: str, request_id: str, response: str, now: datetime, fingerprint: str | None
    ) -> None:
        """Record the response of a request id with the unit's changes."""
        ...

    def emit(self, events: Sequence[Event]) -> None:
        """Queue outgoing events with the unit's changes."""
        ...

    def audit(self, *, actor: str, action: str, subject: str, data: dict[str, Any]) -> None:
        """Append an audit entry with the unit's changes."""
        ...


Stores = Callable[[], AbstractContextManager[ScoringStore]]  # opens one unit of work
