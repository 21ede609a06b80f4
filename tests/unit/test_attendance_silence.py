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


def test_each_region_is_judged_on_its_own_calendar() -> None:
    hk = BusinessCalendar.from_config({"official": "none", "holidays": ["2026-10-01", "2026-10-02"]})
    roster = [
        RosterEntry("SZ", date(2026, 9, 1), "/hq/futian", ""),
        RosterEntry("HK", date(2026, 9, 1), "/hk/central", ""),
    ]
    got = silent_days(
        roster, {}, lambda unit: hk if unit.startswith("/hk") else CN, date(2026, 10, 1), date(2026, 10, 10)
    )
    assert [d for e, d in got if e.employee_id == "HK"] == [
        date(2026, 10, 5),
        date(2026, 10, 6),
        date(2026, 10, 7),
        date(2026, 10, 8),
        date(2026, 10, 9),
    ]
    assert [d for e, d in got if e.employee_id == "SZ"] == [
        date(2026, 10, 8),
        date(2026, 10, 9),
        date(2026, 10, 10),
    ]


def test_the_field_roster_joins_the_directory_with_who_pinged() -> None:
    from services.attendance.domain.silence import DirectoryStatus, field_roster

    d = date(2026, 11, 2)  # a Monday
    pinged = [
        RosterEntry("P1", d, "/hq/old", "credit_officer"),  # the directory moved them and knows better
        RosterEntry("P2", d, "/hq/t1", "collector"),  # not in the directory: kept as seen
        RosterEntry("M1", d, "/hq/t1", "team_lead"),  # not a field role
    ]
    directory = {
        "P1": DirectoryStatus("/hq/t2", "credit_officer", "ACTIVE", d + timedelta(days=3), d),
        "Q1": DirectoryStatus("/hq/t1", "sales_rep", "ACTIVE", d + timedelta(days=1), d + timedelta(days=1)),
        "L1": DirectoryStatus("/hq/t1", "collector", "ON_LEAVE", d, d + timedelta(days=2)),
        "R1": DirectoryStatus(
            "/hq/t1",
            "collector",
            "ACTIVE",
            d,
            d + timedelta(days=4),
            (d + timedelta(days=1), d + timedelta(days=4)),
        ),
        "B1": DirectoryStatus("/hq/t1", "branch_manager", "ACTIVE", d, d),
    }
    roster = {
        e.employee_id: e
        for e in field_roster(pinged, directory, {"credit_officer", "sales_rep", "collector"})
    }
    assert sorted(roster) == ["L1", "P1", "P2", "Q1", "R1"]
    assert (roster["P1"].org_unit, roster["P1"].first_day) == ("/hq/t2", d)  # first seen before listed
    got = {(r.employee_id, x) for r, x in silent_days(roster.values(), {}, CN, d, d + timedelta(days=4))}
    days = [d + timedelta(days=i) for i in range(5)]
    assert got == {
        *(("P1", x) for x in days),
        *(("P2", x) for x in days),
        *(("Q1", x) for x in days[1:]),
        *(("L1", x) for x in days[:2]),  # on leave from the third day
        *(("R1", x) for x in (days[0], days[4])),  # away days 2-4, back on the fifth
    }
    assert {e.employee_id for e in field_roster(pinged, directory, ())} == {
        "P1",
        "P2",
        "M1",
        "Q1",
        "L1",
        "R1",
        "B1",
    }
