"""Accounts and roles: user and service accounts, passwords, role assignments (an admin gives only rights
they hold), the bootstrap accounts, the role table and permission checks."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy.orm import Session

from covenant.auth import (
    DataOwner,
    Principal,
    authorize,
    can,
    holds_all,
)
from covenant.db import Database, idempotency
from covenant.errors import (
    AlreadyExists,
    InvalidArgument,
    NotFound,
    PermissionDenied,
)
from covenant.services import SERVICES
from services.identity import SERVICE, passwords, storage
from services.identity.audit import AuditTrail
from services.identity.domain.accounts import (
    Account,
    RoleAssignment,
    unlocked,
    validate_client_id,
    validate_password,
    validate_username,
)
from services.identity.domain.rbac import RoleTable


@dataclass(frozen=True)
class AccountView:
    account: Account
    created_at: datetime
    locked: bool


@dataclass
class Accounts:
    db: Database
    roles: Callable[[], RoleTable]
    audit: AuditTrail
    clock: Callable[[], datetime]

    # -- accounts ---------------------------------------------------------------------------------------
    def _check_assignments(
        self, s: Session, assignments: Sequence[RoleAssignment]
    ) -> tuple[RoleAssignment, ...]:
        table = self.roles()
        out = []
        for i, a in enumerate(assignments):
            if not table.has_role(a.role):
                raise InvalidArgument(f"unknown role {a.role!r}", field=f"role_assignments[{i}].role")
            unit = a.org_unit.rstrip("/")
            if unit and not storage.org_unit_exists(s, unit):
                raise InvalidArgument(
                    f"org unit {unit} does not exist", field=f"role_assignments[{i}].org_unit"
                )
            out.append(RoleAssignment(a.role, unit))
        return tuple(out)

    def _require_holds(self, principal: Principal, roles: Sequence[str], permission: str, what: str) -> None:
        """An account admin may only give, reset or take over rights they hold themselves."""
        missing = holds_all(principal, self.roles().grants_for(roles))
        if missing is not None:
            raise PermissionDenied(
                permission, f"{what} carries {missing}, which the caller does not hold as widely"
            )

    def _account_view(self, s: Session, username: str) -> AccountView:
        a = storage.get_account(s, username)
        if a is None:
            raise NotFound(f"account {username} not found")
        return AccountView(a, storage.account_created_at(s, username), a.is_locked(self.clock()))

    def create_account(
        self,
        principal: Principal,
        username: str,
        employee_id: str,
        password: str,
        assignments: Sequence[RoleAssignment],
        request_id: str = "",
    ) -> AccountView:
        authorize(principal, "identity.accounts.write")
        if assignments:
            authorize(principal, "identity.roles.assign")
        username = validate_username(username)
        validate_password(password)
        now = self.clock()
        fp = idempotency.fingerprint(username, employee_id, assignments)  # not the password
        with self.db.session() as s:
            done = idempotency.replayed(s, SERVICE, "CreateAccount", request_id, fingerprint=fp)
            if done is None:
                if storage.get_account(s, username) is not None:
                    raise AlreadyExists(f"account {username} already exists")
                if employee_id and not storage.employee_exists(s, employee_id):
                    raise InvalidArgument(
                        f"employee {employee_id} does not exist", field="account.employee_id"
                    )
                checked = self._check_assignments(s, assignments)
                self._require_holds(
                    principal, [a.role for a in checked], "identity.roles.assign", f"account {username}"
                )
                storage.add_account(
                    s, Account(username, employee_id, passwords.hash_password(password), checked), now
                )
                idempotency.remember(s, SERVICE, "CreateAccount", request_id, username, now, fingerprint=fp)
                self.audit.append(
                    s,
                    actor=principal.subject,
                    action="account.created",
                    subject=f"accounts/{username}",
                    detail={"employee_id": employee_id, "roles": [[a.role, a.org_unit] for a in checked]},
                )
                done = username
            return self._account_view(s, done)

    def get_account(self, principal: Principal, username: str) -> AccountView:
        if principal.subject != f"accounts/{username}":
            authorize(principal, "identity.accounts.read")
        with self.db.session() as s:
            return self._account_view(s, username)

    def unlock_account(self, principal: Principal, username: str, request_id: str = "") -> AccountView:
        """Clear the failed-login lock; a ``request_id`` seen before answers the account as it is now."""
        authorize(principal, "identity.accounts.write")
        fp = idempotency.fingerprint(username)
        with self.db.session() as s:
            a = storage.get_account(s, username, for_update=True)
            if a is None:
                raise NotFound(f"account {username} not found")
            if idempotency.replayed(s, SERVICE, "UnlockAccount", request_id, fingerprint=fp) is not None:
                return self._account_view(s, username)
            idempotency.remember(
                s, SERVICE, "UnlockAccount", request_id, username, self.clock(), fingerprint=fp
            )
            if a.failed_attempts or a.locked_until:
                storage.save_login_state(s, unlocked(a))
                self.audit.append(
                    s,
                    actor=principal.subject,
                    action="account.unlocked",
                    subject=f"accounts/{username}",
                    detail={},
                )
            return self._account_view(s, username)

    def set_password(self, principal: Principal, username: str, current: str, new: str) -> None:
        own = principal.subject == f"accounts/{username}"
        if not own:
            authorize(principal, "identity.accounts.write")
        validate_password(new, "new_password")
        now = self.clock()
        with self.db.session() as s:
            a = storage.get_account(s, username, for_update=True)
            if a is None:
                raise NotFound(f"account {username} not found")
            if own and not passwords.verify_password(a.password_hash, current):
                raise InvalidArgument("does not match", field="current_password")
            if not own:
                self._require_holds(
                    principal,
                    [r.role for r in a.role_assignments],
                    "identity.accounts.write",
                    f"account {username}",
                )
            storage.save_login_state(s, replace(unlocked(a), password_hash=passwords.hash_password(new)))
            storage.revoke_refresh_for_user(s, username, now)
            self.audit.append(
                s,
                actor=principal.subject,
                action="account.password_set",
                subject=f"accounts/{username}",
                detail={},
            )

    def set_role_assignments(
        self, principal: Principal, username: str, assignments: Sequence[RoleAssignment], request_id: str = ""
    ) -> AccountView:
        authorize(principal, "identity.roles.assign")
        if principal.subject == f"accounts/{username}":
            raise PermissionDenied(
                "identity.roles.assign", "separation of duties: nobody may change their own roles"
            )
        fp = idempotency.fingerprint(username, assignments)
        with self.db.session() as s:
            current = storage.get_account(s, username, for_update=True)
            if current is None:
                raise NotFound(f"account {username} not found")
            if idempotency.replayed(s, SERVICE, "SetRoleAssignments", request_id, fingerprint=fp) is not None:
                return self._account_view(s, username)  # a retry neither ends sessions nor audits again
            checked = self._check_assignments(s, assignments)
            self._require_holds(
                principal,
                [r.role for r in (*current.role_assignments, *checked)],
                "identity.roles.assign",
                f"account {username}",
            )
            storage.set_role_assignments(s, username, checked)
            idempotency.remember(
                s, SERVICE, "SetRoleAssignments", request_id, username, self.clock(), fingerprint=fp
            )
            # Tokens carry permissions: end sessions so the next refresh cannot keep the old roles.
            storage.revoke_refresh_for_user(s, username, self.clock())
            self.audit.append(
                s,
                actor=principal.subject,
                action="account.roles_set",
                subject=f"accounts/{username}",
                detail={"roles": [[a.role, a.org_unit] for a in checked]},
            )
            return self._account_view(s, username)

    def create_service_account(
        self, principal: Principal, client_id: str, roles: Sequence[str], request_id: str = ""
    ) -> tuple[str, str]:
        """Returns ``(client_id, client_secret)``; the secret is shown once and never stored.

        A retry with the same ``request_id`` (same caller, client id and roles) comes from a caller that never
        received the first answer: it gets the account with a new secret, which replaces the one it never
        saw (audited as ``service_account.secret_reissued``); without a request id a retry is ALREADY_EXISTS
        (docs/security.md)."""
        authorize(principal, "identity.service_accounts.write")
        client_id = validate_client_id(client_id)
        if client_id in SERVICES:  # event provenance trusts these names: only the bootstrap makes them
            raise PermissionDenied(
                "identity.service_accounts.write",
                f"{client_id!r} is a Covenant service's own account (created from the secrets provider)",
            )
        table = self.roles()
        roles = list(roles) or ["service"]
        for i, r in enumerate(roles):
            if not table.has_role(r):
                raise InvalidArgument(f"unknown role {r!r}", field=f"service_account.roles[{i}]")
        self._require_holds(
            principal, roles, "identity.service_accounts.write", f"service account {client_id}"
        )
        secret = passwords.new_opaque_token()
        fp = idempotency.fingerprint(principal.subject, client_id, roles)
        now = self.clock()
        with self.db.session() as s:
            retry = idempotency.replayed(s, SERVICE, "CreateServiceAccount", request_id, fingerprint=fp)
            existing = storage.get_service_account(s, client_id)
            if retry is None and existing is not None:
                raise AlreadyExists(f"service account {client_id} already exists")
            if retry is not None and existing is None:
                raise NotFound(f"service account {client_id} was deleted after it was created")
            storage.upsert_service_account(s, client_id, passwords.hash_client_secret(secret), roles, now)
            if retry is None:
                idempotency.remember(
                    s, SERVICE, "CreateServiceAccount", request_id, client_id, now, fingerprint=fp
                )
            self.audit.append(
                s,
                actor=principal.subject,
                action="service_account.created" if retry is None else "service_account.secret_reissued",
                subject=f"serviceAccounts/{client_id}",
                detail={"roles": roles},
            )
        return client_id, secret

    # -- bootstrap ----------------------------------------------------------------------------------------
    def ensure_service_account(
        self, client_id: str, secret: str, roles: Sequence[str] = ("service",)
    ) -> None:
        """Create or re-key a Covenant service's own account (secret from the secrets provider)."""
        with self.db.session() as s:
            row = storage.get_service_account(s, client_id)
            if row is not None and passwords.verify_client_secret(row.secret_hash, secret):
                if passwords.client_secret_needs_rehash(row.secret_hash, secret):
                    storage.upsert_service_account(
                        s, client_id, passwords.hash_client_secret(secret), row.roles, self.clock()
                    )
                return
            storage.upsert_service_account(
                s, client_id, passwords.hash_client_secret(secret), roles, self.clock()
            )
            self.audit.append(
                s,
                actor="system:bootstrap",
                action="service_account.bootstrapped",
                subject=f"serviceAccounts/{client_id}",
                detail={"roles": list(roles)},
            )

    def ensure_admin(self, username: str, password: str) -> bool:
        """Create the bootstrap platform admin if it does not exist; returns True when created."""
        with self.db.session() as s:
            if storage.get_account(s, username) is not None:
                return False
            storage.add_account(
                s,
                Account(
                    username, "", passwords.hash_password(password), (RoleAssignment("platform_admin", ""),)
                ),
                self.clock(),
            )
            self.audit.append(
                s,
                actor="system:bootstrap",
                action="account.created",
                subject=f"accounts/{username}",
                detail={"roles": [["platform_admin", ""]], "bootstrap": True},
            )
        return True


@dataclass
class Roles:
    db: Database
    roles: Callable[[], RoleTable]

    def list_roles(self, principal: Principal) -> RoleTable:
        authorize(principal, "identity.roles.read")
        return self.roles()

    def check_permission(self, principal: Principal, permission: str, owner: str) -> tuple[bool, str]:
        scope = principal.scope_for(permission)
        if scope is None:
            return False, ""
        if not owner:
            return True, str(scope)
        employee_id = owner.removeprefix("employees/")
        with self.db.session() as s:
            org_unit = storage.org_units_of(s, [employee_id]).get(employee_id)
        if org_unit is None:
            return False, str(scope)
        return can(principal, permission, DataOwner(employee_id, org_unit)), str(scope)
