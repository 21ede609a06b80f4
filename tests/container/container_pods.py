"""Run the pod specs of a rendered chart as podman containers of the built image, the way a kubelet would.

Honoured from the spec: image, command/args, env (values, Secret and ConfigMap references resolved from the
rendered objects or from Secrets created out of band, like `kubectl create secret`), the security context
(user/group, fsGroup, runAsNonRoot, read-only root without podman's extra tmpfs, no-new-privileges,
capabilities, seccomp), volumes (emptyDir: a fresh directory per pod; configMap/secret: their items, read
only; persistentVolumeClaim: one directory per claim that outlives pods), resource limits (memory, cpu and
cpu requests as shares, all enforced by podman here), terminationGracePeriodSeconds (stop timeout) and Job
backoffLimit/activeDeadlineSeconds.

One deviation: every pod shares the host network (`--network host`, the only network podman offers here),
so each Service gets a free host port, the pod listens there, and `<service>:<port>` in env values becomes
`127.0.0.1:<host port>`, like cluster DNS would resolve it. PostgreSQL is the host's.
"""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from tests.support.ports import free_port

UNITS = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "k": 10**3, "M": 10**6, "G": 10**9, "": 1}


def memory_bytes(quantity: str | int) -> int:
    number, unit = re.fullmatch(r"([0-9.]+)([A-Za-z]*)", str(quantity)).groups()  # type: ignore[union-attr]
    return int(float(number) * UNITS[unit])


def millicores(quantity: str | int | float) -> int:
    text = str(quantity)
    return int(text[:-1]) if text.endswith("m") else int(float(text) * 1000)


def podman(*args: str, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["podman", *args], capture_output=True, text=True, check=check, timeout=timeout)


