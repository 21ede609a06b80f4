"""Identity through real gRPC (SQLite and PostgreSQL): scoped reads, masking, login throttling, tokens,
audit."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest
from sqlalchemy import create_engine, inspect, text

from covenant.db.engine import normalise_url
from covenant.grpc.testing import RunningService, bearer, running_service
from covenant.identity.v1 import (
    accounts_pb2,
    audit_pb2,
    identity_service_pb2_grpc,
    keys_pb2,
    org_pb2,
    rbac_pb2,
)

NID = "110105199001011234"


@dataclass
class Org:
    svc: RunningService
    stub: identity_service_pb2_grpc.IdentityServiceStub
    admin: list[tuple[str, str]]
    db_url: str

    def login(self, username: str, password: str = "Passw0rd-rep") -> list[tuple[str, str]]:
        pair = self.stub.Login(accounts_pb2.LoginRequest(username=username, password=password), timeout=10)
        return bearer(pair.access_token)


def _emp(eid: str, org: str, **kw: str) -> org_pb2.ImportRecord:
    return org_pb2.ImportRecord(
        employee=org_pb2.Employee(employee_id=eid, display_name=f"Person {eid}", org_unit=org, **kw)
    )


def _unit(path: str) -> org_pb2.ImportRecord:
    return org_pb2.ImportRecord(org_unit=org_pb2.OrgUnit(path=path, display_name=path.rsplit("/", 1)[1]))


def _code(call, *args, **kwargs) -> grpc.RpcError:  # type: ignore[no-untyped-def]
    with pytest.raises(grpc.RpcError) as err:
        call(*args, timeout=10, **kwargs)
    return err.value


@pytest.fixture
def org(db_url: str, tmp_path: Path) -> Iterator[Org]:
    with running_service("identity", db_url=db_url, data_dir=tmp_path) as svc:
        stub = identity_service_pb2_grpc.IdentityServiceStub(svc.channel)
        password = svc.host.ctx.secrets.get_secret("identity/bootstrap-admin")["password"]
        pair = stub.Login(accounts_pb2.LoginRequest(username="admin", password=password), timeout=10)
        admin = bearer(pair.access_token)
        records = [
            _unit("/hq"),
            _unit("/hq/b1"),
            _unit("/hq/b1/t1"),
            _unit("/hq/b1/t2"),
            _emp("E1", "/hq/b1/t1", national_id=NID, phone="13800138000", bank_card="6222020200001234"),
            _emp("E2", "/hq/b1/t1"),
            _emp("E3", "/hq/b1/t1"),
            _emp("E4", "/hq/b1/t2"),
            _emp("E5", "/hq"),
        ]
        stub.ImportDirectory(iter(records), metadata=admin, timeout=30)
        for username, eid, role in [
            ("rep1", "E1", "sales_rep"),
            ("lead1", "E3", "team_lead"),
            ("hr1", "E5", "hr"),
        ]:
            stub.CreateAccount(
                accounts_pb2.CreateAccountRequest(
                    account=accounts_pb2.Account(
                        username=username,
                        employee_id=eid,
                        role_assignments=[accounts_pb2.RoleAssignment(role=role)],
                    ),
                    password="Passw0rd-rep",
                ),
                metadata=admin,
                timeout=10,
            )
        yield Org(svc, stub, admin, db_url)


def tamper_audit_row(db_url: str, seq: int) -> None:
    """Edit one audit entry behind the service's back (as a rogue DBA would), keeping its stored hash."""
    engine = create_engine(normalise_url(db_url))
    try:
        tables = [t for t in inspect(engine).get_table_names() if "audit" in t]
        assert tables, "no audit table"
        table = tables[0]
        columns = {c["name"] for c in inspect(engine).get_columns(table)}
        target = next(c for c in ("actor", "action", "subject") if c in columns)
        key = next(c for c in ("seq", "id") if c in columns)
        with engine.begin() as conn:
            changed = conn.execute(
                text(f'UPDATE {table} SET "{target}" = :v WHERE "{key}" = :k'),
                {"v": "accounts/mallory", "k": seq},
            )
            assert changed.rowcount == 1
    finally:
        engine.dispose()


def _get(o: Org, eid: str, md: list[tuple[str, str]]) -> org_pb2.Employee:
    return o.stub.GetEmployee(org_pb2.GetEmployeeRequest(name=f"employees/{eid}"), metadata=md, timeout=10)


