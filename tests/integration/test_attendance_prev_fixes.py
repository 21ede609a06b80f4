"""A batch of check-ins finds the fix before each check-in with one read: the latest fix of that employee
within the check-in's window, none outside it, whatever the other items of the batch cover (SQLite and
PostgreSQL); on PostgreSQL the read touches the window's days only, not the employee's whole history."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from covenant.db.engine import Database
from covenant.db.migrations import migrate
from services.attendance import storage
from services.attendance.domain.stops import Ping as storage_ping
from services.attendance.ports import FixWindow
from tests.support.statements import statements_of

MIGRATIONS = Path(storage.__file__).parent / "migrations"
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def _fix(employee: str, minute: int, lat: float) -> dict[str, object]:
    at = T0 + timedelta(minutes=minute)
    return dict(
        employee_id=employee,
        org_unit="/hq/t1",
        device_id="d1",
        day=at.date().isoformat(),
        at=at,
        latitude=lat,
        longitude=114.0,
        accuracy_m=8.0,
        mock=False,
    )


def window(employee: str, upto: datetime, since: datetime) -> FixWindow:
    """The fixes' days are UTC days here (``_fix``)."""
    return FixWindow(employee, since, upto, since.date().isoformat(), upto.date().isoformat())


def test_each_check_in_gets_the_latest_fix_in_its_own_window_from_one_read(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    migrate(db_url, "attendance", MIGRATIONS)
    db = Database(db_url)
    try:
        with db.session() as s:
            storage.insert_pings(
                s,
                [_fix("E1", m, 22.0 + m / 1000) for m in (0, 10, 20, 30, 120)]
                + [_fix(f"X{i}", 5, 23.0) for i in range(250)],
            )
        at = lambda m: T0 + timedelta(minutes=m)  # noqa: E731
        wanted = [
            window("E1", at(25), at(10)),  # fixes at 10 and 20 in the window: the one at 20
            window("E1", at(20), at(20)),  # a fix exactly at the check-in counts
            window("E1", at(100), at(85)),  # none between 85 and 100 (the next is at 120)
            window("E1", at(-1), at(-16)),  # before every fix
            window("E2", at(30), at(0)),  # an employee without fixes
            *[window(f"X{i}", at(6), at(0)) for i in range(250)],  # more employees than one statement names
        ]
        with statements_of(db, monkeypatch) as statements, db.session() as s:
            got = storage.last_pings_before(s, wanted)
        reads = [q for q in statements if q.lstrip().upper().startswith("SELECT")]
        # PostgreSQL: one statement for every window; SQLite: 251 employees, a hundred a statement
        assert len(reads) == (1 if db.dialect == "postgresql" else 3)
        assert [p.at if p else None for p in got[:5]] == [at(20), at(20), None, None, None]
        assert got[0].latitude == 22.02
        assert all(p is not None and p.at == at(5) for p in got[5:])
    finally:
        db.dispose()


def test_only_the_check_ins_windows_are_read_not_the_days_between_them(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    migrate(db_url, "attendance", MIGRATIONS)
    db = Database(db_url)
    try:
        with db.session() as s:  # a fix every 10 minutes for 30 days
            storage.insert_pings(s, [_fix("E1", m, 22.0) for m in range(0, 30 * 24 * 60, 10)])
        at = lambda m: T0 + timedelta(minutes=m)  # noqa: E731
        last = 30 * 24 * 60 - 10
        read: list[object] = []
        monkeypatch.setattr(storage, "Ping", lambda *a: read.append(a) or storage_ping(*a))
        with db.session() as s:  # a check-in of the first day and one of the last, 15-minute windows
            got = storage.last_pings_before(
                s, [window("E1", at(25), at(10)), window("E1", at(last), at(last - 15))]
            )
        assert [p.at for p in got] == [at(20), at(last)]
        assert len(read) <= 4  # the fixes inside the two windows, not the 4,300 between them
    finally:
        db.dispose()


def test_on_postgresql_the_read_touches_the_windows_days_not_the_employees_history(pg_url: str) -> None:
    """Thirty days of a fix every two minutes (about 21,600 rows): the look-up for a check-in on the last day
    reads a handful of index and table pages. Bounded by time alone it read every fix of the employee."""
    migrate(pg_url, "attendance", MIGRATIONS)
    db = Database(pg_url)
    try:
        with db.session() as s:
            storage.insert_pings(s, [_fix("E1", m, 22.0) for m in range(0, 30 * 24 * 60, 2)])
            s.execute(text("ANALYZE attendance_pings"))
        last = T0 + timedelta(minutes=30 * 24 * 60 - 3)
        w = window("E1", last, last - timedelta(minutes=15))
        sql = storage._PG_LAST_PINGS.format(*["%s"] * 5)
        with db.session() as s:
            raw = s.connection().connection.driver_connection
            (plan,) = raw.execute(
                "EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + sql, [[v] for v in w]
            ).fetchone()
            got = storage.last_pings_before(s, [w])
        assert got[0] is not None and got[0].at == last - timedelta(minutes=1)
        pages = plan[0]["Plan"]["Shared Hit Blocks"] + plan[0]["Plan"]["Shared Read Blocks"]
        assert pages <= 20, plan
    finally:
        db.dispose()