@dataclass
class Cluster:
    """What the cluster provides around the pods: the rendered objects, Service ports, claims, secrets."""

    objects: list[dict]
    workdir: Path
    prefix: str
    out_of_band_secrets: dict[str, dict[str, bytes]] = field(default_factory=dict)
    host_ports: dict[str, int] = field(default_factory=dict)  # Service name -> host port
    running: dict[str, str] = field(default_factory=dict)  # pod name -> container name
    _instances: int = 0

    def __post_init__(self) -> None:
        # Services selecting the same pods (a service's ClusterIP and headless ones) reach the same
        # listener: with host networking a pod listens on one host port.
        by_selector: dict[tuple, int] = {}
        for svc in self.of_kind("Service"):
            key = tuple(sorted((svc["spec"].get("selector") or {}).items())) or (svc["metadata"]["name"],)
            self.host_ports[svc["metadata"]["name"]] = by_selector.setdefault(key, free_port())

    def of_kind(self, kind: str) -> list[dict]:
        return [d for d in self.objects if d["kind"] == kind]

    def named(self, kind: str, name: str) -> dict:
        (obj,) = [d for d in self.of_kind(kind) if d["metadata"]["name"] == name]
        return obj

    # -- objects the pods reference ------------------------------------------------------------
    def secret_data(self, name: str) -> dict[str, bytes]:
        rendered = [d for d in self.of_kind("Secret") if d["metadata"]["name"] == name]
        if rendered:
            data = {k: base64.b64decode(v) for k, v in (rendered[0].get("data") or {}).items()}
            data |= {k: v.encode() for k, v in (rendered[0].get("stringData") or {}).items()}
            return data
        return self.out_of_band_secrets[name]  # KeyError: the pod references a Secret nobody created

    def config_map_data(self, name: str) -> dict[str, bytes]:
        return {k: v.encode() for k, v in (self.named("ConfigMap", name).get("data") or {}).items()}

    def claim_dir(self, name: str, owner: tuple[int, int]) -> Path:
        self.named("PersistentVolumeClaim", name)  # the chart must render the claim it mounts
        return self._dir(self.workdir / "claims" / name, owner)

    @staticmethod
    def _dir(path: Path, owner: tuple[int, int]) -> Path:
        if not path.exists():
            path.mkdir(parents=True)
            os.chown(path, *owner)
            path.chmod(0o2775)  # group-writable by fsGroup, like a kubelet-prepared volume
        return path

    # -- the Service network -------------------------------------------------------------------
    def service_ports(self, labels: dict[str, str]) -> dict[int | str, int]:
        """Container port (number or name) -> host port, for every Service selecting these pod labels."""
        out: dict[int | str, int] = {}
        for svc in self.of_kind("Service"):
            if svc["spec"].get("selector") and svc["spec"]["selector"].items() <= labels.items():
                for port in svc["spec"]["ports"]:
                    out[port.get("targetPort", port["port"])] = self.host_ports[svc["metadata"]["name"]]
        return out

    def resolve(self, value: str) -> str:
        """`<service>:<port>` as cluster DNS would route it: the Service's host port on this machine."""
        for svc in self.of_kind("Service"):
            name = re.escape(svc["metadata"]["name"])
            for port in svc["spec"]["ports"]:
                # "<name>:<port>", or the cluster DNS form callers balance over: "dns:///<name>.<ns>.svc...:<port>"
                pattern = rf"(?:dns:///)?\b{name}(?:\.[A-Za-z0-9-]+)*:{port['port']}\b"
                value = re.sub(pattern, f"127.0.0.1:{self.host_ports[svc['metadata']['name']]}", value)
        return value

    def probe_target(self, pod_name: str, kind: str = "Deployment") -> tuple[str, str]:
        """(host address, gRPC service) of the pod's readiness probe."""
        template = self.named(kind, pod_name)["spec"]["template"]
        (container,) = template["spec"]["containers"]
        ports = self.service_ports(template["metadata"]["labels"])
        named = {p["containerPort"]: p.get("name") for p in container.get("ports", [])}
        if "httpGet" in container["readinessProbe"]:  # the console: HTTP, probed by path
            probe = container["readinessProbe"]["httpGet"]
            by_name = {p.get("name"): p["containerPort"] for p in container.get("ports", [])}
            port = by_name.get(probe["port"], probe["port"])
            host = ports.get(port) or ports[named[port]]
            return f"127.0.0.1:{host}", f"http:{probe['path']}"
        probe = container["readinessProbe"]["grpc"]
        host = ports.get(probe["port"]) or ports[named[probe["port"]]]
        return f"127.0.0.1:{host}", probe.get("service", "")

    # -- pods ----------------------------------------------------------------------------------
    def run_args(self, template: dict, container_name: str, pod_dir: Path) -> list[str]:
        spec, labels = template["spec"], template["metadata"].get("labels", {})
        (container,) = spec["containers"]
        psc, csc = spec.get("securityContext", {}), container.get("securityContext", {})
        sc = {**psc, **csc}
        uid, gid = sc.get("runAsUser"), sc.get("runAsGroup", sc.get("runAsUser"))
        assert uid is not None, "the chart must pin runAsUser"
        if sc.get("runAsNonRoot"):
            assert uid != 0, "runAsNonRoot with runAsUser 0 would not start"
        fs_group = psc.get("fsGroup", gid)
        args = ["--name", container_name, "--network", "host", "--pull", "never", "--user", f"{uid}:{gid}"]
        if fs_group is not None:
            args += ["--group-add", str(fs_group)]
        if csc.get("readOnlyRootFilesystem"):
            args += ["--read-only", "--read-only-tmpfs=false"]  # only what the pod mounts is writable
        if csc.get("allowPrivilegeEscalation") is False:
            args += ["--security-opt", "no-new-privileges"]
        caps = csc.get("capabilities", {})
        args += [a for cap in caps.get("drop", []) for a in ("--cap-drop", cap)]
        args += [a for cap in caps.get("add", []) for a in ("--cap-add", cap)]
        if sc.get("seccompProfile", {}).get("type") == "Unconfined":
            args += ["--security-opt", "seccomp=unconfined"]  # RuntimeDefault: podman's default profile
        if "terminationGracePeriodSeconds" in spec:
            args += ["--stop-timeout", str(spec["terminationGracePeriodSeconds"])]
        resources = container.get("resources", {})
        limits, requests = resources.get("limits", {}), resources.get("requests", {})
        if "memory" in limits:
            args += ["--memory", str(memory_bytes(limits["memory"]))]
        if "cpu" in limits:
            args += ["--cpus", str(millicores(limits["cpu"]) / 1000)]
        if "cpu" in requests:
            args += ["--cpu-shares", str(max(2, millicores(requests["cpu"]) * 1024 // 1000))]
        for key, value in labels.items():
            args += ["--label", f"{key}={value}"]
        args += self._env_args(container, labels)
        args += self._volume_args(spec, container, pod_dir, (uid, fs_group if fs_group is not None else gid))
        if container.get("command"):
            args += ["--entrypoint", json.dumps(container["command"])]
        return [*args, container["image"], *container.get("args", [])]

    def _env_args(self, container: dict, labels: dict[str, str]) -> list[str]:
        ports = self.service_ports(labels)
        own = {p["containerPort"] for p in container.get("ports", [])}
        named = {p["containerPort"]: p.get("name") for p in container.get("ports", [])}
        args = []
        for item in container.get("env", []):
            if "valueFrom" in item:
                ref = item["valueFrom"]
                if "secretKeyRef" in ref:
                    r = ref["secretKeyRef"]
                    value = self.secret_data(r["name"])[r["key"]].decode()
                elif "configMapKeyRef" in ref:
                    r = ref["configMapKeyRef"]
                    value = self.config_map_data(r["name"])[r["key"]].decode()
                else:
                    raise AssertionError(f"unsupported valueFrom in {item['name']}: {ref}")
            else:
                value = str(item.get("value", ""))
            listen = re.fullmatch(r"0\.0\.0\.0:(\d+)", value)
            if listen and int(listen.group(1)) in own:  # this pod's listener: its Service's host port
                port = int(listen.group(1))
                value = f"127.0.0.1:{ports.get(port) or ports[named[port]]}"
            args += ["--env", f"{item['name']}={self.resolve(value)}"]
        return args

    def _volume_args(self, spec: dict, container: dict, pod_dir: Path, owner: tuple[int, int]) -> list[str]:
        sources: dict[str, Path] = {}
        for volume in spec.get("volumes", []):
            name = volume["name"]
            if "emptyDir" in volume:
                sources[name] = self._dir(pod_dir / name, owner)
            elif "persistentVolumeClaim" in volume:
                sources[name] = self.claim_dir(volume["persistentVolumeClaim"]["claimName"], owner)
            elif "configMap" in volume or "secret" in volume:
                if "configMap" in volume:
                    ref, data = volume["configMap"], self.config_map_data(volume["configMap"]["name"])
                else:
                    ref, data = volume["secret"], self.secret_data(volume["secret"]["secretName"])
                items = ref.get("items") or [{"key": k, "path": k} for k in data]
                target = pod_dir / name
                for item in items:
                    path = target / item["path"]
                    path.parent.mkdir(parents=True, exist_ok=True)
                    path.write_bytes(data[item["key"]])
                    path.chmod(ref.get("defaultMode", 0o644))
                for d in [target, *[p for p in target.rglob("*") if p.is_dir()]]:
                    d.chmod(0o755)
                sources[name] = target
            else:
                raise AssertionError(f"unsupported volume {volume}")
        args = []
        for mount in container.get("volumeMounts", []):
            suffix = ":ro" if mount.get("readOnly") else ""
            args += ["--volume", f"{sources[mount['name']]}:{mount['mountPath']}{suffix}"]
        return args

    def _pod_dir(self, pod_name: str) -> tuple[str, Path]:
        self._instances += 1
        container = f"{self.prefix}-{pod_name}-{self._instances}"
        pod_dir = self.workdir / "pods" / container
        pod_dir.mkdir(parents=True)
        return container, pod_dir

    def run_jobs(self, jobs: list[dict]) -> None:
        """Run the Jobs' pods at once to completion (hooks of one weight), each retried up to its
        backoffLimit within its activeDeadlineSeconds; raise with the logs of any that never succeeds."""
        pending = {j["metadata"]["name"]: (j, j["spec"].get("backoffLimit", 6) + 1) for j in jobs}
        deadline = time.monotonic() + max(j["spec"].get("activeDeadlineSeconds", 600) for j in jobs)
        failures: dict[str, str] = {}
        while pending:
            procs = {}
            for name, (job, _) in pending.items():
                container, pod_dir = self._pod_dir(name)
                args = self.run_args(job["spec"]["template"], container, pod_dir)
                procs[name] = subprocess.Popen(
                    ["podman", "run", "--rm", *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT
                )
            for name, proc in procs.items():
                out, _ = proc.communicate(timeout=max(1.0, deadline - time.monotonic()))
                job, attempts = pending.pop(name)
                if proc.returncode != 0:
                    failures[name] = out.decode(errors="replace")[-3000:]
                    if attempts > 1:
                        pending[name] = (job, attempts - 1)
                else:
                    failures.pop(name, None)
        assert not failures, failures

    def start(self, deployment: dict) -> str:
        """Start one pod of the Deployment (detached); returns its container name."""
        name = deployment["metadata"]["name"]
        container, pod_dir = self._pod_dir(name)
        podman("run", "--detach", *self.run_args(deployment["spec"]["template"], container, pod_dir))
        self.running[name] = container
        return container

    def stop(self, name: str) -> tuple[float, int]:
        """SIGTERM the pod's container, waiting its grace period; (seconds taken, exit code)."""
        container = self.running.pop(name)
        began = time.monotonic()
        podman("stop", container, timeout=300)
        took = time.monotonic() - began
        code = int(podman("inspect", "--format", "{{.State.ExitCode}}", container).stdout.strip())
        return took, code

    def logs(self, name: str) -> str:
        container = self.running.get(name) or name
        out = podman("logs", container, check=False)
        return out.stdout + out.stderr

    def remove_all(self) -> None:
        names = podman("ps", "--all", "--format", "{{.Names}}", check=False).stdout.split()
        mine = [n for n in names if n.startswith(self.prefix + "-")]
        if mine:
            podman("rm", "--force", "--time", "0", *mine, check=False)

    def wait_ready(self, names: list[str], timeout: float = 180) -> dict[str, str]:
        """Poll each pod's readiness probe (gRPC health of its service) until all SERVING or timeout."""
        targets = {n: self.probe_target(n) for n in names}
        status: dict[str, str] = {}
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for n, (address, service) in targets.items():
                status[n] = health(address, service)
            if all(s == "SERVING" for s in status.values()):
                break
            for n in names:  # a crashed container will never become ready: fail early with its logs
                container = self.running[n]
                state = podman("inspect", "--format", "{{.State.Status}}", container, check=False).stdout
                assert state.strip() == "running", f"{n} {state.strip()}:\n{self.logs(n)[-3000:]}"
            time.sleep(1)
        return status


def health(address: str, service: str) -> str:
    """gRPC health of ``service`` at ``address``; ``http:<path>`` probes an HTTP pod (200 = SERVING)."""
    if service.startswith("http:"):
        import urllib.error
        import urllib.request

        try:
            with urllib.request.urlopen(f"http://{address}{service[5:]}", timeout=2) as response:
                return "SERVING" if response.status == 200 else f"HTTP {response.status}"
        except (urllib.error.URLError, OSError) as exc:
            return f"UNAVAILABLE ({exc})"
    with grpc.insecure_channel(address) as channel:
        try:
            response = health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(service=service), timeout=2
            )
            return health_pb2.HealthCheckResponse.ServingStatus.Name(response.status)
        except grpc.RpcError as exc:
            return exc.code().name


def podman_works() -> bool:
    try:
        return podman("info", "--format", "{{.Host.OCIRuntime.Name}}", check=False).returncode == 0
    except (FileNotFoundError, subprocess.TimeoutExpired):
        return False


def labels_of(image: str) -> dict[str, Any]:
    return json.loads(podman("image", "inspect", "--format", "{{json .Labels}}", image).stdout)
