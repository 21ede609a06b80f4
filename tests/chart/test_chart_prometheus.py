"""A real Prometheus (Debian's package) on a free loopback port scrapes running services and evaluates the
chart's rendered alert rules: while the consumer runs, its outbox-age alert stays quiet; once the consumer
is stopped, the backlog it leaves raises CovenantOutboxEventsOld in Prometheus itself."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from google.protobuf.timestamp_pb2 import Timestamp

from covenant.attendance.v1 import attendance_pb2 as apb
from covenant.attendance.v1 import attendance_pb2_grpc
from covenant.common.v1.common_pb2 import GeoPoint
from covenant.grpc.testing import TestTokens, bearer, running_service
from covenant.telemetry import metrics, start_metrics_server
from tests.chart.chart_render import by_name, render
from tests.support.directory import employee, publish_employees
from tests.support.ports import free_port

NAMESPACE = "covenant"
CLIENT = (22.5431, 114.0579)
ALERT = "CovenantOutboxEventsOld"


def api(base: str, path: str, **params: str) -> Any:
    url = f"{base}/api/v1/{path}" + (f"?{urllib.parse.urlencode(params)}" if params else "")
    with urllib.request.urlopen(url, timeout=5) as resp:
        body = json.loads(resp.read())
    assert body["status"] == "success", body
    return body["data"]


def wait_for(check: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            result = check()
        except OSError:  # Prometheus still starting
            result = None
        if result:
            return result
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


@contextmanager
def prometheus(tmp_path: Path, rules: Path, target: str) -> Iterator[str]:
    """Prometheus scraping ``target`` every 2 s and evaluating ``rules`` every second."""
    binary = shutil.which("prometheus")
    if binary is None:
        pytest.fail("prometheus missing: install Debian's prometheus package (.ci/run does)")
    config = {
        # a scrape may take a while on a loaded machine; one that times out would mark the series stale
        "global": {"scrape_interval": "2s", "scrape_timeout": "2s", "evaluation_interval": "1s"},
        "rule_files": [str(rules)],
        "scrape_configs": [
            {
                "job_name": "covenant",
                "static_configs": [{"targets": [target], "labels": {"namespace": NAMESPACE}}],
            }
        ],
    }
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config))
    port = free_port()
    proc = subprocess.Popen(
        [
            binary,
            f"--config.file={tmp_path / 'prometheus.yml'}",
            f"--storage.tsdb.path={tmp_path / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=open(tmp_path / "prometheus.log", "w"),  # noqa: SIM115 - closed with the process
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: api(base, "status/buildinfo"), 30, "Prometheus to start")
        yield base
    finally:
        proc.terminate()
        proc.wait(15)


def rendered_rules(helm: str, tmp_path: Path) -> Path:
    """The chart's PrometheusRule with a 5 s outbox-age threshold held for 2 s, as a rule file."""
    docs = render(
        helm,
        "--namespace",
        NAMESPACE,
        "--set",
        "metrics.enabled=true",
        "--set",
        "metrics.prometheusRule.enabled=true",
        "--set",
        "metrics.prometheusRule.outboxAgeSeconds=5",
        "--set",
        "metrics.prometheusRule.outboxAgeFor=2s",
    )
    (rule,) = by_name(docs, "PrometheusRule").values()
    path = tmp_path / "rules.yaml"
    path.write_text(yaml.safe_dump({"groups": rule["spec"]["groups"]}, sort_keys=False))
    return path


def check_in(channel: Any, tokens: TestTokens, employee: str) -> None:
    stub = attendance_pb2_grpc.AttendanceServiceStub(channel)
    stamp = Timestamp()
    stamp.FromDatetime(datetime.now(UTC))
    ping = apb.Ping(
        employee_id=employee,
        org_unit="/hq/t",
        device_id="d",
        location=GeoPoint(latitude=CLIENT[0], longitude=CLIENT[1]),
        accuracy_m=8,
        time=stamp,
        role="collector",
    )
    resp = stub.CheckIn(apb.CheckInRequest(client_id="A", ping=ping), metadata=bearer(tokens.admin()))
    assert resp.verified


