"""Container tests: the built image runs the rendered chart's pods under podman (rootful, runc).

They run wherever podman works (CI installs and configures it: scripts/setup_podman.sh); elsewhere the
module is skipped. The image is built once per session by scripts/build_image.sh (cached base and
wheelhouse under .cache/image), or taken from COVENANT_TEST_IMAGE when set.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def helm() -> str:
    return subprocess.run(
        [str(ROOT / "scripts" / "fetch_helm.sh")], check=True, capture_output=True, text=True
    ).stdout.strip()


@pytest.fixture(scope="session")
def image() -> str:
    """The Covenant image under test, built offline from this checkout (`make image`)."""
    if os.environ.get("COVENANT_TEST_IMAGE"):
        return os.environ["COVENANT_TEST_IMAGE"]
    name = "localhost/covenant:test"
    began = time.monotonic()
    out = subprocess.run(
        [str(ROOT / "scripts" / "build_image.sh"), "--reuse"],
        env={**os.environ, "PYTHON": sys.executable, "COVENANT_IMAGE": name},
        capture_output=True,
        text=True,
        timeout=1500,
    )
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-5000:]
    print(f"\n{out.stdout.strip()}\n(image fixture: {time.monotonic() - began:.0f} s)")
    return name
