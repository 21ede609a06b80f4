"""Chart-run test: run every rendered Deployment's container command, with its rendered environment, as a
local process (service host names mapped to local ports; PostgreSQL from COVENANT_TEST_PG_URL, else SQLite
files), after running the rendered migration Jobs. All six must report SERVING, the console must answer its
HTTP readiness probe, and one event must flow from attendance through its outbox into points, authenticated
with the service tokens identity issues."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import grpc
import pytest
import yaml

from covenant.attendance.v1 import attendance_pb2 as apb
from covenant.attendance.v1 import attendance_pb2_grpc
from covenant.cli import check_health
from covenant.common.v1.common_pb2 import GeoPoint
from covenant.db.scratch import scratch_database
from covenant.identity.v1 import accounts_pb2, identity_service_pb2_grpc
from covenant.points.v1 import points_pb2 as ppb
from covenant.points.v1 import points_pb2_grpc
from covenant.services import SERVICES
from tests.chart.chart_render import LOADER
from tests.conftest import PG_URL
from tests.support.ports import free_port

ROOT = Path(__file__).resolve().parents[2]
COVENANT = Path(sys.executable).with_name("covenant")


@pytest.fixture
def databases(tmp_path: Path) -> Iterator[dict[str, str]]:
    with ExitStack() as stack:
        urls = {}
        for name in SERVICES:
            if PG_URL:
                urls[name] = stack.enter_context(scratch_database(PG_URL))
            else:
                urls[name] = f"sqlite:///{tmp_path / (name + '.db')}"
        yield urls


def rendered(helm: str, urls: dict[str, str]) -> list[dict]:
    args = [
        helm,
        "template",
        "rel",
        str(ROOT / "charts" / "covenant"),
        "--set",
        "secrets.existingSecret=covenant-secrets",
    ]
    for name, url in urls.items():
        args += ["--set", f"database.urls.{name}={url}"]
    out = subprocess.run(args, check=True, capture_output=True, text=True).stdout
    return [d for d in yaml.load_all(out, Loader=LOADER) if d]


def local_env(
    container: dict, ports: dict[str, int], host_of: dict[str, str], data_dir: Path, secrets: Path
) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COVENANT_")}
    for item in container.get("env", []):
        value = item.get("value", "")
        for svc, host in host_of.items():
            value = value.replace(host, f"127.0.0.1:{ports[svc]}") if value.startswith(host) else value
        env[item["name"]] = value
    if "COVENANT_LISTEN" in env:
        env["COVENANT_LISTEN"] = "127.0.0.1:" + env["COVENANT_LISTEN"].rsplit(":", 1)[1]
    env.update(
        {
            "COVENANT_DATA_DIR": str(data_dir),  # the pod's emptyDir
            "COVENANT_RULES_DIR": str(
                ROOT / "charts" / "covenant" / "files" / "rules"
            ),  # the rules ConfigMap
            "COVENANT_DEV_SECRETS_DIR": str(secrets),  # the existingSecret mount
            "COVENANT_RELAY_INTERVAL_SECONDS": "0.2",
            "COVENANT_LOG_FORMAT": "text",
        }
    )
    return env


def console_ready(url: str, deadline: float) -> bool:
    """Whether the console's readiness probe answers 200 before ``deadline``."""
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status == 200:
                    return True
        except OSError:
            pass
        time.sleep(0.5)
    return False


