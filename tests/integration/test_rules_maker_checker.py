"""Maker-checker for rule changes through real gRPC in jwt mode (scoring packs need one approval):
approval by another person with approval rights, the approval request's diff, emergency rollback to the
last approved version (one person, flagged in the audit) and scheduled activation on every replica."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp

from covenant.db.audit import AuditLog
from covenant.db.engine import Database
from covenant.events.v1.event_pb2 import Event
from covenant.grpc.testing import RunningService, TestTokens, bearer, running_service
from covenant.rules.v1 import rule_pack_service_pb2 as pb
from covenant.rules.v1 import rule_pack_service_pb2_grpc

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
"""


def stub(svc: RunningService) -> rule_pack_service_pb2_grpc.RulePackServiceStub:
    return rule_pack_service_pb2_grpc.RulePackServiceStub(svc.channel)


def md(svc: RunningService, who: str, grants: dict[str, str] | None = None) -> list[tuple[str, str]]:
    return bearer(svc.tokens.user(who, "/hq", OWNER if grants is None else grants))


def name(version: str) -> str:
    return f"packs/visit-metrics/versions/{version}"


def serving(svc: RunningService) -> float | None:
    """The amount the replica's engine pays for a test.visit right now (the active side of a dry run)."""
    resp = stub(svc).DryRunRulePack(
        pb.DryRunRulePackRequest(
            candidate_yaml=PACK.format(version="probe", amount=0),
            inputs=[pb.DryRunInput(event=Event(id="e", type="test.visit"))],
        ),
        metadata=md(svc, "R1", {"rules.packs.read": "all"}),
    )
    actions = resp.results[0].active_actions
    return actions[0].params["amount"] if actions else None


def publish_approved(svc: RunningService, version: str, amount: int) -> None:
    s = stub(svc)
    s.PublishRulePack(
        pb.PublishRulePackRequest(source_yaml=PACK.format(version=version, amount=amount)),
        metadata=md(svc, "C1"),
    )
    s.ApproveRulePackVersion(pb.ApproveRulePackVersionRequest(name=name(version)), metadata=md(svc, "C2"))


def error(call, *args, **kwargs) -> grpc.RpcError:  # type: ignore[no-untyped-def]
    with pytest.raises(grpc.RpcError) as err:
        call(*args, **kwargs)
    return err.value


@pytest.fixture
def svc(tmp_path: Path) -> Iterator[RunningService]:
    with running_service("scoring", db_url=f"sqlite:///{tmp_path}/scoring.db", data_dir=tmp_path) as s:
        yield s


def test_activation_needs_another_person_with_approval_rights(svc: RunningService) -> None:
    s = stub(svc)
    v = s.PublishRulePack(
        pb.PublishRulePackRequest(source_yaml=PACK.format(version="1", amount=1)), metadata=md(svc, "C1")
    )
    assert v.approvals_required == 1
    e = error(
        s.ActivateRulePackVersion, pb.ActivateRulePackVersionRequest(name=v.name), metadata=md(svc, "C1")
    )
    assert e.code() == grpc.StatusCode.FAILED_PRECONDITION and "needs 1 approval" in e.details()
    e = error(s.ApproveRulePackVersion, pb.ApproveRulePackVersionRequest(name=v.name), metadata=md(svc, "C1"))
    assert (
        e.code() == grpc.StatusCode.PERMISSION_DENIED and "rules.scoring/visit-metrics.approve" in e.details()
    )
    reader = md(svc, "R1", {"rules.packs.read": "all", "rules.compliance/*.approve": "all"})
    e = error(s.ApproveRulePackVersion, pb.ApproveRulePackVersionRequest(name=v.name), metadata=reader)
    assert (
        e.code() == grpc.StatusCode.PERMISSION_DENIED and "rules.scoring/visit-metrics.approve" in e.details()
    )
    assert serving(svc) is None
    approved = s.ApproveRulePackVersion(
        pb.ApproveRulePackVersionRequest(name=v.name, comment="weights checked"), metadata=md(svc, "C2")
    )
    assert approved.ready and [(a.approver, a.comment) for a in approved.approvals] == [
        ("employees/C2", "weights checked")
    ]
    assert s.ActivateRulePackVersion(
        pb.ActivateRulePackVersionRequest(name=v.name), metadata=md(svc, "C1")
    ).active
    assert serving(svc) == 1

    # the approval request for the next version: the diff against the active one and the dry run
    s.PublishRulePack(
        pb.PublishRulePackRequest(source_yaml=PACK.format(version="2", amount=5)), metadata=md(svc, "C1")
    )
    req = s.GetApprovalRequest(pb.GetApprovalRequestRequest(name=name("2")), metadata=md(svc, "C2"))
    assert req.active_version == "1" and not req.ready and req.approvals_required == 1
    assert req.diff.changed_rules == ["visit"] and "amount: 5" in req.diff.unified_diff
    assert req.dry_run.events == len(req.dry_run.results)


