"""Safe defaults: a bare `helm install` runs correctly as rendered (one replica per service, SQLite on a
PersistentVolumeClaim, one generated secrets file shared by every pod), a database brings the scaled defaults,
and asking a service without a database for several replicas refuses to render, naming the values to set.
The bare default also runs as containers in tests/container/."""

from __future__ import annotations

import base64
import json
import subprocess
from pathlib import Path

import pytest
from chart_render import CHART, by_name, env_of, render, service_deployments

from covenant.auth import public_jwk
from covenant.secrets import DevSecretsProvider
from covenant.services import SERVICES


def test_bare_install_runs_one_replica_per_service_on_a_claim_without_hpa_pdb_or_jobs(helm: str) -> None:
    docs = render(helm)
    deployments = service_deployments(docs)
    claims = by_name(docs, "PersistentVolumeClaim")
    assert len(deployments) == len(SERVICES) == len(claims)
    for name, d in deployments.items():
        assert d["spec"]["replicas"] == 1 and d["spec"]["strategy"] == {"type": "Recreate"}
        (data,) = [v for v in d["spec"]["template"]["spec"]["volumes"] if v["name"] == "data"]
        claim = claims[data["persistentVolumeClaim"]["claimName"]]
        assert claim["spec"]["accessModes"] == ["ReadWriteOnce"]
        assert claim["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"
        assert name + "-data" == claim["metadata"]["name"]
    assert not {"HorizontalPodAutoscaler", "PodDisruptionBudget", "Job"} & {d["kind"] for d in docs}


def test_bare_install_shares_one_generated_secrets_file_the_dev_provider_reads(
    helm: str, tmp_path: Path
) -> None:
    docs = render(helm)
    (secret,) = by_name(docs, "Secret").values()
    assert secret["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"
    for d in service_deployments(docs).values():
        pod = d["spec"]["template"]["spec"]
        (volume,) = [v for v in pod["volumes"] if v["name"] == "secrets"]
        assert volume["secret"]["secretName"] == secret["metadata"]["name"]
    (tmp_path / "dev-secrets.json").write_bytes(base64.b64decode(secret["data"]["dev-secrets.json"]))
    provider = DevSecretsProvider(tmp_path)
    for name in SERVICES:
        assert len(provider.get_secret(f"service-accounts/{name}")["client_secret"]) >= 32
    assert len(provider.get_secret("identity/bootstrap-admin")["password"]) >= 16
    (key,) = json.loads(provider.get_secret("identity/signing-keys")["keys"])
    assert public_jwk(key["pem"], key["kid"])["kty"] == "RSA" and key["retired_at"] is None
    assert isinstance(key["created_at"], int)
    field = b"identity.employees.bank_card"
    sealed = provider.encrypt("identity", b"6222020200112233", context=field)
    assert provider.decrypt("identity", sealed, context=field) == b"6222020200112233"
    shipped = json.loads(base64.b64decode(secret["data"]["dev-secrets.json"]))["keys"]["identity"]
    assert json.loads((tmp_path / "dev-secrets.json").read_text())["keys"]["identity"] == shipped


@pytest.mark.parametrize(
    "extra",
    [
        ["--set", "secrets.existingSecret=covenant-secrets"],
        ["--set", "vault.enabled=true"],
    ],
)
def test_a_database_brings_the_scaled_defaults(helm: str, extra: list[str]) -> None:
    docs = render(helm, "--set", "database.existingSecret=covenant-db-urls", *extra)
    assert not by_name(docs, "Secret") and not by_name(docs, "PersistentVolumeClaim")
    hpas = by_name(docs, "HorizontalPodAutoscaler")
    for name, d in service_deployments(docs).items():
        assert "replicas" not in d["spec"] and d["spec"]["strategy"]["type"] == "RollingUpdate"
        assert hpas[name]["spec"]["minReplicas"] == 2
        assert by_name(docs, "PodDisruptionBudget")[name]["spec"]["minAvailable"] == 1
    assert len(by_name(docs, "Job")) == len(SERVICES)


def test_one_service_with_a_database_scales_while_the_others_stay_single(helm: str) -> None:
    docs = render(helm, "--set", "database.urls.points=postgresql://pg/points")
    assert set(by_name(docs, "HorizontalPodAutoscaler")) == {"rel-covenant-points"}
    assert "rel-covenant-points-data" not in by_name(docs, "PersistentVolumeClaim")
    assert service_deployments(docs)["rel-covenant-identity"]["spec"]["replicas"] == 1


@pytest.mark.parametrize(
    "override", ["services.points.replicaCount=3", "services.points.autoscaling.enabled=true"]
)
def test_several_replicas_without_a_database_refuse_to_render_naming_the_values(
    helm: str, override: str
) -> None:
    result = subprocess.run(
        [helm, "template", "rel", str(CHART), "--set", override], capture_output=True, text=True
    )
    assert result.returncode != 0
    for value in ("database.urls.points", "database.existingSecret", "services.points.replicaCount"):
        assert value in result.stderr, result.stderr


def test_explicit_replicas_with_a_database_are_honoured(helm: str) -> None:
    docs = render(
        helm,
        "--set",
        "database.urls.points=postgresql://pg/points",
        "--set",
        "services.points.replicaCount=3",
        "--set",
        "services.points.autoscaling.enabled=false",
    )
    assert service_deployments(docs)["rel-covenant-points"]["spec"]["replicas"] == 3
    assert "rel-covenant-points" not in by_name(docs, "HorizontalPodAutoscaler")
    assert by_name(docs, "PodDisruptionBudget")["rel-covenant-points"]["spec"]["minAvailable"] == 1


@pytest.mark.parametrize("grace", [None, "45"])
def test_termination_grace_covers_the_drain_grace_plus_a_margin(helm: str, grace: str | None) -> None:
    """Kubernetes SIGKILLs a pod at ``terminationGracePeriodSeconds``: it must outlast the service's own drain
    grace (after which handlers are cancelled and roll back) plus the time workers take to stop."""
    docs = render(helm, *(["--set", f"graceSeconds={grace}"] if grace else []))
    for name, d in service_deployments(docs).items():
        spec = d["spec"]["template"]["spec"]
        (container,) = [c for c in spec["containers"] if c["name"] == name] or spec["containers"][:1]
        drain = float(env_of(container)["COVENANT_GRACE_SECONDS"]["value"])
        if grace:
            assert drain == float(grace)
        assert spec["terminationGracePeriodSeconds"] >= drain + 5, name
