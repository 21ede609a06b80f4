"""End to end across the services over real gRPC: events travel through outboxes, relays and inboxes.

- a field visit verified by attendance earns points and feeds scoring;
- a transcript with a banned promise opens a case that lowers the compliance KPI;
- a commitment kept on time pays points, a breached one deducts score;
- every effect appears exactly once and carries the trace id of the event that caused it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from sqlalchemy import text

from covenant.attendance.v1 import attendance_pb2 as apb
from covenant.attendance.v1 import attendance_pb2_grpc
from covenant.commitments.v1 import commitments_pb2 as cpb
from covenant.commitments.v1 import commitments_pb2_grpc
from covenant.common.v1.common_pb2 import GeoPoint
from covenant.compliance.v1 import compliance_pb2 as kpb
from covenant.compliance.v1 import compliance_pb2_grpc
from covenant.events.v1.event_pb2 import Event
from covenant.grpc.testing import RunningPlatform, bearer, running_platform
from covenant.points.v1 import points_pb2 as ppb
from covenant.points.v1 import points_pb2_grpc
from covenant.scoring.v1 import scoring_pb2 as spb
from covenant.scoring.v1 import scoring_pb2_grpc
from covenant.telemetry import trace_id_of
from tests.support.directory import create_in_identity, employee
from tests.support.rules import breach_grace

TEAM = "/hq/futian/team-01"
CLIENT = (22.5431, 114.0579)
NAMES = ["identity", "attendance", "points", "scoring", "compliance", "commitments"]


def ts(value: datetime) -> Timestamp:
    t = Timestamp()
    t.FromDatetime(value)
    return t


@pytest.fixture
def platform(tmp_path: Path) -> Iterator[RunningPlatform]:
    urls = {n: f"sqlite:///{tmp_path / (n + '.db')}" for n in NAMES}
    with running_platform(
        NAMES, db_urls=urls, data_dir=tmp_path, env={"COVENANT_SCHEDULER_INTERVAL_SECONDS": "0.2"}
    ) as p:
        seed_directory(p)
        breach_grace(p["commitments"], 1)  # a deadline's breach is final 1 s after the scheduler sees it
        yield p


def seed_directory(p: RunningPlatform) -> None:
    """Who E1 is lives in identity only: services look it up there (and hear identity's events)."""
    create_in_identity(p["identity"].channel, bearer(p.tokens.admin()), [employee("E1", TEAM, "collector")])


def eventually(check: Callable[[], bool], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    raise AssertionError("condition not reached in time")


def outbox_events(p: RunningPlatform, service: str, event_type: str) -> list[Event]:
    db = p[service].host.ctx.db  # type: ignore[union-attr]
    with db.session() as s:
        rows = s.execute(
            text("SELECT DISTINCT event_id, payload FROM outbox WHERE event_type = :t"), {"t": event_type}
        ).all()
    seen: dict[str, Event] = {}
    for _, payload in rows:
        e = Event.FromString(payload)
        seen[e.id] = e
    return list(seen.values())


def ledger(p: RunningPlatform, employee: str) -> list[ppb.LedgerEntry]:
    md = bearer(p.tokens.admin())
    stub = points_pb2_grpc.PointsServiceStub(p["points"].channel)
    return list(
        stub.ListLedgerEntries(
            ppb.ListLedgerEntriesRequest(employee_id=employee, page_size=500), metadata=md
        ).entries
    )


def metric_rows(p: RunningPlatform, employee: str) -> list[tuple[str, str, str]]:
    db = p["scoring"].host.ctx.db  # type: ignore[union-attr]
    with db.session() as s:
        return [
            tuple(r)
            for r in s.execute(
                text(
                    "SELECT metric, value, source_ref FROM metric_values WHERE employee_id = :e ORDER BY id"
                ),
                {"e": employee},
            ).all()
        ]


def test_visit_banned_promise_and_commitments_flow_through_every_service_exactly_once(
    platform: RunningPlatform,
) -> None:
    p = platform
    system = bearer(p.tokens.admin())
    # 1. A verified field visit.
    att = attendance_pb2_grpc.AttendanceServiceStub(p["attendance"].channel)
    att.ImportClientPlaces(
        apb.ImportClientPlacesRequest(
            places=[
                apb.ClientPlace(
                    client_id="A",
                    name="客户A",
                    location=GeoPoint(latitude=CLIENT[0], longitude=CLIENT[1]),
                    visit_radius_m=150,
                )
            ]
        ),
        metadata=system,
    )
    now = datetime.now(UTC)
    checkin = att.CheckIn(
        apb.CheckInRequest(
            client_id="A",
            ping=apb.Ping(
                employee_id="E1",
                org_unit=TEAM,
                device_id="d",
                location=GeoPoint(latitude=CLIENT[0], longitude=CLIENT[1]),
                accuracy_m=8,
                time=ts(now),
                role="collector",
            ),
        ),
        metadata=system,
    )
    assert checkin.verified
    (visit,) = outbox_events(p, "attendance", "attendance.visit_verified")
    eventually(lambda: any(e.source_event_id == visit.id for e in ledger(p, "E1")))
    eventually(lambda: any(ref == visit.id for _, _, ref in metric_rows(p, "E1")))

    # 2. A banned promise opens a case; the case lowers the compliance KPI.
    comp = compliance_pb2_grpc.ComplianceServiceStub(p["compliance"].channel)
    scan = comp.ScanText(
        kpb.ScanTextRequest(
            text_id="call-1", employee_id="E1", org_unit=TEAM, channel="call", text="这个产品保本保息，放心买"
        ),
        metadata=system,
    )
    assert len(scan.cases) == 1
    (case_event,) = outbox_events(p, "compliance", "compliance.case_opened")
    eventually(lambda: ("compliance", "-20", case_event.id) in metric_rows(p, "E1"))

    # 3. A commitment kept on time pays points; a breached one deducts score.
    com = commitments_pb2_grpc.CommitmentsServiceStub(p["commitments"].channel)
    kept = com.CreateCommitment(
        cpb.CreateCommitmentRequest(
            template_id="loan_disbursal_3d",
            employee_id="E1",
            org_unit=TEAM,
            client_id="A",
            correlation_value="L-1",
        ),
        metadata=system,
    )
    com.RecordFulfilment(
        cpb.RecordFulfilmentRequest(
            event_type="loan.disbursed", correlation_key="loan_id", correlation_value="L-1", event_id="los-1"
        ),
        metadata=system,
    )
    com.CreateCommitment(
        cpb.CreateCommitmentRequest(
            template_id="loan_disbursal_3d",
            employee_id="E1",
            org_unit=TEAM,
            client_id="A",
            correlation_value="L-2",
            created_at=ts(now - timedelta(days=10)),
        ),
        metadata=system,
    )
    eventually(lambda: len(outbox_events(p, "commitments", "commitments.breached")) == 1)
    (fulfilled,) = outbox_events(p, "commitments", "commitments.fulfilled")
    (breached,) = outbox_events(p, "commitments", "commitments.breached")
    assert fulfilled.data["commitment"] == kept.name
    eventually(lambda: any(e.source_event_id == fulfilled.id and e.points == 20 for e in ledger(p, "E1")))
    eventually(lambda: ("compliance", "-5", breached.id) in metric_rows(p, "E1"))

    # 4. Score the period: the compliance KPI shows the case (-20), the breach (-5) and the kept promise (+2).
    sc = scoring_pb2_grpc.ScoringServiceStub(p["scoring"].channel)
    period = now.astimezone().strftime("%Y-%m")
    sc.RecordMetrics(
        spb.RecordMetricsRequest(
            values=[
                spb.MetricValue(
                    employee_id="E1",
                    org_unit=TEAM,
                    role="collector",
                    period=period,
                    metric="recovery_rate",
                    value="0.9",
                    mode="set",
                    source="collections-system",
                ),
                spb.MetricValue(
                    employee_id="E1",
                    org_unit=TEAM,
                    role="collector",
                    period=period,
                    metric="complaint_rate",
                    value="0.02",
                    mode="set",
                    source="collections-system",
                ),
            ]
        ),
        metadata=system,
    )
    sc.ComputeScores(spb.ComputeScoresRequest(period=period, org_unit="/hq"), metadata=system)
    score = sc.GetScore(spb.GetScoreRequest(employee_id="E1", period=period), metadata=system)
    compliance_kpi = next(c for c in score.contributions if c.kpi == "compliance")
    assert compliance_kpi.raw_value == "77" and compliance_kpi.points == "26.95"

    # 5. Exactly once: let the relays run again, then count every effect.
    time.sleep(1.0)
    for relay_owner in NAMES:
        for worker in p[relay_owner].host.workers:
            if type(worker).__name__ == "OutboxRelay":
                worker.run_once()
    entries = ledger(p, "E1")
    assert sorted(
        (e.source_event_id, e.points) for e in entries if e.source_event_id in (visit.id, fulfilled.id)
    ) == sorted([(visit.id, 2), (fulfilled.id, 20)])
    refs = [ref for _, _, ref in metric_rows(p, "E1")]
    assert (
        refs.count(visit.id) == 1 and refs.count(breached.id) == 1 and refs.count(case_event.id) == 2
    )  # two metrics

    # 6. Trace ids: the points awarded for the visit carry the visit event's trace.
    awarded = [
        e for e in outbox_events(p, "points", "points.awarded") if e.data["source_event_id"] == visit.id
    ]
    assert len(awarded) == 1 and trace_id_of(awarded[0]) == trace_id_of(visit) != ""