def test_emergency_rollback_goes_to_the_last_approved_version_on_one_word_and_is_flagged(
    svc: RunningService,
) -> None:
    s = stub(svc)
    for version, amount in (("1", 1), ("2", 5)):
        publish_approved(svc, version, amount)
        s.ActivateRulePackVersion(
            pb.ActivateRulePackVersionRequest(name=name(version)), metadata=md(svc, "C1")
        )
    assert serving(svc) == 5
    s.PublishRulePack(
        pb.PublishRulePackRequest(source_yaml=PACK.format(version="3", amount=9)), metadata=md(svc, "C1")
    )
    rollback = pb.RollbackRulePackRequest(pack_id="visit-metrics", to_version="1")
    e = error(s.RollbackRulePack, rollback, metadata=md(svc, "C1"))  # a plain rollback is an activation
    assert e.code() == grpc.StatusCode.FAILED_PRECONDITION and "needs 1 approval" in e.details()
    outsider = md(svc, "X1", {"rules.packs.read": "all", "rules.compliance/*.activate": "all"})
    emergency = pb.RollbackRulePackRequest(
        pack_id="visit-metrics", emergency=True, reason="weights broke pay"
    )
    e = error(s.RollbackRulePack, emergency, metadata=outsider)
    assert (
        e.code() == grpc.StatusCode.PERMISSION_DENIED
        and "rules.scoring/visit-metrics.activate" in e.details()
    )
    e = error(
        s.RollbackRulePack,
        pb.RollbackRulePackRequest(pack_id="visit-metrics", to_version="3", emergency=True, reason="x"),
        metadata=md(svc, "C1"),
    )
    assert e.code() == grpc.StatusCode.FAILED_PRECONDITION and "last approved version 1" in e.details()
    e = error(
        s.RollbackRulePack,
        pb.RollbackRulePackRequest(pack_id="visit-metrics", emergency=True),
        metadata=md(svc, "C1"),
    )
    assert e.code() == grpc.StatusCode.INVALID_ARGUMENT and "reason" in e.details()
    back = s.RollbackRulePack(emergency, metadata=md(svc, "C1"))
    assert back.version == "1" and back.active and serving(svc) == 1

    db = Database(svc.settings.db_url)
    try:
        with db.session() as session:
            entries = [
                e for e in AuditLog("rules").entries(session, limit=100) if e.subject == "packs/visit-metrics"
            ]
    finally:
        db.dispose()
    last = entries[-1]
    assert last.action == "rule_pack.emergency_rollback" and last.actor == "employees/C1"
    assert last.data["emergency"] is True and last.data["reason"] == "weights broke pay"
    assert last.data["version"] == "1" and last.data["previous"] == "2" and last.data["approved_by"] == []
    assert [e.data.get("emergency", False) for e in entries[:-1]] == [False, False]


