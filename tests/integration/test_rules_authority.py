"""Rule authority through real gRPC in jwt mode, with tokens carrying the shipped role grants: each
observed escalation (issue 15) is refused, and who may change which pack is scoped to service and pack
or owner group."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
import yaml

from covenant.grpc.testing import RunningService, bearer, running_service
from covenant.rules.v1 import rule_pack_service_pb2 as pb
from covenant.rules.v1 import rule_pack_service_pb2_grpc

ROOT = Path(__file__).resolve().parents[2]
ROLES = yaml.safe_load((ROOT / "rules/identity/roles.yaml").read_text())


def shipped(role: str) -> dict[str, str]:
    """The grants the shipped role pack gives ``role``."""
    return dict(ROLES["parameters"]["role_grants"]["default"][role])


def person(svc: RunningService, who: str, role: str, org_unit: str = "/hq") -> list[tuple[str, str]]:
    return bearer(svc.tokens.user(who, org_unit, shipped(role), roles=(role,)))


def rules(svc: RunningService) -> rule_pack_service_pb2_grpc.RulePackServiceStub:
    return rule_pack_service_pb2_grpc.RulePackServiceStub(svc.channel)


def denied(call, *args, **kwargs) -> str:  # type: ignore[no-untyped-def]
    with pytest.raises(grpc.RpcError) as err:
        call(*args, **kwargs)
    assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED, err.value.details()
    return err.value.details()


def failed_precondition(call, *args, **kwargs) -> str:  # type: ignore[no-untyped-def]
    with pytest.raises(grpc.RpcError) as err:
        call(*args, **kwargs)
    assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION, err.value.details()
    return err.value.details()


def shipped_pack(service: str, name: str, version: str, **replace: str) -> str:
    text = (ROOT / "rules" / service / name).read_text()
    doc = yaml.safe_load(text)
    text = text.replace(f"version: {doc['version']}", f"version: {version}", 1)
    text = text.replace(f'version: "{doc["version"]}"', f'version: "{version}"', 1)
    for old, new in replace.items():
        assert old in text
        text = text.replace(old, new)
    return text


@pytest.fixture(scope="module")
def identity(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningService]:
    """One identity service for this module (it is slow to start), configured to need no approvals
    anywhere: the role table still needs one."""
    tmp = tmp_path_factory.mktemp("identity")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("COVENANT_RULES_APPROVALS", "identity-roles=0,*=0")
        with running_service("identity", db_url=f"sqlite:///{tmp}/identity.db", data_dir=tmp) as s:
            yield s


def role_table(version: str, grants: dict[str, dict[str, str]], pack_id: str = "identity-roles") -> str:
    doc = {
        "id": pack_id,
        "version": version,
        "service": "identity",
        "owner": "platform-security",
        "parameters": {"role_grants": {"type": "object", "default": grants}},
        "rules": [],
    }
    return yaml.safe_dump(doc, sort_keys=False)


def test_a_compliance_officer_cannot_publish_the_role_table_to_make_themselves_admin(
    identity: RunningService,
) -> None:
    officer = person(identity, "C1", "compliance_officer")
    s = rules(identity)
    grab = ROLES["parameters"]["role_grants"]["default"] | {"compliance_officer": {"*": "all"}}
    for pack_id in ("identity-roles", "aaa-roles"):  # a second pack defining role_grants would win too
        text = role_table("2099.1.1", grab, pack_id)
        assert s.ValidateRulePack(pb.ValidateRulePackRequest(source_yaml=text), metadata=officer).valid
        details = denied(
            s.PublishRulePack, pb.PublishRulePackRequest(source_yaml=text, activate=True), metadata=officer
        )
        assert f"rules.identity/{pack_id}.publish" in details
    active = s.ListActiveRulePacks(pb.ListActiveRulePacksRequest(), metadata=officer)
    assert [p.pack_id for p in active.packs] == ["identity-roles"]
    assert active.packs[0].author in ("system:default-packs", "users/admin")  # never the officer
    versions = s.ListRulePackVersions(
        pb.ListRulePackVersionsRequest(pack_id="aaa-roles"), metadata=officer
    ).versions
    assert list(versions) == []


def test_the_role_table_changes_only_by_platform_admins_and_never_grants_more_than_they_hold(
    identity: RunningService,
) -> None:
    s = rules(identity)
    table = ROLES["parameters"]["role_grants"]["default"]
    text = role_table("2099.2.1", table | {"auditor": {**table["auditor"], "identity.keys.rotate": "all"}})
    # a rules admin given identity pack rights is still no platform admin
    rules_admin = bearer(
        identity.tokens.user("R1", "/hq", {"rules.identity/*.*": "all"}, roles=("rules_admin",))
    )
    details = denied(s.PublishRulePack, pb.PublishRulePackRequest(source_yaml=text), metadata=rules_admin)
    assert "rules.identity/identity-roles.publish" in details and "platform admins" in details
    # a platform admin without identity.keys.rotate cannot hand it out
    narrow = {"rules.identity/*.*": "all", "identity.*.read": "all", "identity.employees.write": "all"}
    admin = bearer(identity.tokens.user("A0", "/hq", narrow, roles=("platform_admin",)))
    details = denied(s.PublishRulePack, pb.PublishRulePackRequest(source_yaml=text), metadata=admin)
    assert "you do not hold" in details and "to role platform_admin" in details
    # a full platform admin publishes; activation waits for a second admin's approval
    a1 = bearer(identity.tokens.admin())
    a2 = bearer(
        identity.tokens.signer.issue("users/admin2", permissions={"*": "all"}, roles=("platform_admin",))
    )
    assert "needs 1 approval" in failed_precondition(
        s.PublishRulePack, pb.PublishRulePackRequest(source_yaml=text, activate=True), metadata=a1
    )
    v = s.PublishRulePack(pb.PublishRulePackRequest(source_yaml=text), metadata=a1)
    assert v.approvals_required == 1 and not v.active
    assert "needs 1 approval" in failed_precondition(
        s.ActivateRulePackVersion, pb.ActivateRulePackVersionRequest(name=v.name), metadata=a1
    )
    officer = person(identity, "C1", "compliance_officer")
    assert "rules.identity/identity-roles.approve" in denied(
        s.ApproveRulePackVersion, pb.ApproveRulePackVersionRequest(name=v.name), metadata=officer
    )
    assert s.ApproveRulePackVersion(pb.ApproveRulePackVersionRequest(name=v.name), metadata=a2).ready
    assert s.ActivateRulePackVersion(pb.ActivateRulePackVersionRequest(name=v.name), metadata=a1).active


def test_pack_authority_is_scoped_to_service_and_pack_or_owner_group(tmp_path: Path) -> None:
    with running_service("attendance", db_url=f"sqlite:///{tmp_path}/a.db", data_dir=tmp_path) as attendance:
        text = shipped_pack("attendance", "field-presence.yaml", "2099.1.1")
        s = rules(attendance)
        officer = person(attendance, "C1", "compliance_officer")
        details = denied(
            s.PublishRulePack, pb.PublishRulePackRequest(source_yaml=text, activate=True), metadata=officer
        )
        assert "rules.attendance/attendance-field-presence.publish" in details
        for role in ("team_lead", "sales_rep", "hr", "rules_admin", "auditor"):
            denied(
                s.PublishRulePack,
                pb.PublishRulePackRequest(source_yaml=text),
                metadata=person(attendance, "X1", role),
            )
        risk = person(attendance, "O1", "operations_risk")
        v = s.PublishRulePack(pb.PublishRulePackRequest(source_yaml=text, activate=True), metadata=risk)
        assert v.active and v.author == "employees/O1"
    with running_service(
        "commitments", db_url=f"sqlite:///{tmp_path}/c.db", data_dir=tmp_path
    ) as commitments:
        s = rules(commitments)
        hr = person(commitments, "H1", "hr")
        # HR may change hr-analytics packs; relabelling the compliance office's pack does not make it theirs
        moved = shipped_pack(
            "commitments", "templates.yaml", "2099.1.1", **{"owner: compliance-office": "owner: hr-analytics"}
        )
        assert "rules.commitments/commitments-templates.publish" in denied(
            s.PublishRulePack, pb.PublishRulePackRequest(source_yaml=moved), metadata=hr
        )
        officer = person(commitments, "C1", "compliance_officer")  # owner group compliance-office
        text = shipped_pack("commitments", "templates.yaml", "2099.1.2")
        v = s.PublishRulePack(pb.PublishRulePackRequest(source_yaml=text, activate=True), metadata=officer)
        assert v.active
        # and the officer cannot move it out of the compliance office either
        assert "publish" in denied(
            s.PublishRulePack,
            pb.PublishRulePackRequest(
                source_yaml=moved.replace("version: 2099.1.1", "version: 2099.1.3").replace(
                    'version: "2099.1.1"', 'version: "2099.1.3"'
                )
            ),
            metadata=officer,
        )


def test_approvals_per_pack_are_configurable_and_count_each_other_person_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COVENANT_RULES_APPROVALS", "attendance/attendance-*=2")
    with running_service("attendance", db_url=f"sqlite:///{tmp_path}/a.db", data_dir=tmp_path) as attendance:
        s = rules(attendance)
        o1, o2, o3 = (person(attendance, who, "operations_risk") for who in ("O1", "O2", "O3"))
        text = shipped_pack("attendance", "field-presence.yaml", "2099.1.1")
        assert "needs 2 approval" in failed_precondition(
            s.PublishRulePack, pb.PublishRulePackRequest(source_yaml=text, activate=True), metadata=o1
        )
        v = s.PublishRulePack(pb.PublishRulePackRequest(source_yaml=text), metadata=o1)
        assert v.approvals_required == 2
        approve = pb.ApproveRulePackVersionRequest(name=v.name, comment="checked the thresholds")
        assert "different person" in denied(s.ApproveRulePackVersion, approve, metadata=o1)
        for _ in range(2):  # the same person twice is one approval
            a = s.ApproveRulePackVersion(approve, metadata=o2)
        assert [x.approver for x in a.approvals] == ["employees/O2"] and not a.ready
        assert "it has 1" in failed_precondition(
            s.ActivateRulePackVersion, pb.ActivateRulePackVersionRequest(name=v.name), metadata=o1
        )
        assert s.ApproveRulePackVersion(approve, metadata=o3).ready
        active = s.ActivateRulePackVersion(pb.ActivateRulePackVersionRequest(name=v.name), metadata=o1)
        assert active.active and list(active.approvals) == []  # used up by the activation


def test_the_attendance_service_account_may_close_days_and_nothing_of_other_services(
    identity: RunningService,
) -> None:
    from covenant.identity.v1 import identity_service_pb2_grpc, keys_pb2

    stub = identity_service_pb2_grpc.IdentityServiceStub(identity.channel)
    perms = {}
    for name in ("attendance", "points"):
        secret = identity.host.ctx.secrets.get_secret(f"service-accounts/{name}")["client_secret"]
        token = stub.IssueServiceToken(
            keys_pb2.IssueServiceTokenRequest(client_id=name, client_secret=secret), timeout=10
        ).access_token
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        perms[name] = claims["perms"]
    assert perms["attendance"]["attendance.days.close"] == "all"
    assert perms["attendance"]["events.deliveries.write"] == "all"
    assert not any(p.startswith("points.") for p in perms["attendance"])
    assert "points.ledger.adjust" in perms["points"] and "attendance.days.close" not in perms["points"]
