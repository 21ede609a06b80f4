"""Team goals (pool split by contribution share) and personal goals with weekly nudges."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from services.points.domain.awards import split_points


@dataclass(frozen=True)
class Share:
    employee_id: str
    contribution: int
    points: int
    explanation: str


def split_pool(pool: int, contributions: Mapping[str, int]) -> list[Share]:
    """Split a team pool by contribution share (largest remainder; sums exactly to ``pool``)."""
    total = sum(c for c in contributions.values() if c > 0)
    paid = dict(split_points(pool, {k: float(v) for k, v in contributions.items()}))
    out = []
    for emp in sorted(contributions):
        c = contributions[emp]
        if c <= 0:
            continue
        pts = paid.get(emp, 0)
        out.append(
            Share(
                emp,
                c,
                pts,
                f"{c} of {total} = {100 * c / total:.2f}% of a {pool}-point pool → {pts} points",
            )
        )
    return out


def reached(progress: int, target: int) -> bool:
    return target > 0 and progress >= target


@dataclass(frozen=True)
class Nudge:
    employee_id: str
    points: int
    target: int
    to_goal: int
    team_rank: int
    team_size: int
    gap_to_next: int
    message: str


def nudge(
    employee_id: str, points: int, target: int, team_rank: int, team_size: int, gap_to_next: int
) -> Nudge:
    """The weekly nudge text, e.g. "10 points to your goal · 3rd in your team, 15 points behind 2nd"."""
    parts = []
    to_goal = max(0, target - points) if target else 0
    if target:
        parts.append(f"{to_goal} points to your goal" if to_goal else f"goal of {target} points reached")
    if team_rank == 1:
        parts.append(f"1st in your team of {team_size}")
    elif team_rank > 1:
        parts.append(
            f"{ordinal(team_rank)} in your team, {gap_to_next} points behind {ordinal(team_rank - 1)}"
        )
    if not parts:
        parts.append(f"{points} points this week")
    return Nudge(employee_id, points, target, to_goal, team_rank, team_size, gap_to_next, " · ".join(parts))


def ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"