def test_a_scheduled_activation_switches_every_replica_at_its_instant(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/scoring.db"
    tokens = TestTokens()
    slow_poll = {"COVENANT_RULES_POLL_SECONDS": "1.5"}
    with (
        running_service("scoring", db_url=url, data_dir=tmp_path, tokens=tokens, env=slow_poll) as one,
        running_service("scoring", db_url=url, data_dir=tmp_path, tokens=tokens, env=slow_poll) as two,
    ):
        publish_approved(one, "1", 1)
        stub(one).ActivateRulePackVersion(
            pb.ActivateRulePackVersionRequest(name=name("1")), metadata=md(one, "C1")
        )
        publish_approved(one, "2", 5)
        deadline = time.monotonic() + 10
        while serving(two) != 1 and time.monotonic() < deadline:
            time.sleep(0.1)
        at = datetime.now(UTC) + timedelta(seconds=4)
        when = Timestamp()
        when.FromDatetime(at)
        scheduled = stub(one).ActivateRulePackVersion(
            pb.ActivateRulePackVersionRequest(name=name("2"), effective_time=when), metadata=md(one, "C1")
        )
        assert not scheduled.active
        time.sleep(2)  # both replicas have polled the schedule by now
        for replica in (one, two):
            listed = stub(replica).ListActiveRulePacks(
                pb.ListActiveRulePacksRequest(), metadata=md(replica, "R1", {"rules.packs.read": "all"})
            )
            assert [(x.pack_id, x.version) for x in listed.scheduled] == [("visit-metrics", "2")]
            assert serving(replica) == 1
        while datetime.now(UTC) < at:
            time.sleep(0.01)
        time.sleep(0.05)
        # right after the instant, before a 1.5 s poll could have told them, both evaluate with version 2
        assert serving(one) == 5 and serving(two) == 5
        time.sleep(2)
        listed = stub(two).ListActiveRulePacks(
            pb.ListActiveRulePacksRequest(), metadata=md(two, "R1", {"rules.packs.read": "all"})
        )
        assert not listed.scheduled and {p.pack_id: p.version for p in listed.packs}["visit-metrics"] == "2"


def test_a_pack_starting_on_a_future_day_is_scheduled_for_that_day_and_the_old_one_keeps_serving(
    svc: RunningService,
) -> None:
    s = stub(svc)
    publish_approved(svc, "1", 1)
    s.ActivateRulePackVersion(pb.ActivateRulePackVersionRequest(name=name("1")), metadata=md(svc, "C1"))
    later = PACK.format(version="2", amount=5).replace("rules:", "effective_from: 2099-01-01\nrules:")
    s.PublishRulePack(pb.PublishRulePackRequest(source_yaml=later), metadata=md(svc, "C1"))
    s.ApproveRulePackVersion(pb.ApproveRulePackVersionRequest(name=name("2")), metadata=md(svc, "C2"))
    v = s.ActivateRulePackVersion(pb.ActivateRulePackVersionRequest(name=name("2")), metadata=md(svc, "C1"))
    assert not v.active and serving(svc) == 1
    listed = s.ListActiveRulePacks(pb.ListActiveRulePacksRequest(), metadata=md(svc, "C1"))
    assert [(x.version, x.effective_time.ToJsonString()) for x in listed.scheduled] == [
        ("2", "2099-01-01T00:00:00Z")
    ]
    history = s.ListRulePackVersions(
        pb.ListRulePackVersionsRequest(pack_id="visit-metrics"), metadata=md(svc, "C1")
    )
    assert [(x.version, x.active, x.approvals_required) for x in history.versions] == [
        ("2", False, 1),
        ("1", True, 1),
    ]


def test_activating_the_active_version_again_changes_nothing_even_with_a_past_start_day(
    svc: RunningService,
) -> None:
    s = stub(svc)
    started = PACK.format(version="1", amount=1).replace("rules:", "effective_from: 2020-01-01\nrules:")
    s.PublishRulePack(pb.PublishRulePackRequest(source_yaml=started), metadata=md(svc, "C1"))
    s.ApproveRulePackVersion(pb.ApproveRulePackVersionRequest(name=name("1")), metadata=md(svc, "C2"))
    s.ActivateRulePackVersion(pb.ActivateRulePackVersionRequest(name=name("1")), metadata=md(svc, "C1"))
    assert serving(svc) == 1
    # the approval was used up; a retry of the same activation is still fine (nothing to approve)
    again = s.ActivateRulePackVersion(
        pb.ActivateRulePackVersionRequest(name=name("1")), metadata=md(svc, "C1")
    )
    assert again.active and serving(svc) == 1


def test_a_rejected_version_is_never_approved_or_activated(svc: RunningService) -> None:
    s = stub(svc)
    publish_approved(svc, "1", 1)
    s.ActivateRulePackVersion(pb.ActivateRulePackVersionRequest(name=name("1")), metadata=md(svc, "C1"))
    s.PublishRulePack(
        pb.PublishRulePackRequest(source_yaml=PACK.format(version="2", amount=9)), metadata=md(svc, "C1")
    )
    s.ApproveRulePackVersion(pb.ApproveRulePackVersionRequest(name=name("2")), metadata=md(svc, "C3"))
    reject = s.RejectRulePackVersion
    # the submitter may not reject their own version; someone without approval rights on the pack neither
    e = error(reject, pb.RejectRulePackVersionRequest(name=name("2"), reason="no"), metadata=md(svc, "C1"))
    assert (
        e.code() == grpc.StatusCode.PERMISSION_DENIED and "rules.scoring/visit-metrics.approve" in e.details()
    )
    for grants in ({"rules.packs.read": "all"}, {"rules.compliance/*.approve": "all"}):
        e = error(
            reject,
            pb.RejectRulePackVersionRequest(name=name("2"), reason="no"),
            metadata=md(svc, "R1", grants),
        )
        assert e.code() == grpc.StatusCode.PERMISSION_DENIED and "visit-metrics.approve" in e.details()
    for blank in ("", "   "):  # a reason is required
        e = error(
            reject, pb.RejectRulePackVersionRequest(name=name("2"), reason=blank), metadata=md(svc, "C2")
        )
        assert e.code() == grpc.StatusCode.INVALID_ARGUMENT and "reason" in e.details()
    e = error(reject, pb.RejectRulePackVersionRequest(name=name("1"), reason="x"), metadata=md(svc, "C2"))
    assert e.code() == grpc.StatusCode.FAILED_PRECONDITION and "roll back" in e.details()  # the active one
    e = error(reject, pb.RejectRulePackVersionRequest(name=name("9"), reason="x"), metadata=md(svc, "C2"))
    assert e.code() == grpc.StatusCode.NOT_FOUND

    got = reject(
        pb.RejectRulePackVersionRequest(name=name("2"), reason="amount 9 is a typo"), metadata=md(svc, "C2")
    )
    assert (
        got.version.rejection.rejected_by == "employees/C2"
        and got.version.rejection.reason == "amount 9 is a typo"
    )
    assert not got.ready  # C3's approval no longer makes it ready
    again = reject(pb.RejectRulePackVersionRequest(name=name("2"), reason="other"), metadata=md(svc, "C3"))
    assert again.version.rejection.rejected_by == "employees/C2"  # the first rejection stands
    for call, request in (
        (s.ActivateRulePackVersion, pb.ActivateRulePackVersionRequest(name=name("2"))),
        (s.RollbackRulePack, pb.RollbackRulePackRequest(pack_id="visit-metrics", to_version="2")),
        (s.ApproveRulePackVersion, pb.ApproveRulePackVersionRequest(name=name("2"))),
    ):
        e = error(call, request, metadata=md(svc, "C2" if call == s.ApproveRulePackVersion else "C1"))
        assert e.code() == grpc.StatusCode.FAILED_PRECONDITION and "rejected by employees/C2" in e.details()
    assert serving(svc) == 1  # version 1 keeps serving
    listed = s.ListRulePackVersions(
        pb.ListRulePackVersionsRequest(pack_id="visit-metrics"), metadata=md(svc, "R1")
    )
    assert {v.version: v.rejection.reason for v in listed.versions} == {"1": "", "2": "amount 9 is a typo"}
    assert s.GetApprovalRequest(
        pb.GetApprovalRequestRequest(name=name("2")), metadata=md(svc, "R1")
    ).version.HasField("rejection")
    db = Database(svc.settings.db_url)
    try:
        with db.session() as session:
            entries = [
                e for e in AuditLog("rules").entries(session, subject=name("2")) if e.action.endswith("ed")
            ]
    finally:
        db.dispose()
    entries = [e for e in entries if e.action == "rule_pack.rejected"]
    assert [(e.actor, e.subject, e.data["reason"]) for e in entries] == [
        ("employees/C2", name("2"), "amount 9 is a typo")
    ]
