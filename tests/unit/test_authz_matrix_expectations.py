"""The matrix's expectations (services/authz.py, covenant.auth.matrix) for rule authority, service accounts
and event provenance, checked against the documented rules (docs/rule-packs.md "Rule authority",
docs/security.md "Event provenance"). Pure Python; the gRPC side is
tests/integration/test_authorization_matrix.py."""

from __future__ import annotations

import pytest

from covenant.auth.matrix import About, PackSpec, RpcCheck, Target, expected, may_change_pack
from covenant.auth.principal import Principal, parse_permissions
from covenant.errors import PermissionDenied
from covenant.rules.authority import PackRef, authorize_pack
from covenant.services import SERVICES, service_account
from services.authz import (
    account_of,
    cell,
    event_source,
    is_service_role,
    principal_for,
    rpcs,
    shipped_pack,
    shipped_roles,
)

ATTENDANCE = PackSpec("attendance", "attendance-field-presence", "operations-risk")


def user(*grants: str, roles: tuple[str, ...] = ("x",)) -> Principal:
    return Principal(
        "employees/E", employee_id="E", org_unit="/hq", permissions=parse_permissions(grants), roles=roles
    )


@pytest.mark.parametrize(
    ("grant", "allowed"),
    [
        ("rules.attendance/*.publish", True),
        ("rules.attendance/attendance-*.publish", True),
        ("rules.*/@operations-risk.publish", True),
        ("rules.attendance/attendance-field-presence.*", True),
        ("rules.*.publish", True),
        ("*", True),
        ("rules.packs.publish", False),  # the old unscoped grant gives nothing
        ("rules.attendance/*.activate", False),  # another verb
        ("rules.scoring/*.publish", False),  # another service
        ("rules.*/@hr-analytics.publish", False),  # another owner group
        ("rules.attendance/scoring-*.publish", False),
    ],
)
def test_a_pack_grant_reaches_by_service_and_pack_or_owner(grant: str, allowed: bool) -> None:
    assert may_change_pack(user(grant), "publish", ATTENDANCE) is allowed


def test_the_role_table_changes_only_by_a_platform_admin_holding_all_it_grants() -> None:
    table = PackSpec("identity", "identity-roles", "platform-security", {"r": {"points.ledger.read": "all"}})
    assert may_change_pack(user("*", roles=("platform_admin",)), "publish", table)
    assert not may_change_pack(user("*", roles=("hr",)), "publish", table)
    lacking = user("rules.*.*", "points.ledger.read:team", roles=("platform_admin",))
    assert not may_change_pack(lacking, "publish", table)


@pytest.mark.parametrize("service", list(SERVICES))
@pytest.mark.parametrize("verb", ["publish", "activate", "approve"])
def test_the_expectation_agrees_with_rule_authority_for_every_shipped_role(service: str, verb: str) -> None:
    spec = shipped_pack(service)[0]
    ref = PackRef(spec.service, spec.pack_id, (spec.owner,) if spec.owner else (), spec.role_table)
    for role in shipped_roles():
        who = principal_for(role)
        try:
            authorize_pack(who, verb, ref)
            real = True
        except PermissionDenied:
            real = False
        assert may_change_pack(who, verb, spec) is real, (role, service, verb)


def test_the_documented_remits() -> None:
    """docs/rule-packs.md: who may publish each service's shipped pack."""
    publishers = {
        s: {
            r
            for r in shipped_roles()
            for rpc in rpcs()
            if rpc.service == s and rpc.method == "PublishRulePack" and cell(r, rpc, Target.OWN)
        }
        for s in SERVICES
    }
    assert publishers == {
        "identity": {"platform_admin"},
        "attendance": {"operations_risk", "platform_admin"},
        "scoring": {"hr", "platform_admin"},
        "points": {"hr", "platform_admin"},
        "compliance": {"compliance_officer", "platform_admin"},
        "commitments": {"compliance_officer", "platform_admin"},
    }


def test_every_service_has_its_own_service_account_role_in_the_matrix() -> None:
    roles = shipped_roles()
    for name in SERVICES:
        assert f"{name}_service" in roles
        assert is_service_role(f"{name}_service")
        assert account_of(f"{name}_service") == service_account(name)
    assert is_service_role("service") and not is_service_role("hr")


def test_events_are_admitted_only_from_the_declared_source_account() -> None:
    for rpc in rpcs():
        if rpc.check.about is not About.EVENTS:
            continue
        source = event_source(rpc.service)[0]
        assert source != rpc.service
        allowed = {r for r in shipped_roles() if cell(r, rpc, Target.EVENTS)}
        assert allowed == {f"{source}_service"}, rpc.service


def test_a_covenant_service_account_is_refused_a_source_systems_rpc() -> None:
    check = RpcCheck("points.events.write", sources_only=True)
    own = Principal(service_account("attendance"), kind="service", permissions=parse_permissions(["*"]))
    crm = Principal("serviceAccounts/crm", kind="service", permissions=parse_permissions(["*"]))
    assert not expected(own, check, None)
    assert expected(crm, check, None)


def test_line_checks_follow_the_chain_of_command() -> None:
    from covenant.auth.principal import DataOwner

    mate = DataOwner("MATE", "/hq")
    lead = user("points.ledger.adjust:team")
    require = RpcCheck("points.ledger.adjust", About.EMPLOYEE, own="deny", line="require")
    assert expected(lead, require, mate, reports=True)
    assert not expected(lead, require, mate, reports=False)  # in the unit, not in the line
    assert expected(user("points.ledger.adjust:all"), require, mate, reports=False)  # a remit, not a line
    forbid = RpcCheck("compliance.cases.manage", About.EMPLOYEE, own="deny", line="forbid")
    officer = user("compliance.cases.manage:all")
    assert expected(officer, forbid, mate, reports=False)
    assert not expected(officer, forbid, mate, reports=True)
