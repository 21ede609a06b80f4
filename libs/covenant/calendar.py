"""The business calendar: which local days are working days, for deadlines ("3 business days") and for
"a day" in the behaviour rules (working days only).

Mainland China's official holidays and adjusted working weekends (调休) come from a maintained source, the
``chinese-calendar`` package (``official: cn``), which knows each year once the State Council has
published it. A year the source does not cover yet is not silently treated as a plain Monday-Friday
calendar: ``warnings()`` names it (the commitments service logs it at start-up, ``covenant rules validate``
prints it) until the package is upgraded or the pack lists that year's days itself. Other regions give
their calendar in the pack (``official: none`` plus their holidays, make-up workdays and weekend).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import chinese_calendar

from covenant.errors import InvalidArgument

OFFICIAL_SOURCES = {"cn": "mainland China official holidays and 调休 (chinese-calendar)", "none": ""}


@cache
def official_years(source: str) -> frozenset[int]:
    """The years an official source covers (empty for ``none``)."""
    if source != "cn":
        return frozenset()
    days = [*chinese_calendar.holidays, *chinese_calendar.workdays]
    return frozenset(range(min(days).year, max(days).year + 1))


@dataclass(frozen=True)
class BusinessCalendar:
    """An org's working calendar. ``holidays`` and ``extra_workdays`` given in the pack apply on top of the
    official source (the org's own days off; a year the source lacks); ``weekend`` holds Python weekday
    numbers (5 = Saturday, 6 = Sunday; the pack gives ISO weekdays)."""

    timezone: str = "Asia/Shanghai"
    holidays: frozenset[date] = field(default_factory=frozenset)
    extra_workdays: frozenset[date] = field(default_factory=frozenset)
    weekend: frozenset[int] = frozenset({5, 6})  # Saturday, Sunday
    official: str = "none"
    region: str = ""

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> BusinessCalendar:
        """Build from a pack's ``use_calendar`` parameters: ``{timezone, official: cn|none, region,
        holidays: [YYYY-MM-DD], extra_workdays: [...], weekend: [ISO weekday, ...]}``."""

        def dates(values: Iterable[str], name: str) -> frozenset[date]:
            try:
                return frozenset(date.fromisoformat(str(v)) for v in values)
            except ValueError as exc:
                raise InvalidArgument(str(exc), field=f"calendar.{name}") from None

        official = str(config.get("official", "none"))
        if official not in OFFICIAL_SOURCES:
            raise InvalidArgument(f"must be one of {sorted(OFFICIAL_SOURCES)}", field="calendar.official")
        timezone = str(config.get("timezone", "Asia/Shanghai"))
        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise InvalidArgument(f"unknown time zone {timezone!r}", field="calendar.timezone") from None
        weekend = config.get("weekend", (6, 7))
        if not all(isinstance(d, int) and 1 <= d <= 7 for d in weekend):
            raise InvalidArgument("must be ISO weekdays 1-7", field="calendar.weekend")
        return cls(
            timezone=timezone,
            holidays=dates(config.get("holidays", ()), "holidays"),
            extra_workdays=dates(config.get("extra_workdays", ()), "extra_workdays"),
            weekend=frozenset(d - 1 for d in weekend),
            official=official,
            region=str(config.get("region", "")),
        )

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def covers(self, year: int) -> bool:
        """Whether the official source knows ``year`` (always true without an official source)."""
        return self.official == "none" or year in official_years(self.official)

    def is_business_day(self, day: date) -> bool:
        if day in self.extra_workdays:
            return True
        if day in self.holidays:
            return False
        if self.official == "cn" and day.year in official_years("cn"):
            return bool(chinese_calendar.is_workday(day))
        return day.weekday() not in self.weekend

    def business_days_between(self, first: date, last: date) -> int:
        """Working days in ``first .. last``, both included."""
        n, day = 0, first
        while day <= last:
            n += self.is_business_day(day)
            day += timedelta(days=1)
        return n

    def warnings(self, today: date, ahead_days: int = 90) -> list[str]:
        """Loud warnings for the years from ``today`` to ``ahead_days`` later that the official source does
        not cover and for which the pack lists no days of its own."""
        if self.official == "none":
            return []
        given = {d.year for d in (*self.holidays, *self.extra_workdays)}
        out = []
        for year in range(today.year, (today + timedelta(days=ahead_days)).year + 1):
            if self.covers(year):
                continue
            known = official_years(self.official)
            last = max(known) if known else "none"
            where = "; the pack's own holidays for it are used" if year in given else ""
            out.append(
                f"business calendar {self.region or self.official}: {OFFICIAL_SOURCES[self.official]} does "
                f"not cover {year} (last covered: {last}); its official holidays and adjusted working "
                f"weekends are unknown{where or ' and it falls back to weekends only'} - upgrade "
                f"chinesecalendar or list {year}'s days in the pack"
            )
        return out

    def add_business_days(self, start: datetime, days: int) -> datetime:
        """The same local time of day on the ``days``-th business day after ``start`` (UTC result)."""
        if start.tzinfo is None:
            raise InvalidArgument("must be timezone-aware", field="created_at")
        local = start.astimezone(self.zone)
        day = local.date()
        counted = 0
        while counted < days:
            day += timedelta(days=1)
            if self.is_business_day(day):
                counted += 1
        deadline = datetime.combine(day, local.time().replace(tzinfo=None), tzinfo=self.zone)
        return deadline.astimezone(UTC)
