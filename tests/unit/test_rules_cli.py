"""`covenant rules validate|test` work offline on a file, with the pack's service vocabulary."""

from __future__ import annotations

from pathlib import Path

import pytest

from covenant.rules.cli import main

ROOT = Path(__file__).resolve().parents[2]


def test_validate_a_shipped_pack(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(ROOT / "rules" / "scoring" / "metrics-and-signals.yaml")]) == 0
    out = capsys.readouterr().out
    assert "scoring-metrics-and-signals@" in out and "tests passed" in out and "sha256:" in out


def test_test_lists_each_case_and_what_fired(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["test", str(ROOT / "rules" / "scoring" / "metrics-and-signals.yaml")]) == 0
    out = capsys.readouterr().out
    assert "ok   a verified visit counts" in out and "verified-visit -> add_metric" in out


def test_a_bad_pack_fails_naming_rule_and_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = (ROOT / "rules" / "scoring" / "metrics-and-signals.yaml").read_text()
    bad = tmp_path / "bad.yaml"
    bad.write_text(text.replace("action: add_metric", "action: add_metrik", 1))
    assert main(["validate", str(bad)]) == 1
    err = capsys.readouterr().err
    assert "unknown action 'add_metrik'" in err and "(line " in err and "rule " in err


def test_a_failing_embedded_test_fails_the_command(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = (ROOT / "rules" / "scoring" / "metrics-and-signals.yaml").read_text()
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        text.replace("metric: verified_visits, amount: 1}", "metric: verified_visits, amount: 2}", 1)
    )
    assert main(["test", str(bad)]) == 1
    captured = capsys.readouterr()
    assert "FAIL" in captured.out and "test 'a verified visit counts' (line" in captured.err


def test_an_unknown_service_is_a_clear_error(tmp_path: Path) -> None:
    pack = tmp_path / "p.yaml"
    pack.write_text("id: p\nversion: '1'\nservice: probe\nowner: o\nrules: []\n")
    with pytest.raises(SystemExit, match="no action vocabulary for service 'probe'"):
        main(["validate", str(pack)])
