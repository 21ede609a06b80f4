"""Every rule pack shipped under rules/ is valid for its service and passes its own tests."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest
import yaml

from covenant.rules.engine import compile_and_test
from covenant.rules.pack import parse_pack

ROOT = Path(__file__).resolve().parents[2]
PACKS = sorted((ROOT / "rules").glob("*/*.yaml"))


def test_there_are_default_packs() -> None:
    assert {p.parent.name for p in PACKS} >= {"identity", "scoring", "commitments"}


@pytest.mark.parametrize("path", PACKS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_shipped_pack_is_valid_and_its_tests_pass(path: Path) -> None:
    text = path.read_text()
    service = yaml.safe_load(text)["service"]
    assert service == path.parent.name, "a pack lives in the folder of its service"
    vocabulary = importlib.import_module(f"services.{service}.actions").VOCABULARY
    compiled = compile_and_test(parse_pack(text, vocabulary), vocabulary)
    assert compiled.pack.id
