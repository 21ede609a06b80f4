"""The chart's caller graph and the README picture agree with the consumers' declared subscriptions."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import yaml

from covenant.services import CONSUMES, EMITS, SERVICES, SUBSCRIBERS

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "gen_event_graph.py"


def _gen():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("gen_event_graph", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_generated_files_are_current() -> None:
    result = subprocess.run([sys.executable, str(SCRIPT), "--check"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_chart_callers_equal_the_declared_subscriptions() -> None:
    values = yaml.safe_load((ROOT / "charts" / "covenant" / "values.yaml").read_text())["services"]
    for consumer in SERVICES:
        producers = {
            p
            for p, types in EMITS.items()
            for t in types
            if any(t == d or (d.endswith(".*") and t.startswith(d[:-1])) for d in CONSUMES.get(consumer, ()))
        }
        assert {p for p, dests in SUBSCRIBERS.items() if consumer in dests} == producers
        expected = producers | (set(SERVICES) - {"identity"} if consumer == "identity" else set())
        assert set(values[consumer]["callers"]) == expected, consumer


def test_a_hand_edited_caller_list_is_regenerated() -> None:
    gen = _gen()
    text = (ROOT / "charts" / "covenant" / "values.yaml").read_text()
    tampered = re.sub(r"(?m)^(    callers: \[)identity\]", r"\1identity, scoring]", text, count=1)
    assert tampered != text
    assert gen.values_text(tampered) == text
