"""values.schema.json closes every level (unknown keys rejected) and rejects wrong types and values."""

from __future__ import annotations

import json
import subprocess

import pytest
from chart_render import CHART

SCHEMA = json.loads((CHART / "values.schema.json").read_text())
# Kubernetes-typed fragments passed through verbatim; kubernetes-validate --strict checks them once rendered.
KUBERNETES_TYPED = {
    f"/definitions/service/properties/affinity/properties/{kind}/properties/"
    "requiredDuringSchedulingIgnoredDuringExecution"
    for kind in ("nodeAffinity", "podAffinity", "podAntiAffinity")
}


def open_objects(node: object, path: str = "") -> list[str]:
    """Paths of object schemas that accept any property name."""
    found = []
    if isinstance(node, dict):
        types = node.get("type")
        types = types if isinstance(types, list) else [types]
        if "object" in types and "additionalProperties" not in node and path not in KUBERNETES_TYPED:
            found.append(path)
        for key, child in node.items():
            found += open_objects(child, f"{path}/{key}")
    elif isinstance(node, list):
        for child in node:
            found += open_objects(child, path)
    return found


def test_every_object_level_is_closed() -> None:
    assert SCHEMA["additionalProperties"] is False
    assert open_objects(SCHEMA) == []


@pytest.mark.parametrize(
    "override",
    [
        "unknownKey=1",
        "image.digest=sha256:abc",
        "services.points.colour=blue",
        "services.search.enabled=true",
        "services.points.port=not-a-number",
        "services.points.port=70000",
        "services.points.enabled=maybe",
        "services.points.replicaCount=-1",
        "services.points.callers[0]=crm",
        "services.points.autoscaling.targetCPUUtilizationPercentage=150",
        "services.points.autoscaling.metric=qps",
        "services.points.pdb.maxAvailable=1",
        "services.points.resources.requests=big",
        "services.points.resources.gpus.count=1",
        "services.points.extraEnv[0].value=no-name",
        "services.points.extraEnv[0].secret=y",
        "services.points.tolerations[0].operator=Maybe",
        "services.points.affinity.zoneAffinity.x=y",
        "vault.mode=sidecar",
        "vault.enabled=yes",
        "vault.databaseRoles.search=x",
        "database.urls.points=mysql://db/points",
        "database.password=hunter2",
        "auth.mode=none",
        "otel.exporter=zipkin",
        "logLevel=TRACE",
        "graceSeconds=soon",
        "networkPolicy.allowedIngress[0].ports[0].port=80",
        "podSecurityContext.runAsNonRoot=false",
        "podSecurityContext.runAsUser=0",
        "containerSecurityContext.readOnlyRootFilesystem=false",
        "containerSecurityContext.allowPrivilegeEscalation=true",
        "containerSecurityContext.privileged=true",
        "containerSecurityContext.capabilities.add[0]=NET_ADMIN",
        "metrics.port=80",
        "metrics.serviceMonitor.interval=often",
        "migrations.backoffLimit=-1",
    ],
)
def test_schema_rejects_wrong_types_and_unknown_keys(helm: str, override: str) -> None:
    result = subprocess.run(
        [helm, "template", "rel", str(CHART), "--set", override], capture_output=True, text=True
    )
    assert result.returncode != 0, f"{override} was accepted"
    assert "schema" in result.stderr.lower(), result.stderr


@pytest.mark.parametrize(
    "override",
    [
        "services.points.extraEnv[0].name=X,services.points.extraEnv[0].value=one",
        "services.points.resources.requests.cpu=1",
        "database.urls.points=postgresql+psycopg://covenant@pg:5432/points",
        "vault.enabled=true,vault.mode=agent",
        "database.urls.points=sqlite:////var/lib/covenant/points.db",
        "services.points.pdb.minAvailable=50%",
    ],
)
def test_schema_accepts_well_formed_overrides(helm: str, override: str) -> None:
    result = subprocess.run(
        [helm, "template", "rel", str(CHART), "--set", override], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
