"""Permission grants, wildcards and data scopes."""

from __future__ import annotations

import pytest

from covenant.auth import DataOwner, Principal, Scope, authorize, can, parse_permissions, scope_filter
from covenant.errors import PermissionDenied

LEAD = Principal(
    subject="employees/L1",
    employee_id="L1",
    org_unit="/hq/b1/t1",
    permissions=parse_permissions({"points.ledger.read": "team", "attendance.*.read": "subtree"}),
)


def test_team_scope_covers_own_team_only() -> None:
    assert can(LEAD, "points.ledger.read", DataOwner("E2", "/hq/b1/t1"))
    assert not can(LEAD, "points.ledger.read", DataOwner("E3", "/hq/b1/t2"))


def test_wildcard_segment_and_subtree() -> None:
    assert can(LEAD, "attendance.routes.read", DataOwner("E9", "/hq/b1/t1/sub"))
    assert not can(LEAD, "attendance.routes.read", DataOwner("E9", "/hq/b1/t10"))
    assert not can(LEAD, "attendance.routes.write", DataOwner("E9", "/hq/b1/t1"))


def test_self_scope_and_denial_names_permission() -> None:
    rep = Principal(
        "employees/E1", employee_id="E1", org_unit="/hq/b1/t1", permissions={"points.ledger.read": Scope.SELF}
    )
    authorize(rep, "points.ledger.read", DataOwner("E1", "/hq/b1/t1"))
    with pytest.raises(PermissionDenied, match="points.ledger.read"):
        authorize(rep, "points.ledger.read", DataOwner("E2", "/hq/b1/t1"))
    with pytest.raises(PermissionDenied, match="points.rewards.approve"):
        authorize(rep, "points.rewards.approve")


def test_widest_matching_grant_wins() -> None:
    p = Principal("x", permissions=parse_permissions(["points.*.read:self", "*:all"]))
    assert p.scope_for("points.ledger.read") is Scope.ALL


def test_scope_filter_for_lists() -> None:
    f = scope_filter(LEAD, "points.ledger.read")
    assert f.org_unit == "/hq/b1/t1" and not f.all
    assert f.matches(DataOwner("E2", "/hq/b1/t1")) and not f.matches(DataOwner("E2", "/hq/b2/t1"))
    g = scope_filter(LEAD, "attendance.routes.read")
    assert g.matches(DataOwner("E5", "/hq/b1/t1/x")) and not g.matches(DataOwner("E5", "/hq/b1"))


def test_unknown_scope_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown scope"):
        parse_permissions({"a.b.c": "galaxy"})
