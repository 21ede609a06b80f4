"""Silence: a rep who sends nothing at all (no pings, no check-ins) on a working day has a day too, with no
visit in it. "A day" is a working day of the business calendar (``covenant.calendar``): weekends, official
holidays and the org's own days off are not silent days; worked weekends (调休) are.

Who must send something is the directory's roster (identity's employee events) of the pack's ``field_roles``,
joined with everyone who sent fixes recently: a field rep who never sends anything is caught too, while
days on leave (ON_LEAVE) or after leaving (LEFT) are not silent days."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta

from covenant.calendar import BusinessCalendar


@dataclass(frozen=True)
class RosterEntry:
    """An employee who must send something from ``first_day`` on: org unit, role, and the periods they are
    away (``off``: from a day, inclusive, until a day, exclusive, or None for still away)."""

    employee_id: str
    first_day: date
    org_unit: str
    role: str
    off: tuple[tuple[date, date | None], ...] = ()

    def away_on(self, day: date) -> bool:
        return any(start <= day and (end is None or day < end) for start, end in self.off)


@dataclass(frozen=True)
class DirectoryStatus:
    """What the directory (identity) last said about an employee, with the days it changed."""

    org_unit: str
    role: str
    status: str  # ACTIVE, ON_LEAVE, LEFT
    joined: date
    status_since: date
    away: tuple[date, date] | None = None  # the last absence already over


def field_roster(
    pinged: Iterable[RosterEntry],
    directory: Mapping[str, DirectoryStatus],
    field_roles: Collection[str],
) -> list[RosterEntry]:
    """Who must send something: everyone who pinged recently and everyone in the directory, both with the
    directory's org unit and role when it knows them, kept when the role is a field role (all roles when
    ``field_roles`` is empty). A directory-only employee counts from the day identity listed them."""
    by_id = {e.employee_id: e for e in pinged}
    out = []
    for emp in sorted(set(by_id) | set(directory)):
        seen, known = by_id.get(emp), directory.get(emp)
        if known is None:
            assert seen is not None
            entry = seen
        else:
            first = min(seen.first_day, known.joined) if seen else known.joined
            off: list[tuple[date, date | None]] = []
            if known.away:
                off.append(known.away)
            if known.status != "ACTIVE":
                off.append((known.status_since, None))
            entry = RosterEntry(emp, first, known.org_unit, known.role, tuple(off))
        if field_roles and entry.role not in field_roles:
            continue
        out.append(entry)
    return out


def silent_days(
    roster: Iterable[RosterEntry],
    seen: Mapping[str, set[date]],
    calendar: BusinessCalendar | Callable[[str], BusinessCalendar],
    first: date,
    last: date,
) -> list[tuple[RosterEntry, date]]:
    """The (employee, working day) pairs in ``first .. last`` from each employee's first day on, on which
    the employee sent nothing (no day in ``seen``) and was not away. ``calendar`` may be chosen per org
    unit."""
    out = []
    by_unit: dict[str, BusinessCalendar] = {}
    for entry in roster:
        if isinstance(calendar, BusinessCalendar):
            cal = calendar
        else:
            cal = by_unit.get(entry.org_unit) or by_unit.setdefault(entry.org_unit, calendar(entry.org_unit))
        day = max(first, entry.first_day)
        days_seen = seen.get(entry.employee_id, set())
        while day <= last:
            if day not in days_seen and not entry.away_on(day) and cal.is_business_day(day):
                out.append((entry, day))
            day += timedelta(days=1)
    return out
