"""Identity domain: org paths, employee validation and masking, lockout, role tables, import planning."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from covenant.auth import Scope
from covenant.errors import InvalidArgument
from services.identity.domain.accounts import (
    Account,
    after_success,
    counted_failure,
    validate_password,
    validate_username,
)
from services.identity.domain.directory_import import plan_import
from services.identity.domain.org import (
    Employee,
    OrgUnit,
    is_under,
    mask_value,
    masked,
    validate_employee,
    validate_org_path,
)
from services.identity.domain.rbac import RoleTable, anchor_org_unit, merge_grants

NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def emp(eid: str = "E1", org: str = "/hq/b1/t1", **kw: object) -> Employee:
    return Employee(employee_id=eid, display_name=f"Name {eid}", org_unit=org, **kw)  # type: ignore[arg-type]


def test_org_paths_are_normalised_and_checked() -> None:
    assert validate_org_path("/hq/b1/") == "/hq/b1"
    for bad in ("", "hq/b1", "/", "/hq//b1", "/hq/b 1"):
        with pytest.raises(InvalidArgument) as err:
            validate_org_path(bad, "org_unit.path")
        assert err.value.field == "org_unit.path"
    assert is_under("/hq/b1/t1", "/hq/b1") and is_under("/hq/b1", "/hq/b1")
    assert not is_under("/hq/b10", "/hq/b1")


def test_employee_validation_names_the_field() -> None:
    ok = validate_employee(emp(national_id="11010519491231002x", bank_card="6222 0202 0000 1234"))
    assert ok.national_id == "11010519491231002X" and ok.bank_card == "6222020200001234"
    with pytest.raises(InvalidArgument) as err:
        validate_employee(emp(national_id="12345"), "records[2].employee")
    assert err.value.field == "records[2].employee.national_id"
    with pytest.raises(InvalidArgument) as err:
        validate_employee(emp(manager_id="E1"))
    assert err.value.field == "employee.manager_id"


def test_masking_hides_all_but_the_edges() -> None:
    e = masked(emp(national_id="110105194912310021", phone="13800138000", bank_card="6222020200001234"))
    assert e.national_id == "110***********0021"
    assert e.phone == "138****8000"
    assert e.bank_card == "************1234"
    assert e.masked
    assert mask_value("", 3, 4) == "" and mask_value("123", 3, 4) == "***"


def test_failed_logins_are_counted_but_never_lock_and_success_resets() -> None:
    acct = Account("alice", "E1", "hash")
    for _ in range(50):  # guessing is throttled by source (test_identity_throttle), never by a lock
        acct = counted_failure(acct)
    assert acct.failed_attempts == 50 and not acct.is_locked(NOW)
    assert after_success(acct).failed_attempts == 0


def test_username_and_password_rules() -> None:
    assert validate_username(" Alice.W ") == "alice.w"
    with pytest.raises(InvalidArgument):
        validate_username("a")
    with pytest.raises(InvalidArgument):
        validate_password("short1")
    with pytest.raises(InvalidArgument):
        validate_password("alllowercaseletters")
    assert validate_password("Correct-horse-1")


def test_role_table_merges_widest_scope_and_rejects_bad_names() -> None:
    merged = merge_grants({"hr": {"a.b.read": "team"}}, {"hr": {"a.b.read": "all", "a.c.read": "self"}})
    table = RoleTable.from_mapping(merged)
    assert table.grants_for(["hr", "nobody"]) == {"a.b.read": Scope.ALL, "a.c.read": Scope.SELF}
    with pytest.raises(InvalidArgument) as err:
        RoleTable.from_mapping({"hr": {"not-a-permission": "all"}})
    assert err.value.field == "roles.hr"
    with pytest.raises(InvalidArgument):
        RoleTable.from_mapping({"hr": {"a.b.read": "galaxy"}})


def test_token_anchor_is_the_highest_assigned_unit() -> None:
    assert anchor_org_unit("/hq/b1/t1", ["", ""]) == "/hq/b1/t1"
    assert anchor_org_unit("/hq/b1/t1", ["/hq/b1/t1", "/hq/b1"]) == "/hq/b1"


def test_import_plan_orders_units_and_accepts_forward_references() -> None:
    items = [emp("E2", "/hq/b1", manager_id="E1"), OrgUnit("/hq/b1", "Branch 1"), emp("E1", "/hq/b1")]
    plan = plan_import(items, lambda p: p == "/hq", lambda e: False)
    assert [u.path for u in plan.org_units] == ["/hq/b1"]
    assert [e.employee_id for e in plan.employees] == ["E2", "E1"]


def test_import_plan_lists_every_bad_line() -> None:
    items = [
        OrgUnit("/hq/b1"),
        emp("E1", "/hq/b1"),
        emp("E2", "/hq/nowhere"),
        emp("E3", "/hq/b1", phone="not a phone"),
        emp("E1", "/hq/b1"),
    ]
    with pytest.raises(InvalidArgument) as err:
        plan_import(items, lambda p: p == "/hq", lambda e: False)
    assert err.value.field == "records[2].employee.org_unit"
    msg = err.value.message
    assert "records[3].employee.phone" in msg and "records[4].employee.employee_id" in msg
    assert "3 bad record(s)" in msg


def test_default_role_table_folds_every_services_grants() -> None:
    from services.identity.role_pack import default_role_grants, service_role_grants

    merged = default_role_grants()
    table = RoleTable.from_mapping(merged)  # every folded permission name and scope is valid
    for service, grants in service_role_grants().items():
        for role, perms in grants.items():
            for perm, scope in perms.items():
                assert Scope.parse(merged[role][perm]) >= Scope.parse(scope), (service, role, perm)
    assert table.grants_for(["platform_admin"])["*"] is Scope.ALL
    assert "identity.employees.unmask" not in table.grants_for(["team_lead", "compliance_officer"])
