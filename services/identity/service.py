"""Identity use cases: login and tokens, org units and employees, accounts, roles, audit, import.

The application layer between the gRPC adapter and storage: each method authorizes the caller (a
``Principal``), runs one unit of work, records an audit entry in the same transaction and returns
domain objects. No gRPC here.
"""

from __future__ import annotations

import logging
import math
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy.orm import Session

from covenant.auth import (
    DataOwner,
    Principal,
    Scope,
    TokenVerifier,
    authorize,
    can,
    holds_all,
    jwks_document,
    scope_filter,
)
from covenant.auth.directory import EMPLOYEE_CHANGED
from covenant.auth.tokens import StaticKeySource
from covenant.db import Database, idempotency
from covenant.db.outbox import Outbox, new_event
from covenant.errors import (
    AlreadyExists,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    ResourceExhausted,
    Unauthenticated,
)
from covenant.paging import page_cursor, page_size, page_token
from covenant.services import SERVICES
from covenant.timestamps import utcnow
from services.identity import passwords, storage
from services.identity.domain.accounts import (
    Account,
    RoleAssignment,
    after_success,
    counted_failure,
    unlocked,
    validate_client_id,
    validate_password,
    validate_username,
)
from services.identity.domain.directory_import import ImportItem, plan_import
from services.identity.domain.org import Employee, OrgUnit, masked, new_org_unit, validate_employee
from services.identity.domain.rbac import RoleTable, anchor_org_unit
from services.identity.domain.throttle import LoginThrottle, ThrottlePolicy, client_address, source_key
from services.identity.keys import SigningKeyRing

log = logging.getLogger("covenant.identity")
SERVICE = "identity"  # the service column of its idempotency records

#: The one answer to every refused login (unknown, disabled, locked or wrong password): nothing to tell apart.
LOGIN_FAILED = "invalid username or password"


#: The employee fields an update may name (the update mask's vocabulary).
UPDATABLE_EMPLOYEE_FIELDS = frozenset(
    {
        "display_name",
        "role_titles",
        "org_unit",
        "manager_id",
        "status",
        "hire_date",
        "national_id",
        "phone",
        "bank_card",
    }
)


class AuditTrail(Protocol):
    """The hash-chained audit log (``covenant.db.audit``), appended in the caller's transaction."""

    def append(
        self, session: Session, *, actor: str, action: str, subject: str, detail: dict[str, Any]
    ) -> Any: ...


@dataclass(frozen=True)
class IdentityConfig:
    access_ttl_seconds: int = 600
    refresh_ttl_seconds: int = 12 * 3600
    throttle: ThrottlePolicy = field(default_factory=ThrottlePolicy)
    trusted_proxies: tuple[str, ...] = ()  # addresses/CIDRs whose x-forwarded-for names the client


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    expires_in_seconds: int
    refresh_token: str = ""
    refresh_expires_in_seconds: int = 0


@dataclass(frozen=True)
class EmployeeView:
    employee: Employee
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class AccountView:
    account: Account
    created_at: datetime
    locked: bool


