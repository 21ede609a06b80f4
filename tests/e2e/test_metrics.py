"""Traffic through four real services, then ``/metrics``: every metric family of docs/operations.md shows up
with the right labels and values (RPC server/client, outbox, inbox, rules, database, domain gauges).

Scoring is not started: its target is a closed port, so the outbox rows for it pile up (a stopped
consumer) while the rows for running consumers are delivered. The meter provider is process-wide, so
counters are compared before and after the traffic.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import grpc
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
from covenant.events.v1 import event_pb2, event_pb2_grpc
from covenant.grpc.testing import RunningPlatform, bearer, running_platform
from covenant.telemetry import metrics, start_metrics_server
from tests.support.directory import employee, publish_employees
from tests.support.metrics import (
    Exposition,
    dashboard_queries,
    metric_names_in,
    plant_compile_failure,
    scrape,
)
from tests.support.ports import free_port
from tests.support.rules import breach_grace

ROOT = Path(__file__).resolve().parents[2]
TEAM = "/hq/futian/team-01"
CLIENT = (22.5431, 114.0579)
NAMES = ["attendance", "points", "compliance", "commitments"]
ATT = "covenant.attendance.v1.AttendanceService"


def ts(value: datetime) -> Timestamp:
    t = Timestamp()
    t.FromDatetime(value)
    return t


def eventually(check: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    raise AssertionError("condition not reached in time")


def ping(at: datetime, lat: float, lon: float, employee: str = "E1") -> apb.Ping:
    return apb.Ping(
        employee_id=employee,
        org_unit=TEAM,
        device_id="d",
        location=GeoPoint(latitude=lat, longitude=lon),
        accuracy_m=8,
        time=ts(at),
        role="collector",
    )


def undelivered(p: RunningPlatform, service: str, destination: str) -> int:
    db = p[service].host.ctx.db  # type: ignore[union-attr]
    with db.session() as s:
        return int(
            s.execute(
                text("SELECT count(*) FROM outbox WHERE destination = :d AND delivered_at IS NULL"),
                {"d": destination},
            ).scalar_one()
        )


def drive(p: RunningPlatform) -> None:
    """Check-ins (one verified, one mismatched), pings, a banned promise, commitments, a bad request and a
    duplicate delivery."""
    for name in NAMES:  # identity is not started: feed every directory the way identity's events do
        publish_employees(p[name], [employee(e, TEAM, "collector") for e in ("E1", "E2", "E3")])
    md = bearer(p.tokens.admin())
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
        metadata=md,
    )
    now = datetime.now(UTC)
    assert att.CheckIn(apb.CheckInRequest(client_id="A", ping=ping(now, *CLIENT)), metadata=md).verified
    far = att.CheckIn(
        apb.CheckInRequest(client_id="A", ping=ping(now, CLIENT[0] + 0.05, CLIENT[1], "E2")), metadata=md
    )
    assert not far.verified
    pings = [ping(now - timedelta(minutes=30 - i), CLIENT[0], CLIENT[1], "E3") for i in range(7)]
    assert att.IngestPings(apb.IngestPingsRequest(pings=pings), metadata=md).accepted == 7
    with pytest.raises(grpc.RpcError) as bad:
        att.IngestPings(apb.IngestPingsRequest(pings=[apb.Ping()]), metadata=md)
    assert bad.value.code() is grpc.StatusCode.INVALID_ARGUMENT

    comp = compliance_pb2_grpc.ComplianceServiceStub(p["compliance"].channel)
    scan = comp.ScanText(
        kpb.ScanTextRequest(
            text_id="call-1", employee_id="E1", org_unit=TEAM, channel="call", text="这个产品保本保息，放心买"
        ),
        metadata=md,
    )
    assert len(scan.cases) == 1

    com = commitments_pb2_grpc.CommitmentsServiceStub(p["commitments"].channel)
    for i, created in enumerate([now, now - timedelta(days=10)]):
        com.CreateCommitment(
            cpb.CreateCommitmentRequest(
                template_id="loan_disbursal_3d",
                employee_id="E1",
                org_unit=TEAM,
                client_id="A",
                correlation_value=f"L-{i}",
                created_at=ts(created),
            ),
            metadata=md,
        )


def redeliver_first_event(p: RunningPlatform, source: str, consumer: str) -> None:
    """Deliver an event ``consumer`` has already applied again, as ``source``'s relay would after a crash."""
    db = p[source].host.ctx.db  # type: ignore[union-attr]
    with db.session() as s:
        payload = s.execute(
            text("SELECT payload FROM outbox WHERE destination = :d AND delivered_at IS NOT NULL LIMIT 1"),
            {"d": consumer},
        ).scalar_one()
    stub = event_pb2_grpc.EventSinkServiceStub(p[consumer].channel)
    event = event_pb2.Event.FromString(payload)
    stub.DeliverEvents(
        event_pb2.DeliverEventsRequest(events=[event, event]), metadata=bearer(p.tokens.service(source))
    )


