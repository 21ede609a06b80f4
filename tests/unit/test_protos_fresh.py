"""Generated protobuf code is committed; it must match what the protos generate now."""

from __future__ import annotations

import filecmp
import importlib.util
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _generator():
    spec = importlib.util.spec_from_file_location("gen_protos", ROOT / "scripts" / "gen_protos.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["gen_protos"] = module
    spec.loader.exec_module(module)
    return module


def stale_files(out_dir: Path, committed_root: Path) -> list[str]:
    """Generated files that are missing from, or differ in, ``committed_root``."""
    gen = _generator()
    stale = []
    for path in gen.generate(out_dir):
        rel = path.relative_to(out_dir)
        committed = committed_root / rel
        if not committed.exists() or not filecmp.cmp(path, committed, shallow=False):
            stale.append(str(rel))
    return stale


def test_committed_generated_code_is_fresh(tmp_path: Path) -> None:
    stale = stale_files(tmp_path / "gen", ROOT / "libs")
    assert not stale, f"generated code is stale, run `make gen`: {stale}"


def test_a_stale_file_is_detected(tmp_path: Path) -> None:
    # A copy of the committed tree with one generated file edited must be reported stale.
    committed = tmp_path / "committed"
    fresh = tmp_path / "fresh"
    _generator().generate(committed)
    victim = committed / "covenant" / "events" / "v1" / "event_pb2.py"
    victim.write_text(victim.read_text() + "\n# edited by hand\n")
    assert stale_files(fresh, committed) == ["covenant/events/v1/event_pb2.py"]