def test_rep_reads_own_profile_but_not_a_peers(org: Org) -> None:
    rep = org.login("rep1")
    assert _get(org, "E1", rep).employee_id == "E1"
    err = _code(org.stub.GetEmployee, org_pb2.GetEmployeeRequest(name="employees/E2"), metadata=rep)
    assert err.code() == grpc.StatusCode.PERMISSION_DENIED
    assert "identity.employees.read" in (err.details() or "")


def test_team_lead_reads_their_team_not_another(org: Org) -> None:
    lead = org.login("lead1")
    assert _get(org, "E2", lead).org_unit == "/hq/b1/t1"
    err = _code(org.stub.GetEmployee, org_pb2.GetEmployeeRequest(name="employees/E4"), metadata=lead)
    assert err.code() == grpc.StatusCode.PERMISSION_DENIED
    listed = org.stub.ListEmployees(org_pb2.ListEmployeesRequest(), metadata=lead, timeout=10)
    assert [e.employee_id for e in listed.employees] == ["E1", "E2", "E3"]


def test_id_numbers_are_unmasked_only_with_the_unmask_permission(org: Org) -> None:
    hr = org.login("hr1")  # the hr role grants identity.employees.unmask
    full = _get(org, "E1", hr)
    assert (full.national_id, full.phone, full.bank_card, full.masked) == (
        NID,
        "13800138000",
        "6222020200001234",
        False,
    )
    hr_without_unmask = bearer(
        org.svc.tokens.user("E5", "/hq", {"identity.employees.read": "all"}, roles=("hr",))
    )
    hidden = _get(org, "E1", hr_without_unmask)
    assert hidden.masked and hidden.national_id == "110***********1234" and NID not in str(hidden)
    assert hidden.bank_card == "************1234"
    own = _get(org, "E1", org.login("rep1"))  # a rep sees their own record masked too
    assert own.masked and own.national_id != NID


def test_sensitive_fields_are_encrypted_at_rest(org: Org) -> None:
    engine = create_engine(normalise_url(org.db_url))
    with engine.connect() as conn:
        row = conn.execute(
            text("SELECT national_id_enc, phone_enc FROM identity_employees WHERE employee_id = 'E1'")
        ).one()
    engine.dispose()
    assert row.national_id_enc and NID not in row.national_id_enc and "13800138000" not in row.phone_enc


def test_failed_logins_are_counted_and_throttled_by_source_without_locking(org: Org) -> None:
    for _ in range(5):
        err = _code(org.stub.Login, accounts_pb2.LoginRequest(username="rep1", password="wrong-Password1"))
        assert err.code() == grpc.StatusCode.UNAUTHENTICATED
    err = _code(org.stub.Login, accounts_pb2.LoginRequest(username="rep1", password="Passw0rd-rep"))
    assert err.code() == grpc.StatusCode.RESOURCE_EXHAUSTED and "this address" in (err.details() or "")
    account = org.stub.GetAccount(accounts_pb2.GetAccountRequest(name="accounts/rep1"), metadata=org.admin)
    assert not account.locked and account.failed_attempts == 5  # counted for administrators, not locked


def test_refresh_rotates_and_reuse_revokes_the_family(org: Org) -> None:
    first = org.stub.Login(accounts_pb2.LoginRequest(username="rep1", password="Passw0rd-rep"), timeout=10)
    second = org.stub.RefreshToken(accounts_pb2.RefreshTokenRequest(refresh_token=first.refresh_token))
    assert second.refresh_token != first.refresh_token and second.access_token
    err = _code(org.stub.RefreshToken, accounts_pb2.RefreshTokenRequest(refresh_token=first.refresh_token))
    assert err.code() == grpc.StatusCode.UNAUTHENTICATED
    err = _code(org.stub.RefreshToken, accounts_pb2.RefreshTokenRequest(refresh_token=second.refresh_token))
    assert err.code() == grpc.StatusCode.UNAUTHENTICATED and "revoked" in (err.details() or "")


def test_import_with_one_bad_row_changes_nothing(org: Org) -> None:
    before = org.stub.ListEmployees(org_pb2.ListEmployeesRequest(), metadata=org.admin, timeout=10)
    units_before = org.stub.ListOrgUnits(org_pb2.ListOrgUnitsRequest(), metadata=org.admin, timeout=10)
    records = [
        _unit("/hq/b2"),
        _emp("E10", "/hq/b2"),
        _emp("E11", "/hq/nowhere"),
        _emp("E1", "/hq/b2"),  # would move E1 if applied
    ]
    err = _code(org.stub.ImportDirectory, iter(records), metadata=org.admin)
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert (err.details() or "").startswith("records[2].employee.org_unit")
    after = org.stub.ListEmployees(org_pb2.ListEmployeesRequest(), metadata=org.admin, timeout=10)
    units_after = org.stub.ListOrgUnits(org_pb2.ListOrgUnitsRequest(), metadata=org.admin, timeout=10)
    assert after == before and units_after == units_before
    assert _get(org, "E1", org.admin).org_unit == "/hq/b1/t1"


