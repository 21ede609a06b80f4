"""The Helm chart renders valid, hardened Kubernetes objects: lint, schema validation against Kubernetes
1.31 and 1.35 (kubernetes-validate, offline), and assertions over the rendered objects.

Helm 4.1.4 comes from the npm registry (scripts/fetch_helm.sh, cached under .cache/helm; fixture in
conftest.py).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from chart_render import CHART, CI, PROD, by_name, env_of, render, service_deployments

from covenant.services import SERVICES, SUBSCRIBERS

VALUES_FILES = {"default": None, **{p.stem: p for p in sorted(CI.glob("*.yaml"))}}
AGENT = CI / "vault-agent-values.yaml"
NO_VAULT = CI / "existing-secret-values.yaml"


def args_for(values: str) -> list[str]:
    path = VALUES_FILES[values]
    return ["-f", str(path)] if path else []


def callers_of(svc: str) -> set[str]:
    """Who may call ``svc``: the services that deliver events to it, and everyone calls identity."""
    callers = {producer for producer, consumers in SUBSCRIBERS.items() if svc in consumers}
    if svc == "identity":
        callers |= set(SERVICES) - {"identity"}
    return callers


@pytest.mark.parametrize("values", list(VALUES_FILES))
def test_lint_strict(helm: str, values: str) -> None:
    result = subprocess.run(
        [helm, "lint", "--strict", str(CHART), *args_for(values)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("k8s", ["1.31.0", "1.35.0"])
@pytest.mark.parametrize("values", list(VALUES_FILES))
def test_rendered_manifests_validate_against_kubernetes_schemas(
    helm: str, tmp_path: Path, k8s: str, values: str
) -> None:
    docs = render(helm, *args_for(values))
    # ServiceMonitor (prometheus-operator) and cert-manager objects are CRDs the bundled schemas do not
    # know; checked by shape in their own tests.
    core = [
        d for d in docs if d["kind"] != "ServiceMonitor" and not d["apiVersion"].startswith("cert-manager")
    ]
    path = tmp_path / "manifest.yaml"
    path.write_text(yaml.safe_dump_all(core))
    validator = Path(sys.executable).with_name("kubernetes-validate")
    result = subprocess.run(
        [str(validator), "--strict", "-k", k8s, str(path)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "INVALID" not in result.stdout and "ERROR" not in result.stdout, result.stdout[-3000:]


@pytest.mark.parametrize("values", list(VALUES_FILES))
def test_every_pod_is_non_root_read_only_with_grpc_probes_and_resources(helm: str, values: str) -> None:
    docs = render(helm, *args_for(values))
    pods = {
        d["metadata"]["name"]: d["spec"]["template"]["spec"]
        for d in docs
        if d["kind"] in ("Deployment", "Job")
    }
    assert pods
    for name, pod in pods.items():
        psc = pod["securityContext"]
        assert psc["runAsNonRoot"] is True and psc["runAsUser"] == 10001, name
        assert psc["seccompProfile"]["type"] == "RuntimeDefault", name
        mounts = {v["name"]: v for v in pod["volumes"]}
        assert "emptyDir" in mounts["tmp"], name
        # data: the service's SQLite claim without a database (see test_chart_defaults.py), else scratch
        assert "emptyDir" in mounts["data"] or mounts["data"]["persistentVolumeClaim"]["claimName"], name
        for c in pod["containers"]:
            sc = c["securityContext"]
            assert sc["runAsNonRoot"] is True, name
            assert sc["readOnlyRootFilesystem"] is True and sc["allowPrivilegeEscalation"] is False, name
            assert sc["capabilities"]["drop"] == ["ALL"] and not sc["capabilities"].get("add"), name
            assert c["resources"]["requests"]["cpu"] and c["resources"]["limits"]["memory"], name
            paths = {m["mountPath"] for m in c["volumeMounts"]}
            assert {"/var/lib/covenant", "/tmp"} <= paths, name
    for name, d in service_deployments(docs).items():
        svc = d["metadata"]["labels"]["app.kubernetes.io/component"]
        (c,) = d["spec"]["template"]["spec"]["containers"]
        assert c["args"] == ["serve", svc]
        port = c["ports"][0]
        assert port["name"] == "grpc" and port["containerPort"] == SERVICES[svc].port
        assert env_of(c)["COVENANT_LISTEN"]["value"] == f"0.0.0.0:{SERVICES[svc].port}"
        env = env_of(c)
        # with TLS the probes call the plaintext health-only listener (kubelet gRPC probes speak no TLS)
        health = (
            int(env["COVENANT_HEALTH_LISTEN"]["value"].rsplit(":", 1)[1]) if "COVENANT_TLS_MODE" in env else 0
        )
        for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
            assert c[probe]["grpc"]["port"] == (health or SERVICES[svc].port), (name, probe)
        assert c["readinessProbe"]["grpc"]["service"] == SERVICES[svc].grpc_service


def test_every_service_has_deployment_service_account_hpa_and_pdb(helm: str) -> None:
    for values in VALUES_FILES:
        docs = render(helm, *args_for(values))
        deployments = service_deployments(docs)
        assert deployments
        for name, d in deployments.items():
            svc = d["metadata"]["labels"]["app.kubernetes.io/component"]
            selector = d["spec"]["selector"]["matchLabels"]
            assert d["spec"]["template"]["spec"]["serviceAccountName"] == name
            assert name in by_name(docs, "ServiceAccount"), (values, name)
            if d["spec"]["strategy"]["type"] == "Recreate":  # no database: one replica (test_chart_defaults)
                assert d["spec"]["replicas"] == 1 and name not in by_name(docs, "HorizontalPodAutoscaler")
                continue
            hpa = by_name(docs, "HorizontalPodAutoscaler")[name]
            assert hpa["apiVersion"] == "autoscaling/v2" and hpa["spec"]["scaleTargetRef"]["name"] == name
            assert "replicas" not in d["spec"]  # the HPA owns the replica count
            pdb = by_name(docs, "PodDisruptionBudget")[name]
            assert pdb["apiVersion"] == "policy/v1" and pdb["spec"]["selector"]["matchLabels"] == selector
            service = by_name(docs, "Service")[name]
            assert service["spec"]["selector"] == selector
            grpc_port = service["spec"]["ports"][0]
            tls = "COVENANT_TLS_MODE" in env_of(d["spec"]["template"]["spec"]["containers"][0])
            assert grpc_port["name"] == "grpc"
            assert grpc_port["appProtocol"] == ("kubernetes.io/h2" if tls else "kubernetes.io/h2c")
            headless = by_name(docs, "Service")[f"{name}-headless"]
            assert headless["spec"]["clusterIP"] == "None" and headless["spec"]["selector"] == selector
            assert grpc_port["port"] == SERVICES[svc].port and grpc_port["targetPort"] == "grpc"


def test_services_find_each_other_by_their_service_names(helm: str) -> None:
    docs = render(helm, "-f", str(PROD))
    services = {  # callers resolve the headless Service (every replica) through DNS
        f"dns:///{s['metadata']['name']}.default.svc.cluster.local:{s['spec']['ports'][0]['port']}": s[
            "metadata"
        ]["labels"]["app.kubernetes.io/component"]
        for s in by_name(docs, "Service").values()
        if s["spec"].get("clusterIP") == "None"
    }
    for d in service_deployments(docs).values():
        env = env_of(d["spec"]["template"]["spec"]["containers"][0])
        for svc in SERVICES:
            assert services[env[f"COVENANT_{svc.upper()}_TARGET"]["value"]] == svc
        assert env["COVENANT_AUTH_MODE"]["value"] == "jwt"
        assert env["COVENANT_OTEL_EXPORTER"]["value"] == "otlp"
        assert env["OTEL_EXPORTER_OTLP_ENDPOINT"]["value"] == "http://otel-collector.observability:4317"
        assert env["OTEL_RESOURCE_ATTRIBUTES"]["value"] == "deployment.environment=production"


def test_network_policies_admit_only_declared_callers(helm: str) -> None:
    for values in ("default", "production-values"):
        docs = render(helm, *args_for(values))
        policies = by_name(docs, "NetworkPolicy")
        assert len(policies) == len(SERVICES) + 1  # and the console's (test_chart_console.py)
        for svc in SERVICES:
            policy = policies[f"rel-covenant-{svc}"]
            assert policy["spec"]["policyTypes"] == ["Ingress"]
            assert policy["spec"]["podSelector"]["matchLabels"]["app.kubernetes.io/component"] == svc
            grpc_rule, *others = policy["spec"]["ingress"]
            assert grpc_rule["ports"] == [{"port": SERVICES[svc].port, "protocol": "TCP"}]
            pods = [p for p in grpc_rule["from"] if "podSelector" in p and "namespaceSelector" not in p]
            allowed = {p["podSelector"]["matchLabels"]["app.kubernetes.io/component"] for p in pods}
            assert allowed == callers_of(svc) | {"console"}, (values, svc)  # the console calls every service
            for p in pods:
                assert p["podSelector"]["matchLabels"]["app.kubernetes.io/instance"] == "rel"
            extra = [p for p in grpc_rule["from"] if p not in pods]
            if values == "default":
                assert extra == [] and others == []
            else:  # the CRM namespace from networkPolicy.allowedIngress; metrics only from monitoring
                crm = {"matchLabels": {"kubernetes.io/metadata.name": "crm"}}
                assert extra == [{"namespaceSelector": crm}]
                (metrics_rule,) = others
                assert metrics_rule["ports"] == [{"port": 9464, "protocol": "TCP"}]
                ns = metrics_rule["from"][0]["namespaceSelector"]["matchLabels"]
                assert ns == {"kubernetes.io/metadata.name": "monitoring"}
    assert not by_name(render(helm, "--set", "networkPolicy.enabled=false"), "NetworkPolicy")


def test_vault_direct_mode_logs_in_with_the_service_account(helm: str) -> None:
    docs = render(helm, "-f", str(PROD))
    for d in service_deployments(docs).values():
        svc = d["metadata"]["labels"]["app.kubernetes.io/component"]
        pod = d["spec"]["template"]["spec"]
        assert not any(
            k.startswith("vault.hashicorp.com") for k in d["spec"]["template"]["metadata"]["annotations"]
        )
        assert pod["automountServiceAccountToken"] is True
        env = {k: v.get("value") for k, v in env_of(pod["containers"][0]).items()}
        assert env["COVENANT_SECRETS_PROVIDER"] == "vault"
        assert env["VAULT_ADDR"] == "https://vault.vault.svc:8200"
        assert env["COVENANT_VAULT_AUTH"] == "kubernetes" and env["COVENANT_VAULT_AUTH_MOUNT"] == "kubernetes"
        assert env["COVENANT_VAULT_ROLE"] == f"covenant-{svc}"
        assert env["COVENANT_VAULT_KV_MOUNT"] == "secret" and env["COVENANT_VAULT_KV_PREFIX"] == "covenant"
        assert env["COVENANT_VAULT_TRANSIT_KEY"] == "covenant-fields"
        assert env["COVENANT_VAULT_DB_ROLE"] == f"covenant-{svc}-rw"
        db = env_of(pod["containers"][0])[f"COVENANT_{svc.upper()}_DB_URL"]["valueFrom"]["secretKeyRef"]
        assert db == {"name": "covenant-db-urls", "key": f"{svc}-db-url"}
        assert "COVENANT_DEV_SECRETS_DIR" not in env


def test_vault_agent_annotations_only_in_agent_mode(helm: str) -> None:
    def annotations(*args: str) -> dict[str, dict]:
        docs = render(helm, *args)
        pods = {n: d["spec"]["template"] for n, d in service_deployments(docs).items()}
        pods |= {n: d["spec"]["template"] for n, d in by_name(docs, "Job").items()}
        return {n: p["metadata"].get("annotations") or {} for n, p in pods.items()}

    for args in ([], ["-f", str(PROD)], ["-f", str(NO_VAULT)]):
        for name, notes in annotations(*args).items():
            assert not any(k.startswith("vault.hashicorp.com") for k in notes), (args, name)
    agent = annotations("-f", str(AGENT))
    docs = render(helm, "-f", str(AGENT))
    for name, d in service_deployments(docs).items():
        svc = d["metadata"]["labels"]["app.kubernetes.io/component"]
        notes = agent[name]
        assert notes["vault.hashicorp.com/agent-inject"] == "true"
        assert notes["vault.hashicorp.com/role"] == f"covenant-{svc}"
        assert notes["vault.hashicorp.com/auth-path"] == "auth/kubernetes"
        env = {k: v.get("value") for k, v in env_of(d["spec"]["template"]["spec"]["containers"][0]).items()}
        assert env["VAULT_ADDR"] == "http://127.0.0.1:8200"  # the agent's cache listener
        assert "COVENANT_VAULT_ROLE" not in env
    # Migration Jobs get no agent: a sidecar that never exits would keep the hook Job running forever.
    for name in by_name(docs, "Job"):
        assert not agent[name], name


def test_migration_jobs_are_hooks_that_need_nothing_created_by_the_release(helm: str) -> None:
    assert not by_name(render(helm), "Job")  # no external database: nothing to migrate before start
    docs = render(helm, "-f", str(PROD))
    jobs = by_name(docs, "Job")
    assert {j["metadata"]["labels"]["app.kubernetes.io/component"] for j in jobs.values()} == {
        f"{s}-migrate" for s in SERVICES
    }
    for name, job in jobs.items():
        notes = job["metadata"]["annotations"]
        assert notes["helm.sh/hook"] == "pre-install,pre-upgrade"
        assert set(notes["helm.sh/hook-delete-policy"].split(",")) == {
            "before-hook-creation",
            "hook-succeeded",
        }
        pod = job["spec"]["template"]["spec"]
        assert pod["restartPolicy"] == "Never" and pod["automountServiceAccountToken"] is False
        assert "serviceAccountName" not in pod  # the release's ServiceAccounts do not exist yet
        assert all("configMap" not in v and "secret" not in v for v in pod["volumes"]), name
        (c,) = pod["containers"]
        svc = c["args"][1]
        assert c["args"] == ["migrate", svc]
        assert f"COVENANT_{svc.upper()}_DB_URL" in env_of(c)


def test_rule_packs_configmap_mounts_every_shipped_pack(helm: str) -> None:
    docs = render(helm)
    (cm,) = by_name(docs, "ConfigMap").values()
    packs = sorted((CHART / "files" / "rules").glob("*/*.yaml"))
    assert packs
    for d in service_deployments(docs).values():
        pod = d["spec"]["template"]["spec"]
        (volume,) = [v for v in pod["volumes"] if v["name"] == "rules"]
        assert volume["configMap"]["name"] == cm["metadata"]["name"]
        items = {i["path"]: cm["data"][i["key"]] for i in volume["configMap"]["items"]}
        shipped = {str(p.relative_to(CHART / "files" / "rules")): p.read_text() for p in packs}
        assert {k: v.rstrip("\n") for k, v in items.items()} == {
            k: v.rstrip("\n") for k, v in shipped.items()
        }
        env = env_of(pod["containers"][0])
        mount = next(m for m in pod["containers"][0]["volumeMounts"] if m["name"] == "rules")
        assert mount["mountPath"] == env["COVENANT_RULES_DIR"]["value"] and mount["readOnly"] is True
    assert not by_name(render(helm, "--set", "rules.configMap=false"), "ConfigMap")


def test_existing_secret_path_without_vault(helm: str) -> None:
    docs = render(helm, "-f", str(NO_VAULT))
    for d in service_deployments(docs).values():
        pod = d["spec"]["template"]["spec"]
        (volume,) = [v for v in pod["volumes"] if v["name"] == "secrets"]
        assert volume["secret"]["secretName"] == "covenant-secrets"
        env = {k: v.get("value") for k, v in env_of(pod["containers"][0]).items()}
        assert env["COVENANT_SECRETS_PROVIDER"] == "dev"
        mount = next(m for m in pod["containers"][0]["volumeMounts"] if m["name"] == "secrets")
        assert mount["mountPath"] == env["COVENANT_DEV_SECRETS_DIR"] and mount["readOnly"] is True
        assert pod["automountServiceAccountToken"] is False
        assert not any(k.startswith("VAULT_") or k.startswith("COVENANT_VAULT") for k in env)


def test_a_disabled_service_renders_nothing(helm: str) -> None:
    docs = render(helm, "-f", str(PROD), "--set", "services.compliance.enabled=false")
    assert not [d for d in docs if "compliance" in d["metadata"]["name"]]
    assert not [
        d
        for d in docs
        if d["metadata"].get("labels", {}).get("app.kubernetes.io/component", "").startswith("compliance")
    ]
    # ... and no longer appears among the callers of the services it used to deliver events to.
    scoring = by_name(docs, "NetworkPolicy")["rel-covenant-scoring"]["spec"]["ingress"][0]["from"]
    assert all(
        p.get("podSelector", {}).get("matchLabels", {}).get("app.kubernetes.io/component") != "compliance"
        for p in scoring
    )


def test_service_monitor_only_when_enabled(helm: str) -> None:
    assert not by_name(render(helm), "ServiceMonitor")
    assert not by_name(render(helm, "--set", "metrics.serviceMonitor.enabled=true"), "ServiceMonitor")
    docs = render(helm, "-f", str(PROD))
    monitors = by_name(docs, "ServiceMonitor")
    # headless Services (no metrics port, so never scraped twice) have no ServiceMonitor of their own
    assert set(monitors) == {
        n
        for n, s in by_name(docs, "Service").items()
        if s["spec"].get("clusterIP") != "None"
        and s["metadata"]["labels"]["app.kubernetes.io/component"] != "console"
    }
    for name, m in monitors.items():
        assert m["apiVersion"] == "monitoring.coreos.com/v1"
        assert m["metadata"]["labels"]["release"] == "kube-prometheus-stack"
        (endpoint,) = m["spec"]["endpoints"]
        service = by_name(docs, "Service")[name]
        assert endpoint["port"] in {p["name"] for p in service["spec"]["ports"]}
        assert all(
            service["metadata"]["labels"][k] == v for k, v in m["spec"]["selector"]["matchLabels"].items()
        )
        (c,) = service_deployments(docs)[name]["spec"]["template"]["spec"]["containers"]
        assert {"name": "metrics", "containerPort": 9464, "protocol": "TCP"} in c["ports"]
        assert env_of(c)["COVENANT_METRICS_PORT"]["value"] == "9464"


def test_image_from_global_registry_and_app_version(helm: str) -> None:
    docs = render(helm, "--set", "global.imageRegistry=mirror.local")
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text())
    for d in service_deployments(docs).values():
        image = d["spec"]["template"]["spec"]["containers"][0]["image"]
        assert image == f"mirror.local/covenant/covenant:{chart['appVersion']}"
    docs = render(helm, "--set", "image.registry=", "--set", "image.tag=abc@sha256:0f")
    for d in service_deployments(docs).values():
        assert d["spec"]["template"]["spec"]["containers"][0]["image"] == "covenant/covenant:abc@sha256:0f"


def test_a_service_whose_callers_are_all_disabled_admits_nobody(helm: str) -> None:
    off = [f"services.{s}.enabled=false" for s in SERVICES if s != "commitments"] + ["console.enabled=false"]
    (policy,) = by_name(render(helm, "--set", ",".join(off)), "NetworkPolicy").values()
    assert policy["spec"]["ingress"] == []  # never a rule with an empty `from`, which would admit everyone
