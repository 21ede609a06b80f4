"""Balances, ledger pages and leaderboards."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from covenant.auth import Principal, scope_filter
from covenant.errors import InvalidArgument
from services.points.domain import TOTAL_PERIODS, Standing, leaderboard_order, my_place, period_key
from services.points.service.base import UseCase, readable_account


@dataclass(frozen=True)
class Board:
    rows: list[Standing]
    my_rank: int
    my_points: int
    gap_to_next: int
    period_key: str


class Reads(UseCase):
    """Balances, ledger pages and leaderboards, limited to what the caller may see."""

    def balance(self, principal: Principal, employee_id: str) -> int:
        employee_id = employee_id or principal.employee_id
        with self.deps.stores() as store:
            account = readable_account(store, principal, employee_id)
            return account[1] if account else 0

    def ledger(self, principal: Principal, employee_id: str, after_id: int, limit: int) -> list[Any]:
        employee_id = employee_id or principal.employee_id
        with self.deps.stores() as store:
            readable_account(store, principal, employee_id)
            return store.ledger_page(employee_id, after_id, limit)

    def leaderboard(
        self,
        principal: Principal,
        *,
        period: str,
        at: datetime | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
        scope: str = "",
        org_unit: str = "",
        top: int = 10,
    ) -> Board:
        """Ranked totals; ``period`` is week/month/quarter/year (containing ``at``) or custom (start..end).
        ``scope``: team (caller's org unit), org_unit (subtree of ``org_unit``), all, or "" (the subtree when
        ``org_unit`` is given, else all). Rows are always limited to what the caller may see."""
        sf = scope_filter(principal, "points.leaderboards.read")
        top = max(1, min(top or 10, 1000))
        team = under = ""
        if scope == "team":
            if not principal.org_unit:
                raise InvalidArgument("the caller has no org unit", field="scope")
            team = principal.org_unit
        elif scope == "org_unit" or (not scope and org_unit):
            if not org_unit:
                raise InvalidArgument("is required for scope ORG_UNIT", field="org_unit")
            under = org_unit
        if period == "custom":
            if start is None or end is None:
                raise InvalidArgument(
                    "is required for a custom period", field="start_time" if start is None else "end_time"
                )
            if end <= start:
                raise InvalidArgument("must be after start_time", field="end_time")
            with self.deps.stores() as store:
                ordered = leaderboard_order(store.earned_between(start, end, sf, team, under))
            rank, points, gap = my_place(ordered, principal.employee_id)
            return Board(ordered[:top], rank, points, gap, "custom")
        if period not in TOTAL_PERIODS:
            raise InvalidArgument(f"unknown period {period!r}", field="period")
        key = period_key(period, at or self.deps.clock(), self.deps.timezone)
        with self.deps.stores() as store:
            standings = store.period_top(key, sf, team, under, top)
            rank, points, gap = my_place(standings, principal.employee_id)
            if rank == 0 and principal.employee_id:
                place = store.period_place(key, sf, team, under, principal.employee_id)
                if place is not None:
                    rank, points, gap = place
        return Board(standings, rank, points, gap, key)