def test_edited_audit_row_is_detected_by_the_chain_check(org: Org) -> None:
    ok = org.stub.VerifyAuditChain(audit_pb2.VerifyAuditChainRequest(), metadata=org.admin, timeout=10)
    assert ok.intact and ok.entries_checked >= 10
    entries = org.stub.ListAuditEntries(
        audit_pb2.ListAuditEntriesRequest(subject="employees/E2"), metadata=org.admin, timeout=10
    ).entries
    target = entries[0]
    tamper_audit_row(org.db_url, target.seq)
    broken = org.stub.VerifyAuditChain(audit_pb2.VerifyAuditChainRequest(), metadata=org.admin, timeout=10)
    assert not broken.intact and broken.first_broken_seq == target.seq


def test_roles_come_from_the_role_pack_and_check_permission(org: Org) -> None:
    roles = org.stub.ListRoles(rbac_pb2.ListRolesRequest(), metadata=org.admin, timeout=10).roles
    by_name = {r.name: dict(r.grants) for r in roles}
    assert by_name["sales_rep"]["identity.employees.read"] == "self"
    assert by_name["hr"]["identity.employees.unmask"] == "all"
    lead = org.login("lead1")
    check = org.stub.CheckPermission(
        rbac_pb2.CheckPermissionRequest(permission="identity.employees.read", owner="employees/E4"),
        metadata=lead,
        timeout=10,
    )
    assert (check.allowed, check.scope) == (False, "team")


def test_a_retried_create_employee_replays_and_a_reused_request_id_is_refused(org: Org) -> None:
    def create(name: str) -> org_pb2.Employee:
        e = org_pb2.Employee(employee_id="E9", display_name=name, org_unit="/hq/b1/t2")
        req = org_pb2.CreateEmployeeRequest(employee=e, request_id="hire-E9")
        return org.stub.CreateEmployee(req, metadata=org.admin, timeout=10)

    assert create("Nine").employee_id == "E9"
    assert create("Nine").display_name == "Nine"  # the retry replays; no ALREADY_EXISTS
    err = _code(
        org.stub.CreateEmployee,
        org_pb2.CreateEmployeeRequest(
            employee=org_pb2.Employee(employee_id="E9", display_name="Other", org_unit="/hq/b1/t2"),
            request_id="hire-E9",
        ),
        metadata=org.admin,
    )
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT and "request_id" in (err.details() or "")
    unit = org_pb2.CreateOrgUnitRequest(
        org_unit=org_pb2.OrgUnit(path="/hq/b2", display_name="b2"), request_id="u"
    )
    assert org.stub.CreateOrgUnit(unit, metadata=org.admin, timeout=10).path == "/hq/b2"
    assert org.stub.CreateOrgUnit(unit, metadata=org.admin, timeout=10).path == "/hq/b2"


def test_an_import_cannot_pull_an_employee_in_from_outside_the_importers_scope(org: Org) -> None:
    """An HR account scoped to one team could move another team's rep into it through an import (only the
    destination was checked); UpdateEmployee already checked both ends."""
    scoped = bearer(
        org.svc.tokens.user(
            "E4",
            "/hq/b1/t2",
            {"identity.directory.import": "all", "identity.employees.write": "subtree"},
            roles=("hr",),
        )
    )
    err = _code(org.stub.ImportDirectory, iter([_emp("E1", "/hq/b1/t2")]), metadata=scoped)
    assert err.code() == grpc.StatusCode.PERMISSION_DENIED
    assert "identity.employees.write" in (err.details() or "")
    assert _get(org, "E1", org.admin).org_unit == "/hq/b1/t1"  # nothing moved
    created = org.stub.ImportDirectory(iter([_emp("E20", "/hq/b1/t2")]), metadata=scoped, timeout=10)
    assert created.employees_created == 1  # inside its subtree the same account imports as before


