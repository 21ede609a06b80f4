"""The port the chart opens with metrics.enabled (COVENANT_METRICS_PORT) really serves Prometheus metrics:
the chart's ServiceMonitor scrapes it."""

from __future__ import annotations

import subprocess
import sys
import urllib.request

from covenant.telemetry import start_metrics_server


def test_metrics_server_serves_process_metrics_and_the_service_name() -> None:
    port = start_metrics_server(0, "points", addr="127.0.0.1")
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as resp:
        assert resp.status == 200
        text = resp.read().decode()
    assert 'covenant_service_info{service="points"} 1.0' in text
    assert "python_info" in text and "process_cpu_seconds_total" in text


def test_setup_opens_the_metrics_port_from_the_environment(tmp_path) -> None:
    # A fresh process: telemetry.setup configures a process once.
    code = """
import socket, sys, urllib.request
from covenant.settings import Settings
from covenant import telemetry
s = socket.socket(); s.bind(("127.0.0.1", 0)); port = s.getsockname()[1]; s.close()
env = {"COVENANT_DATA_DIR": sys.argv[1], "COVENANT_METRICS_PORT": str(port)}
telemetry.setup(Settings.from_env("scoring", env))
print(urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode())
"""
    out = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path)], check=True, capture_output=True, text=True, timeout=60
    ).stdout
    assert 'covenant_service_info{service="scoring"} 1.0' in out
