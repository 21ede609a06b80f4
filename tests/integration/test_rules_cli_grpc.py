"""`covenant rules publish|history|diff|dryrun|activate|rollback` against a real service over gRPC."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from covenant.grpc.testing import RunningService, running_service
from covenant.rules.cli import main

OWNER = {
    "rules.packs.read": "all",
    "rules.scoring/*.publish": "all",
    "rules.scoring/*.activate": "all",
    "rules.scoring/*.approve": "all",
}
PACK = """\
id: cli-visits
version: "{version}"
service: scoring
owner: hr-analytics
rules:
  - id: visit
    when: {{event.type: {{eq: test.visit}}}}
    then: [{{action: add_metric, params: {{metric: verified_visits, amount: {amount}}}}}]
tests:
  - name: counts
    event: {{type: test.visit}}
    expect: [{{action: add_metric, params: {{amount: {amount}}}}}]
"""


@pytest.fixture
def svc(tmp_path: Path) -> Iterator[RunningService]:
    with running_service("scoring", db_url=f"sqlite:///{tmp_path}/scoring.db", data_dir=tmp_path) as s:
        yield s


def test_the_lifecycle_from_the_command_line(
    svc: RunningService, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COVENANT_TOKEN", svc.tokens.user("C1", "/hq", OWNER))
    checker = ["--token", svc.tokens.user("C2", "/hq", OWNER)]
    remote = ["--target", svc.target]
    for version, amount in (("1", 1), ("2", 5)):
        (tmp_path / f"v{version}.yaml").write_text(PACK.format(version=version, amount=amount))
    # a scoring pack needs an approval: --activate is refused and nothing is stored
    assert main(["publish", str(tmp_path / "v1.yaml"), "--activate", *remote]) == 1
    assert "needs 1 approval" in capsys.readouterr().err
    assert main(["publish", str(tmp_path / "v1.yaml"), *remote]) == 0
    assert "published packs/cli-visits/versions/1" in capsys.readouterr().out
    assert main(["approve", "scoring", "cli-visits", "1", *remote]) == 1  # not by its author
    assert "approval needs a different person" in capsys.readouterr().err
    assert main(["approve", "scoring", "cli-visits", "1", "--comment", "ok", *remote, *checker]) == 0
    assert "approvals 1 of 1 needed: employees/C2 -> ready to activate" in capsys.readouterr().out
    assert main(["activate", "scoring", "cli-visits", "1", *remote]) == 0
    assert main(["publish", str(tmp_path / "v2.yaml"), *remote]) == 0
    assert main(["activate", "scoring", "cli-visits", "2", *remote]) == 1
    assert "needs 1 approval(s)" in capsys.readouterr().err
    assert main(["approval", "scoring", "cli-visits", "2", *remote, *checker]) == 0
    out = capsys.readouterr().out
    assert "approvals 0 of 1 needed: none -> waiting for approval" in out and "changed ['visit']" in out
    assert main(["approve", "scoring", "cli-visits", "2", *remote, *checker]) == 0
    capsys.readouterr()

    events = tmp_path / "events.jsonl"
    events.write_text(
        json.dumps({"event": {"type": "test.visit", "id": "e1", "subject": "employees/E1"}}) + "\n"
    )
    assert main(["dryrun", str(tmp_path / "v2.yaml"), "--events", str(events), *remote]) == 0
    out = capsys.readouterr().out
    assert "1 of 1 events would change" in out and "test.visit e1" in out

    assert main(["activate", "scoring", "cli-visits", "2", *remote]) == 0
    assert main(["diff", "scoring", "cli-visits", "1", "2", *remote]) == 0
    out = capsys.readouterr().out
    assert "active: packs/cli-visits/versions/2" in out and "changed ['visit']" in out and "+" in out
    assert main(["rollback", "scoring", "cli-visits", "--emergency", *remote]) == 1  # a reason is needed
    assert "INVALID_ARGUMENT: reason" in capsys.readouterr().err
    assert main(["rollback", "scoring", "cli-visits", "--emergency", "--reason", "bad", *remote]) == 0
    assert "emergency rolled back; active: packs/cli-visits/versions/1" in capsys.readouterr().out
    assert main(["history", "scoring", "cli-visits", *remote]) == 0
    lines = capsys.readouterr().out.splitlines()
    rows = [line.split() for line in lines if "employees/C1" in line]
    assert [("*" if r[0] == "*" else "", r[1] if r[0] == "*" else r[0]) for r in rows] == [
        ("", "2"),
        ("*", "1"),
    ]


def test_a_reader_is_refused_publish_with_the_permission_named(
    svc: RunningService, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pack = tmp_path / "p.yaml"
    pack.write_text(PACK.format(version="1", amount=1))
    token = svc.tokens.user("R1", "/hq", {"rules.packs.read": "all"})
    assert main(["publish", str(pack), "--target", svc.target, "--token", token]) == 1
    assert "PERMISSION_DENIED" in capsys.readouterr().err


def test_reject_from_the_command_line(
    svc: RunningService, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COVENANT_TOKEN", svc.tokens.user("C1", "/hq", OWNER))
    checker = ["--token", svc.tokens.user("C2", "/hq", OWNER)]
    remote = ["--target", svc.target]
    (tmp_path / "v1.yaml").write_text(PACK.format(version="1", amount=3))
    assert main(["publish", str(tmp_path / "v1.yaml"), *remote]) == 0
    capsys.readouterr()
    assert main(["reject", "scoring", "cli-visits", "1", *remote, *checker]) == 2  # --reason is required
    assert "--reason is required" in capsys.readouterr().err
    assert main(["reject", "scoring", "cli-visits", "1", "--reason", "mine", *remote]) == 1  # the author
    assert "rejection needs a different person" in capsys.readouterr().err
    assert main(["reject", "scoring", "cli-visits", "1", "--reason", "amount 3?", *remote, *checker]) == 0
    assert "rejected by employees/C2: amount 3?" in capsys.readouterr().out
    assert main(["approve", "scoring", "cli-visits", "1", *remote, *checker]) == 1
    assert main(["activate", "scoring", "cli-visits", "1", *remote]) == 1
    assert "FAILED_PRECONDITION" in capsys.readouterr().err
    assert main(["history", "scoring", "cli-visits", *remote]) == 0
    assert "rejected by employees/C2: amount 3?" in capsys.readouterr().out
