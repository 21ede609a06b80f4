"""The Dockerfile builds one slim non-root image offline: one BASE build argument (official or local
Debian base), packages only from the host-built wheelhouse, compilers nowhere, OCI labels and an SBOM."""

from __future__ import annotations

import re

from chart_render import ROOT

DOCKERFILE = (ROOT / "Dockerfile").read_text()


def stages() -> list[str]:
    return re.split(r"(?m)^FROM ", DOCKERFILE)[1:]


def test_both_stages_start_from_the_base_build_argument() -> None:
    assert re.search(r"(?m)^ARG BASE=docker.io/library/python:3.11-slim$", DOCKERFILE)
    deps, final = stages()
    assert deps.startswith("${BASE} AS deps") and final.startswith("${BASE}\n")
    assert "COPY --from=deps /opt/covenant /opt/covenant" in final


def test_installs_only_from_the_wheelhouse_without_compilers() -> None:
    installs = re.findall(r"pip (?:--python \S+ )?install ([^\n]*)", DOCKERFILE)
    assert len(installs) == 3 and all("--no-index" in i for i in installs)
    assert "--no-deps /app/*.whl" in installs[-1]  # the covenant wheel, checked against its digest
    for word in ("apt-get", "build-essential", "gcc", "curl", "wget"):
        assert word not in DOCKERFILE
    assert "sha256sum --check" in DOCKERFILE and "cyclonedx-py environment" in stages()[-1]


def test_final_stage_runs_covenant_as_uid_10001_with_oci_labels() -> None:
    final = stages()[-1]
    assert re.search(r"(?m)^USER 10001(:10001)?$", final)
    assert re.search(r'(?m)^ENTRYPOINT \["covenant"\]$', final)
    assert "COVENANT_DATA_DIR=/var/lib/covenant" in final
    for label in ("version", "revision", "source"):
        assert f'org.opencontainers.image.{label}="${{{label.upper()}}}"' in final


def test_dockerignore_keeps_secrets_and_local_state_out_of_the_context() -> None:
    lines = (ROOT / ".dockerignore").read_text().split()
    ignored = set(lines)
    assert {".git", ".venv", ".covenant", "*.db", "**/dev-secrets.json", "tests"} <= ignored
    assert not {"libs", "services", "rules", "pyproject.toml"} & ignored
    assert lines.index("!.cache/image/wheelhouse") > lines.index(".cache")  # only the wheels of .cache
    assert lines.index("!.cache/image/app") > lines.index(".cache")
