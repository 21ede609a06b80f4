"""What every compliance capability shares: the rule runtime, the clock and local time zone, the directory
and the unit of work (``ComplianceStore``)."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from covenant.auth.directory import Directory
from covenant.calendar import BusinessCalendar
from covenant.timestamps import as_utc as _utc
from services.compliance.ports import ComplianceStore

SOURCE = "compliance"


class Context:
    """The rule runtime, clock, local time zone, directory and unit of work every capability uses."""

    def __init__(
        self,
        rules: Any,
        *,
        clock: Callable[[], datetime],
        timezone: str,
        directory: Directory | None,
        stores: Callable[[], AbstractContextManager[ComplianceStore]],
        store: Callable[[Session], ComplianceStore],
    ) -> None:
        """``stores`` opens one unit of work; ``store`` is the port over a caller's session (event
        consumers, inside the inbox transaction)."""
        self.rules = rules
        self.clock = clock
        self.tz = ZoneInfo(timezone)
        # Org units of the employees written about come from the directory, not the request (None: the
        # request is trusted; only for in-process tools that construct the service directly).
        self.directory = directory
        self.stores = stores
        self.store = store

    def local_date(self, at: datetime) -> date:
        return _utc(at).astimezone(self.tz).date()

    def midnight(self, day: date) -> datetime:
        """The start of local ``day``."""
        return datetime.combine(day, datetime.min.time(), self.tz)

    def calendar(self, packs: Sequence[Any] | None = None) -> BusinessCalendar:
        """The pack's business calendar: "a day" in the behaviour rules is one of its working days."""
        config = self.rules.parameter("business_calendar", default={"official": "cn"}, packs=packs) or {}
        return BusinessCalendar.from_config({"timezone": str(self.tz), **dict(config)})

    def unit(self, employee_id: str, claimed: str, field: str = "") -> str:
        """The employee's org unit per the directory (a different ``claimed`` one is refused)."""
        if self.directory is None:
            return claimed
        return self.directory.resolve(employee_id, org_unit=claimed, field=field).org_unit

    def remember(
        self, store: ComplianceStore, method: str, request_id: str, result: dict[str, Any], fp: str
    ) -> None:
        """Record a mutation's request id (the chassis table, ``covenant.db.idempotency``, in SQL)."""
        store.remember(method, request_id, json.dumps(result), self.clock(), fingerprint=fp)
