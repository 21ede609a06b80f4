"""``covenant up`` when the console cannot listen: it stops at once, saying which process and why, and
exits non-zero instead of announcing a platform whose console is dead (real processes and sockets)."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from tests.e2e.test_demo import demo_env
from tests.support.ports import held_port

UP = [sys.executable, "-m", "covenant.cli", "up"]


def test_a_console_port_another_program_holds_stops_up_saying_so(tmp_path: Path) -> None:
    with held_port() as port:
        started = time.monotonic()
        run = subprocess.run(
            UP, env=demo_env(tmp_path, console=port), capture_output=True, text=True, timeout=120
        )
        took = time.monotonic() - started
    said = run.stdout + run.stderr
    assert run.returncode == 1, said
    assert "Covenant is up" not in said
    assert f"console exited (1): console: cannot listen on 127.0.0.1:{port}" in said
    assert "set COVENANT_CONSOLE_LISTEN to a free port" in said
    assert "Covenant did not start" in said
    assert took < 60, f"up took {took:.0f} s to give up"


def test_serve_console_on_a_held_port_exits_at_once_with_one_line(tmp_path: Path) -> None:
    with held_port() as port:
        run = subprocess.run(
            [sys.executable, "-m", "covenant.cli", "serve", "console"],
            env=demo_env(tmp_path, console=port),
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert run.returncode == 1
    lines = run.stderr.strip().splitlines()
    assert lines == [
        f"console: cannot listen on 127.0.0.1:{port}: another program holds the port, or the address is "
        "not this machine's; set COVENANT_CONSOLE_LISTEN to a free port (`covenant up` takes it too)"
    ], run.stderr
