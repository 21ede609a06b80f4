"""The hostile packs against the CLI (`covenant rules validate|test`), each in a real child process: a
clear refusal naming the line (and rule), exit code 1 (never a signal), bounded time and memory."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.hostile.corpus import HOSTILE_PACKS, engine_limit_pack

CLI = str(Path(sys.executable).with_name("covenant"))
PEAK_RSS_MB = 600  # generous: the CLI needs ~100 MB; the alias bomb alone cost 1.2 GiB before
SECONDS = 60  # generous for a loaded machine; a hang fails it, and so does a crash (a signal)
# Runs the CLI and reports its exit code, stderr and peak memory (RUSAGE_CHILDREN: that one child only).
RUNNER = f"""
import json, resource, subprocess, sys
proc = subprocess.run(sys.argv[1:], capture_output=True, text=True, timeout={SECONDS})
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
print(json.dumps({{"code": proc.returncode, "err": proc.stderr[:4000], "peak_mb": peak}}))
"""


CASES = [("validate", *case) for case in HOSTILE_PACKS] + [
    ("test", *HOSTILE_PACKS[0]),
    ("test", *HOSTILE_PACKS[1]),
]


@pytest.mark.parametrize(("command", "case", "text", "words"), CASES, ids=[f"{c[0]}-{c[1]}" for c in CASES])
def test_the_cli_refuses_hostile_packs_naming_the_line(
    tmp_path: Path, command: str, case: str, text: str, words: list[str]
) -> None:
    pack = tmp_path / "hostile.yaml"
    pack.write_text(text.replace("{service}", "scoring"))
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-c", RUNNER, CLI, "rules", command, str(pack)],
        capture_output=True,
        text=True,
        timeout=SECONDS * 2,
        check=True,
    )
    elapsed = time.perf_counter() - started
    report = json.loads(result.stdout)
    assert report["code"] == 1, (
        f"{case}: exit {report['code']} (negative: killed by a signal)\n{report['err']}"
    )
    words = ["byte limit"] if case == "oversized pack" else words  # no proto limit in front of the CLI
    for word in words:
        assert word in report["err"], f"{case}: {word!r} not in {report['err']!r}"
    assert elapsed < SECONDS
    assert report["peak_mb"] < PEAK_RSS_MB


def test_the_cli_refuses_a_pack_past_the_engine_limit_without_hanging(tmp_path: Path) -> None:
    pack = tmp_path / "wide.yaml"
    pack.write_text(engine_limit_pack("attendance"))
    result = subprocess.run(
        [CLI, "rules", "validate", str(pack)], capture_output=True, text=True, timeout=SECONDS
    )
    assert result.returncode == 1 and "rule a512 (line" in result.stderr and "more than 512" in result.stderr
