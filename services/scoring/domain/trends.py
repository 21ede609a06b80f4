"""Trend facts over an employee's period scores, handed to the scoring rule pack as derived facts."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class TrendFacts:
    consecutive_declines: int  # periods in a row, ending now, where the score fell
    drop_pct: float  # fall from the previous period, in percent (0 if it rose)
    change: float  # current minus previous score
    periods: int


def trend_facts(history: Sequence[Decimal]) -> TrendFacts:
    """Facts for the newest score in ``history`` (oldest first)."""
    declines = 0
    for older, newer in zip(reversed(history[:-1]), reversed(history[1:]), strict=False):
        if newer < older:
            declines += 1
        else:
            break
    if len(history) >= 2 and history[-2] > 0:
        prev, cur = history[-2], history[-1]
        drop = float((prev - cur) / prev * 100) if cur < prev else 0.0
        change = float(cur - prev)
    else:
        drop, change = 0.0, 0.0
    return TrendFacts(declines, round(drop, 2), round(change, 2), len(history))
