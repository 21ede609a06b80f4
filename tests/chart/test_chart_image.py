"""The Dockerfile builds one slim non-root image: compilers only in the build stage, entry point covenant."""

from __future__ import annotations

import re

from chart_render import ROOT

DOCKERFILE = (ROOT / "Dockerfile").read_text()


def stages() -> list[str]:
    return re.split(r"(?m)^FROM ", DOCKERFILE)[1:]


def test_multi_stage_with_compilers_only_in_the_build_stage() -> None:
    build, final = stages()
    assert build.startswith("python:3.11-slim AS ") and "build-essential" in build
    assert final.startswith("python:3.11-slim")
    assert "apt-get install" not in final and "build-essential" not in final and "gcc" not in final
    assert "COPY --from=" in final


def test_final_stage_runs_covenant_as_uid_10001() -> None:
    final = stages()[-1]
    assert re.search(r"(?m)^USER 10001(:10001)?$", final)
    assert re.search(r'(?m)^ENTRYPOINT \["covenant"\]$', final)
    assert "COVENANT_DATA_DIR=/var/lib/covenant" in final


def test_dockerignore_keeps_secrets_and_local_state_out_of_the_context() -> None:
    ignored = set((ROOT / ".dockerignore").read_text().split())
    assert {".git", ".venv", ".covenant", "*.db", "**/dev-secrets.json", "tests"} <= ignored
    assert not {"libs", "services", "rules", "pyproject.toml"} & ignored
