"""Scoped rule authority, approval policy, masking and the shipped role pack's remits (pure)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from covenant.auth import Principal, ScopeFilter, parse_permissions
from covenant.errors import InvalidArgument, PermissionDenied
from covenant.rules.authority import ApprovalPolicy, PackRef, authorize_pack, holds
from covenant.rules.scoping import mask_text, visible
from covenant.services import SERVICES
from services.identity.role_pack import render_pack

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = (ROOT / "rules/identity/roles.yaml").read_text()
GRANTS = yaml.safe_load(SHIPPED)["parameters"]["role_grants"]["default"]
ROLE_TABLE = PackRef("identity", "identity-roles", ("platform-security",), GRANTS)


def principal(role: str) -> Principal:
    return Principal(f"employees/{role}", permissions=parse_permissions(GRANTS[role]), roles=(role,))


def test_the_shipped_role_pack_is_generated_from_the_permission_tables() -> None:
    version = yaml.safe_load(SHIPPED)["version"]
    assert render_pack(version) == SHIPPED, "run: python -m services.identity.role_pack " + version


def test_the_shipped_remits() -> None:
    for role in ("compliance_officer", "operations_risk", "hr", "team_lead", "sales_rep", "platform_admin"):
        assert role in GRANTS
    for name in SERVICES:
        account = GRANTS[f"{name}_service"]
        assert account["events.deliveries.write"] == "all"
        foreign = [p for p in account if p.split(".")[0] not in (name, "identity", "events")]
        assert foreign == [], (name, foreign)
    assert GRANTS["attendance_service"]["attendance.days.close"] == "all"
    assert GRANTS["team_lead"]["rules.packs.read"] == "team"
    legacy = [r for r, g in GRANTS.items() if {"rules.packs.publish", "rules.packs.activate"} & set(g)]
    assert legacy == []


def test_only_platform_admins_may_change_the_role_table() -> None:
    allowed = []
    for role in GRANTS:
        for verb in ("publish", "activate", "approve"):
            try:
                authorize_pack(principal(role), verb, ROLE_TABLE)
                allowed.append((role, verb))
            except PermissionDenied:
                pass
    assert allowed == [("platform_admin", v) for v in ("publish", "activate", "approve")]


@pytest.mark.parametrize(
    ("role", "service", "pack", "owner", "expected"),
    [
        ("compliance_officer", "compliance", "compliance-promises", "compliance-office", True),
        ("compliance_officer", "commitments", "commitments-templates", "compliance-office", True),
        ("compliance_officer", "attendance", "attendance-field-presence", "operations-risk", False),
        ("compliance_officer", "scoring", "scoring-metrics-and-signals", "hr-analytics", False),
        ("operations_risk", "attendance", "attendance-field-presence", "operations-risk", True),
        ("operations_risk", "compliance", "compliance-promises", "compliance-office", False),
        ("hr", "scoring", "scoring-metrics-and-signals", "hr-analytics", True),
        ("hr", "points", "points-awards", "sales-operations", True),
        ("hr", "commitments", "commitments-templates", "compliance-office", False),
        ("team_lead", "points", "points-awards", "sales-operations", False),
        ("rules_admin", "compliance", "compliance-promises", "compliance-office", False),
    ],
)
def test_authority_by_service_and_pack_or_owner_group(
    role: str, service: str, pack: str, owner: str, expected: bool
) -> None:
    assert holds(principal(role), "publish", PackRef(service, pack, (owner,))) is expected


def test_an_owner_group_grant_needs_every_owner_of_the_pack() -> None:
    p = Principal("employees/x", permissions=parse_permissions({"rules.*/@hr-analytics.publish": "all"}))
    assert holds(p, "publish", PackRef("commitments", "c", ("hr-analytics",)))
    assert not holds(p, "publish", PackRef("commitments", "c", ("compliance-office", "hr-analytics")))
    assert not holds(p, "activate", PackRef("commitments", "c", ("hr-analytics",)))


def test_approval_policy_is_configurable_with_floors() -> None:
    policy = ApprovalPolicy.parse("attendance/*=2, compliance-*=1, identity-roles=0, scoring/*=0")
    assert policy.required(PackRef("attendance", "attendance-field-presence")) == 2
    assert policy.required(PackRef("compliance", "compliance-promises")) == 1
    assert policy.required(PackRef("points", "points-awards")) == 0
    assert policy.required(ROLE_TABLE) == 1  # never below one
    assert policy.required(PackRef("scoring", "scoring-metrics-and-signals")) == 1
    for bad in ("attendance", "x=many", "=1", "x=11"):
        with pytest.raises(InvalidArgument) as err:
            ApprovalPolicy.parse(bad)
        assert err.value.field == "COVENANT_RULES_APPROVALS"


def test_personal_data_is_masked_in_tooling_text() -> None:
    text = mask_text(
        "{'phone': '13812345678', 'id': '11010119900307123X', 'card': '6222 0212 3456 7890', "
        "'mail': 'li.wei@example.com', 'amount': 250000, 'date': '2026-11-10'}"
    )
    for secret in ("13812345678", "11010119900307123X", "6222 0212", "li.wei@"):
        assert secret not in text
    assert "138****5678" in text and "250000" in text and "2026-11-10" in text


def test_scope_decides_which_recent_events_are_visible() -> None:
    team = ScopeFilter(employee_id="L1", org_unit="/hq/t1")
    assert visible(team, {"employee_id": "E1", "org_unit": "/hq/t1"})
    assert visible(team, {"subject": "employees/L1"})
    assert not visible(team, {"employee_id": "E9", "org_unit": "/hq/t2"})
    assert not visible(team, {"type": "unowned"})
    assert visible(ScopeFilter(all=True), {"type": "unowned"})
