"""Rendering helpers shared by the chart tests (helm template -> list of objects)."""

from __future__ import annotations

import functools
import subprocess
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "charts" / "covenant"
CI = CHART / "ci"
PROD = CI / "production-values.yaml"


@functools.lru_cache(maxsize=128)
def _template(helm: str, args: tuple[str, ...], release: str) -> str:
    return subprocess.run(
        [helm, "template", release, str(CHART), *args], check=True, capture_output=True, text=True
    ).stdout


def render(helm: str, *args: str, release: str = "rel") -> list[dict]:
    """The objects `helm template <release> charts/covenant <args>` renders: fresh objects each call, from
    one helm run per argument list in this test process (libyaml parses them)."""
    return [d for d in yaml.load_all(_template(helm, args, release), Loader=LOADER) if d]


LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def by_name(docs: list[dict], kind: str) -> dict[str, dict]:
    return {d["metadata"]["name"]: d for d in docs if d["kind"] == kind}


def service_deployments(docs: list[dict]) -> dict[str, dict]:
    """The six services' Deployments by name (the console's has a test of its own: test_chart_console.py)."""
    return {
        n: d
        for n, d in by_name(docs, "Deployment").items()
        if d["metadata"]["labels"]["app.kubernetes.io/component"] != "console"
    }


def env_of(container: dict) -> dict[str, dict]:
    return {e["name"]: e for e in container.get("env", [])}
