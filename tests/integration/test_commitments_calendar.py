"""The official calendar through the real commitments service (issue 16): deadlines over National Day and
its worked Saturday, and the start-up warning for a year the source does not cover yet."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from google.protobuf.timestamp_pb2 import Timestamp

from covenant.calendar import BusinessCalendar
from covenant.commitments.v1 import commitments_pb2 as pb
from covenant.commitments.v1 import commitments_pb2_grpc
from covenant.grpc.testing import bearer, running_service
from tests.support.directory import employee, publish_employees

SH = ZoneInfo("Asia/Shanghai")
REP = {"commitments.commitments.create": "self", "commitments.commitments.read": "self"}


def ts(value: datetime) -> Timestamp:
    t = Timestamp()
    t.FromDatetime(value)
    return t


def test_deadlines_follow_the_official_calendar_and_start_up_warns_about_uncovered_years(
    db_url: str, tmp_path: Path
) -> None:
    collected = _Collect()
    app_log = logging.getLogger("services.commitments.app")
    app_log.addHandler(collected)
    # the root level is the first service's of this process (telemetry.setup runs once): a test that ran
    # one at COVENANT_LOG_LEVEL=CRITICAL earlier in this worker would silence the warning looked for here
    level = app_log.level
    app_log.setLevel(logging.WARNING)
    try:
        _run(db_url, tmp_path)
    finally:
        app_log.removeHandler(collected)
        app_log.setLevel(level)
    warned = [m for m in collected.messages if "CALENDAR NOT COVERED" in m]
    today = datetime.now(UTC).date()
    cn = BusinessCalendar(official="cn")
    uncovered = [y for y in range(today.year, (today + timedelta(days=90)).year + 1) if not cn.covers(y)]
    assert len(warned) == len(uncovered)
    for year, message in zip(uncovered, warned, strict=True):
        assert f"does not cover {year}" in message


class _Collect(logging.Handler):
    """Keeps the messages logged to the logger it is attached to (the chassis replaces root handlers)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def _run(db_url: str, tmp_path: Path) -> None:
    env = {"COVENANT_SCHEDULER_INTERVAL_SECONDS": "3600"}
    with running_service("commitments", db_url=db_url, data_dir=tmp_path, env=env) as svc:
        publish_employees(svc, [employee("E1", "/hq/b1/t1", "credit_officer")])  # as identity does
        stub = commitments_pb2_grpc.CommitmentsServiceStub(svc.channel)
        cases = [  # created at → 3 business days later
            (
                datetime(2026, 9, 30, 10, 0),
                datetime(2026, 10, 10, 10, 0),
            ),  # National Day, then a worked Saturday
            (datetime(2026, 2, 12, 11, 0), datetime(2026, 2, 24, 11, 0)),  # Feb 13, the worked Sat 14, Feb 24
            (datetime(2026, 4, 29, 9, 30), datetime(2026, 5, 7, 9, 30)),  # Apr 30, Labour Day, May 6, 7
            (datetime(2026, 11, 20, 10, 0), datetime(2026, 11, 26, 10, 0)),  # the org's own day off, Nov 23
        ]
        for i, (created, deadline) in enumerate(cases):
            c = stub.CreateCommitment(
                pb.CreateCommitmentRequest(
                    template_id="loan_disbursal_3d",
                    employee_id="E1",
                    org_unit="/hq/b1/t1",
                    client_id="C-9",
                    correlation_value=f"L-{i}",
                    created_at=ts(created.replace(tzinfo=SH)),
                    request_id=f"req-{i}",
                ),
                metadata=bearer(svc.tokens.user("E1", "/hq/b1/t1", REP)),
            )
            assert c.effective_deadline.ToDatetime(tzinfo=UTC) == deadline.replace(tzinfo=SH), created
