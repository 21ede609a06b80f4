"""The storage port of the points use cases (the cosmicpython "repository").

``services.points.storage.SqlPointsStore`` implements it over one SQLAlchemy session (one unit of work);
``tests/support/fakes/points.py`` implements it in memory so the service logic can be tested without a
database.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, Protocol

from covenant.auth.principal import ScopeFilter
from covenant.events.v1.event_pb2 import Event
from services.points.domain import EventIn, Standing

CapKey = tuple[str, str, str]  # (employee_id, rule_id, "day:2026-11-02")


class PointsStore(Protocol):
    """What the points use cases read and write inside one unit of work."""

    def claim(self, events: Sequence[EventIn], now: datetime) -> set[str]:
        """Mark ``events`` applied; the ids marked now (the others were applied before)."""
        ...

    def lock_caps(self, keys: Sequence[CapKey]) -> dict[CapKey, int]:
        """Points already paid per cap key (missing keys start at zero), locked until the unit ends."""
        ...

    def store_caps(self, used: dict[CapKey, int]) -> None:
        """Save the changed cap usage."""
        ...

    def entries_of(self, source_event_ids: Sequence[str], kinds: Sequence[str] = ()) -> list[dict[str, Any]]:
        """Ledger entries of the given source events (of the given kinds; all when empty), by id."""
        ...

    def write(self, entries: list[dict[str, Any]], now: datetime) -> list[dict[str, Any]]:
        """Append ledger entries, moving balances and period totals and queueing one event per entry."""
        ...

    def account(self, employee_id: str) -> tuple[str, int] | None:
        """(org unit, balance) of an employee's account, None when they have none."""
        ...

    def ledger_page(self, employee_id: str, after_id: int, limit: int) -> list[Any]:
        """At most ``limit`` of an employee's ledger entries with ids above ``after_id``, by id."""
        ...

    def open_team_goals(self, event_types: Sequence[str]) -> list[Any]:
        """The OPEN team goals counting any of ``event_types``, by id."""
        ...

    def lock_team_goals(self, goal_ids: Sequence[str]) -> dict[str, Any]:
        """The goals ``goal_ids`` by id, locked until the unit ends."""
        ...

    def add_goal_progress(self, rows: Sequence[dict[str, Any]]) -> None:
        """Add contributions (goal_id, employee_id, org_unit, contribution) to the goals' progress."""
        ...

    def goal_progress(self, goal_id: str) -> list[tuple[str, str, int]]:
        """(employee_id, org_unit, contribution) per contributor of a goal."""
        ...

    def achieve_goal(self, goal_id: str, at: datetime) -> None:
        """Mark a goal ACHIEVED at ``at``."""
        ...

    def period_top(self, key: str, sf: ScopeFilter, team: str, under: str, top: int) -> list[Standing]:
        """The first ``top`` totals of period ``key`` in leaderboard order, among those ``sf`` lets its caller
        see in org unit ``team`` (exactly; any when empty) and below ``under`` (anywhere when empty)."""
        ...

    def period_place(
        self, key: str, sf: ScopeFilter, team: str, under: str, employee_id: str
    ) -> tuple[int, int, int] | None:
        """(rank, points, gap to the next higher total) of ``employee_id`` among the totals ``period_top``
        ranks; None when they have none there."""
        ...

    def earned_between(
        self, start: datetime, end: datetime, sf: ScopeFilter, team: str, under: str
    ) -> list[Standing]:
        """Per employee whose entries ``period_top``'s filters keep: points earned in [start, end) and when
        the total was reached (unordered)."""
        ...

    def period_standings(self, key: str) -> list[Standing]:
        """Every total of period ``key`` (unordered)."""
        ...

    def period_points(self, key: str, employee_ids: Iterable[str]) -> dict[str, int]:
        """Points of period ``key`` by employee, for those of ``employee_ids`` with a total."""
        ...

    def team_goal_by_request(self, request_id: str) -> str | None:
        """The id of the team goal created for ``request_id``, if any."""
        ...

    def add_team_goal(self, values: dict[str, Any]) -> None:
        """Add a team goal."""
        ...

    def team_goal(self, goal_id: str) -> dict[str, Any] | None:
        """A team goal's columns, None when unknown."""
        ...

    def team_goal_ids(
        self, sf: ScopeFilter, under: str, ancestors: Sequence[str], after: str, limit: int
    ) -> list[str]:
        """At most ``limit`` ids after ``after`` of the team goals below ``under`` (all when empty) that
        ``sf`` lets its caller see or that are set on one of ``ancestors``, by id."""
        ...

    def upsert_personal_goal(self, values: dict[str, Any]) -> None:
        """Set a personal goal (employee_id, period key, period_kind, org_unit, target)."""
        ...

    def personal_goal(self, employee_id: str, key: str) -> Any | None:
        """(target, org_unit) of an employee's goal for period ``key``, None when unset."""
        ...

    def personal_goals_in(self, keys: Sequence[str]) -> list[Any]:
        """The personal goals of the periods ``keys``: employee_id, org_unit, period_kind, target."""
        ...

    def claim_nudges(self, employee_ids: Sequence[str], week: str, now: datetime) -> set[str]:
        """Mark the week's nudge sent for ``employee_ids``; those marked now (the others had theirs)."""
        ...

    def balances(self) -> dict[str, int]:
        """Every account's balance by employee."""
        ...

    def expiry_figures(self, cutoff: datetime, source: str) -> list[Any]:
        """Per employee with entries: org_unit, points earned before ``cutoff`` (earned), spent, expired, and
        whether the expiry run ``source`` already wrote an entry (done)."""
        ...

    def period_rank(self, key: str, employee_id: str) -> tuple[int, int]:
        """(rank, population) of an employee among every total of period ``key`` (rank 0: no total)."""
        ...

    def add_reward_item(self, values: dict[str, Any]) -> bool:
        """Add a reward item; False (and nothing added) when its id exists."""
        ...

    def reward_items_after(self, after: str, limit: int) -> list[Any]:
        """At most ``limit`` reward items with ids after ``after``, by id."""
        ...

    def reward_item(self, item_id: str, *, lock: bool = False) -> Any | None:
        """A reward item (locked until the unit ends with ``lock``), None when unknown."""
        ...

    def move_stock(self, item_id: str, by: int) -> None:
        """Take one unit of an item's stock (``by`` -1, never below zero) or put one back (``by`` 1)."""
        ...

    def held_redemptions(self, item_id: str, employee_id: str, refunded: Iterable[str]) -> int:
        """How many redemptions of an item an employee holds (those in a ``refunded`` state do not count)."""
        ...

    def redemption(self, redemption_id: str, *, lock: bool = False) -> Any | None:
        """A redemption (locked until the unit ends with ``lock``), None when unknown."""
        ...

    def redemption_by_request(self, request_id: str) -> Any | None:
        """The redemption made for ``request_id``, None when there is none."""
        ...

    def add_redemption(self, values: dict[str, Any]) -> None:
        """Add a redemption."""
        ...

    def set_redemption_state(self, redemption_id: str, state: str, reason: str) -> None:
        """Move a redemption to ``state``, with the reason."""
        ...

    def emit(self, event: Event) -> None:
        """Queue an outgoing event with the unit's changes."""
        ...

    def emit_many(self, events: Sequence[Event]) -> None:
        """Queue outgoing events with the unit's changes."""
        ...

    def audit(self, *, actor: str, action: str, subject: str, data: dict[str, Any]) -> None:
        """Append an audit entry with the unit's changes."""
        ...
