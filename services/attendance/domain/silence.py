"""Silence: a rep who sends nothing at all (no pings, no check-ins) on a working day has a day too, with no
visit in it. "A day" is a working day of the business calendar (``covenant.calendar``): weekends, official
holidays and the org's own days off are not silent days; worked weekends (调休) are."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta

from covenant.calendar import BusinessCalendar


@dataclass(frozen=True)
class RosterEntry:
    """An employee seen recently: their first day seen in the look-back window, org unit and role."""

    employee_id: str
    first_day: date
    org_unit: str
    role: str


def silent_days(
    roster: Iterable[RosterEntry],
    seen: Mapping[str, set[date]],
    calendar: BusinessCalendar,
    first: date,
    last: date,
) -> list[tuple[RosterEntry, date]]:
    """The (employee, working day) pairs in ``first .. last`` from each employee's first day seen on, on
    which the employee sent nothing (no day in ``seen``)."""
    out = []
    for entry in roster:
        day = max(first, entry.first_day)
        days_seen = seen.get(entry.employee_id, set())
        while day <= last:
            if day not in days_seen and calendar.is_business_day(day):
                out.append((entry, day))
            day += timedelta(days=1)
    return out