def test_every_rendered_deployment_runs_and_an_event_flows_from_attendance_to_points(
    helm: str, databases: dict[str, str], tmp_path: Path
) -> None:
    docs = rendered(helm, databases)
    deployments = {
        d["metadata"]["labels"]["app.kubernetes.io/component"]: d for d in docs if d["kind"] == "Deployment"
    }
    jobs = {
        d["metadata"]["labels"]["app.kubernetes.io/component"].removesuffix("-migrate"): d
        for d in docs
        if d["kind"] == "Job"
    }
    console = deployments.pop("console")  # the web console: no database, no migration Job, HTTP probes
    assert set(deployments) == set(SERVICES) == set(jobs)
    ports = {name: free_port() for name in SERVICES}
    console_port = free_port()
    host_of = {  # the chart's targets: each service's headless Service through DNS
        name: f"dns:///rel-covenant-{name}-headless.default.svc.cluster.local:{SERVICES[name].port}"
        for name in SERVICES
    }
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    subprocess.run(
        [str(COVENANT), "secrets", "init", "--out", str(secrets / "dev-secrets.json")],
        check=True,
        capture_output=True,
    )
    for name, job in jobs.items():  # the pre-install hooks
        c = job["spec"]["template"]["spec"]["containers"][0]
        env = local_env(c, ports, host_of, tmp_path / f"job-{name}", secrets)
        subprocess.run([str(COVENANT), *c["args"]], env=env, check=True, capture_output=True, timeout=120)
    procs = []
    try:
        for name, d in deployments.items():
            c = d["spec"]["template"]["spec"]["containers"][0]
            env = local_env(c, {**ports}, host_of, tmp_path / f"pod-{name}", secrets)
            env["COVENANT_LISTEN"] = f"127.0.0.1:{ports[name]}"
            log = open(tmp_path / f"{name}.log", "wb")  # noqa: SIM115 - closed with the process
            procs.append(
                (subprocess.Popen([str(COVENANT), *c["args"]], env=env, stdout=log, stderr=log), log)
            )
        c = console["spec"]["template"]["spec"]["containers"][0]
        env = local_env(c, ports, host_of, tmp_path / "pod-console", secrets)
        env["COVENANT_CONSOLE_LISTEN"] = f"127.0.0.1:{console_port}"
        log = open(tmp_path / "console.log", "wb")  # noqa: SIM115 - closed with the process
        procs.append((subprocess.Popen([str(COVENANT), *c["args"]], env=env, stdout=log, stderr=log), log))
        targets = {n: f"127.0.0.1:{p}" for n, p in ports.items()}
        deadline = time.monotonic() + 90
        statuses: dict[str, str] = {}
        while time.monotonic() < deadline:
            statuses = check_health(targets, timeout=1.0)
            if all(s == "SERVING" for s in statuses.values()):
                break
            time.sleep(0.5)
        assert statuses == dict.fromkeys(SERVICES, "SERVING"), statuses
        probe = f"http://127.0.0.1:{console_port}{c['readinessProbe']['httpGet']['path']}"
        assert console_ready(probe, time.monotonic() + 60), (tmp_path / "console.log").read_text()

        # Log in as the bootstrap admin (password from the mounted secrets) and check a rep in at a client.
        import json

        admin = json.loads((secrets / "dev-secrets.json").read_text())["kv"]["identity/bootstrap-admin"]
        identity = identity_service_pb2_grpc.IdentityServiceStub(grpc.insecure_channel(targets["identity"]))
        token = identity.Login(
            accounts_pb2.LoginRequest(username="admin", password=admin["password"]), timeout=10
        )
        md = [("authorization", f"Bearer {token.access_token}")]
        from tests.support.directory import create_in_identity, employee

        # E1 exists in the directory only; attendance and points look it up there.
        create_in_identity(grpc.insecure_channel(targets["identity"]), md, [employee("E1", "/hq/t1")])
        att = attendance_pb2_grpc.AttendanceServiceStub(grpc.insecure_channel(targets["attendance"]))
        att.ImportClientPlaces(
            apb.ImportClientPlacesRequest(
                places=[
                    apb.ClientPlace(
                        client_id="A",
                        location=GeoPoint(latitude=22.5431, longitude=114.0579),
                        visit_radius_m=150,
                    )
                ]
            ),
            metadata=md,
            timeout=10,
        )
        from datetime import UTC, datetime

        from google.protobuf.timestamp_pb2 import Timestamp

        now = Timestamp()
        now.FromDatetime(datetime.now(UTC))
        checkin = att.CheckIn(
            apb.CheckInRequest(
                client_id="A",
                ping=apb.Ping(
                    employee_id="E1",
                    org_unit="/hq/t1",
                    location=GeoPoint(latitude=22.5431, longitude=114.0579),
                    accuracy_m=8,
                    time=now,
                ),
            ),
            metadata=md,
            timeout=10,
        )
        assert checkin.verified
        points = points_pb2_grpc.PointsServiceStub(grpc.insecure_channel(targets["points"]))
        deadline = time.monotonic() + 60  # first delivery waits on identity's token and JWKS under load
        balance = 0
        while time.monotonic() < deadline and balance == 0:
            balance = points.GetBalance(
                ppb.GetBalanceRequest(employee_id="E1"), metadata=md, timeout=10
            ).balance
            time.sleep(0.3)
        assert balance == 2  # the verified-visit award, delivered by attendance's relay with a service token
    finally:
        for proc, _log in procs:
            proc.terminate()
        for proc, log in procs:
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
            log.close()
