"""Business-day arithmetic on an org calendar (time zone, weekends, holidays, make-up workdays)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from covenant.errors import InvalidArgument


@dataclass(frozen=True)
class BusinessCalendar:
    """An org's working calendar. ``extra_workdays`` are weekend days worked instead of a holiday."""

    timezone: str = "Asia/Shanghai"
    holidays: frozenset[date] = field(default_factory=frozenset)
    extra_workdays: frozenset[date] = field(default_factory=frozenset)
    weekend: frozenset[int] = frozenset({5, 6})  # Saturday, Sunday

    @classmethod
    def from_config(cls, config: dict) -> BusinessCalendar:
        """Build from a rule-pack parameter: ``{timezone, holidays: [YYYY-MM-DD], extra_workdays: [...]}``."""

        def dates(values: Iterable[str], name: str) -> frozenset[date]:
            try:
                return frozenset(date.fromisoformat(str(v)) for v in values)
            except ValueError as exc:
                raise InvalidArgument(str(exc), field=f"calendar.{name}") from None

        return cls(
            timezone=str(config.get("timezone", "Asia/Shanghai")),
            holidays=dates(config.get("holidays", ()), "holidays"),
            extra_workdays=dates(config.get("extra_workdays", ()), "extra_workdays"),
        )

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def is_business_day(self, day: date) -> bool:
        if day in self.extra_workdays:
            return True
        return day.weekday() not in self.weekend and day not in self.holidays

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


@dataclass(frozen=True)
class DeadlineRule:
    """Either N business days on the org calendar or N calendar hours."""

    business_days: int = 0
    hours: int = 0

    @classmethod
    def from_config(cls, config: dict) -> DeadlineRule:
        rule = cls(business_days=int(config.get("business_days", 0)), hours=int(config.get("hours", 0)))
        if (rule.business_days > 0) == (rule.hours > 0):
            raise InvalidArgument("set exactly one of business_days or hours, > 0", field="deadline")
        return rule

    def deadline(self, start: datetime, calendar: BusinessCalendar) -> datetime:
        if self.business_days:
            return calendar.add_business_days(start, self.business_days)
        return start.astimezone(UTC) + timedelta(hours=self.hours)

    def describe(self, calendar: BusinessCalendar) -> str:
        if self.business_days:
            return f"{self.business_days} business days ({calendar.timezone} calendar)"
        return f"{self.hours} calendar hours"
