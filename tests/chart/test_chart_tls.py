"""The chart with TLS on, in each certificate source (cert-manager, existing Secret, Vault PKI via the agent):
what the pods mount and are told, what cert-manager is asked for, and what the Vault Agent renders. Lint and
kubernetes-validate --strict (1.31, 1.35) run over the same values files in test_chart_render.py
(charts/covenant/ci/tls-*-values.yaml)."""

from __future__ import annotations

import subprocess

import pytest
import yaml
from chart_render import CHART, CI, by_name, env_of, render, service_deployments

from covenant.grpc.tls import service_of
from covenant.services import SERVICES

CERT_MANAGER = CI / "tls-cert-manager-values.yaml"
EXISTING = CI / "tls-existing-secret-values.yaml"
VAULT = CI / "tls-vault-values.yaml"
DEFAULTS = yaml.safe_load((CHART / "values.yaml").read_text())


def containers(docs: list[dict]) -> dict[str, tuple[dict, dict]]:
    """{service: (pod template, container)}."""
    out = {}
    for d in service_deployments(docs).values():
        template = d["spec"]["template"]
        out[d["metadata"]["labels"]["app.kubernetes.io/component"]] = (
            template,
            template["spec"]["containers"][0],
        )
    return out


def test_tls_off_by_default_renders_no_tls_objects_but_headless_targets(helm: str) -> None:
    docs = render(helm)
    assert not [d for d in docs if d["apiVersion"].startswith("cert-manager")]
    for svc, (_, c) in containers(docs).items():
        env = env_of(c)
        assert "COVENANT_TLS_MODE" not in env and "COVENANT_HEALTH_LISTEN" not in env
        assert env["COVENANT_MAX_CONNECTION_AGE_SECONDS"]["value"] == "60"
        assert env[f"COVENANT_{svc.upper()}_TARGET"]["value"] == (
            f"dns:///rel-covenant-{svc}-headless.default.svc.cluster.local:{SERVICES[svc].port}"
        )


def test_cert_manager_mtls(helm: str) -> None:
    docs = render(helm, "-f", str(CERT_MANAGER))
    issuers = by_name(docs, "Issuer")
    assert issuers["rel-covenant-selfsigned"]["spec"] == {"selfSigned": {}}
    assert issuers["rel-covenant-ca"]["spec"] == {"ca": {"secretName": "rel-covenant-ca"}}
    certs = by_name(docs, "Certificate")
    assert certs["rel-covenant-ca"]["spec"]["isCA"] is True
    for svc, (template, c) in containers(docs).items():
        name = f"rel-covenant-{svc}"
        cert = certs[f"{name}-tls"]["spec"]
        assert cert["secretName"] == f"{name}-tls"
        assert cert["issuerRef"] == {"name": "rel-covenant-ca", "kind": "Issuer", "group": "cert-manager.io"}
        assert set(cert["usages"]) >= {"server auth", "client auth"}
        assert cert["privateKey"]["rotationPolicy"] == "Always"
        assert cert["uris"] == [f"spiffe://cluster.local/ns/default/sa/{name}"]
        assert service_of(cert["uris"][0]) == svc  # the identity the services check maps back
        env = {k: v["value"] for k, v in env_of(c).items() if "value" in v}
        target_host = env[f"COVENANT_{svc.upper()}_TARGET"].removeprefix("dns:///").rsplit(":", 1)[0]
        assert target_host in cert["dnsNames"]  # callers verify the name they dial
        assert env["COVENANT_TLS_MODE"] == "mtls"
        assert env["COVENANT_TLS_CERT_FILE"] == "/etc/covenant/tls/tls.crt"
        assert env["COVENANT_TLS_CA_FILE"] == "/etc/covenant/tls/ca.crt"
        volumes = {v["name"]: v for v in template["spec"]["volumes"]}
        assert volumes["tls"]["secret"]["secretName"] == f"{name}-tls"
        assert {"name": "tls", "mountPath": "/etc/covenant/tls", "readOnly": True} in c["volumeMounts"]
        peers = env["COVENANT_TLS_ALLOWED_PEERS"].split(",")
        callers = {service_of(p) for p in peers if p.startswith("spiffe://cluster.local/ns/default/")}
        # itself and its declared callers, and the console (no service: it calls with its users' tokens)
        assert callers == {svc, *DEFAULTS["services"][svc]["callers"], None}
        assert "spiffe://cluster.local/ns/default/sa/rel-covenant-console" in peers
        assert "spiffe://cluster.local/ns/gateway/sa/*" in peers
        assert env["COVENANT_HEALTH_LISTEN"] == "0.0.0.0:8086"
        assert {"name": "health", "containerPort": 8086, "protocol": "TCP"} in c["ports"]
        for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
            assert c[probe]["grpc"]["port"] == 8086


