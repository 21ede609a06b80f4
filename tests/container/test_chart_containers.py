"""The built image runs the rendered chart's pods as containers (container_pods.py says how the spec is
honoured). Two releases: a production-shaped one (PostgreSQL per service, an existing Secret, migration Jobs
first) and the bare default (SQLite on claims, the chart's generated Secret). In both, all six become
SERVING and an event flows attendance -> points with service tokens; the first also publishes and activates
a rule pack live, SIGTERMs pods (one mid-stream: the call completes, the pod exits within its grace
period) and shows a replaced pod loses nothing.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path

import grpc
import pytest
import sqlalchemy
import yaml
from container_pods import Cluster, labels_of, memory_bytes, podman, podman_works
from google.protobuf.timestamp_pb2 import Timestamp

from covenant.attendance.v1 import attendance_pb2 as apb
from covenant.attendance.v1 import attendance_pb2_grpc
from covenant.common.v1.common_pb2 import GeoPoint
from covenant.db.scratch import scratch_database
from covenant.identity.v1 import accounts_pb2, identity_service_pb2_grpc
from covenant.points.v1 import points_pb2 as ppb
from covenant.points.v1 import points_pb2_grpc
from covenant.rules.v1 import rule_pack_service_pb2 as rpb
from covenant.rules.v1 import rule_pack_service_pb2_grpc
from covenant.services import SERVICES
from tests.conftest import PG_URL
from tests.support.directory import create_in_identity
from tests.support.directory import employee as directory_entry

pytestmark = [
    pytest.mark.slow,
    pytest.mark.timeout(1800),  # includes a first image build from nothing (debootstrap, wheelhouse)
    pytest.mark.skipif(
        not (os.geteuid() == 0 and podman_works()), reason="rootful podman not available (CI installs it)"
    ),
]

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "charts" / "covenant"
PLACE = GeoPoint(latitude=22.5431, longitude=114.0579)


def render(helm: str, image: str, *args: str) -> list[dict]:
    registry, rest = image.split("/", 1)
    repository, tag = rest.rsplit(":", 1)
    values = [f"image.registry={registry}", f"image.repository={repository}", f"image.tag={tag}"]
    out = subprocess.run(
        [helm, "template", "rel", str(CHART), *[a for v in values for a in ("--set", v)], *args],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return [d for d in yaml.load_all(out, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)) if d]


@pytest.fixture
def cluster_dir(tmp_path: Path) -> Path:
    path = tmp_path / "cluster"
    path.mkdir()
    path.chmod(0o755)
    return path


def deployments_of(cluster: Cluster) -> dict[str, dict]:
    return {d["metadata"]["labels"]["app.kubernetes.io/component"]: d for d in cluster.of_kind("Deployment")}


class Client:
    """The platform as a caller sees it: the bootstrap admin's token, attendance, points and their packs."""

    def __init__(self, cluster: Cluster, secret_name: str) -> None:
        self.cluster = cluster
        secrets = json.loads(cluster.secret_data(secret_name)["dev-secrets.json"])
        self.password = secrets["kv"]["identity/bootstrap-admin"]["password"]
        self.deployments = deployments_of(cluster)

    def channel(self, svc: str) -> grpc.Channel:
        address, _ = self.cluster.probe_target(self.deployments[svc]["metadata"]["name"])
        return grpc.insecure_channel(address)

    def login(self) -> list[tuple[str, str]]:
        identity = identity_service_pb2_grpc.IdentityServiceStub(self.channel("identity"))
        token = identity.Login(
            accounts_pb2.LoginRequest(username="admin", password=self.password), timeout=20
        )
        return [("authorization", f"Bearer {token.access_token}")]

    def import_place(self, md: list[tuple[str, str]]) -> None:
        att = attendance_pb2_grpc.AttendanceServiceStub(self.channel("attendance"))
        place = apb.ClientPlace(client_id="A", location=PLACE, visit_radius_m=150)
        att.ImportClientPlaces(apb.ImportClientPlacesRequest(places=[place]), metadata=md, timeout=20)

    def check_in(self, md: list[tuple[str, str]], employee: str) -> None:
        now = Timestamp()
        now.FromDatetime(datetime.now(UTC))
        ping = apb.Ping(employee_id=employee, org_unit="/hq/t1", location=PLACE, accuracy_m=8, time=now)
        att = attendance_pb2_grpc.AttendanceServiceStub(self.channel("attendance"))
        assert att.CheckIn(apb.CheckInRequest(client_id="A", ping=ping), metadata=md, timeout=20).verified

    def balance(self, md: list[tuple[str, str]], employee: str) -> int:
        points = points_pb2_grpc.PointsServiceStub(self.channel("points"))
        return points.GetBalance(ppb.GetBalanceRequest(employee_id=employee), metadata=md, timeout=20).balance

    def awarded(self, md: list[tuple[str, str]], employee: str, timeout: float = 90) -> int:
        """The employee's balance once the relay delivered their award (0 if it never came)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if balance := self.balance(md, employee):
                return balance
            time.sleep(0.5)
        return 0

    def packs(self, svc: str) -> rule_pack_service_pb2_grpc.RulePackServiceStub:
        return rule_pack_service_pb2_grpc.RulePackServiceStub(self.channel(svc))


def hire_reps(client: Client, md: list[tuple[str, str]]) -> None:
    """Who the reps are comes from the directory: HR creates them in identity first (idempotent)."""
    reps = [directory_entry(e, "/hq/t1", "credit_officer") for e in ("E1", "E2", "E3", "E9")]
    create_in_identity(client.channel("identity"), md, reps)


def event_flows(client: Client, md: list[tuple[str, str]], employee: str) -> int:
    client.check_in(md, employee)
    return client.awarded(md, employee)


def start_all(cluster: Cluster) -> None:
    deployments = deployments_of(cluster)
    assert set(deployments) == {*SERVICES, "console"}  # the console answers its HTTP readiness probe
    for d in deployments.values():
        cluster.start(d)
    names = [d["metadata"]["name"] for d in deployments.values()]
    status = cluster.wait_ready(names)
    assert status == dict.fromkeys(names, "SERVING"), status


def assert_pod_runs_as_specified(cluster: Cluster, deployment: dict) -> None:
    """What the kernel enforces on the running pod (PID 1) is what its spec asks for."""
    pod = deployment["spec"]["template"]["spec"]
    (spec,) = pod["containers"]
    uid = spec["securityContext"].get("runAsUser", pod["securityContext"]["runAsUser"])
    probe = (
        "cat /proc/1/status; echo limit=$(cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null"
        " || cat /sys/fs/cgroup/memory.max); for d in / /etc/covenant/rules /var/lib/covenant /tmp; do"
        " touch $d/.probe 2>/dev/null && echo writable=$d; done;"
        ' while read -r _ dir _ opts _; do [ "$dir" = / ] && echo rootfs=$opts; done < /proc/1/mounts; true'
    )
    out = podman("exec", cluster.running[deployment["metadata"]["name"]], "sh", "-c", probe).stdout
    assert re.search(rf"(?m)^Uid:\s+{uid}\s+{uid}\s", out), out
    assert re.search(r"(?m)^CapEff:\s+0+$", out) and re.search(r"(?m)^NoNewPrivs:\s+1$", out), out
    assert re.search(r"(?m)^Seccomp:\s+2$", out), out  # the runtime's default seccomp filter
    assert f"limit={memory_bytes(spec['resources']['limits']['memory'])}" in out, out
    # read-only root and read-only rule packs; only the pod's volumes are writable
    assert re.findall(r"writable=(\S+)", out) == ["/var/lib/covenant", "/tmp"], out
    assert re.search(r"(?m)^rootfs=ro,", out), out


def assert_sigterm_drains_an_in_flight_stream(cluster: Cluster, client: Client, md: list) -> None:
    """SIGTERM attendance while a StreamPings call is open: the call still completes (every ping stored) and
    the pod exits by itself, code 0, within its termination grace period."""
    attendance = deployments_of(cluster)["attendance"]
    grace = attendance["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
    container = cluster.running[attendance["metadata"]["name"]]
    signalled = threading.Event()

    def pings() -> Iterator[apb.Ping]:
        for i in range(6):
            if i == 1:
                signalled.wait(30)
            at = Timestamp()
            at.FromDatetime(datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=10 - i))
            yield apb.Ping(employee_id="E9", org_unit="/hq/t1", location=PLACE, accuracy_m=8, time=at)
            time.sleep(0.3)

    stub = attendance_pb2_grpc.AttendanceServiceStub(client.channel("attendance"))
    call = stub.StreamPings.future(pings(), metadata=md, timeout=60)
    time.sleep(1.0)  # the first ping is in; the call is in flight
    began = time.monotonic()
    podman("kill", "--signal", "TERM", container)
    signalled.set()
    assert call.result().accepted == 6
    code = int(podman("wait", container, timeout=grace + 30).stdout.strip())
    took = time.monotonic() - began
    assert code == 0 and took < grace, (code, took, cluster.logs(container)[-2000:])
    cluster.running.pop(attendance["metadata"]["name"])


@pytest.fixture
def databases() -> Iterator[dict[str, str]]:
    if not PG_URL:
        pytest.skip("COVENANT_TEST_PG_URL not set: the PostgreSQL release is not run (CI sets it)")
    with ExitStack() as stack:
        yield {name: stack.enter_context(scratch_database(PG_URL)) for name in SERVICES}


def test_image_is_labelled_non_root_without_compilers_and_carries_its_sbom(image: str) -> None:
    labels = labels_of(image)
    version = re.search(r'(?m)^version = "(.+)"', (ROOT / "pyproject.toml").read_text()).group(1)  # type: ignore[union-attr]
    assert labels["org.opencontainers.image.version"] == version
    assert re.fullmatch(r"[0-9a-f]{40}", labels["org.opencontainers.image.revision"])
    assert labels["org.opencontainers.image.source"].startswith(("https://", "git@"))
    user = podman("image", "inspect", "--format", "{{.Config.User}}", image).stdout.strip()
    assert user == "10001:10001"
    tools = "gcc cc c++ g++ make ld as pip"
    probe = f"id -u; for t in {tools}; do command -v $t >/dev/null && echo has-$t; done; true"
    out = podman("run", "--rm", "--network", "none", "--entrypoint", "sh", image, "-c", probe).stdout.split()
    assert out == ["10001"], out  # non-root and no compiler, linker, assembler or pip
    sbom = json.loads(
        podman(
            "run", "--rm", "--network", "none", "--entrypoint", "cat", image, labels["io.covenant.sbom"]
        ).stdout
    )
    assert sbom["bomFormat"] == "CycloneDX"
    names = {c["name"].lower().replace("_", "-") for c in sbom["components"]}
    pinned = re.findall(
        r'"([A-Za-z0-9_.-]+)(?:\[[^]]*\])?==',
        (ROOT / "pyproject.toml").read_text().split("[project.optional")[0],
    )
    assert {p.lower() for p in pinned} <= names, {p.lower() for p in pinned} - names
    print(f"\nSBOM components: {len(sbom['components'])}")


def test_production_shaped_release_runs_its_pods_as_containers(
    helm: str, image: str, databases: dict[str, str], cluster_dir: Path
) -> None:
    started = time.monotonic()
    args = ["--set", "secrets.existingSecret=covenant-secrets"]
    for name, url in databases.items():
        args += ["--set", f"database.urls.{name}={url}"]
    cluster = Cluster(render(helm, image, *args), cluster_dir, f"cov-{uuid.uuid4().hex[:8]}")
    # kubectl create secret generic covenant-secrets --from-file=dev-secrets.json (covenant secrets init)
    init = cluster_dir / "init"
    init.mkdir(mode=0o777)
    init.chmod(0o777)
    podman(
        "run",
        "--rm",
        "--network",
        "none",
        "-v",
        f"{init}:/out",
        image,
        "secrets",
        "init",
        "--out",
        "/out/s.json",
    )
    cluster.out_of_band_secrets["covenant-secrets"] = {"dev-secrets.json": (init / "s.json").read_bytes()}
    try:
        jobs = cluster.of_kind("Job")
        assert len(jobs) == len(SERVICES)
        cluster.run_jobs(jobs)  # the pre-install hooks, before any pod
        for name, url in databases.items():  # the Jobs (containers, not the test) migrated every database
            engine = sqlalchemy.create_engine(url)
            with engine.connect() as conn:
                tables = set(sqlalchemy.inspect(conn).get_table_names())
            engine.dispose()
            assert {"alembic_version", "alembic_version_chassis", "alembic_version_rules"} <= tables, name
        start_all(cluster)
        for deployment in deployments_of(cluster).values():
            assert_pod_runs_as_specified(cluster, deployment)
        client = Client(cluster, "covenant-secrets")
        md = client.login()
        hire_reps(client, md)
        client.import_place(md)
        assert event_flows(client, md, "E1") == 2  # verified-visit award, delivered with a service token

        # A rule pack published and activated live: the verified-visit award becomes 7, no restart.
        source = (CHART / "files" / "rules" / "points" / "awards.yaml").read_text()
        source = re.sub(r'(?m)^version: "[^"]+"', 'version: "2099.1.1"', source)
        source = source.replace(
            "points: 2, reason: verified client visit", "points: 7, reason: verified client visit"
        )
        packs = client.packs("points")
        published = packs.PublishRulePack(
            rpb.PublishRulePackRequest(source_yaml=source, activate=True, request_id="container-test"),
            metadata=md,
            timeout=30,
        )
        assert published.active and published.version == "2099.1.1"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            serving = packs.ListActiveRulePacks(rpb.ListActiveRulePacksRequest(), metadata=md, timeout=10)
            if serving.serving_versions.get("points-awards") == "2099.1.1":
                break
            time.sleep(0.5)
        assert serving.serving_versions["points-awards"] == "2099.1.1"
        assert event_flows(client, md, "E2") == 7

        # SIGTERM: points drains (NOT_SERVING, in-flight calls finish) and exits by itself within its grace.
        points = deployments_of(cluster)["points"]
        grace = points["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
        log_before = cluster.logs(points["metadata"]["name"])
        container = cluster.running[points["metadata"]["name"]]
        took, code = cluster.stop(points["metadata"]["name"])
        assert code == 0 and took < grace, (took, code, cluster.logs(container)[-2000:])
        assert "draining" in cluster.logs(container) and "draining" not in log_before

        # While points is down attendance keeps accepting; its outbox holds the award until points is back.
        client.check_in(md, "E3")
        cluster.start(points)  # a new pod: fresh emptyDirs, same database
        assert cluster.wait_ready([points["metadata"]["name"]]) == {points["metadata"]["name"]: "SERVING"}
        assert client.balance(md, "E1") == 2 and client.balance(md, "E2") == 7
        assert client.awarded(md, "E3") == 7  # the activated pack survived the restart, the event too
        active = client.packs("points").ListActiveRulePacks(rpb.ListActiveRulePacksRequest(), metadata=md)
        assert active.serving_versions["points-awards"] == "2099.1.1"
        assert_sigterm_drains_an_in_flight_stream(cluster, client, md)
        print(f"\nproduction-shaped release: {time.monotonic() - started:.0f} s")
    finally:
        cluster.remove_all()


def test_bare_default_release_runs_its_pods_as_containers(helm: str, image: str, cluster_dir: Path) -> None:
    started = time.monotonic()
    cluster = Cluster(render(helm, image), cluster_dir, f"cov-{uuid.uuid4().hex[:8]}")
    assert not cluster.of_kind("Job") and not cluster.of_kind("HorizontalPodAutoscaler")
    assert len(cluster.of_kind("PersistentVolumeClaim")) == len(SERVICES)
    try:
        start_all(cluster)
        (secret,) = cluster.of_kind("Secret")
        client = Client(cluster, secret["metadata"]["name"])
        md = client.login()
        hire_reps(client, md)
        client.import_place(md)
        assert event_flows(client, md, "E1") == 2

        # The points pod is replaced (Recreate): its SQLite file lives on the claim, so nothing is lost.
        points = deployments_of(cluster)["points"]
        took, code = cluster.stop(points["metadata"]["name"])
        assert code == 0, cluster.logs(points["metadata"]["name"])
        cluster.start(points)
        assert cluster.wait_ready([points["metadata"]["name"]]) == {points["metadata"]["name"]: "SERVING"}
        assert client.balance(md, "E1") == 2
        assert event_flows(client, md, "E2") == 2
        print(f"\nbare default release: {time.monotonic() - started:.0f} s (points stop {took:.1f} s)")
    finally:
        cluster.remove_all()