def test_traffic_shows_every_metric_family_with_its_labels_and_values(tmp_path: Path) -> None:
    metrics.install("e2e")
    url = f"http://127.0.0.1:{start_metrics_server(0, 'e2e', addr='127.0.0.1')}/metrics"
    before = scrape(url)
    urls = {n: f"sqlite:///{tmp_path / (n + '.db')}" for n in NAMES}
    env = {
        "COVENANT_SCHEDULER_INTERVAL_SECONDS": "0.2",
        "COVENANT_SCORING_TARGET": f"127.0.0.1:{free_port()}",  # scoring is down
    }
    with running_platform(NAMES, db_urls=urls, data_dir=tmp_path, env=env) as p:
        breach_grace(p["commitments"], 0)  # the overdue commitment's breach is final at once
        drive(p)
        eventually(
            lambda: (
                undelivered(p, "attendance", "points") == 0 and undelivered(p, "commitments", "points") == 0
            )
        )
        redeliver_first_event(p, "attendance", "points")
        retried = "covenant_outbox_retried_total"
        eventually(lambda: scrape(url).value(retried, source="attendance", destination="scoring") > 0)
        eventually(lambda: scrape(url).value("covenant_commitments_open", when="overdue") == 0)
        poisoned = _park_scoring_rows(p)
        time.sleep(1.1)  # the outbox and domain gauges cache their query for a second
        after = scrape(url)
        check_rpc(after, before)
        check_outbox(after, before, p, poisoned)
        check_inbox(after, before)
        check_rules(after, before, p)
        check_database(after)
        check_domain(after, before)
        check_label_sets_are_bounded(after)
        plant_compile_failure(f"sqlite:///{tmp_path / 'stale.db'}")
        check_dashboard_and_alerts_name_exported_metrics(scrape(url))


def _park_scoring_rows(p: RunningPlatform) -> int:
    """Make the rows for the stopped consumer look as if they had failed 12 times (past the threshold)."""
    db = p["attendance"].host.ctx.db  # type: ignore[union-attr]
    with db.session() as s:
        s.execute(
            text("UPDATE outbox SET attempts = 12 WHERE destination = 'scoring' AND delivered_at IS NULL")
        )
    return undelivered(p, "attendance", "scoring")


def delta(after: Exposition, before: Exposition, name: str, **labels: str) -> float:
    return after.value(name, **labels) - before.value(name, **labels)


def check_rpc(after: Exposition, before: Exposition) -> None:
    name = "rpc_server_duration_milliseconds_count"
    assert delta(after, before, name, rpc_service=ATT, rpc_method="CheckIn", rpc_grpc_status_code="0") == 2
    assert (
        delta(after, before, name, rpc_service=ATT, rpc_method="IngestPings", rpc_grpc_status_code="0") == 1
    )
    assert (
        delta(after, before, name, rpc_service=ATT, rpc_method="IngestPings", rpc_grpc_status_code="3") == 1
    )
    assert after.select(name, rpc_service=ATT, rpc_method="CheckIn")[0][0]["rpc_system"] == "grpc"
    buckets = after.select("rpc_server_duration_milliseconds_bucket", rpc_method="CheckIn", le="+Inf")
    assert sum(v for _, v in buckets) == after.value(name, rpc_method="CheckIn")
    client = "rpc_client_duration_milliseconds_count"
    sink = "covenant.events.v1.EventSinkService"
    assert (
        delta(after, before, client, rpc_service=sink, rpc_method="DeliverEvents", rpc_grpc_status_code="0")
        > 0
    )
    assert delta(after, before, client, rpc_service=sink, rpc_grpc_status_code="14") > 0  # scoring is down


def check_outbox(after: Exposition, before: Exposition, p: RunningPlatform, poisoned: int) -> None:
    src = {"source": "attendance"}
    assert poisoned > 0
    assert after.value("covenant_outbox_backlog", **src, destination="scoring") == poisoned
    assert after.value("covenant_outbox_backlog", **src, destination="points") == 0
    assert after.value("covenant_outbox_poison", **src, destination="scoring") == poisoned
    assert after.value("covenant_outbox_poison", **src, destination="points") == 0
    assert after.value("covenant_outbox_oldest_age_seconds", **src, destination="scoring") > 1
    assert after.value("covenant_outbox_oldest_age_seconds", **src, destination="points") == 0
    assert delta(after, before, "covenant_outbox_delivered_total", **src, destination="points") >= 3
    assert delta(after, before, "covenant_outbox_delivered_total", **src, destination="scoring") == 0
    assert delta(after, before, "covenant_outbox_failed_total", **src, destination="scoring") >= poisoned
    # retries were seen before the rows were parked (parked rows wait out the maximum backoff, so the
    # window between the two scrapes may hold none): the counter itself must show them
    assert after.value("covenant_outbox_retried_total", **src, destination="scoring") > 0
    assert delta(after, before, "covenant_outbox_failed_total", **src, destination="points") == 0
    # every running source reports its destinations
    assert after.select("covenant_outbox_backlog", source="commitments", destination="points")


