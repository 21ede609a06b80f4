"""Rule-pack lifecycle through real gRPC on a real service (scoring's vocabulary), SQLite and PostgreSQL."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from covenant.events.v1.event_pb2 import Event
from covenant.grpc.testing import RunningService, bearer, running_service, service_env
from covenant.rules.v1 import rule_pack_service_pb2 as pb
from covenant.rules.v1 import rule_pack_service_pb2_grpc

ROOT = Path(__file__).resolve().parents[2]
# scoring packs (scorecard inputs) need one approval: C1 publishes and activates, C2 approves
OWNER = {
    "rules.packs.read": "all",
    "rules.scoring/*.publish": "all",
    "rules.scoring/*.activate": "all",
    "rules.scoring/*.approve": "all",
}

PACK = """\
id: visit-metrics
version: "{version}"
service: scoring
owner: hr-analytics
rules:
  - id: visit
    when: {{event.type: {{eq: test.visit}}}}
    then:
      - action: add_metric
        params: {{metric: verified_visits, amount: {amount}}}
tests:
  - name: counts
    event: {{type: test.visit}}
    expect: [{{rule: visit, action: add_metric, params: {{amount: {amount}}}}}]
"""

BAD = {
    "yaml syntax": ("id: x\nrules: [\n  - id: a\n", "line"),
    "schema": (PACK.format(version="9", amount=1).replace("owner: hr-analytics\n", ""), "schema"),
    "unknown action": (
        PACK.format(version="9", amount=1).replace("action: add_metric", "action: add_metrik"),
        "rule visit (line 9): unknown action 'add_metrik'",
    ),
    "bad parameter": (PACK.format(version="9", amount='"many"'), "rule visit (line 9): bad parameter amount"),
    "failing test": (
        PACK.format(version="9", amount=1).replace("params: {amount: 1}}]", "params: {amount: 2}}]"),
        "test 'counts' (line 12)",
    ),
    "duplicate rule id": (
        PACK.format(version="9", amount=1).replace(
            "tests:",
            "  - id: visit\n    when: {event.type: {eq: x}}\n"
            "    then: [{action: add_metric, params: {metric: m}}]\ntests:",
        ),
        "rule visit (line 11): duplicate rule id (first at line 6)",
    ),
}


def stub(svc: RunningService) -> rule_pack_service_pb2_grpc.RulePackServiceStub:
    return rule_pack_service_pb2_grpc.RulePackServiceStub(svc.channel)


def approve(svc: RunningService, name: str) -> None:
    """A second person (C2) approves a version."""
    stub(svc).ApproveRulePackVersion(
        pb.ApproveRulePackVersionRequest(name=name), metadata=bearer(svc.tokens.user("C2", "/hq", OWNER))
    )


def go_live(svc: RunningService, text: str, request_id: str = "") -> pb.RulePackVersion:
    """Publish (C1), approve (C2), activate (C1): the maker-checker path."""
    maker = bearer(svc.tokens.user("C1", "/hq", OWNER))
    v = stub(svc).PublishRulePack(
        pb.PublishRulePackRequest(source_yaml=text, request_id=request_id), metadata=maker
    )
    approve(svc, v.name)
    return stub(svc).ActivateRulePackVersion(
        pb.ActivateRulePackVersionRequest(name=v.name, request_id=request_id), metadata=maker
    )


def visit_input() -> pb.DryRunInput:
    return pb.DryRunInput(event=Event(id="ev-1", type="test.visit"))


def active_amount(s: rule_pack_service_pb2_grpc.RulePackServiceStub, md: list) -> float | None:
    """What the running engine currently does for a test.visit event (via a dry run's active side)."""
    resp = s.DryRunRulePack(
        pb.DryRunRulePackRequest(
            candidate_yaml=PACK.format(version="probe", amount=0), inputs=[visit_input()]
        ),
        metadata=md,
    )
    actions = resp.results[0].active_actions
    return actions[0].params["amount"] if actions else None


@pytest.fixture
def svc(db_url: str, tmp_path: Path) -> Iterator[RunningService]:
    with running_service("scoring", db_url=db_url, data_dir=tmp_path) as s:
        yield s


@pytest.mark.parametrize("case", list(BAD))
def test_bad_pack_is_rejected_with_rule_and_line_and_active_version_unchanged(
    svc: RunningService, case: str
) -> None:
    md = bearer(svc.tokens.user("C1", "/hq", OWNER))
    s = stub(svc)
    go_live(svc, PACK.format(version="1", amount=1))
    text, expected = BAD[case]
    with pytest.raises(grpc.RpcError) as err:
        s.PublishRulePack(pb.PublishRulePackRequest(source_yaml=text, activate=True), metadata=md)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert expected in err.value.details()
    assert s.ValidateRulePack(pb.ValidateRulePackRequest(source_yaml=text), metadata=md).valid is False
    assert active_amount(s, md) == 1
    versions = s.ListRulePackVersions(
        pb.ListRulePackVersionsRequest(pack_id="visit-metrics"), metadata=md
    ).versions
    assert [(v.version, v.active) for v in versions] == [("1", True)]


def test_rollback_restores_earlier_behaviour_and_history_is_kept(svc: RunningService) -> None:
    md = bearer(svc.tokens.user("C1", "/hq", OWNER))
    s = stub(svc)
    v1 = go_live(svc, PACK.format(version="1", amount=1))
    assert v1.author == "employees/C1" and v1.content_hash.startswith("sha256:")
    go_live(svc, PACK.format(version="2", amount=5))
    assert active_amount(s, md) == 5
    approve(svc, v1.name)  # a rollback is an activation: approved again
    s.RollbackRulePack(pb.RollbackRulePackRequest(pack_id="visit-metrics", to_version="1"), metadata=md)
    assert active_amount(s, md) == 1
    diff = s.DiffRulePackVersions(
        pb.DiffRulePackVersionsRequest(pack_id="visit-metrics", from_version="1", to_version="2"), metadata=md
    )
    assert diff.changed_rules == ["visit"] and "amount: 5" in diff.unified_diff
    with pytest.raises(grpc.RpcError) as err:  # a published version is immutable
        s.PublishRulePack(
            pb.PublishRulePackRequest(source_yaml=PACK.format(version="1", amount=7)), metadata=md
        )
    assert err.value.code() == grpc.StatusCode.ALREADY_EXISTS


def test_non_owner_cannot_publish_or_activate_but_can_validate(svc: RunningService) -> None:
    reader = bearer(svc.tokens.user("R1", "/hq", {"rules.packs.read": "all"}))
    s = stub(svc)
    assert s.ValidateRulePack(
        pb.ValidateRulePackRequest(source_yaml=PACK.format(version="1", amount=1)), metadata=reader
    ).valid
    with pytest.raises(grpc.RpcError) as err:
        s.PublishRulePack(
            pb.PublishRulePackRequest(source_yaml=PACK.format(version="1", amount=1)), metadata=reader
        )
    assert (
        err.value.code() == grpc.StatusCode.PERMISSION_DENIED
        and "rules.scoring/visit-metrics.publish" in err.value.details()
    )
    with pytest.raises(grpc.RpcError) as err:
        s.RollbackRulePack(
            pb.RollbackRulePackRequest(pack_id="visit-metrics", to_version="1"), metadata=reader
        )
    assert (
        err.value.code() == grpc.StatusCode.PERMISSION_DENIED
        and "rules.scoring/visit-metrics.activate" in err.value.details()
    )


BROKEN = """\
id: visit-metrics
version: "3"
service: scoring
owner: hr-analytics
rules:
  - id: visit
    when: {event.type: {eq: test.visit}}
    then:
      - action: add_metric
        params: {metric: verified_visits, amount: {expr: "event.visits // 0"}}
"""


def test_an_action_that_raises_reports_an_evaluation_error(svc: RunningService) -> None:
    md = bearer(svc.tokens.user("C1", "/hq", OWNER))
    event = Event(id="e", type="test.visit")
    event.data.update({"visits": 3})
    resp = stub(svc).DryRunRulePack(
        pb.DryRunRulePackRequest(candidate_yaml=BROKEN, inputs=[pb.DryRunInput(event=event)]), metadata=md
    )
    error = resp.results[0].error
    assert resp.results[0].changed and "pack visit-metrics version 3 rule visit" in error
    assert "division" in error and not resp.results[0].candidate_actions


def test_activation_is_seen_by_a_second_server_process_within_5_seconds(pg_url: str, tmp_path: Path) -> None:
    (tmp_path / "empty-rules").mkdir()
    env = dict(os.environ)
    env.update(
        service_env("scoring", db_url=pg_url, data_dir=tmp_path)
        | {"COVENANT_AUTH_MODE": "dev", "COVENANT_RULES_POLL_SECONDS": "1"}
    )
    with running_service("scoring", db_url=pg_url, data_dir=tmp_path) as first:
        go_live(first, PACK.format(version="1", amount=1))
        proc = subprocess.Popen(
            [sys.executable, "-m", "tests.support.serve", "scoring"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            port = int(proc.stdout.readline())  # type: ignore[union-attr]
            second = rule_pack_service_pb2_grpc.RulePackServiceStub(
                grpc.insecure_channel(f"127.0.0.1:{port}")
            )
            assert active_amount(second, []) == 1
            go_live(first, PACK.format(version="2", amount=5))
            started = time.monotonic()
            while active_amount(second, []) != 5 and time.monotonic() - started < 10:
                time.sleep(0.1)
            elapsed = time.monotonic() - started
            assert active_amount(second, []) == 5 and elapsed < 5, (
                f"second replica swapped after {elapsed:.1f}s"
            )
        finally:
            proc.terminate()
            proc.wait(15)


def test_default_packs_are_published_and_activated_on_first_start(svc: RunningService) -> None:
    md = bearer(svc.tokens.user("R1", "/hq", {"rules.packs.read": "all"}))
    active = stub(svc).ListActiveRulePacks(pb.ListActiveRulePacksRequest(), metadata=md)
    shipped = {p.pack_id: p for p in active.packs}
    assert "scoring-metrics-and-signals" in shipped
    assert shipped["scoring-metrics-and-signals"].author == "system:default-packs"
    assert dict(active.serving_versions) == {p.pack_id: p.version for p in active.packs}


def test_test_rule_pack_reports_each_case_and_changes_nothing(svc: RunningService) -> None:
    md = bearer(svc.tokens.user("R1", "/hq", {"rules.packs.read": "all"}))
    good = stub(svc).TestRulePack(
        pb.TestRulePackRequest(source_yaml=PACK.format(version="1", amount=3)), metadata=md
    )
    assert good.passed and [(r.name, r.line, r.passed) for r in good.results] == [("counts", 12, True)]
    assert [(a.rule_id, a.action, a.params["amount"]) for a in good.results[0].actions] == [
        ("visit", "add_metric", 3)
    ]
    failing = stub(svc).TestRulePack(pb.TestRulePackRequest(source_yaml=BAD["failing test"][0]), metadata=md)
    assert not failing.passed and "expected" in failing.results[0].message
    broken = stub(svc).TestRulePack(pb.TestRulePackRequest(source_yaml=BAD["unknown action"][0]), metadata=md)
    assert not broken.passed and "rule visit (line 9): unknown action" in broken.problems[0]
    versions = stub(svc).ListRulePackVersions(
        pb.ListRulePackVersionsRequest(pack_id="visit-metrics"), metadata=md
    )
    assert list(versions.versions) == []


def test_every_change_is_audited_and_history_pages(svc: RunningService) -> None:
    from covenant.db.audit import AuditLog
    from covenant.db.engine import Database

    md = bearer(svc.tokens.user("C1", "/hq", OWNER))
    s = stub(svc)
    for v in range(1, 4):
        go_live(svc, PACK.format(version=str(v), amount=v), request_id=f"req-{v}")
    again = s.ActivateRulePackVersion(  # already active: nothing changes, nothing is audited
        pb.ActivateRulePackVersionRequest(name="packs/visit-metrics/versions/3", request_id="req-3b"),
        metadata=md,
    )
    assert again.active
    approve(svc, "packs/visit-metrics/versions/1")
    s.RollbackRulePack(pb.RollbackRulePackRequest(pack_id="visit-metrics", to_version="1"), metadata=md)
    page1 = s.ListRulePackVersions(
        pb.ListRulePackVersionsRequest(pack_id="visit-metrics", page_size=2), metadata=md
    )
    page2 = s.ListRulePackVersions(
        pb.ListRulePackVersionsRequest(
            pack_id="visit-metrics", page_size=2, page_token=page1.next_page_token
        ),
        metadata=md,
    )
    assert [v.version for v in page1.versions] + [v.version for v in page2.versions] == ["3", "2", "1"]
    assert page2.next_page_token == "" and [v.active for v in page2.versions] == [True]
    with pytest.raises(grpc.RpcError) as err:
        s.ListRulePackVersions(
            pb.ListRulePackVersionsRequest(pack_id="visit-metrics", page_token="nonsense"), metadata=md
        )
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "page_token" in err.value.details()

    db = Database(svc.settings.db_url)
    try:
        with db.session() as session:
            log = AuditLog("rules")
            entries = [
                (e.action, e.subject, e.data.get("version", ""), e.data.get("request_id"))
                for e in log.entries(session, limit=100)
                if "visit-metrics" in e.subject and e.action != "rule_pack.approved"
            ]
            assert log.verify(session).ok
    finally:
        db.dispose()
    assert entries == [
        ("rule_pack.published", "packs/visit-metrics/versions/1", "", "req-1"),
        ("rule_pack.activated", "packs/visit-metrics", "1", "req-1"),
        ("rule_pack.published", "packs/visit-metrics/versions/2", "", "req-2"),
        ("rule_pack.activated", "packs/visit-metrics", "2", "req-2"),
        ("rule_pack.published", "packs/visit-metrics/versions/3", "", "req-3"),
        ("rule_pack.activated", "packs/visit-metrics", "3", "req-3"),
        ("rule_pack.rolled_back", "packs/visit-metrics", "1", ""),
    ]
