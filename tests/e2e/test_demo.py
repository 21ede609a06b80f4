"""``covenant demo`` end to end, at a small scale: the six services and the console as ``covenant up`` runs
them (SQLite, dev secrets; on ports of the test's choosing, moved the way a user moves them, with
``COVENANT_<SVC>_TARGET`` and ``COVENANT_CONSOLE_LISTEN``), the generated world loaded through gRPC, and the
summary held against what the generator planted. The demo exits non-zero when anything planted is missed or
anything unplanted is found."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from covenant.services import SERVICES
from tests.support.ports import free_port, held_port

DEMO = [sys.executable, "-m", "covenant.cli", "demo", "--staff", "60", "--places", "3000", "--days", "2"]


def demo_env(data_dir: Path, **ports: int) -> dict[str, str]:
    """The test's own environment without COVENANT_ settings, a data dir, and every port moved off its
    default (``ports`` names the ones the caller chose)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("COVENANT_")}
    env["COVENANT_DATA_DIR"] = str(data_dir)
    for name in SERVICES:
        env[f"COVENANT_{name.upper()}_TARGET"] = f"127.0.0.1:{ports.get(name) or free_port()}"
    env["COVENANT_CONSOLE_LISTEN"] = f"127.0.0.1:{ports.get('console') or free_port()}"
    return env


def test_the_demo_finds_what_was_planted_and_nothing_else(tmp_path: Path) -> None:
    console = free_port()
    run = subprocess.run(
        DEMO, env=demo_env(tmp_path, console=console), capture_output=True, text=True, timeout=300
    )
    out = run.stdout
    assert run.returncode == 0, out + run.stderr
    assert "starting the platform" in out  # not some platform that was already there
    assert "summary matches what the generator planted: yes" in out
    assert "MISMATCH" not in out
    assert "a 40-minute mall stop before the change: dwell anomaly by rule dwell-anomaly" in out
    assert "the same stop after the change, no restart: no anomaly" in out
    # the console's URL and one account per role, created in identity for the demo's own people
    assert f"Console: http://127.0.0.1:{console}/" in out
    for username in ("lead", "rep", "officer", "hr", "owner", "owner2"):
        assert f"\n  {username} " in out


def test_a_service_that_cannot_listen_stops_the_demo_at_once_saying_which_and_why(tmp_path: Path) -> None:
    with held_port() as port:  # another program on attendance's port
        started = time.monotonic()
        run = subprocess.run(
            DEMO, env=demo_env(tmp_path, attendance=port), capture_output=True, text=True, timeout=300
        )
        took = time.monotonic() - started
    assert run.returncode != 0
    said = run.stderr
    assert "the platform did not start; `covenant up` said:" in said, run.stdout + said
    assert f"attendance exited (1): attendance: cannot listen on 127.0.0.1:{port}" in said
    assert "COVENANT_LISTEN" in said
    assert took < 100, f"the demo waited {took:.0f} s for a platform that had already given up"
