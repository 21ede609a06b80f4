"""`covenant rules validate|test` work offline on a file, with the pack's service vocabulary."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

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


def test_an_unknown_service_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pack = tmp_path / "p.yaml"
    pack.write_text("id: p\nversion: '1'\nservice: probe\nowner: o\nrules: []\n")
    assert main(["validate", str(pack)]) == 1
    assert "no action vocabulary for service 'probe'" in capsys.readouterr().err


def test_many_files_and_directories_with_coverage_and_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    assert main(["validate", str(ROOT / "rules"), "--output", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    packs = {p["pack_id"]: p for p in report["packs"]}
    assert report["ok"] and len(packs) == len(list((ROOT / "rules").glob("*/*.yaml")))
    scoring = packs["scoring-metrics-and-signals"]
    fired = {f["rule"] for t in scoring["tests"] for f in t["fired"]}
    rules = {
        r["id"]
        for r in yaml.safe_load((ROOT / "rules/scoring/metrics-and-signals.yaml").read_text())["rules"]
    }
    assert set(scoring["never_fired"]) == rules - fired and "verified-visit" in fired
    # a pack whose rule no test fires fails only with --require-coverage
    text = (ROOT / "rules" / "scoring" / "metrics-and-signals.yaml").read_text()
    (tmp_path / "a.yaml").write_text(text)
    assert main(["validate", str(tmp_path)]) == 0
    assert "rules no test fires:" in capsys.readouterr().out
    assert main(["validate", str(tmp_path), "--require-coverage"]) == 1
    # one bad pack among good ones: exit 1, the good ones still reported
    (tmp_path / "b.yaml").write_text("id: b\nversion: '1'\nservice: scoring\nowner: o\nrules: [{id: x}]\n")
    assert main(["validate", str(tmp_path / "a.yaml"), str(tmp_path / "b.yaml")]) == 1
    captured = capsys.readouterr()
    assert "scoring-metrics-and-signals@" in captured.out and "b.yaml" in captured.err
    assert main(["validate", str(tmp_path / "missing.yaml")]) == 2


def test_shipped_packs_carry_the_schema_modeline() -> None:
    for pack in (ROOT / "rules").glob("*/*.yaml"):
        first = pack.read_text().splitlines()[0]
        assert first == "# yaml-language-server: $schema=../../libs/covenant/rules/pack.schema.json", pack
        assert (pack.parent / "../../libs/covenant/rules/pack.schema.json").resolve().exists()
