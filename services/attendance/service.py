"""The attendance service: the wiring its use cases share (``AttendanceBase``: pack parameters, the local
day, the place index, the directory, events and anomalies) and one object per capability: ``places``
(import, nearby), ``check_ins`` (one or a batch), ``pings`` (ingest with stop detection and integrity
checks), ``reports`` (routes, team summaries) and ``days`` (daily summaries, silent days, the roster).

Thresholds (visit radius, stop radius, minimal stop, trip distance, dwell minutes, working hours, speed
limit, ...) are parameters of the active attendance pack, resolved per role and org unit at evaluation
time; the decisions that raise events are rules of the pack. Every recorded decision keeps rule_id,
pack_id and pack_version.
"""

from __future__ import annotations

from typing import Any

from covenant.db.engine import Database
from services.attendance.base import AttendanceBase
from services.attendance.checkins import CheckIns
from services.attendance.days import DayClosing
from services.attendance.pings import PingIngest
from services.attendance.places import Places
from services.attendance.reports import Reports


class AttendanceService(AttendanceBase):
    def __init__(self, database: Database, rules: Any, **wiring: Any) -> None:
        """``wiring``: the keyword arguments of ``AttendanceBase``."""
        super().__init__(database, rules, **wiring)
        self.places = Places(self)
        self.check_ins = CheckIns(self)
        self.pings = PingIngest(self)
        self.reports = Reports(self)
        self.days = DayClosing(self, self.reports)
