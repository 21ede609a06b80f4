"""Scores as computed: reading one or a page of them with their calibrations, calibrating one (with a
mandatory reason, never one's own, only in the caller's line), and the signals raised."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from covenant.auth import DataOwner, Principal, ScopeFilter, authorize, forbid_self, scope_filter
from covenant.auth.directory import Directory, require_line
from covenant.errors import InvalidArgument, NotFound
from services.scoring.domain.period import parse_period
from services.scoring.intake import parse_decimal
from services.scoring.ports import ScoringStore, Stores


@dataclass
class Scores:
    stores: Stores
    clock: Callable[[], datetime]
    directory: Directory | None  # whose line a calibration must be in (None: not checked)

    @staticmethod
    def _score_row(store: ScoringStore, employee_id: str, period: str) -> Any:
        row = store.score(employee_id, period)
        if row is None:
            raise NotFound(f"no score for employees/{employee_id} in {period}")
        return row

    def get(self, principal: Principal, employee_id: str, period: str) -> tuple[Any, list[Any]]:
        parse_period(period)
        if not employee_id:
            raise InvalidArgument("is required", field="employee_id")
        with self.stores() as store:
            profile = store.profile(employee_id)
            authorize(
                principal, "scoring.scores.read", DataOwner(employee_id, profile.org_unit if profile else "")
            )
            row = self._score_row(store, employee_id, period)
            return row, store.calibrations_of([employee_id], period).get(employee_id, [])

    def list(
        self, principal: Principal, period: str, org_unit: str, after: tuple[Any, ...] | None, limit: int
    ) -> list[tuple[Any, list[Any]]]:
        """Up to ``limit`` scores with their calibrations, by (org_unit, rank_in_team, employee_id), after
        that keyset position ``after`` (``covenant.paging.page`` asks for one more: is there a next page)."""
        parse_period(period)
        scope: ScopeFilter = scope_filter(principal, "scoring.scores.read")
        with self.stores() as store:
            rows = store.scores_page(period, org_unit, scope, after, limit)
            cal = store.calibrations_of([r.employee_id for r in rows], period)
            return [(r, cal.get(r.employee_id, [])) for r in rows]

    def calibrate(
        self,
        principal: Principal,
        employee_id: str,
        period: str,
        adjustment: str,
        reason: str,
        request_id: str,
    ) -> tuple[Any, list[Any]]:
        parse_period(period)
        if not reason.strip():
            raise InvalidArgument("a reason is mandatory for a calibration", field="reason")
        amount = parse_decimal(adjustment, "adjustment")
        if abs(amount) > 100:
            raise InvalidArgument("must be between -100 and 100", field="adjustment")
        with self.stores() as store:
            row = self._score_row(store, employee_id, period)
            authorize(principal, "scoring.scores.calibrate", DataOwner(employee_id, row.org_unit))
            forbid_self(principal, employee_id, "scoring.scores.calibrate", "calibrate their own score")
            require_line(
                self.directory, principal, employee_id, "scoring.scores.calibrate", "calibrate a score"
            )
            if request_id and store.calibrated(request_id):
                return row, store.calibrations_of([employee_id], period)[employee_id]
            store.add_calibration(
                {
                    "employee_id": employee_id,
                    "period": period,
                    "adjustment": str(amount),
                    "reason": reason.strip(),
                    "calibrated_by": principal.subject,
                    "calibrated_at": self.clock(),
                    "request_id": request_id or None,
                }
            )
            store.audit(
                actor=principal.subject,
                action="score.calibrated",
                subject=f"scores/{employee_id}/{period}",
                data={"adjustment": str(amount), "reason": reason.strip(), "computed": row.score},
            )
            return row, store.calibrations_of([employee_id], period)[employee_id]

    def signals(self, principal: Principal, period: str, org_unit: str) -> list[Any]:
        parse_period(period)
        scope = scope_filter(principal, "scoring.signals.read")
        with self.stores() as store:
            return store.signals_of(period, org_unit, scope)
