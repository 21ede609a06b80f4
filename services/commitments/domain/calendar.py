"""Deadline rules on the org's business calendar (``covenant.calendar``: official mainland holidays and
调休 from chinese-calendar, or a region's calendar given in the pack)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from covenant.calendar import BusinessCalendar
from covenant.errors import InvalidArgument

__all__ = ["BusinessCalendar", "DeadlineRule"]


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
            source = (
                f", {calendar.region or calendar.official} holidays" if calendar.official != "none" else ""
            )
            return f"{self.business_days} business days ({calendar.timezone} calendar{source})"
        return f"{self.hours} calendar hours"