def test_cert_manager_with_an_external_issuer(helm: str) -> None:
    docs = render(
        helm,
        "--set", "tls.enabled=true",
        "--set", "tls.certManager.createIssuer=false",
        "--set", "tls.certManager.issuerRef.name=bank-ca",
    )  # fmt: skip
    assert not by_name(docs, "Issuer")
    for cert in by_name(docs, "Certificate").values():
        assert cert["spec"]["issuerRef"] == {
            "name": "bank-ca",
            "kind": "ClusterIssuer",
            "group": "cert-manager.io",
        }


def test_existing_secret_server_tls(helm: str) -> None:
    docs = render(helm, "-f", str(EXISTING))
    assert not [d for d in docs if d["apiVersion"].startswith("cert-manager")]
    for svc, (template, c) in containers(docs).items():
        volumes = {v["name"]: v for v in template["spec"]["volumes"]}
        assert volumes["tls"]["secret"]["secretName"] == f"bank-{svc}-tls"
        env = {k: v.get("value") for k, v in env_of(c).items()}
        assert env["COVENANT_TLS_MODE"] == "tls"
        assert env["COVENANT_MAX_CONNECTION_AGE_SECONDS"] == "120"


def test_vault_pki_through_the_agent(helm: str) -> None:
    docs = render(helm, "-f", str(VAULT))
    for svc, (template, c) in containers(docs).items():
        notes = template["metadata"]["annotations"]
        calls = set()
        for file, field in (("tls.crt", "certificate"), ("tls.key", "private_key"), ("ca.crt", "issuing_ca")):
            assert (
                notes[f"vault.hashicorp.com/agent-inject-secret-{file}"]
                == "pki-internal/issue/covenant-services"
            )
            template_text = notes[f"vault.hashicorp.com/agent-inject-template-{file}"]
            assert template_text.endswith(f"{{{{ .Data.{field} }}}}{{{{- end -}}}}")
            calls.add(template_text.split("-}}")[0])
        assert len(calls) == 1  # one identical call: the agent issues one certificate for all three files
        (call,) = calls
        assert f'"uri_sans=spiffe://cluster.local/ns/default/sa/rel-covenant-{svc}"' in call
        assert f"rel-covenant-{svc}-headless.default.svc.cluster.local" in call and '"ttl=24h"' in call
        env = {k: v.get("value") for k, v in env_of(c).items()}
        assert env["COVENANT_TLS_CERT_FILE"] == "/vault/secrets/tls.crt"
        assert "tls" not in {v["name"] for v in template["spec"]["volumes"]}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--set", "tls.enabled=true", "--set", "tls.source=vault"], "vault.mode=agent"),
        (["--set", "tls.enabled=true", "--set", "tls.certManager.createIssuer=false"], "issuerRef.name"),
        (["--set", "tls.enabled=true", "--set", "tls.mode=plain"], "/tls/mode"),
    ],
)
def test_inconsistent_tls_settings_fail_the_render(helm: str, args: list[str], message: str) -> None:
    result = subprocess.run([helm, "template", "rel", str(CHART), *args], capture_output=True, text=True)
    assert result.returncode != 0
    assert message in result.stderr