def check_inbox(after: Exposition, before: Exposition) -> None:
    assert (
        delta(after, before, "covenant_inbox_duplicates_total", consumer="points") == 2
    )  # the same event twice
    assert delta(after, before, "covenant_inbox_applied_total", consumer="points") >= 3
    ok = delta(
        after, before, "covenant_inbox_apply_duration_milliseconds_count", consumer="points", outcome="ok"
    )
    assert ok >= 2


def check_rules(after: Exposition, before: Exposition, p: RunningPlatform) -> None:
    versions = p["attendance"].host.ctx.rules.active_versions()  # type: ignore[union-attr]
    active = after.select("covenant_rules_active_pack", service="attendance")
    assert {(lab["pack"], lab["version"]) for lab, v in active if v == 1} >= set(versions.items())
    pack = next(pid for pid in versions if "presence" in pid or "verif" in pid or "attendance" in pid)
    labels = {"service": "attendance", "pack": pack, "version": versions[pack]}
    hits = {
        lab["rule"]: v - before.value("covenant_rules_hits_total", **lab)
        for lab, v in after.select("covenant_rules_hits_total", **labels)
    }
    assert hits.get("visit-verified") == 1 and hits.get("location-mismatch") == 1, hits
    assert delta(after, before, "covenant_rules_evaluations_total", **labels) >= 2
    assert (
        delta(after, before, "covenant_rules_evaluation_duration_milliseconds_count", service="attendance")
        >= 2
    )


def check_database(after: Exposition) -> None:
    ops = after.select(
        "db_client_operation_duration_milliseconds_count", pool_name="points", db_system="sqlite"
    )
    assert {lab["db_operation_name"] for lab, v in ops if v > 0} >= {"SELECT", "INSERT"}
    usage = {lab["state"]: v for lab, v in after.select("db_client_connections_usage", pool_name="points")}
    assert set(usage) == {"used", "idle"} and usage["used"] >= 0 and usage["idle"] >= 1
    assert after.value("db_client_connections_max", pool_name="points") >= 1


def check_domain(after: Exposition, before: Exposition) -> None:
    assert delta(after, before, "covenant_attendance_pings_ingested_total") == 7
    assert delta(after, before, "covenant_attendance_check_ins_total", result="verified") == 1
    assert delta(after, before, "covenant_attendance_check_ins_total", result="mismatched") == 1
    assert delta(after, before, "covenant_points_awarded_total", kind="award") > 0
    assert after.value("covenant_compliance_open_cases", severity="high", age="lt_1d") == 1
    assert after.value("covenant_compliance_open_cases", severity="high", age="gt_7d") == 0
    assert 0 < after.value("covenant_compliance_oldest_open_case_age_seconds", severity="high") < 600
    assert after.value("covenant_commitments_open", when="later") == 1  # the fresh 3-day commitment
    assert after.value("covenant_commitments_open", when="overdue") == 0  # the old one was breached
    lag = after.select("covenant_commitments_scheduler_lag_seconds")
    assert lag and 0 <= lag[0][1] < 60


def check_label_sets_are_bounded(after: Exposition) -> None:
    """No employee, client, event or case id appears as a label value."""
    for name, labels, _ in after.samples:
        if name.startswith(("covenant_", "rpc_", "db_client")):
            for value in labels.values():
                assert value not in {"E1", "E2", "E3", "A", "call-1"}, (name, labels)


def check_dashboard_and_alerts_name_exported_metrics(scraped: Exposition) -> None:
    """Every query of the Grafana dashboard and every alert names a metric this scrape has (the alert on
    restarts reads kube-state-metrics, the one series no Covenant service exports)."""
    dashboard = json.loads((ROOT / "charts/covenant/files/grafana/covenant-dashboard.json").read_text())
    template = (ROOT / "charts/covenant/templates/prometheusrule.yaml").read_text()
    exprs = re.findall(r"expr: (?:\|-\n)?((?:.|\n)*?)\n\s*for:|expr: (.*)", template)
    alerts = [re.sub(r"\{\{.*?\}\}", "", a or b) for a, b in exprs]
    assert len(alerts) == 7
    used = set().union(*(metric_names_in(q) for q in [*dashboard_queries(dashboard), *alerts]))
    missing = {n for n in used if n not in scraped.names()} - {"kube_pod_container_status_restarts_total"}
    assert not missing, missing
    assert len(used) > 20
