"""``covenant.auth.authorizing_lookup``: permission before existence, and the same answer for a missing name
as for one outside the caller's scope (Google AIP-211), naming the resource, never its owner."""

from __future__ import annotations

import pytest

from covenant.auth import DataOwner, Principal, authorizing_lookup, parse_permissions
from covenant.errors import NotFound, PermissionDenied

LEAD = Principal(
    "users/lead",
    employee_id="L1",
    org_unit="/hq/b1/t1",
    permissions=parse_permissions({"compliance.cases.read": "team"}),
)
AUDITOR = Principal("users/auditor", permissions=parse_permissions({"compliance.cases.read": "all"}))
REP = Principal("users/rep", employee_id="R1", org_unit="/hq/b1/t1", permissions={})


def look_up(principal: Principal, owner: DataOwner | None, name: str = "cases/7") -> list[str]:
    """Runs a look-up that finds ``owner``'s resource (or nothing); returns what the block did."""
    did: list[str] = []
    with authorizing_lookup(principal, "compliance.cases.read", name) as check:
        did.append("read")
        if owner is None:
            raise NotFound(f"{name} not found")
        check(owner)
        did.append("allowed")
    return did


def test_a_caller_holding_the_permission_nowhere_is_denied_before_anything_is_read() -> None:
    with pytest.raises(PermissionDenied, match="^permission compliance.cases.read required$"):
        look_up(REP, None)


def test_in_scope_the_block_runs_to_its_end() -> None:
    assert look_up(LEAD, DataOwner("MATE", "/hq/b1/t1")) == ["read", "allowed"]
    assert look_up(LEAD, DataOwner("L1", "/hq/other")) == ["read", "allowed"]  # their own, anywhere


def test_missing_and_out_of_scope_answer_alike_and_name_the_resource_not_its_owner() -> None:
    with pytest.raises(PermissionDenied) as missing:
        look_up(LEAD, None, "cases/8")
    with pytest.raises(PermissionDenied) as elsewhere:
        look_up(LEAD, DataOwner("FAR", "/hq/b2/t1"), "cases/8")
    assert str(missing.value) == str(elsewhere.value)
    said = "permission compliance.cases.read required: scope team does not cover cases/8"
    assert str(missing.value) == said
    assert "FAR" not in str(elsewhere.value)


def test_a_grant_over_everything_is_told_not_found() -> None:
    with pytest.raises(NotFound, match="cases/9 not found"):
        look_up(AUDITOR, None, "cases/9")
    assert look_up(AUDITOR, DataOwner("FAR", "/hq/b2/t1")) == ["read", "allowed"]
