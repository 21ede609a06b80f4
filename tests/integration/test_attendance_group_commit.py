"""Group commit of unary check-ins (``covenant.coalesce`` in ``services/attendance/checkins.py``): a unit
stuck on an employee-day another transaction holds delays the other employees' check-ins by
``UNARY_STALL_SECONDS``, not for as long as the lock is held (real gRPC and PostgreSQL, whose row locks let
other employees' units proceed; SQLite has one writer per file, so there everyone waits anyway)."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from sqlalchemy import create_engine, text

from covenant.attendance.v1 import attendance_pb2 as pb
from services.attendance.checkins import UNARY_STALL_SECONDS
from tests.integration.test_attendance_grpc import CLIENT_A, at, ping, place, seeded, stub, system

WAITING = (
    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
)


def check_in(emp: str, minute: int) -> pb.CheckInRequest:
    return pb.CheckInRequest(
        ping=ping(emp, at(17, minute), CLIENT_A), client_id="A", request_id=f"{emp}-{minute}"
    )


def test_a_check_in_stuck_on_a_locked_day_does_not_hold_back_another_employees(
    pg_url: str, tmp_path: Path
) -> None:
    with seeded(pg_url, tmp_path, [place("A", CLIENT_A)]) as svc:
        assert stub(svc).CheckIn(check_in("E1", 0), metadata=system(svc)).verified  # E1's day row exists
        holder = create_engine(pg_url.replace("postgresql://", "postgresql+psycopg://", 1))
        got: dict[str, object] = {}
        with holder.connect() as conn:  # another transaction holds E1's day (a long batch, say)
            locked = conn.execute(text("SELECT 1 FROM attendance_days WHERE employee_id = 'E1' FOR UPDATE"))
            assert locked.all()
            stuck = threading.Thread(
                target=lambda: got.setdefault(
                    "E1", stub(svc).CheckIn(check_in("E1", 1), metadata=system(svc))
                )
            )
            stuck.start()
            with holder.connect() as watch:  # until E1's unit waits on the lock
                deadline = time.monotonic() + 10
                while not watch.execute(text(WAITING)).scalar():
                    assert time.monotonic() < deadline, "E1's check-in never waited on its day"
                    time.sleep(0.02)
            started = time.monotonic()
            other = stub(svc).CheckIn(check_in("E2", 1), metadata=system(svc), timeout=10)
            waited = time.monotonic() - started
            assert other.verified and waited < UNARY_STALL_SECONDS + 1.5, waited
            assert "E1" not in got  # still waiting on the lock
            conn.rollback()
        stuck.join(10)
        holder.dispose()
        assert got["E1"].verified  # type: ignore[attr-defined]
