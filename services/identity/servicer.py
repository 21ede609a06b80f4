"""gRPC adapter for ``covenant.identity.v1.IdentityService``: protobuf <-> identity use cases."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from covenant.errors import InvalidArgument
from covenant.grpc.context import current_principal
from covenant.grpc.messages import fields_of
from covenant.identity.v1 import (
    accounts_pb2,
    audit_pb2,
    identity_service_pb2_grpc,
    keys_pb2,
    org_pb2,
    rbac_pb2,
)
from covenant.timestamps import ts
from services.identity.accounts import AccountView
from services.identity.directory import UPDATABLE_EMPLOYEE_FIELDS, EmployeeView
from services.identity.domain.accounts import RoleAssignment
from services.identity.domain.directory_import import ImportItem
from services.identity.domain.org import Employee, EmployeeStatus, OrgUnit, parse_hire_date
from services.identity.service import IdentityService
from services.identity.tokens import TokenPair

_STATUS_TO_PB = {
    EmployeeStatus.ACTIVE: org_pb2.EMPLOYEE_STATUS_ACTIVE,
    EmployeeStatus.ON_LEAVE: org_pb2.EMPLOYEE_STATUS_ON_LEAVE,
    EmployeeStatus.LEFT: org_pb2.EMPLOYEE_STATUS_LEFT,
}
_STATUS_FROM_PB = {v: k for k, v in _STATUS_TO_PB.items()}


def employee_id_from_name(name: str, field: str = "name") -> str:
    if not name.startswith("employees/") or len(name) <= len("employees/"):
        raise InvalidArgument("must be employees/<employee_id>", field=field)
    return name.removeprefix("employees/")


def username_from_name(name: str, field: str = "name") -> str:
    if not name.startswith("accounts/") or len(name) <= len("accounts/"):
        raise InvalidArgument("must be accounts/<username>", field=field)
    return name.removeprefix("accounts/")


def employee_from_pb(m: org_pb2.Employee, prefix: str = "employee") -> Employee:
    eid = m.employee_id or (employee_id_from_name(m.name, f"{prefix}.name") if m.name else "")
    status = _STATUS_FROM_PB.get(m.status, EmployeeStatus.ACTIVE)
    return Employee(
        employee_id=eid,
        **fields_of(m, "display_name org_unit manager_id national_id phone bank_card"),
        role_titles=tuple(m.role_titles),
        status=status,
        hire_date=parse_hire_date(m.hire_date, f"{prefix}.hire_date"),
    )


def employee_to_pb(v: EmployeeView) -> org_pb2.Employee:
    e = v.employee
    return org_pb2.Employee(
        name=f"employees/{e.employee_id}",
        **fields_of(e, "employee_id display_name org_unit manager_id national_id phone bank_card masked"),
        role_titles=list(e.role_titles),
        status=_STATUS_TO_PB[e.status],
        hire_date=e.hire_date.isoformat() if e.hire_date else "",
        create_time=ts(v.created_at),
        update_time=ts(v.updated_at),
    )


def org_unit_to_pb(unit: OrgUnit, created: datetime) -> org_pb2.OrgUnit:
    return org_pb2.OrgUnit(
        path=unit.path, display_name=unit.display_name, parent_path=unit.parent_path, create_time=ts(created)
    )


def account_to_pb(v: AccountView) -> accounts_pb2.Account:
    a = v.account
    return accounts_pb2.Account(
        name=f"accounts/{a.username}",
        **fields_of(a, "username employee_id failed_attempts disabled"),
        role_assignments=[
            accounts_pb2.RoleAssignment(role=r.role, org_unit=r.org_unit) for r in a.role_assignments
        ],
        locked=v.locked,
        locked_until=ts(a.locked_until) if v.locked else None,
        create_time=ts(v.created_at),
    )


def pair_to_pb(p: TokenPair) -> accounts_pb2.TokenPair:
    return accounts_pb2.TokenPair(
        **fields_of(p, "access_token expires_in_seconds refresh_token refresh_expires_in_seconds"),
        token_type="Bearer",
    )


def assignments_from_pb(items: Any) -> list[RoleAssignment]:
    return [RoleAssignment(a.role, a.org_unit) for a in items]


class IdentityServicer(identity_service_pb2_grpc.IdentityServiceServicer):
    """Thin translation layer; all decisions live in ``IdentityService``."""

    PUBLIC_METHODS = frozenset(
        f"/covenant.identity.v1.IdentityService/{m}"
        for m in ("GetJwks", "IssueServiceToken", "Login", "RefreshToken")
    )

    def __init__(self, service: IdentityService, audit_reader: Any) -> None:
        self.svc = service
        self.audit = audit_reader

    # -- keys and tokens --------------------------------------------------------------------------------
    def GetJwks(self, request: keys_pb2.GetJwksRequest, context: Any) -> keys_pb2.GetJwksResponse:
        return keys_pb2.GetJwksResponse(jwks_json=self.svc.tokens.jwks_json())

    def IssueServiceToken(
        self, request: keys_pb2.IssueServiceTokenRequest, context: Any
    ) -> keys_pb2.IssueServiceTokenResponse:
        p = self.svc.tokens.issue_service_token(request.client_id, request.client_secret)
        return keys_pb2.IssueServiceTokenResponse(
            access_token=p.access_token, expires_in_seconds=p.expires_in_seconds, token_type="Bearer"
        )

    def Login(self, request: accounts_pb2.LoginRequest, context: Any) -> accounts_pb2.TokenPair:
        forwarded = dict(context.invocation_metadata() or ()).get("x-forwarded-for", "")
        return pair_to_pb(
            self.svc.tokens.login(request.username, request.password, context.peer(), forwarded)
        )

    def RefreshToken(self, request: accounts_pb2.RefreshTokenRequest, context: Any) -> accounts_pb2.TokenPair:
        return pair_to_pb(self.svc.tokens.refresh(request.refresh_token))

    def RevokeToken(
        self, request: accounts_pb2.RevokeTokenRequest, context: Any
    ) -> accounts_pb2.RevokeTokenResponse:
        if not request.token:
            raise InvalidArgument("required", field="token")
        return accounts_pb2.RevokeTokenResponse(
            token_kind=self.svc.tokens.revoke(current_principal(), request.token)
        )

    def ListRevokedTokens(
        self, request: accounts_pb2.ListRevokedTokensRequest, context: Any
    ) -> accounts_pb2.ListRevokedTokensResponse:
        rows = self.svc.tokens.list_revoked(current_principal())
        return accounts_pb2.ListRevokedTokensResponse(
            revoked_tokens=[accounts_pb2.RevokedToken(jti=j, expire_time=ts(exp)) for j, exp in rows]
        )

    def RotateSigningKey(
        self, request: accounts_pb2.RotateSigningKeyRequest, context: Any
    ) -> accounts_pb2.RotateSigningKeyResponse:
        kid, previous = self.svc.tokens.rotate_signing_key(current_principal(), request.request_id)
        return accounts_pb2.RotateSigningKeyResponse(kid=kid, previous_kids=previous)

    # -- org units -----------------------------------------------------------------------------------------
    def CreateOrgUnit(self, request: org_pb2.CreateOrgUnitRequest, context: Any) -> org_pb2.OrgUnit:
        unit = OrgUnit(request.org_unit.path, request.org_unit.display_name)
        return org_unit_to_pb(
            *self.svc.directory.create_org_unit(current_principal(), unit, request.request_id)
        )

    def GetOrgUnit(self, request: org_pb2.GetOrgUnitRequest, context: Any) -> org_pb2.OrgUnit:
        if not request.path:
            raise InvalidArgument("required", field="path")
        return org_unit_to_pb(*self.svc.directory.get_org_unit(current_principal(), request.path))

    def ListOrgUnits(
        self, request: org_pb2.ListOrgUnitsRequest, context: Any
    ) -> org_pb2.ListOrgUnitsResponse:
        rows, nxt = self.svc.directory.list_org_units(
            current_principal(), request.root_path, request.page_size, request.page_token
        )
        return org_pb2.ListOrgUnitsResponse(
            org_units=[org_unit_to_pb(u, c) for u, c in rows], next_page_token=nxt
        )

    # -- employees -------------------------------------------------------------------------------------------
    def CreateEmployee(self, request: org_pb2.CreateEmployeeRequest, context: Any) -> org_pb2.Employee:
        e = employee_from_pb(request.employee)
        return employee_to_pb(self.svc.directory.create_employee(current_principal(), e, request.request_id))

    def GetEmployee(self, request: org_pb2.GetEmployeeRequest, context: Any) -> org_pb2.Employee:
        eid = employee_id_from_name(request.name)
        return employee_to_pb(self.svc.directory.get_employee(current_principal(), eid))

    def ListEmployees(
        self, request: org_pb2.ListEmployeesRequest, context: Any
    ) -> org_pb2.ListEmployeesResponse:
        rows, nxt = self.svc.directory.list_employees(
            current_principal(), request.org_unit, request.page_size, request.page_token
        )
        return org_pb2.ListEmployeesResponse(employees=[employee_to_pb(v) for v in rows], next_page_token=nxt)

    def UpdateEmployee(self, request: org_pb2.UpdateEmployeeRequest, context: Any) -> org_pb2.Employee:
        patch = employee_from_pb(request.employee)
        fields = list(request.update_mask.paths)
        for f in fields:
            if f not in UPDATABLE_EMPLOYEE_FIELDS:
                raise InvalidArgument(f"cannot update {f!r}", field="update_mask")
        if request.employee.status == org_pb2.EMPLOYEE_STATUS_UNSPECIFIED and "status" not in fields:
            fields = fields or sorted(UPDATABLE_EMPLOYEE_FIELDS - {"status"})
        return employee_to_pb(
            self.svc.directory.update_employee(current_principal(), patch, fields, request.request_id)
        )

    def ImportDirectory(
        self, request_iterator: Iterator[org_pb2.ImportRecord], context: Any
    ) -> org_pb2.ImportDirectoryResponse:
        principal = current_principal()
        items: list[ImportItem] = []
        for i, record in enumerate(request_iterator):
            kind = record.WhichOneof("record")
            if kind == "org_unit":
                items.append(OrgUnit(record.org_unit.path, record.org_unit.display_name))
            elif kind == "employee":
                items.append(employee_from_pb(record.employee, f"records[{i}].employee"))
            else:
                raise InvalidArgument("record must hold an org_unit or an employee", field=f"records[{i}]")
        units, created, updated = self.svc.directory.import_directory(principal, items)
        return org_pb2.ImportDirectoryResponse(
            org_units_created=units, employees_created=created, employees_updated=updated
        )

    # -- accounts -----------------------------------------------------------------------------------
    def CreateAccount(self, request: accounts_pb2.CreateAccountRequest, context: Any) -> accounts_pb2.Account:
        a = request.account
        return account_to_pb(
            self.svc.accounts.create_account(
                current_principal(),
                a.username,
                a.employee_id,
                request.password,
                assignments_from_pb(a.role_assignments),
                request.request_id,
            )
        )

    def GetAccount(self, request: accounts_pb2.GetAccountRequest, context: Any) -> accounts_pb2.Account:
        return account_to_pb(
            self.svc.accounts.get_account(current_principal(), username_from_name(request.name))
        )

    def UnlockAccount(self, request: accounts_pb2.UnlockAccountRequest, context: Any) -> accounts_pb2.Account:
        return account_to_pb(
            self.svc.accounts.unlock_account(
                current_principal(), username_from_name(request.name), request.request_id
            )
        )

    def SetPassword(
        self, request: accounts_pb2.SetPasswordRequest, context: Any
    ) -> accounts_pb2.SetPasswordResponse:
        self.svc.accounts.set_password(
            current_principal(),
            username_from_name(request.name),
            request.current_password,
            request.new_password,
        )
        return accounts_pb2.SetPasswordResponse()

    def SetRoleAssignments(
        self, request: accounts_pb2.SetRoleAssignmentsRequest, context: Any
    ) -> accounts_pb2.Account:
        return account_to_pb(
            self.svc.accounts.set_role_assignments(
                current_principal(),
                username_from_name(request.name),
                assignments_from_pb(request.role_assignments),
                request.request_id,
            )
        )

    def CreateServiceAccount(
        self, request: accounts_pb2.CreateServiceAccountRequest, context: Any
    ) -> accounts_pb2.CreateServiceAccountResponse:
        sa = request.service_account
        client_id, secret = self.svc.accounts.create_service_account(
            current_principal(), sa.client_id, list(sa.roles), request.request_id
        )
        roles = list(sa.roles) or ["service"]
        return accounts_pb2.CreateServiceAccountResponse(
            service_account=accounts_pb2.ServiceAccount(
                name=f"serviceAccounts/{client_id}", client_id=client_id, roles=roles
            ),
            client_secret=secret,
        )

    # -- roles -----------------------------------------------------------------------------------------------
    def ListRoles(self, request: rbac_pb2.ListRolesRequest, context: Any) -> rbac_pb2.ListRolesResponse:
        table = self.svc.rbac.list_roles(current_principal())
        return rbac_pb2.ListRolesResponse(
            roles=[
                rbac_pb2.Role(name=r, grants=dict(g), pack_id=table.pack_id, pack_version=table.pack_version)
                for r, g in sorted(table.roles.items())
            ]
        )

    def CheckPermission(
        self, request: rbac_pb2.CheckPermissionRequest, context: Any
    ) -> rbac_pb2.CheckPermissionResponse:
        if not request.permission:
            raise InvalidArgument("required", field="permission")
        allowed, scope = self.svc.rbac.check_permission(
            current_principal(), request.permission, request.owner
        )
        return rbac_pb2.CheckPermissionResponse(allowed=allowed, scope=scope)

    # -- audit -----------------------------------------------------------------------------------------------
    def ListAuditEntries(
        self, request: audit_pb2.ListAuditEntriesRequest, context: Any
    ) -> audit_pb2.ListAuditEntriesResponse:
        entries, nxt = self.audit.list(
            current_principal(), request.subject, request.page_size, request.page_token
        )
        return audit_pb2.ListAuditEntriesResponse(entries=entries, next_page_token=nxt)

    def VerifyAuditChain(
        self, request: audit_pb2.VerifyAuditChainRequest, context: Any
    ) -> audit_pb2.VerifyAuditChainResponse:
        return self.audit.verify(current_principal())
