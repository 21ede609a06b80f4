"""skaffold.yaml builds the one image and deploys this chart; the dev profile's values and port-forwards
match what the chart renders."""

from __future__ import annotations

import yaml
from chart_render import ROOT, by_name, render

from covenant.services import SERVICES

SKAFFOLD = yaml.safe_load((ROOT / "skaffold.yaml").read_text())


def test_builds_the_image_from_the_dockerfile_and_deploys_the_chart_with_helm() -> None:
    assert SKAFFOLD["apiVersion"] == "skaffold/v4beta13" and SKAFFOLD["kind"] == "Config"
    (artifact,) = SKAFFOLD["build"]["artifacts"]
    assert (ROOT / artifact["docker"]["dockerfile"]).is_file()
    (hook,) = artifact["hooks"]["before"]  # the offline Dockerfile installs from the host-built wheelhouse
    assert hook["command"] == ["scripts/build_wheelhouse.sh"] and (ROOT / hook["command"][0]).is_file()
    assert "ARG WHEELHOUSE=.cache/image/wheelhouse" in (ROOT / artifact["docker"]["dockerfile"]).read_text()
    (release,) = SKAFFOLD["manifests"]["helm"]["releases"]
    assert (ROOT / release["chartPath"] / "Chart.yaml").is_file()
    assert f"IMAGE_TAG_{artifact['image']}" in release["setValueTemplates"]["image.tag"]
    assert "helm" in SKAFFOLD["deploy"]


def test_dev_profile_forwards_every_rendered_service(helm: str) -> None:
    (dev,) = [p for p in SKAFFOLD["profiles"] if p["name"] == "dev"]
    (release,) = dev["manifests"]["helm"]["releases"]
    files = [str(ROOT / f) for f in release["valuesFiles"]]
    docs = [
        d
        for d in render(helm, *[a for f in files for a in ("-f", f)], release=release["name"])
        if d["kind"] in ("Service", "Deployment", "HorizontalPodAutoscaler")
    ]
    # the ClusterIP Services (the headless ones, for callers' DNS, lead to the same pods)
    services = {n: s for n, s in by_name(docs, "Service").items() if s["spec"].get("clusterIP") != "None"}
    forwarded = {f["resourceName"]: f["port"] for f in dev["portForward"]}
    assert forwarded == {n: s["spec"]["ports"][0]["port"] for n, s in services.items()}
    assert sorted(forwarded.values()) == sorted([80, *(s.port for s in SERVICES.values())])  # 80: the console
    for hpa in by_name(docs, "HorizontalPodAutoscaler").values():
        assert hpa["spec"]["maxReplicas"] == 1  # one pod per service: SQLite in its emptyDir stays consistent