def alerts_for(base: str, destination: str) -> list[dict]:
    return [
        a
        for a in api(base, "alerts")["alerts"]
        if a["labels"].get("alertname") == ALERT and a["labels"].get("destination") == destination
    ]


def points_age(base: str) -> float | None:
    result = api(
        base,
        "query",
        query='covenant_outbox_oldest_age_seconds{source="attendance",destination="points"}',
    )["result"]
    return float(result[0]["value"][1]) if result else None


def test_real_prometheus_raises_the_outbox_age_alert_when_a_consumer_stops(helm: str, tmp_path: Path) -> None:
    metrics.install("prometheus-test")
    metrics_port = start_metrics_server(0, "attendance", addr="127.0.0.1")
    rules = rendered_rules(helm, tmp_path)
    tokens = TestTokens()
    closed = f"127.0.0.1:{free_port()}"
    env = {"COVENANT_SCORING_TARGET": closed, "COVENANT_COMPLIANCE_TARGET": closed}
    with ExitStack() as stack:
        points = stack.enter_context(
            running_service(
                "points", db_url=f"sqlite:///{tmp_path / 'p.db'}", data_dir=tmp_path, tokens=tokens
            )
        )
        attendance = stack.enter_context(
            running_service(
                "attendance",
                db_url=f"sqlite:///{tmp_path / 'a.db'}",
                data_dir=tmp_path,
                tokens=tokens,
                env=env,
            )
        )
        attendance.settings.targets["points"] = points.target  # the relay's channel factory reads this
        for svc in (points, attendance):  # identity is not started: feed the directories as its events do
            publish_employees(svc, [employee(e, "/hq/t", "collector") for e in ("E1", "E2")])
        attendance_pb2_grpc.AttendanceServiceStub(attendance.channel).ImportClientPlaces(
            apb.ImportClientPlacesRequest(
                places=[
                    apb.ClientPlace(
                        client_id="A", name="A", location=GeoPoint(latitude=CLIENT[0], longitude=CLIENT[1])
                    )
                ]
            ),
            metadata=bearer(tokens.admin()),
        )
        base = stack.enter_context(prometheus(tmp_path, rules, f"127.0.0.1:{metrics_port}"))
        targets = wait_for(lambda: api(base, "targets")["activeTargets"], 30, "the scrape target")
        wait_for(lambda: api(base, "targets")["activeTargets"][0]["health"] == "up", 30, "a good scrape")
        assert api(base, "rules")["groups"][0]["rules"], targets

        # 1. The consumer runs: events reach it, the age stays 0 and the alert quiet past threshold + for.
        check_in(attendance.channel, tokens, "E1")
        wait_for(lambda: points_age(base) == 0.0, 30, "points' backlog at age 0 in Prometheus")
        time.sleep(9)
        assert points_age(base) == 0.0 and alerts_for(base, "points") == []
        # the consumers that were never started show what is to come
        assert wait_for(lambda: alerts_for(base, "scoring"), 30, "the alert for the absent scoring")

        # 2. Stop the consumer; new events pile up for it and the alert fires in Prometheus.
        points.host.stop(grace=1)  # running_service's own stop at exit is then a no-op
        check_in(attendance.channel, tokens, "E2")
        firing = wait_for(
            lambda: [a for a in alerts_for(base, "points") if a["state"] == "firing"], 60, "the alert to fire"
        )
        (alert,) = firing
        assert alert["labels"]["source"] == "attendance" and alert["labels"]["severity"] == "warning"
        assert float(alert["value"]) > 5
        backlog = api(
            base, "query", query='covenant_outbox_backlog{source="attendance",destination="points"}'
        )
        assert float(backlog["result"][0]["value"][1]) >= 1
