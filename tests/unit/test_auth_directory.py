"""covenant.auth.directory: the directory cache and the refusal of asserted identity attributes (pure)."""

from __future__ import annotations

import pytest

from covenant.auth import Principal, Scope, holds_all
from covenant.auth.directory import EMPLOYEE_CHANGED, Directory, DirectoryEntry, NotInDirectory
from covenant.db.outbox import new_event
from covenant.errors import FailedPrecondition, InvalidArgument, PermissionDenied, Unavailable

PEOPLE = {
    "E1": DirectoryEntry("E1", "/hq/b1/t1", ("collector",), "L1"),
    "L1": DirectoryEntry("L1", "/hq/b1/t1", ("team_lead",), "M1"),
    "M1": DirectoryEntry("M1", "/hq/b1", ("branch_manager",), "E1"),  # a cycle, cut by the walk
    "GONE": DirectoryEntry("GONE", "/hq/b1/t1", (), "", "LEFT"),
}


class Identity:
    """A fetch function over a fixed table, counting look-ups (the port the cache sits on; the gRPC one is
    exercised in tests/integration/test_trust_boundary.py)."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.up = True

    def __call__(self, employee_id: str) -> DirectoryEntry:
        self.calls.append(employee_id)
        if not self.up:
            raise Unavailable("identity is down")
        if employee_id not in PEOPLE:
            raise NotInDirectory(employee_id)
        return PEOPLE[employee_id]


def test_the_directory_answers_and_a_different_claim_is_refused_naming_the_field() -> None:
    d = Directory(Identity())
    assert d.resolve("E1").org_unit == "/hq/b1/t1"
    assert d.resolve("E1", org_unit="/hq/b1/t1/", role="collector").role == "collector"
    with pytest.raises(InvalidArgument) as err:
        d.resolve("E1", org_unit="/hq/rural", field="pings[3]")
    assert err.value.field == "pings[3].org_unit" and "/hq/b1/t1" in err.value.message
    with pytest.raises(InvalidArgument) as err:
        d.resolve("E1", role="rural_officer")
    assert err.value.field == "role"
    with pytest.raises(FailedPrecondition, match="not in the directory"):
        d.resolve("NOBODY")
    with pytest.raises(FailedPrecondition, match="has left"):
        d.resolve("GONE")
    with pytest.raises(InvalidArgument):
        d.resolve("")


def test_lookups_are_cached_and_misses_retried_after_the_negative_ttl() -> None:
    now = [0.0]
    identity = Identity()
    d = Directory(identity, ttl_seconds=60, negative_ttl_seconds=5, clock=lambda: now[0])
    d.resolve("E1")
    d.resolve("E1")
    assert identity.calls == ["E1"]
    assert d.find("NOBODY") is None and d.find("NOBODY") is None
    now[0] = 6
    d.find("NOBODY")
    assert identity.calls == ["E1", "NOBODY", "NOBODY"]
    now[0] = 61
    identity.up = False
    with pytest.raises(Unavailable):  # expired and identity unreachable: fail closed
        d.resolve("E1")


def test_identity_events_keep_it_fresh_and_only_identity_may_send_them() -> None:
    identity = Identity()
    d = Directory(identity)
    assert d.resolve("E1").org_unit == "/hq/b1/t1"
    moved = DirectoryEntry("E1", "/hq/rural/t1", ("collector",), "L1")
    event = new_event(EMPLOYEE_CHANGED, source="identity", data=moved.to_data())
    sender = Principal("serviceAccounts/identity", kind="service")
    assert d.observe_event(event, sender)
    assert d.resolve("E1").org_unit == "/hq/rural/t1" and identity.calls == ["E1"]
    forged = new_event(EMPLOYEE_CHANGED, source="identity", data={**moved.to_data(), "org_unit": "/hq/x"})
    with pytest.raises(PermissionDenied, match="identity's service account"):
        d.observe_event(forged, Principal("serviceAccounts/attendance", kind="service"))
    with pytest.raises(PermissionDenied):
        d.observe_event(new_event(EMPLOYEE_CHANGED, source="attendance", data=moved.to_data()), sender)
    assert d.resolve("E1").org_unit == "/hq/rural/t1"
    assert not d.observe_event(new_event("attendance.visit_verified", source="attendance"), sender)


def test_manager_chain_walks_up_and_stops_at_a_cycle() -> None:
    d = Directory(Identity())
    assert d.manager_chain("E1") == ("L1", "M1")


def test_dev_mode_trusts_the_request_only_for_employees_identity_does_not_know() -> None:
    identity = Identity()
    d = Directory(identity, trust_requests=True)
    assert d.resolve("NOBODY", org_unit="/hq/x", role="collector") == DirectoryEntry(
        "NOBODY", "/hq/x", ("collector",)
    )
    with pytest.raises(InvalidArgument):
        d.resolve("E1", org_unit="/hq/x")  # known: still the directory's
    identity.up = False
    assert d.resolve("OTHER", org_unit="/hq/y").org_unit == "/hq/y"


def test_holding_rights_means_at_least_as_widely() -> None:
    hr = Principal(
        "employees/HR", permissions={"identity.accounts.write": Scope.ALL, "points.ledger.read": "all"}
    )
    assert holds_all(hr, {"points.ledger.read": Scope.SELF}) is None
    assert holds_all(hr, {"attendance.pings.write": Scope.SELF}) == "attendance.pings.write"
    assert holds_all(hr, {"*": Scope.ALL}) == "*"
    lead = Principal("employees/L", permissions={"points.ledger.read": "team"})
    assert holds_all(lead, {"points.ledger.read": Scope.ALL}) == "points.ledger.read"
    admin = Principal("users/admin", permissions={"*": "all"})
    assert holds_all(admin, {"*": Scope.ALL, "scoring.*.*": Scope.ALL}) is None


def test_identity_down_fails_closed_and_fast_for_the_down_window() -> None:
    now = [0.0]
    identity = Identity()
    identity.up = False
    d = Directory(identity, down_seconds=2, clock=lambda: now[0])
    with pytest.raises(Unavailable):
        d.resolve("E1")
    with pytest.raises(Unavailable, match="not retried"):  # no second wait on identity
        d.resolve("L1")
    assert identity.calls == ["E1"]
    identity.up = True
    now[0] = 2.5
    assert d.resolve("L1").org_unit == "/hq/b1/t1" and identity.calls == ["E1", "L1"]


def test_line_grants_reach_only_the_callers_reports_and_remit_grants_pass() -> None:
    from covenant.auth.directory import forbid_line, require_line

    d = Directory(Identity())

    def user(eid: str, scope: str) -> Principal:
        return Principal(f"users/{eid}", employee_id=eid, org_unit="/hq/b1/t1", permissions={"p.x.y": scope})

    require_line(d, user("L1", "team"), "E1", "p.x.y", "adjust points")  # a direct report
    require_line(d, user("M1", "subtree"), "L1", "p.x.y", "adjust points")
    with pytest.raises(PermissionDenied, match="chain of command") as err:
        require_line(d, user("L9", "team"), "E1", "p.x.y", "adjust points")  # same unit, not their report
    assert "p.x.y" in err.value.message
    require_line(d, user("HR", "all"), "E1", "p.x.y", "adjust points")  # a remit, not line authority
    require_line(None, user("L9", "team"), "E1", "p.x.y", "adjust points")  # no directory: tools
    forbid_line(d, user("C1", "subtree"), "E1", "p.x.y", "handle a case")
    with pytest.raises(PermissionDenied, match="independence"):
        forbid_line(d, user("L1", "subtree"), "E1", "p.x.y", "handle a case")
