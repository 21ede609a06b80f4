"""Leaderboard order: highest total first; on a tie whoever reached the total first; then by id."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Standing:
    employee_id: str
    points: int
    reached_at: datetime
    org_unit: str = ""


def sort_key(s: Standing) -> tuple[int, datetime, str]:
    return (-s.points, s.reached_at, s.employee_id)


def leaderboard_order(standings: Iterable[Standing]) -> list[Standing]:
    """Highest total first; on a tie, whoever reached the total first; then by id (stable)."""
    return sorted(standings, key=sort_key)


def my_place(ordered: list[Standing], employee_id: str) -> tuple[int, int, int]:
    """(rank, points, gap to the next place up) for ``employee_id``; (0, 0, 0) when absent."""
    for i, s in enumerate(ordered):
        if s.employee_id == employee_id:
            gap = ordered[i - 1].points - s.points if i > 0 else 0
            return i + 1, s.points, gap
    return 0, 0, 0


def reached_at(previous: datetime | None, entry_time: datetime) -> datetime:
    """When a running total was reached after an entry at ``entry_time`` (the latest contributing entry)."""
    return entry_time if previous is None or entry_time > previous else previous
