"""The chart's PrometheusRule and Grafana dashboard: both optional; the rendered rules pass
``promtool check rules`` and the promtool unit tests in tests/chart/alerts (every alert fires on a crafted
series and stays quiet on a healthy one); the dashboard is valid JSON delivered with the sidecar label.
(That every query names an exported metric is checked against a live scrape in tests/e2e/test_metrics.py.)
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.chart.chart_render import CHART, by_name, render
from tests.support.metrics import dashboard_queries

ALERT_TESTS = Path(__file__).parent / "alerts" / "covenant-alerts.test.yaml"
DASHBOARD = CHART / "files" / "grafana" / "covenant-dashboard.json"
ON = ["--set", "metrics.enabled=true", "--set", "metrics.prometheusRule.enabled=true"]
ALERTS = {
    "CovenantOutboxEventsOld",
    "CovenantOutboxRelayFailing",
    "CovenantOutboxPoisonEvents",
    "CovenantRulePackVersionSkew",
    "CovenantSchedulerLag",
    "CovenantHighErrorRatio",
    "CovenantPodRestarting",
}


@pytest.fixture(scope="session")
def promtool() -> str:
    path = shutil.which("promtool")
    if path is None:
        pytest.fail("promtool missing: install Debian's prometheus package (.ci/run does)")
    return path


def rendered_rules(helm: str, tmp_path: Path, *extra: str) -> Path:
    """The PrometheusRule's groups as a Prometheus rule file, next to a copy of the promtool tests."""
    docs = render(helm, "--namespace", "covenant", *ON, *extra)
    (rule,) = by_name(docs, "PrometheusRule").values()
    path = tmp_path / "rules.yaml"
    path.write_text(yaml.safe_dump({"groups": rule["spec"]["groups"]}, sort_keys=False))
    shutil.copy(ALERT_TESTS, tmp_path / ALERT_TESTS.name)
    return path


def test_rules_and_dashboard_are_optional(helm: str) -> None:
    assert not by_name(render(helm), "PrometheusRule")
    assert not by_name(render(helm, "--set", "metrics.prometheusRule.enabled=true"), "PrometheusRule")
    assert "rel-covenant-dashboard" not in by_name(render(helm), "ConfigMap")
    docs = render(helm, *ON, "--set", "metrics.prometheusRule.labels.release=kps")
    (rule,) = by_name(docs, "PrometheusRule").values()
    assert rule["metadata"]["labels"]["release"] == "kps"
    assert {r["alert"] for g in rule["spec"]["groups"] for r in g["rules"]} == ALERTS


def test_promtool_checks_the_rules_and_every_alert_fires_and_stays_quiet(
    helm: str, promtool: str, tmp_path: Path
) -> None:
    rules = rendered_rules(helm, tmp_path)
    check = subprocess.run([promtool, "check", "rules", str(rules)], capture_output=True, text=True)
    assert check.returncode == 0 and "SUCCESS: 7 rules found" in check.stdout, check.stdout + check.stderr
    tested = {
        t["alertname"] for g in yaml.safe_load(ALERT_TESTS.read_text())["tests"] for t in g["alert_rule_test"]
    }
    assert tested == ALERTS
    run = subprocess.run(
        [promtool, "test", "rules", ALERT_TESTS.name], cwd=tmp_path, capture_output=True, text=True
    )
    assert run.returncode == 0, run.stdout + run.stderr


def test_the_unit_tests_notice_a_changed_threshold(helm: str, promtool: str, tmp_path: Path) -> None:
    rendered_rules(helm, tmp_path, "--set", "metrics.prometheusRule.outboxAgeSeconds=1200")
    run = subprocess.run(
        [promtool, "test", "rules", ALERT_TESTS.name], cwd=tmp_path, capture_output=True, text=True
    )
    assert run.returncode != 0 and "CovenantOutboxEventsOld" in run.stdout + run.stderr


def test_dashboard_is_valid_json_in_a_configmap_with_the_sidecar_label(helm: str) -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    assert dashboard["uid"] and dashboard["panels"]
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    for panel in dashboard["panels"]:
        refs = [t["refId"] for t in panel["targets"]]
        assert refs and len(refs) == len(set(refs)) and all(t["expr"].strip() for t in panel["targets"])
    assert len(dashboard_queries(dashboard)) > len(dashboard["panels"])
    docs = render(helm, "--set", "metrics.enabled=true", "--set", "metrics.grafanaDashboard.enabled=true")
    cm = by_name(docs, "ConfigMap")["rel-covenant-dashboard"]
    assert cm["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert json.loads(cm["data"]["covenant-dashboard.json"]) == dashboard


def test_operations_doc_explains_every_alert_and_metric() -> None:
    """Each alert's runbook anchor is a section of docs/operations.md, and each instrument is documented."""
    from covenant.telemetry import metrics

    doc = (CHART.parents[1] / "docs" / "operations.md").read_text()
    headings = {line[4:].strip() for line in doc.splitlines() if line.startswith("### ")}
    assert headings >= ALERTS
    template = (CHART / "templates" / "prometheusrule.yaml").read_text()
    for alert in ALERTS:
        assert f"runbook: docs/operations.md#{alert.lower()}" in template
    instruments = [getattr(v, "_name", None) for v in vars(metrics).values()]  # the API's instrument proxies
    names = {n.replace(".", "_") for n in [*instruments, *metrics._families] if isinstance(n, str)}
    assert len(names) > 20
    for name in names:
        assert f"`{name}" in doc, name
