"""The console in the chart: its Deployment (non-root, read-only, HTTP probes on /healthz), Service,
ServiceAccount, optional Ingress, NetworkPolicy, and with TLS a certificate of its own that every service
admits as a peer. Rendered manifests are validated against the Kubernetes schemas (1.31 and 1.35)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml
from chart_render import CI, PROD, by_name, env_of, render

from covenant.services import SERVICES

NAME = "rel-covenant-console"
INGRESS = [
    "--set",
    "console.ingress.enabled=true,console.ingress.host=covenant.bank.example,console.ingress.className=nginx",
    "--set-json",
    'console.ingress.tls=[{"secretName":"console-tls","hosts":["covenant.bank.example"]}]',
]


@pytest.mark.parametrize("values", [None, PROD, CI / "dev-values.yaml", CI / "vault-agent-values.yaml"])
def test_the_console_pod_is_locked_down_probed_over_http_and_knows_every_service(
    helm: str, values: Path | None
) -> None:
    docs = render(helm, *(["-f", str(values)] if values else []))
    d = by_name(docs, "Deployment")[NAME]
    pod = d["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True and pod["serviceAccountName"] == NAME
    assert NAME in by_name(docs, "ServiceAccount")
    (c,) = pod["containers"]
    assert c["args"] == ["serve", "console"]
    assert c["ports"] == [{"name": "http", "containerPort": 8080, "protocol": "TCP"}]
    sc = c["securityContext"]
    assert sc["readOnlyRootFilesystem"] is True and sc["allowPrivilegeEscalation"] is False
    assert sc["capabilities"]["drop"] == ["ALL"]
    assert c["resources"]["requests"]["cpu"] and c["resources"]["limits"]["memory"]
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        assert c[probe]["httpGet"] == {"path": "/healthz", "port": "http"}
    env = env_of(c)
    assert env["COVENANT_CONSOLE_LISTEN"]["value"] == "0.0.0.0:8080"
    dev = values is not None and values.name == "dev-values.yaml"  # skaffold's plain-HTTP port-forward
    assert env["COVENANT_CONSOLE_SECURE_COOKIES"]["value"] == ("false" if dev else "true")
    for svc in SERVICES:  # the headless Service: every replica, round_robin
        assert env[f"COVENANT_{svc.upper()}_TARGET"]["value"].startswith(
            f"dns:///rel-covenant-{svc}-headless."
        )
    assert not [k for k in env if k.endswith("_DB_URL")]  # it keeps no data
    mounts = {m["mountPath"] for m in c["volumeMounts"]}
    assert {"/tmp", "/var/lib/covenant"} <= mounts
    vault = env["COVENANT_SECRETS_PROVIDER"]["value"] == "vault"
    assert ("/etc/covenant/secrets" in mounts) is not vault  # the session key: secrets file or Vault KV
    service = by_name(docs, "Service")[NAME]
    assert service["spec"]["ports"] == [
        {"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP", "appProtocol": "http"}
    ]
    assert service["spec"]["selector"] == d["spec"]["selector"]["matchLabels"]
    assert not by_name(docs, "Ingress")


def test_the_ingress_and_the_network_policies(helm: str) -> None:
    docs = render(helm, "-f", str(PROD), *INGRESS)
    (ingress,) = by_name(docs, "Ingress").values()
    assert ingress["spec"]["ingressClassName"] == "nginx"
    assert ingress["spec"]["tls"] == [{"secretName": "console-tls", "hosts": ["covenant.bank.example"]}]
    (rule,) = ingress["spec"]["rules"]
    assert rule["host"] == "covenant.bank.example"
    (path,) = rule["http"]["paths"]
    assert path["backend"]["service"] == {"name": NAME, "port": {"name": "http"}}
    policy = by_name(docs, "NetworkPolicy")[NAME]
    assert policy["spec"]["ingress"] == [
        {"ports": [{"port": 8080, "protocol": "TCP"}]}
    ]  # its port, nothing else
    for svc in SERVICES:  # every service admits the console's pods on its gRPC port
        grpc_rule = by_name(docs, "NetworkPolicy")[f"rel-covenant-{svc}"]["spec"]["ingress"][0]
        labels = [p["podSelector"]["matchLabels"] for p in grpc_rule["from"] if "podSelector" in p]
        assert {
            "app.kubernetes.io/name": "covenant",
            "app.kubernetes.io/instance": "rel",
            "app.kubernetes.io/component": "console",
        } in labels
    off = render(helm, "-f", str(PROD), "--set", "console.enabled=false")
    assert not [d for d in off if d["metadata"]["name"].startswith(NAME)]


@pytest.mark.parametrize("values", ["tls-cert-manager-values.yaml", "tls-existing-secret-values.yaml"])
def test_with_tls_the_console_has_a_certificate_every_service_admits(helm: str, values: str) -> None:
    docs = render(helm, "-f", str(CI / values))
    (c,) = by_name(docs, "Deployment")[NAME]["spec"]["template"]["spec"]["containers"]
    env = env_of(c)
    assert env["COVENANT_TLS_MODE"]["value"] in ("tls", "mtls") and "/etc/covenant/tls" in {
        m["mountPath"] for m in c["volumeMounts"]
    }
    assert "COVENANT_TLS_ALLOWED_PEERS" not in env  # a client only: no gRPC server to guard
    console_id = "spiffe://cluster.local/ns/default/sa/rel-covenant-console"
    for svc in SERVICES:
        (sc,) = by_name(docs, "Deployment")[f"rel-covenant-{svc}"]["spec"]["template"]["spec"]["containers"]
        assert console_id in env_of(sc)["COVENANT_TLS_ALLOWED_PEERS"]["value"].split(",")
    if "cert-manager" in values:
        cert = by_name(docs, "Certificate")["rel-covenant-console-tls"]
        assert cert["spec"]["uris"] == [console_id] and "client auth" in cert["spec"]["usages"]


@pytest.mark.parametrize("k8s", ["1.31.0", "1.35.0"])
def test_the_console_objects_validate_against_kubernetes_schemas(helm: str, tmp_path: Path, k8s: str) -> None:
    docs = [
        d
        for d in render(helm, "-f", str(PROD), *INGRESS)
        if d["metadata"]["name"].startswith(NAME) and d["kind"] != "Certificate"
    ]
    assert {d["kind"] for d in docs} == {
        "Deployment",
        "Service",
        "ServiceAccount",
        "Ingress",
        "NetworkPolicy",
    }
    path = tmp_path / "console.yaml"
    path.write_text(yaml.safe_dump_all(docs))
    validator = Path(__import__("sys").executable).with_name("kubernetes-validate")
    result = subprocess.run(
        [str(validator), "--strict", "-k", k8s, str(path)], capture_output=True, text=True
    )
    assert result.returncode == 0 and "INVALID" not in result.stdout, result.stdout[-3000:] + result.stderr
