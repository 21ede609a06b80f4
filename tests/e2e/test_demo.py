"""``covenant demo`` end to end, at a small scale: the six services as ``covenant up`` runs them (default
ports, SQLite, dev secrets), the generated world loaded through gRPC, and the summary held against what the
generator planted. The demo exits non-zero when anything planted is missed or anything unplanted is found."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from covenant.cli import check_health
from covenant.services import SERVICES


def test_the_demo_finds_what_was_planted_and_nothing_else(tmp_path: Path) -> None:
    targets = {n: SERVICES[n].default_target for n in SERVICES}
    # a platform already on the default ports would carry earlier data into the comparison
    running = [n for n, s in check_health(targets, timeout=0.3).items() if s == "SERVING"]
    assert not running, f"stop the platform on the default ports first (serving: {running})"
    env = {k: v for k, v in os.environ.items() if not k.startswith("COVENANT_")}
    run = subprocess.run(
        [sys.executable, "-m", "covenant.cli", "demo", "--staff", "60", "--places", "3000", "--days", "2"],
        env={**env, "COVENANT_DATA_DIR": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    out = run.stdout
    assert run.returncode == 0, out + run.stderr
    assert "summary matches what the generator planted: yes" in out
    assert "MISMATCH" not in out
    assert "a 40-minute mall stop before the change: dwell anomaly by rule dwell-anomaly" in out
    assert "the same stop after the change, no restart: no anomaly" in out
    # the console's URL and one account per role, created in identity for the demo's own people
    assert "Console: http://127.0.0.1:8080/" in out
    for username in ("lead", "rep", "officer", "hr", "owner", "owner2"):
        assert f"\n  {username} " in out
