"""Compliance's domain gauges: open cases by severity and age, and the oldest open case per severity."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from covenant.telemetry import metrics as m
from services.compliance.storage import open_cases_by_severity

OPEN_STATES = ("OPEN", "ACKNOWLEDGED", "ESCALATED")
SEVERITIES = ("critical", "high", "medium", "low")
AGES = ("lt_1d", "1d_7d", "gt_7d")


def _severity(value: str) -> str:
    value = (value or "").lower()
    return value if value in SEVERITIES else "other"


def open_cases(db: Any) -> dict[str, tuple[dict[str, int], float]]:
    """Per severity: open cases per age band, and the age in seconds of the oldest."""
    now = datetime.now(UTC)
    out = {s: ({a: 0 for a in AGES}, 0.0) for s in SEVERITIES}
    with db.session() as s:
        rows = open_cases_by_severity(s, OPEN_STATES, now - timedelta(days=1), now - timedelta(days=7))
    for severity, total, recent, old, oldest in rows:
        bands, age = out.setdefault(_severity(severity), ({a: 0 for a in AGES}, 0.0))
        bands["lt_1d"] += recent
        bands["gt_7d"] += old
        bands["1d_7d"] += total - recent - old
        oldest_age = (now - oldest).total_seconds() if oldest is not None else 0.0
        out[_severity(severity)] = (bands, max(age, oldest_age))
    return out


def register(db: Any) -> Callable[[], None]:
    """Feed ``covenant.compliance.open_cases`` and ``..oldest_open_case_age`` from ``db``."""
    read = m.cached(lambda: open_cases(db))

    def counts() -> list[tuple[float, dict[str, str]]]:
        return [
            (n, {"severity": sev, "age": band})
            for sev, (bands, _) in sorted(read().items())
            for band, n in bands.items()
        ]

    def oldest() -> list[tuple[float, dict[str, str]]]:
        return [(age, {"severity": sev}) for sev, (_, age) in sorted(read().items())]

    removers = [
        m.observe("covenant.compliance.open_cases", counts),
        m.observe("covenant.compliance.oldest_open_case_age", oldest),
    ]
    return m.remover(removers)
