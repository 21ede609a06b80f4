"""The business calendar (issue 16): official mainland holidays and 调休 from chinese-calendar, loud
warnings for years it does not cover (at start-up and in `covenant rules validate`), other regions'
calendars given in the pack."""

from __future__ import annotations

import argparse
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import chinese_calendar
import pytest
import yaml

from covenant.calendar import BusinessCalendar, official_years
from covenant.rules.cli import cmd_validate
from services.commitments.actions import calendar_warnings

SH = ZoneInfo("Asia/Shanghai")
ROOT = Path(__file__).resolve().parents[2]
PACK = ROOT / "rules/commitments/templates.yaml"
CN = BusinessCalendar.from_config({"timezone": "Asia/Shanghai", "official": "cn"})

# Published by the State Council (国务院办公厅关于2025年 / 2026年部分节假日安排的通知).
PUBLISHED = {
    "2025-09-28": True,  # Sunday, worked for National Day
    "2025-10-08": False,  # National Day and Mid-Autumn, Oct 1-8
    "2025-10-11": True,  # Saturday, worked
    "2026-01-04": True,  # Sunday, worked for New Year
    "2026-02-14": True,  # Saturday, worked for the Spring Festival
    "2026-02-16": False,  # Spring Festival, Feb 15-23
    "2026-02-23": False,  # a Monday off
    "2026-02-28": True,  # Saturday, worked
    "2026-04-06": False,  # Qingming (a Monday)
    "2026-05-05": False,  # Labour Day, May 1-5
    "2026-05-09": True,  # Saturday, worked
    "2026-06-19": False,  # Dragon Boat (a Friday)
    "2026-09-20": True,  # Sunday, worked for National Day
    "2026-09-25": False,  # Mid-Autumn (a Friday)
    "2026-10-07": False,  # National Day, Oct 1-7
    "2026-10-10": True,  # Saturday, worked
}


@pytest.mark.parametrize(("day", "working"), sorted(PUBLISHED.items()))
def test_published_holidays_and_adjusted_weekends(day: str, working: bool) -> None:
    assert CN.is_business_day(date.fromisoformat(day)) is working


def test_every_covered_day_agrees_with_the_source() -> None:
    years = sorted(official_years("cn"))
    assert years[0] <= 2024 and 2026 in years
    day, mismatches = date(2024, 1, 1), []
    while day <= date(2026, 12, 31):
        if CN.is_business_day(day) != chinese_calendar.is_workday(day):
            mismatches.append(day)
        day += timedelta(days=1)
    assert mismatches == []


@pytest.mark.parametrize(
    ("start", "days", "deadline"),
    [
        (datetime(2026, 9, 30, 10, 0), 3, datetime(2026, 10, 10, 10, 0)),  # over National Day to a Saturday
        (datetime(2026, 9, 30, 10, 0), 1, datetime(2026, 10, 8, 10, 0)),
        (datetime(2026, 2, 13, 15, 0), 1, datetime(2026, 2, 14, 15, 0)),  # a worked Saturday
        (datetime(2026, 2, 13, 15, 0), 2, datetime(2026, 2, 24, 15, 0)),  # then the Spring Festival
        (datetime(2026, 4, 30, 9, 0), 2, datetime(2026, 5, 7, 9, 0)),  # Labour Day, May 1-5
        (datetime(2026, 6, 18, 9, 0), 1, datetime(2026, 6, 22, 9, 0)),  # Dragon Boat Friday
    ],
)
def test_business_days_follow_the_official_calendar(start: datetime, days: int, deadline: datetime) -> None:
    got = CN.add_business_days(start.replace(tzinfo=SH), days)
    assert got == deadline.replace(tzinfo=SH).astimezone(UTC)


def test_the_org_s_own_days_apply_on_top_of_the_official_ones() -> None:
    cal = BusinessCalendar.from_config(
        {"official": "cn", "holidays": ["2026-11-23"], "extra_workdays": ["2026-10-03"]}
    )
    assert not cal.is_business_day(date(2026, 11, 23)) and cal.is_business_day(date(2026, 10, 3))
    assert cal.is_business_day(date(2026, 10, 10)) and not cal.is_business_day(date(2026, 10, 5))


def test_an_uncovered_year_is_a_loud_warning_not_a_silent_weekday_calendar() -> None:
    last = max(official_years("cn"))
    near_end = date(last, 12, 1)
    (warning,) = CN.warnings(near_end)
    assert str(last + 1) in warning and "does not cover" in warning and "weekends only" in warning
    assert CN.warnings(date(last, 3, 1)) == []  # the next year is far away
    given = BusinessCalendar.from_config({"official": "cn", "holidays": [f"{last + 1}-01-01"]})
    (warning,) = given.warnings(near_end)
    assert "the pack's own holidays for it are used" in warning
    assert not CN.covers(last + 1) and CN.covers(last)


@pytest.mark.parametrize(
    "config",
    [
        # Hong Kong: no official mainland source, the pack lists the region's days
        {
            "timezone": "Asia/Hong_Kong",
            "official": "none",
            "region": "HK",
            "holidays": ["2026-12-25", "2026-12-26"],
        },
        # a Friday-Saturday weekend
        {
            "timezone": "Asia/Dubai",
            "official": "none",
            "region": "AE",
            "weekend": [5, 6],
            "holidays": ["2026-12-02"],
        },
    ],
)
def test_other_regions_calendars_come_from_the_pack(config: dict) -> None:
    cal = BusinessCalendar.from_config(config)
    assert cal.warnings(date(2026, 12, 1)) == []  # nothing official to miss
    for day in config["holidays"]:
        assert not cal.is_business_day(date.fromisoformat(day))
    weekend = {d - 1 for d in config.get("weekend", [6, 7])}
    for offset in range(14):
        day = date(2027, 3, 1) + timedelta(days=offset)
        assert cal.is_business_day(day) is (day.weekday() not in weekend)


@pytest.mark.parametrize(
    ("config", "field"),
    [
        ({"official": "moon"}, "calendar.official"),
        ({"timezone": "Mars/Olympus"}, "calendar.timezone"),
        ({"weekend": [0]}, "calendar.weekend"),
        ({"holidays": ["2026-13-01"]}, "calendar.holidays"),
    ],
)
def test_a_bad_calendar_names_the_field(config: dict, field: str) -> None:
    from covenant.errors import InvalidArgument

    with pytest.raises(InvalidArgument) as err:
        BusinessCalendar.from_config(config)
    assert err.value.field == field


def test_rules_validate_prints_the_warning_and_still_passes(capsys: pytest.CaptureFixture[str]) -> None:
    params = next(
        a["params"]
        for r in yaml.safe_load(PACK.read_text())["rules"]
        for a in r["then"]
        if a["action"] == "use_calendar"
    )
    assert params["official"] == "cn"
    expected = calendar_warnings(params)
    assert cmd_validate(argparse.Namespace(packs=[str(PACK)], output="text", require_coverage=False)) == 0
    err = capsys.readouterr().err
    assert err.count("WARNING") == len(expected)
    for w in expected:
        assert w in err
    today = datetime.now(UTC).date()
    uncovered = not CN.covers((today + timedelta(days=90)).year) or not CN.covers(today.year)
    assert bool(expected) is uncovered
