"""Calendar periods (week, month, quarter, year, day) in the organisation's time zone."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from covenant.errors import InvalidArgument

# Periods a running total is kept for (leaderboards, goals, eligibility).
TOTAL_PERIODS = ("week", "month", "quarter", "year")
# Periods a per-rule cap can use (action params cap_per_day / cap_per_week / cap_per_month).
CAP_PERIODS = {"cap_per_day": "day", "cap_per_week": "week", "cap_per_month": "month"}
PERIODS = ("day", *TOTAL_PERIODS)


@lru_cache(maxsize=8)
def zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def local_date(at: datetime, tz: str) -> date:
    """The calendar date of ``at`` in ``tz`` (naive datetimes are UTC)."""
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return at.astimezone(zone(tz)).date()


@lru_cache(maxsize=4096)
def key_for_date(kind: str, d: date) -> str:
    """The period key of a local date: "2026-11-02", "2026-W45", "2026-11", "2026-Q4", "2026"."""
    if kind == "day":
        return d.isoformat()
    if kind == "week":
        year, week, _ = d.isocalendar()
        return f"{year}-W{week:02d}"
    if kind == "month":
        return f"{d.year}-{d.month:02d}"
    if kind == "quarter":
        return f"{d.year}-Q{(d.month - 1) // 3 + 1}"
    if kind == "year":
        return str(d.year)
    raise InvalidArgument(f"unknown period {kind!r}", field="period")


def period_key(kind: str, at: datetime, tz: str) -> str:
    return key_for_date(kind, local_date(at, tz))


def period_start_date(kind: str, d: date) -> date:
    if kind == "day":
        return d
    if kind == "week":
        return d - timedelta(days=d.weekday())
    if kind == "month":
        return d.replace(day=1)
    if kind == "quarter":
        return date(d.year, (d.month - 1) // 3 * 3 + 1, 1)
    if kind == "year":
        return date(d.year, 1, 1)
    raise InvalidArgument(f"unknown period {kind!r}", field="period")


def _next_start(kind: str, start: date) -> date:
    if kind == "day":
        return start + timedelta(days=1)
    if kind == "week":
        return start + timedelta(days=7)
    months = {"month": 1, "quarter": 3, "year": 12}[kind]
    m = start.month - 1 + months
    return date(start.year + m // 12, m % 12 + 1, 1)


def period_bounds(kind: str, at: datetime, tz: str) -> tuple[datetime, datetime]:
    """[start, end) of the period containing ``at``, as UTC datetimes (local midnights)."""
    start = period_start_date(kind, local_date(at, tz))
    end = _next_start(kind, start)
    z = zone(tz)
    return (
        datetime(start.year, start.month, start.day, tzinfo=z).astimezone(UTC),
        datetime(end.year, end.month, end.day, tzinfo=z).astimezone(UTC),
    )
