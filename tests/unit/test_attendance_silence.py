"""Silent days (issue 16): working days of the business calendar on which a recently seen rep sent
nothing; weekends, official holidays and the org's days off are not silent, worked weekends (调休) are."""

from __future__ import annotations

import random
from datetime import date, timedelta

import chinese_calendar
import pytest

from covenant.calendar import BusinessCalendar
from services.attendance.domain.silence import RosterEntry, silent_days

CN = BusinessCalendar(official="cn")


@pytest.mark.parametrize("seed", range(12))
def test_silent_days_are_exactly_the_unseen_working_days(seed: int) -> None:
    rnd = random.Random(seed)
    first = date(2026, 9, 20) + timedelta(days=rnd.randrange(30))  # around National Day and its 调休
    last = first + timedelta(days=rnd.randrange(5, 25))
    roster, seen, expected = [], {}, set()
    for n in range(rnd.randrange(3, 9)):
        emp = f"E{n}"
        joined = first + timedelta(days=rnd.randrange(-5, 6))
        roster.append(RosterEntry(emp, joined, "/hq/t1", "collector"))
        seen[emp] = {first + timedelta(days=k) for k in range(-5, 30) if rnd.random() < 0.5}
        day = max(first, joined)
        while day <= last:
            if day not in seen[emp] and chinese_calendar.is_workday(day):
                expected.add((emp, day))
            day += timedelta(days=1)
    got = {(r.employee_id, d) for r, d in silent_days(roster, seen, CN, first, last)}
    assert got == expected


def test_holidays_weekends_and_worked_saturdays() -> None:
    roster = [RosterEntry("E1", date(2026, 9, 1), "/hq", "")]
    got = [d for _, d in silent_days(roster, {}, CN, date(2026, 9, 30), date(2026, 10, 12))]
    assert got == [
        date(2026, 9, 30),
        date(2026, 10, 8),
        date(2026, 10, 9),
        date(2026, 10, 10),
        date(2026, 10, 12),
    ]
    own = BusinessCalendar.from_config({"official": "cn", "holidays": ["2026-10-09"]})
    assert date(2026, 10, 9) not in [
        d for _, d in silent_days(roster, {}, own, date(2026, 10, 8), date(2026, 10, 10))
    ]


def test_a_rep_is_silent_only_from_the_day_first_seen() -> None:
    roster = [RosterEntry("NEW", date(2026, 11, 25), "/hq", "")]
    got = [
        d
        for _, d in silent_days(
            roster, {"NEW": {date(2026, 11, 25)}}, CN, date(2026, 11, 16), date(2026, 11, 27)
        )
    ]
    assert got == [date(2026, 11, 26), date(2026, 11, 27)]
