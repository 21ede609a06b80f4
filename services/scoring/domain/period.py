"""Monthly scoring periods ("YYYY-MM")."""

from __future__ import annotations

import re
from datetime import date

from covenant.errors import InvalidArgument

_PERIOD = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


def parse_period(value: str, field: str = "period") -> date:
    """First day of the month a period names; rejects anything but YYYY-MM."""
    m = _PERIOD.match(value or "")
    if not m:
        raise InvalidArgument(f"must be YYYY-MM, got {value!r}", field=field)
    return date(int(m.group(1)), int(m.group(2)), 1)


def period_of(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def previous_period(period: str, n: int = 1) -> str:
    start = parse_period(period)
    index = start.year * 12 + start.month - 1 - n
    return f"{index // 12:04d}-{index % 12 + 1:02d}"
