"""Attendance: the end of a day (summaries the pack publishes), silent days and the directory roster."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from covenant.auth import Principal, authorize
from covenant.auth.directory import DirectoryEntry
from covenant.calendar import BusinessCalendar
from covenant.errors import InvalidArgument
from covenant.periodic import PeriodicWorker
from services.attendance import storage as db
from services.attendance.base import AttendanceBase
from services.attendance.domain.geo import PlaceIndex
from services.attendance.domain.silence import DirectoryStatus, RosterEntry, field_roster, silent_days
from services.attendance.domain.stops import Stop
from services.attendance.reports import Reports


class DayClosing:
    """Summarises past employee-days, records silent ones and keeps the roster in step."""

    def __init__(self, base: AttendanceBase, reports: Reports) -> None:
        self.base = base
        self.reports = reports
        self._silence_checked = ""  # the local day silence was last recorded for

    def close_days(self, *, day: str | None = None, limit: int = 200) -> int:
        """Summarises employee-days before today whose summary is out of date (all of ``day`` if given):
        open stops are judged as closed, and the pack decides whether to publish attendance.daily_summary.
        A day changed after its summary (a late fix) is summarised again with the next revision."""
        today = self.base.today()
        if day is not None and day >= today:
            raise InvalidArgument(f"must be a past day (today is {today})", field="date")
        index = self.base.index()
        calendars: dict[str, BusinessCalendar] = {}
        self.record_silence(today, only_day=day)
        with self.base.db.session() as s:
            claimed = db.claim_dirty_days(s, today, limit, only_day=day)
            for st in claimed:
                if st.org_unit not in calendars:
                    calendars[st.org_unit] = self.base.calendar(st.org_unit)
                self._close_day(s, st, index, calendars[st.org_unit])
            db.save_days(s, claimed)
        return len(claimed)

    def _close_day(self, s: Session, st: db.DayState, index: PlaceIndex, calendar: BusinessCalendar) -> None:
        """One employee-day: its open stops judged as closed, then its summary for the pack to publish."""
        for x in db.day_stops(s, st.employee_id, st.day):
            if not x.closed:
                stop = Stop(db.utc(x.start_at), db.utc(x.end_at), x.latitude, x.longitude, 0, False)
                self.base.judge_stop(s, st, stop, index, closing=True)
        report = self.reports.report(s, st.employee_id, st.org_unit, st.day)
        data = report.summary.as_data()
        data["working_day"] = int(calendar.is_business_day(date.fromisoformat(st.day)))
        data["pings"] = st.pings
        data["silent"] = int(st.pings == 0 and report.summary.visits == 0)
        fired = self.base.rules.evaluate(
            {"type": "attendance.day_closed", "role": st.role, "org_unit": st.org_unit}, data
        )
        publish = next((a for a in fired if a.action == "publish_daily_summary"), None)
        if publish is not None:
            st.summary_revision += 1
            self.base.emit(
                self.base.store(s),
                "daily_summary",
                st.employee_id,
                st.org_unit,
                f"{st.day}:{st.summary_revision}",
                report.summary.last_ping_at or datetime.fromisoformat(st.day).replace(tzinfo=self.base.tz),
                {
                    **data,
                    "revision": st.summary_revision,
                    "rule_id": publish.rule_id,
                    "pack_id": publish.pack_id,
                    "pack_version": publish.pack_version,
                },
            )
        st.dirty = False

    def record_silence(self, today: str, only_day: str | None = None) -> int:
        """Creates the employee-days of the roster (``field_roster``: the directory's field reps and the
        recently seen) who sent nothing on a past working day (``silence_lookback_days``), so the day is
        summarised like any other: no visit. Once per local day per process unless ``only_day`` is given;
        idempotent across replicas (insert if missing)."""
        if only_day is None and self._silence_checked == today:
            return 0
        lookback = int(self.base.num("silence_lookback_days", "", "", 30))
        field_roles = {str(r) for r in self.base.param("field_roles", "", "", []) or []}
        end = date.fromisoformat(only_day) if only_day else date.fromisoformat(today) - timedelta(days=1)
        start = end if only_day else date.fromisoformat(today) - timedelta(days=lookback)
        since = (start - timedelta(days=lookback)).isoformat()
        with self.base.stores() as st:
            rows, seen = st.roster_since(since)
            pinged = [RosterEntry(e, date.fromisoformat(first), org, role) for e, first, org, role in rows]
            listed = {e: _directory_status(r) for e, r in st.roster_rows().items()}
            quiet = sorted(set(listed) - set(seen))
            seen.update(st.days_seen_since(quiet, since))
            roster = field_roster(pinged, listed, field_roles)
            by_day = {e: {date.fromisoformat(d) for d in ds} for e, ds in seen.items()}
            found = silent_days(roster, by_day, self.base.calendar, start, end)
            if found:
                st.lock_days([(r.employee_id, d.isoformat(), r.org_unit, r.role) for r, d in found])
        if only_day is None:
            self._silence_checked = today
        return len(found)

    def observe_employee(self, s: Any, event: Any) -> None:
        """Keeps the roster in step with identity's ``identity.employee.changed`` events (already accepted
        by the directory, which checks the sender); the change's local day is when it took effect."""
        from covenant.structs import struct_dict

        entry = DirectoryEntry.from_data(struct_dict(event.data))
        if not entry.employee_id:
            return
        at = event.occurred_at.ToDatetime(tzinfo=UTC) if event.HasField("occurred_at") else self.base.clock()
        day = at.astimezone(self.base.tz).date().isoformat()
        db.observe_roster(s, entry.employee_id, entry.org_unit, entry.role, entry.status, day, at)

    def close_day(self, principal: Principal, day: str) -> int:
        """Summarises every out-of-date employee-day of a past ``day`` now (instead of waiting for the
        worker); returns how many were summarised."""
        authorize(principal, "attendance.days.close")
        self.base.check_day(day)
        total = 0
        while (n := self.close_days(day=day, limit=500)) > 0:
            total += n
        return total


def _directory_status(r: db.RosterRow) -> DirectoryStatus:
    away = (date.fromisoformat(r.away_from), date.fromisoformat(r.away_until)) if r.away_from else None
    return DirectoryStatus(
        r.org_unit, r.role, r.status, date.fromisoformat(r.joined), date.fromisoformat(r.status_since), away
    )


class DayCloser(PeriodicWorker):
    """Background worker: every ``interval`` seconds, summarise the employee-days that need it."""

    thread_name = "attendance-day-closer"

    def __init__(self, days: DayClosing, *, interval: float = 60.0) -> None:
        super().__init__(interval)
        self.days = days

    def run_once(self) -> int:
        total = 0
        while (n := self.days.close_days()) > 0:
            total += n
        return total

    def tick(self) -> None:
        self.run_once()
