"""Identity's tables and repository functions (SQLAlchemy Core). Sensitive fields are stored encrypted.

Every function takes the unit-of-work ``Session`` (``covenant.db.Database.session()``) so a use case
commits its state change, audit entry and outbox event together.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any, Protocol

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    delete,
    insert,
    select,
    update,
)
from sqlalchemy.orm import Session

from covenant.auth import ScopeFilter
from covenant.db.bulk import among_parts
from covenant.db.scope import scope_clause
from covenant.db.scope import subtree as subtree_clause
from covenant.timestamps import as_utc as utc
from services.identity.domain.accounts import Account, RoleAssignment
from services.identity.domain.org import SENSITIVE_FIELDS, Employee, EmployeeStatus, OrgUnit

metadata = MetaData()

org_units = Table(
    "identity_org_units",
    metadata,
    Column("path", String(1024), primary_key=True),
    Column("display_name", String(200), nullable=False),
    Column("parent_path", String(1024), nullable=False, index=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

employees = Table(
    "identity_employees",
    metadata,
    Column("employee_id", String(32), primary_key=True),
    Column("display_name", String(200), nullable=False),
    Column("org_unit", String(1024), nullable=False, index=True),
    Column("role_titles", JSON, nullable=False),
    Column("manager_id", String(32), nullable=False),
    Column("status", String(16), nullable=False),
    Column("hire_date", Date, nullable=True),
    # Ciphertexts from covenant.secrets field encryption ("" = not set).
    Column("national_id_enc", Text, nullable=False),
    Column("phone_enc", Text, nullable=False),
    Column("bank_card_enc", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

accounts = Table(
    "identity_accounts",
    metadata,
    Column("username", String(64), primary_key=True),
    Column("employee_id", String(32), nullable=False, index=True),
    Column("password_hash", String(256), nullable=False),
    Column("failed_attempts", Integer, nullable=False),
    Column("locked_until", DateTime(timezone=True), nullable=True),
    Column("disabled", Boolean, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

role_assignments = Table(
    "identity_role_assignments",
    metadata,
    Column("username", String(64), primary_key=True),
    Column("role", String(64), primary_key=True),
    Column("org_unit", String(1024), primary_key=True),
)

service_accounts = Table(
    "identity_service_accounts",
    metadata,
    Column("client_id", String(64), primary_key=True),
    Column("secret_hash", String(256), nullable=False),
    Column("roles", JSON, nullable=False),
    Column("disabled", Boolean, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

refresh_tokens = Table(
    "identity_refresh_tokens",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("family_id", String(32), nullable=False, index=True),
    Column("username", String(64), nullable=False, index=True),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("used_at", DateTime(timezone=True), nullable=True),
    Column("revoked_at", DateTime(timezone=True), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

revoked_tokens = Table(
    "identity_revoked_tokens",
    metadata,
    Column("jti", String(64), primary_key=True),
    Column("expires_at", DateTime(timezone=True), nullable=False, index=True),
)


class FieldCipher(Protocol):
    """Field encryption (``covenant.secrets``): strings in, opaque strings out."""

    def encrypt(self, plaintext: str, context: str) -> str: ...

    def decrypt(self, ciphertext: str, context: str) -> str: ...


# -- org units ---------------------------------------------------------------------------------------
def org_unit_exists(session: Session, path: str) -> bool:
    return session.execute(select(org_units.c.path).where(org_units.c.path == path)).first() is not None


def add_org_unit(session: Session, unit: OrgUnit, now: datetime) -> None:
    session.execute(
        insert(org_units).values(
            path=unit.path, display_name=unit.display_name, parent_path=unit.parent_path, created_at=now
        )
    )


def get_org_unit(session: Session, path: str) -> tuple[OrgUnit, datetime] | None:
    row = session.execute(select(org_units).where(org_units.c.path == path)).first()
    if row is None:
        return None
    return OrgUnit(row.path, row.display_name), utc(row.created_at)  # type: ignore[return-value]


def list_org_units(session: Session, root: str, after: str, limit: int) -> list[tuple[OrgUnit, datetime]]:
    q = select(org_units).order_by(org_units.c.path).limit(limit)
    if root:
        q = q.where(subtree_clause(org_units.c.path, root))
    if after:
        q = q.where(org_units.c.path > after)
    return [(OrgUnit(r.path, r.display_name), utc(r.created_at)) for r in session.execute(q)]  # type: ignore[misc]


# -- employees ---------------------------------------------------------------------------------------
def _enc(cipher: FieldCipher, e: Employee) -> dict[str, str]:
    return {
        f"{f}_enc": cipher.encrypt(getattr(e, f), f"identity.employees.{f}") if getattr(e, f) else ""
        for f in SENSITIVE_FIELDS
    }


def _employee_row(e: Employee) -> dict[str, Any]:
    return {
        "display_name": e.display_name,
        "org_unit": e.org_unit,
        "role_titles": list(e.role_titles),
        "manager_id": e.manager_id,
        "status": e.status.value,
        "hire_date": e.hire_date,
    }


def _to_employee(row: Any, cipher: FieldCipher) -> Employee:
    sensitive = {
        f: cipher.decrypt(getattr(row, f"{f}_enc"), f"identity.employees.{f}")
        if getattr(row, f"{f}_enc")
        else ""
        for f in SENSITIVE_FIELDS
    }
    return Employee(
        employee_id=row.employee_id,
        display_name=row.display_name,
        org_unit=row.org_unit,
        role_titles=tuple(row.role_titles or ()),
        manager_id=row.manager_id,
        status=EmployeeStatus(row.status),
        hire_date=row.hire_date if isinstance(row.hire_date, date) else None,
        **sensitive,
    )


def employee_exists(session: Session, employee_id: str) -> bool:
    q = select(employees.c.employee_id).where(employees.c.employee_id == employee_id)
    return session.execute(q).first() is not None


def org_units_of(session: Session, employee_ids: Sequence[str]) -> dict[str, str]:
    """The org unit of each of ``employee_ids`` that exists."""
    out: dict[str, str] = {}
    for cond in among_parts(session, employees.c.employee_id, sorted(set(employee_ids))):
        q = select(employees.c.employee_id, employees.c.org_unit).where(cond)
        out.update({r.employee_id: r.org_unit for r in session.execute(q)})
    return out


def add_employee(session: Session, e: Employee, cipher: FieldCipher, now: datetime) -> None:
    session.execute(
        insert(employees).values(
            employee_id=e.employee_id, **_employee_row(e), **_enc(cipher, e), created_at=now, updated_at=now
        )
    )


def save_employee(session: Session, e: Employee, cipher: FieldCipher, now: datetime) -> None:
    session.execute(
        update(employees)
        .where(employees.c.employee_id == e.employee_id)
        .values(**_employee_row(e), **_enc(cipher, e), updated_at=now)
    )


def get_employee(session: Session, employee_id: str, cipher: FieldCipher) -> Employee | None:
    row = session.execute(select(employees).where(employees.c.employee_id == employee_id)).first()
    return None if row is None else _to_employee(row, cipher)


def employee_times(session: Session, employee_id: str) -> tuple[datetime, datetime]:
    row = session.execute(
        select(employees.c.created_at, employees.c.updated_at).where(employees.c.employee_id == employee_id)
    ).one()
    return utc(row.created_at), utc(row.updated_at)  # type: ignore[return-value]


def list_employees(
    session: Session,
    cipher: FieldCipher,
    *,
    after: str,
    limit: int,
    scope: ScopeFilter,
    subtree: str = "",
) -> list[tuple[Employee, datetime, datetime]]:
    """A page of employees ordered by id, with when each was created and last updated, restricted to what
    ``scope`` lets its principal see and to ``subtree``."""
    q = select(employees).order_by(employees.c.employee_id).limit(limit)
    if after:
        q = q.where(employees.c.employee_id > after)
    if subtree:
        q = q.where(subtree_clause(employees.c.org_unit, subtree))
    visible = scope_clause(scope, employees.c.employee_id, employees.c.org_unit)
    if visible is not None:
        q = q.where(visible)
    return [(_to_employee(r, cipher), utc(r.created_at), utc(r.updated_at)) for r in session.execute(q)]


# -- accounts ------------------------------------------------------------------------------------------
def add_account(session: Session, a: Account, now: datetime) -> None:
    session.execute(
        insert(accounts).values(
            username=a.username,
            employee_id=a.employee_id,
            password_hash=a.password_hash,
            failed_attempts=0,
            locked_until=None,
            disabled=a.disabled,
            created_at=now,
        )
    )
    set_role_assignments(session, a.username, a.role_assignments)


def set_role_assignments(session: Session, username: str, assignments: Iterable[RoleAssignment]) -> None:
    session.execute(delete(role_assignments).where(role_assignments.c.username == username))
    rows = {(r.role, r.org_unit) for r in assignments}
    if rows:
        session.execute(
            insert(role_assignments),
            [{"username": username, "role": r, "org_unit": u} for r, u in sorted(rows)],
        )


def get_account(session: Session, username: str, *, for_update: bool = False) -> Account | None:
    q = select(accounts).where(accounts.c.username == username)
    if for_update:
        q = q.with_for_update()
    row = session.execute(q).first()
    if row is None:
        return None
    roles = session.execute(
        select(role_assignments.c.role, role_assignments.c.org_unit)
        .where(role_assignments.c.username == username)
        .order_by(role_assignments.c.role, role_assignments.c.org_unit)
    ).all()
    return Account(
        username=row.username,
        employee_id=row.employee_id,
        password_hash=row.password_hash,
        role_assignments=tuple(RoleAssignment(r.role, r.org_unit) for r in roles),
        failed_attempts=row.failed_attempts,
        locked_until=utc(row.locked_until),
        disabled=row.disabled,
    )


def account_created_at(session: Session, username: str) -> datetime:
    return utc(
        session.execute(select(accounts.c.created_at).where(accounts.c.username == username)).scalar_one()
    )  # type: ignore[return-value]


def save_login_state(session: Session, a: Account) -> None:
    session.execute(
        update(accounts)
        .where(accounts.c.username == a.username)
        .values(failed_attempts=a.failed_attempts, locked_until=a.locked_until, password_hash=a.password_hash)
    )


# -- service accounts ----------------------------------------------------------------------------------
def get_service_account(session: Session, client_id: str) -> Any | None:
    return session.execute(select(service_accounts).where(service_accounts.c.client_id == client_id)).first()


def upsert_service_account(
    session: Session, client_id: str, secret_hash: str, roles: Sequence[str], now: datetime
) -> None:
    if get_service_account(session, client_id) is None:
        session.execute(
            insert(service_accounts).values(
                client_id=client_id,
                secret_hash=secret_hash,
                roles=list(roles),
                disabled=False,
                created_at=now,
            )
        )
    else:
        session.execute(
            update(service_accounts)
            .where(service_accounts.c.client_id == client_id)
            .values(secret_hash=secret_hash, roles=list(roles))
        )


# -- refresh tokens and revocation -----------------------------------------------------------------------
def add_refresh_token(
    session: Session, token_hash: str, family_id: str, username: str, expires_at: datetime, now: datetime
) -> None:
    session.execute(  # a new token: used_at and revoked_at stay NULL
        insert(refresh_tokens).values(
            token_hash=token_hash,
            family_id=family_id,
            username=username,
            expires_at=expires_at,
            created_at=now,
        )
    )


def get_refresh_token(session: Session, token_hash: str) -> Any | None:
    q = select(refresh_tokens).where(refresh_tokens.c.token_hash == token_hash).with_for_update()
    return session.execute(q).first()


def mark_refresh_used(session: Session, token_hash: str, now: datetime) -> None:
    session.execute(
        update(refresh_tokens).where(refresh_tokens.c.token_hash == token_hash).values(used_at=now)
    )


def revoke_refresh_family(session: Session, family_id: str, now: datetime) -> None:
    session.execute(
        update(refresh_tokens)
        .where(refresh_tokens.c.family_id == family_id, refresh_tokens.c.revoked_at.is_(None))
        .values(revoked_at=now)
    )


def revoke_refresh_for_user(session: Session, username: str, now: datetime) -> None:
    session.execute(
        update(refresh_tokens)
        .where(refresh_tokens.c.username == username, refresh_tokens.c.revoked_at.is_(None))
        .values(revoked_at=now)
    )


def revoke_access_token(session: Session, jti: str, expires_at: datetime) -> None:
    if session.execute(select(revoked_tokens.c.jti).where(revoked_tokens.c.jti == jti)).first() is None:
        session.execute(insert(revoked_tokens).values(jti=jti, expires_at=expires_at))


def live_revoked_tokens(session: Session, now: datetime) -> list[tuple[str, datetime]]:
    """Revoked access tokens that have not expired yet (expired ones are pruned)."""
    session.execute(delete(revoked_tokens).where(revoked_tokens.c.expires_at < now))
    rows = session.execute(select(revoked_tokens).order_by(revoked_tokens.c.jti)).all()
    return [(r.jti, utc(r.expires_at)) for r in rows]  # type: ignore[misc]
