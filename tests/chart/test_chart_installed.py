"""The image installs the package non-editable (`pip install .` into /opt/covenant): in that layout
`covenant migrate` must still find every service's migrations and `covenant` must still know which services
the build holds. Built here as a wheel and run from its extracted site-packages, like the image runs it."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from chart_render import ROOT

from covenant.services import SERVICES


@pytest.fixture(scope="module")
def site_packages(tmp_path_factory: pytest.TempPathFactory) -> Path:
    wheels = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            str(ROOT),
            "-w",
            str(wheels),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (wheel,) = wheels.glob("covenant-*.whl")
    site = tmp_path_factory.mktemp("site-packages")
    zipfile.ZipFile(wheel).extractall(site)
    return site


def migrate_all(cwd: Path, data_dir: Path, pythonpath: str | None) -> dict[str, set[str]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COVENANT_")}
    env |= {"COVENANT_DATA_DIR": str(data_dir), "COVENANT_RULES_DIR": str(ROOT / "rules")}
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    code = "import sys; from covenant.cli import main; sys.exit(main(['migrate', 'all']))"
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=cwd,
        env=env,
        check=True,
        capture_output=True,
        text=True,
        timeout=300,
    ).stdout
    assert {line.split(":")[0] for line in out.splitlines()} == set(SERVICES), out
    tables = {}
    for svc in SERVICES:
        with sqlite3.connect(data_dir / f"{svc}.db") as conn:
            tables[svc] = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    return tables


def test_installed_package_migrates_every_service_like_the_checkout(
    site_packages: Path, tmp_path: Path
) -> None:
    probe = subprocess.run(
        [
            sys.executable,
            "-c",
            "import covenant, services; print(covenant.__file__); print(services.__file__)",
        ],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(site_packages)},
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    assert all(p.startswith(str(site_packages)) for p in probe), probe  # really the installed copy
    (tmp_path / "installed").mkdir()
    (tmp_path / "checkout").mkdir()
    installed = migrate_all(tmp_path, tmp_path / "installed", str(site_packages))
    checkout = migrate_all(ROOT, tmp_path / "checkout", None)
    for svc in SERVICES:
        assert installed[svc] == checkout[svc], svc
        assert len(checkout[svc]) > 5, (svc, checkout[svc])  # chassis tables and the service's own