def test_a_retried_create_service_account_gets_a_working_secret_and_replaces_the_unseen_one(org: Org) -> None:
    def create(request_id: str, roles: tuple[str, ...] = ()) -> accounts_pb2.CreateServiceAccountResponse:
        sa = accounts_pb2.ServiceAccount(client_id="loan-origination", roles=list(roles))
        req = accounts_pb2.CreateServiceAccountRequest(service_account=sa, request_id=request_id)
        return org.stub.CreateServiceAccount(req, metadata=org.admin, timeout=10)

    def token(secret: str) -> grpc.StatusCode:
        req = keys_pb2.IssueServiceTokenRequest(client_id="loan-origination", client_secret=secret)
        try:
            org.stub.IssueServiceToken(req, timeout=10)
        except grpc.RpcError as err:
            return err.code()
        return grpc.StatusCode.OK

    first = create("onboard-los").client_secret  # suppose this answer was lost on the way
    second = create("onboard-los").client_secret  # the retry: no ALREADY_EXISTS, a secret that works
    assert second and second != first
    assert token(second) == grpc.StatusCode.OK and token(first) == grpc.StatusCode.UNAUTHENTICATED
    err = _code(
        org.stub.CreateServiceAccount,
        accounts_pb2.CreateServiceAccountRequest(
            service_account=accounts_pb2.ServiceAccount(client_id="loan-origination", roles=["sales_rep"]),
            request_id="onboard-los",
        ),
        metadata=org.admin,
    )
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT and "request_id" in (err.details() or "")
    again = _code(
        org.stub.CreateServiceAccount,
        accounts_pb2.CreateServiceAccountRequest(
            service_account=accounts_pb2.ServiceAccount(client_id="loan-origination")
        ),
        metadata=org.admin,
    )
    assert again.code() == grpc.StatusCode.ALREADY_EXISTS  # without a request id a second create is refused
    assert token(second) == grpc.StatusCode.OK


def test_a_retried_role_change_does_not_end_the_sessions_it_already_ended(org: Org) -> None:
    req = accounts_pb2.SetRoleAssignmentsRequest(
        name="accounts/rep1",
        role_assignments=[accounts_pb2.RoleAssignment(role="sales_rep")],
        request_id="promote-rep1",
    )
    org.stub.SetRoleAssignments(req, metadata=org.admin, timeout=10)
    pair = org.stub.Login(accounts_pb2.LoginRequest(username="rep1", password="Passw0rd-rep"), timeout=10)
    org.stub.SetRoleAssignments(req, metadata=org.admin, timeout=10)  # the retry replays
    refreshed = org.stub.RefreshToken(
        accounts_pb2.RefreshTokenRequest(refresh_token=pair.refresh_token), timeout=10
    )
    assert refreshed.access_token
    unlock = accounts_pb2.UnlockAccountRequest(name="accounts/rep1", request_id="unlock-rep1")
    assert org.stub.UnlockAccount(unlock, metadata=org.admin, timeout=10).username == "rep1"
    assert org.stub.UnlockAccount(unlock, metadata=org.admin, timeout=10).username == "rep1"


def _all_pages(call, request, items: str, size: int, md: list[tuple[str, str]]) -> list[list[str]]:  # type: ignore[no-untyped-def]
    """Every page of a list RPC at ``size``: each row as its employee id, org unit path or audit sequence."""
    pages, token = [], ""
    while True:
        request.page_size, request.page_token = size, token
        resp = call(request, metadata=md, timeout=10)
        rows = getattr(resp, items)
        pages.append([getattr(x, "employee_id", "") or getattr(x, "path", "") or str(x.seq) for x in rows])
        token = resp.next_page_token
        if not token:
            return pages


@pytest.mark.parametrize("size", [1, 2, 5, 6])
def test_identity_lists_page_through_every_row_once_and_a_token_is_bound_to_its_filter(
    org: Org, size: int
) -> None:
    lists = [
        (org.stub.ListEmployees, org_pb2.ListEmployeesRequest(), "employees"),
        (org.stub.ListOrgUnits, org_pb2.ListOrgUnitsRequest(), "org_units"),
        (org.stub.ListAuditEntries, audit_pb2.ListAuditEntriesRequest(), "entries"),
    ]
    for call, request, items in lists:
        (everything,) = _all_pages(call, type(request)(), items, 1000, org.admin)
        pages = _all_pages(call, request, items, size, org.admin)
        assert len(everything) >= 4 and all(len(p) <= size for p in pages) and all(pages[:-1])
        assert [x for p in pages for x in p] == everything, items
    first = org.stub.ListEmployees(org_pb2.ListEmployeesRequest(page_size=1), metadata=org.admin, timeout=10)
    err = _code(
        org.stub.ListEmployees,
        org_pb2.ListEmployeesRequest(org_unit="/hq/b1", page_size=1, page_token=first.next_page_token),
        metadata=org.admin,
    )
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT and "page_token" in (err.details() or "")