class IdentityService:
    """See module docstring."""

    def __init__(
        self,
        db: Database,
        *,
        cipher: storage.FieldCipher,
        keys: SigningKeyRing,
        roles: Callable[[], RoleTable],
        audit: AuditTrail,
        config: IdentityConfig = IdentityConfig(),
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.db = db
        self.cipher = cipher
        self.keys = keys
        self.roles = roles
        self.audit = audit
        self.config = config
        self.clock = clock
        self._jwks_cache: tuple[float, str] | None = None
        self._jwks_lock = threading.Lock()
        self.throttle = LoginThrottle(config.throttle)
        # Every service caches who-is-who from these events (covenant.auth.directory).
        self.outbox = Outbox("identity")

    # -- keys and tokens -------------------------------------------------------------------------------
    def jwks_json(self, max_age_seconds: float = 1.0) -> str:
        """Current + previous public keys and the live revocation list, as JWKS JSON."""
        with self._jwks_lock:
            cached = self._jwks_cache
            if cached is not None and time.monotonic() - cached[0] < max_age_seconds:
                return cached[1]
            with self.db.session() as s:
                revoked = storage.live_revoked_tokens(s, self.clock())
            doc = jwks_document(
                self.keys.published(), [{"jti": j, "exp": int(exp.timestamp())} for j, exp in revoked]
            )
            self._jwks_cache = (time.monotonic(), doc)
            return doc

    def invalidate_jwks(self) -> None:
        with self._jwks_lock:
            self._jwks_cache = None

    def local_verifier(self) -> TokenVerifier:
        """A verifier for identity's own endpoints, reading keys and revocations without a network hop."""
        return TokenVerifier(_OwnKeySource(self))

    def _issue_access(
        self, subject: str, *, kind: str, employee_id: str, org_unit: str, roles: Sequence[str]
    ) -> str:
        grants = self.roles().grants_for(roles)
        return self.keys.signer.issue(
            subject,
            kind=kind,
            employee_id=employee_id,
            org_unit=org_unit,
            permissions={p: str(s) for p, s in grants.items()},
            roles=tuple(roles),
            ttl_seconds=self.config.access_ttl_seconds,
        )

    def _user_pair(self, s: Session, account: Account, family_id: str, now: datetime) -> TokenPair:
        home = ""
        if account.employee_id:
            emp = storage.get_employee(s, account.employee_id, self.cipher)
            home = emp.org_unit if emp else ""
        roles = sorted({a.role for a in account.role_assignments})
        anchor = anchor_org_unit(home, (a.org_unit for a in account.role_assignments)) or "/"
        access = self._issue_access(
            f"accounts/{account.username}",
            kind="user",
            employee_id=account.employee_id,
            org_unit=anchor,
            roles=roles,
        )
        refresh = passwords.new_opaque_token()
        ttl = self.config.refresh_ttl_seconds
        storage.add_refresh_token(
            s, passwords.token_digest(refresh), family_id, account.username, now + timedelta(seconds=ttl), now
        )
        return TokenPair(access, self.config.access_ttl_seconds, refresh, ttl)

    def login(self, username: str, password: str, peer: str = "", forwarded_for: str = "") -> TokenPair:
        """Password login from gRPC ``peer`` (``x-forwarded-for`` counts only from a trusted proxy).

        Every refusal reads the same (unknown, disabled, administratively locked or wrong password) and
        costs one password verification. Failures are throttled by source (``LoginThrottle``), never by
        locking the account, so nobody can lock another person out."""
        now = self.clock()
        username = username.strip().lower()
        origin = source_key(client_address(peer, forwarded_for, self.config.trusted_proxies))
        wait = self.throttle.retry_after(origin, username, time.monotonic())
        if wait > 0:
            raise ResourceExhausted(f"too many failed logins from this address; retry in {math.ceil(wait)} s")
        pair: TokenPair | None = None
        with self.db.session() as s:
            account = storage.get_account(s, username, for_update=True) if username else None
            matches = passwords.verify_password(account.password_hash if account else None, password)
            if account is None or account.disabled or account.is_locked(now):
                pass
            elif not matches:
                storage.save_login_state(s, counted_failure(account))
            else:
                ok = after_success(account)
                if passwords.needs_rehash(account.password_hash):
                    ok = replace(ok, password_hash=passwords.hash_password(password))
                if ok != account:
                    storage.save_login_state(s, ok)
                pair = self._user_pair(s, ok, uuid.uuid4().hex, now)
        if pair is None:
            self.throttle.failed(origin, username, time.monotonic())
            raise Unauthenticated(LOGIN_FAILED)
        self.throttle.succeeded(origin, username)
        return pair

    def refresh(self, refresh_token: str) -> TokenPair:
        """Rotate a refresh token. Re-use of a spent one revokes its family (committed), then fails."""
        now = self.clock()
        digest = passwords.token_digest(refresh_token)
        failure: str | None = None
        pair: TokenPair | None = None
        with self.db.session() as s:
            row = storage.get_refresh_token(s, digest)
            if row is None:
                failure = "unknown refresh token"
            elif row.revoked_at is not None:
                failure = "refresh token revoked"
            elif row.used_at is not None:
                storage.revoke_refresh_family(s, row.family_id, now)
                self.audit.append(
                    s,
                    actor=f"accounts/{row.username}",
                    action="token.refresh_reuse_detected",
                    subject=f"accounts/{row.username}",
                    detail={"family": row.family_id},
                )
                failure = "refresh token already used; its session has been revoked"
            elif storage.utc(row.expires_at) <= now:  # type: ignore[operator]
                failure = "refresh token expired"
            else:
                account = storage.get_account(s, row.username)
                if account is None or account.disabled or account.is_locked(now):
                    failure = "account unavailable"
                else:
                    storage.mark_refresh_used(s, digest, now)
                    pair = self._user_pair(s, account, row.family_id, now)
        if pair is None:
            raise Unauthenticated(failure or "refresh failed")
        return pair

    def revoke(self, principal: Principal, token: str) -> str:
        """Revoke an access token (jti published) or a refresh token's family; returns the kind."""
        now = self.clock()
        if token.count(".") == 2:
            try:
                claims = self.local_verifier().verify(token)
            except Unauthenticated as exc:
                if "expired" in exc.message:
                    return "access"  # already unusable everywhere
                raise InvalidArgument(f"not a valid access token: {exc.message}", field="token") from None
            if claims.subject != principal.subject:
                authorize(principal, "identity.tokens.revoke")
            with self.db.session() as s:
                storage.revoke_access_token(s, claims.token_id, claims.expires_at or now)
                self.audit.append(
                    s,
                    actor=principal.subject,
                    action="token.revoked",
                    subject=claims.subject,
                    detail={"jti": claims.token_id},
                )
            self.invalidate_jwks()
            return "access"
        with self.db.session() as s:
            row = storage.get_refresh_token(s, passwords.token_digest(token))
            if row is None:
                raise NotFound("no such refresh token")
            if f"accounts/{row.username}" != principal.subject:
                authorize(principal, "identity.tokens.revoke")
            storage.revoke_refresh_family(s, row.family_id, now)
            self.audit.append(
                s,
                actor=principal.subject,
                action="refresh_token.revoked",
                subject=f"accounts/{row.username}",
                detail={"family": row.family_id},
            )
        return "refresh"

    def list_revoked(self, principal: Principal) -> list[tuple[str, datetime]]:
        authorize(principal, "identity.tokens.read")
        with self.db.session() as s:
            return storage.live_revoked_tokens(s, self.clock())

    def issue_service_token(self, client_id: str, client_secret: str) -> TokenPair:
        with self.db.session() as s:
            row = storage.get_service_account(s, client_id)
        if row is None or row.disabled or not passwords.verify_password(row.secret_hash, client_secret):
            if row is None:
                passwords.verify_password(None, client_secret)
            raise Unauthenticated("invalid client credentials")
        token = self._issue_access(
            f"serviceAccounts/{client_id}",
            kind="service",
            employee_id="",
            org_unit="/",
            roles=list(row.roles),
        )
        return TokenPair(token, self.config.access_ttl_seconds)

    def rotate_signing_key(self, principal: Principal, request_id: str = "") -> tuple[str, list[str]]:
        authorize(principal, "identity.keys.rotate")
        with self.db.session() as s:
            done = idempotency.replayed(s, SERVICE, "RotateSigningKey", request_id)
        if done is not None:
            return done, [k for k, _ in self.keys.published() if k != done]
        kid, previous = self.keys.rotate()
        with self.db.session() as s:
            idempotency.remember(s, SERVICE, "RotateSigningKey", request_id, kid, self.clock())
            self.audit.append(
                s,
                actor=principal.subject,
                action="key.rotated",
                subject=f"keys/{kid}",
                detail={"previous": previous},
            )
        self.invalidate_jwks()
        return kid, previous

    # -- org units ------------------------------------------------------------------------------------------
    def create_org_unit(
        self, principal: Principal, unit: OrgUnit, request_id: str = ""
    ) -> tuple[OrgUnit, datetime]:
        authorize(principal, "identity.org_units.write")
        unit = new_org_unit(unit.path, unit.display_name)
        now = self.clock()
        fp = idempotency.fingerprint(unit.path, unit.display_name)
        with self.db.session() as s:
            done = idempotency.replayed(s, SERVICE, "CreateOrgUnit", request_id, fingerprint=fp)
            if done is None:
                if storage.org_unit_exists(s, unit.path):
                    raise AlreadyExists(f"org unit {unit.path} already exists")
                if unit.parent_path and not storage.org_unit_exists(s, unit.parent_path):
                    raise FailedPrecondition(f"parent org unit {unit.parent_path} does not exist")
                storage.add_org_unit(s, unit, now)
                idempotency.remember(s, SERVICE, "CreateOrgUnit", request_id, unit.path, now, fingerprint=fp)
                self.audit.append(
                    s,
                    actor=principal.subject,
                    action="org_unit.created",
                    subject=f"orgUnits{unit.path}",
                    detail={"display_name": unit.display_name},
                )
                done = unit.path
            found = storage.get_org_unit(s, done)
        assert found is not None
        return found

    def get_org_unit(self, principal: Principal, path: str) -> tuple[OrgUnit, datetime]:
        authorize(principal, "identity.org_units.read")
        with self.db.session() as s:
            found = storage.get_org_unit(s, path.rstrip("/") or path)
        if found is None:
            raise NotFound(f"org unit {path} not found")
        return found

    def list_org_units(
        self, principal: Principal, root: str, size: int, token: str
    ) -> tuple[list[tuple[OrgUnit, datetime]], str]:
        authorize(principal, "identity.org_units.read")
        limit = page_size(size)
        bound = ("org-units", root)
        after = page_cursor(token, bound, kind=str) or ""
        with self.db.session() as s:
            rows = storage.list_org_units(s, root.rstrip("/"), after, limit + 1)
        nxt = page_token(rows[limit - 1][0].path if len(rows) > limit else None, bound)
        return rows[:limit], nxt

    # -- employees ----------------------------------------------------------------------------------------
    def _view(self, s: Session, principal: Principal, e: Employee) -> EmployeeView:
        owner = DataOwner(e.employee_id, e.org_unit)
        shown = e if can(principal, "identity.employees.unmask", owner) else masked(e)
        created, updated = storage.employee_times(s, e.employee_id)
        return EmployeeView(shown, created, updated)

    def _check_refs(self, s: Session, e: Employee, prefix: str = "employee") -> None:
        if not storage.org_unit_exists(s, e.org_unit):
            raise InvalidArgument(f"org unit {e.org_unit} does not exist", field=f"{prefix}.org_unit")
        if e.manager_id and not storage.employee_exists(s, e.manager_id):
            raise InvalidArgument(f"employee {e.manager_id} does not exist", field=f"{prefix}.manager_id")

    def create_employee(self, principal: Principal, e: Employee, request_id: str = "") -> EmployeeView:
        e = validate_employee(e)
        authorize(principal, "identity.employees.write", DataOwner(e.employee_id, e.org_unit))
        now = self.clock()
        fp = idempotency.fingerprint(e)
        with self.db.session() as s:
            done = idempotency.replayed(s, SERVICE, "CreateEmployee", request_id, fingerprint=fp)
            if done is None:
                if storage.employee_exists(s, e.employee_id):
                    raise AlreadyExists(f"employee {e.employee_id} already exists")
                self._check_refs(s, e)
                storage.add_employee(s, e, self.cipher, now)
                idempotency.remember(
                    s, SERVICE, "CreateEmployee", request_id, e.employee_id, now, fingerprint=fp
                )
                self._audit_employee(s, principal, "employee.created", e)
                done = e.employee_id
            stored = storage.get_employee(s, done, self.cipher)
            assert stored is not None
            return self._view(s, principal, stored)

    def _audit_employee(
        self, s: Session, principal: Principal, action: str, e: Employee, changed: Sequence[str] = ()
    ) -> None:
        detail: dict[str, Any] = {
            "org_unit": e.org_unit,
            "status": e.status.value,
            "manager_id": e.manager_id,
            "role_titles": list(e.role_titles),
        }
        if changed:
            detail["changed"] = sorted(changed)
        self.audit.append(
            s, actor=principal.subject, action=action, subject=f"employees/{e.employee_id}", detail=detail
        )
        self.outbox.add(
            s,
            new_event(
                EMPLOYEE_CHANGED,
                source="identity",
                subject=f"employees/{e.employee_id}",
                org_unit=e.org_unit,
                data={
                    "employee_id": e.employee_id,
                    "org_unit": e.org_unit,
                    "role_titles": list(e.role_titles),
                    "manager_id": e.manager_id,
                    "status": e.status.name,
                },
            ),
        )

    def get_employee(self, principal: Principal, employee_id: str) -> EmployeeView:
        # Existence is checked after the permission so a caller cannot probe ids outside their scope.
        scope = authorize(principal, "identity.employees.read")
        with self.db.session() as s:
            e = storage.get_employee(s, employee_id, self.cipher)
            if e is None:
                if scope is Scope.ALL:
                    raise NotFound(f"employee {employee_id} not found")
                raise PermissionDenied(
                    "identity.employees.read", f"scope {scope} does not cover {employee_id}"
                )
            authorize(principal, "identity.employees.read", DataOwner(e.employee_id, e.org_unit))
            return self._view(s, principal, e)

    def list_employees(
        self, principal: Principal, subtree: str, size: int, token: str
    ) -> tuple[list[EmployeeView], str]:
        f = scope_filter(principal, "identity.employees.read")
        limit = page_size(size)
        bound = ("employees", subtree)
        after = page_cursor(token, bound, kind=str) or ""
        with self.db.session() as s:
            rows = storage.list_employees(
                s,
                self.cipher,
                after=after,
                limit=limit + 1,
                subtree=subtree.rstrip("/"),
                employee_id=f.employee_id,
                org_unit=f.org_unit,
                org_unit_prefix=f.org_unit_prefix,
                unrestricted=f.all,
            )
            nxt = page_token(rows[limit - 1].employee_id if len(rows) > limit else None, bound)
            return [self._view(s, principal, e) for e in rows[:limit]], nxt

    def update_employee(
        self, principal: Principal, patch: Employee, fields: Sequence[str], request_id: str = ""
    ) -> EmployeeView:
        allowed = UPDATABLE_EMPLOYEE_FIELDS
        fields = list(fields) or sorted(allowed)
        for name in fields:
            if name not in allowed:
                raise InvalidArgument(f"cannot update {name!r}", field="update_mask")
        authorize(principal, "identity.employees.write")
        now = self.clock()
        fp = idempotency.fingerprint(patch.employee_id, {f: getattr(patch, f) for f in fields})
        with self.db.session() as s:
            if idempotency.replayed(s, SERVICE, "UpdateEmployee", request_id, fingerprint=fp) is None:
                current = storage.get_employee(s, patch.employee_id, self.cipher)
                if current is None:
                    raise NotFound(f"employee {patch.employee_id} not found")
                authorize(
                    principal, "identity.employees.write", DataOwner(current.employee_id, current.org_unit)
                )
                updated = validate_employee(replace(current, **{f: getattr(patch, f) for f in fields}))
                authorize(
                    principal, "identity.employees.write", DataOwner(updated.employee_id, updated.org_unit)
                )
                self._check_refs(s, updated)
                changed = [f for f in fields if getattr(updated, f) != getattr(current, f)]
                storage.save_employee(s, updated, self.cipher, now)
                idempotency.remember(
                    s, SERVICE, "UpdateEmployee", request_id, updated.employee_id, now, fingerprint=fp
                )
                if changed:
                    self._audit_employee(s, principal, "employee.updated", updated, changed)
            e = storage.get_employee(s, patch.employee_id, self.cipher)
            assert e is not None
            return self._view(s, principal, e)

    def import_directory(self, principal: Principal, items: Sequence[ImportItem]) -> tuple[int, int, int]:
        """All-or-nothing import; returns (org units created, employees created, employees updated)."""
        authorize(principal, "identity.directory.import")
        if not items:
            raise InvalidArgument("the import stream is empty", field="records")
        now = self.clock()
        with self.db.session() as s:
            plan = plan_import(
                items, lambda p: storage.org_unit_exists(s, p), lambda e: storage.employee_exists(s, e)
            )
            for e in plan.employees:
                # Write permission covers the target org unit of every record.
                authorize(principal, "identity.employees.write", DataOwner(e.employee_id, e.org_unit))
            for u in plan.org_units:
                storage.add_org_unit(s, u, now)
                self.audit.append(
                    s,
                    actor=principal.subject,
                    action="org_unit.created",
                    subject=f"orgUnits{u.path}",
                    detail={"display_name": u.display_name, "import": True},
                )
            created = updated = 0
            for e in plan.employees:
                if storage.employee_exists(s, e.employee_id):
                    storage.save_employee(s, e, self.cipher, now)
                    updated += 1
                    self._audit_employee(s, principal, "employee.updated", e, ["import"])
                else:
                    storage.add_employee(s, e, self.cipher, now)
                    created += 1
                    self._audit_employee(s, principal, "employee.created", e)
        return len(plan.org_units), created, updated

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
        authorize(principal, "identity.accounts.write")
        with self.db.session() as s:
            a = storage.get_account(s, username, for_update=True)
            if a is None:
                raise NotFound(f"account {username} not found")
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
        with self.db.session() as s:
            current = storage.get_account(s, username, for_update=True)
            if current is None:
                raise NotFound(f"account {username} not found")
            checked = self._check_assignments(s, assignments)
            self._require_holds(
                principal,
                [r.role for r in (*current.role_assignments, *checked)],
                "identity.roles.assign",
                f"account {username}",
            )
            storage.set_role_assignments(s, username, checked)
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
        """Returns ``(client_id, client_secret)``; the secret is shown once."""
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
        with self.db.session() as s:
            if storage.get_service_account(s, client_id) is not None:
                raise AlreadyExists(f"service account {client_id} already exists")
            storage.upsert_service_account(s, client_id, passwords.hash_password(secret), roles, self.clock())
            self.audit.append(
                s,
                actor=principal.subject,
                action="service_account.created",
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
            if row is not None and passwords.verify_password(row.secret_hash, secret):
                return
            storage.upsert_service_account(s, client_id, passwords.hash_password(secret), roles, self.clock())
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

    # -- roles ---------------------------------------------------------------------------------------------
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
            e = storage.get_employee(s, employee_id, self.cipher)
        if e is None:
            return False, str(scope)
        return can(principal, permission, DataOwner(e.employee_id, e.org_unit)), str(scope)


class _OwnKeySource:
    """Identity's own key source: the published JWKS without a network hop (refreshed each second)."""

    def __init__(self, service: IdentityService) -> None:
        self._service = service
        self._doc = ""
        self._static: StaticKeySource | None = None

    def _current(self) -> StaticKeySource:
        doc = self._service.jwks_json()
        if doc != self._doc or self._static is None:
            self._static, self._doc = StaticKeySource(doc), doc
        return self._static

    def key_for(self, kid: str) -> Any | None:
        return self._current().key_for(kid)

    def is_revoked(self, jti: str) -> bool:
        return self._current().is_revoked(jti)
