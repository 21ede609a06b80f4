"""The organisation directory: org units, employees (sensitive fields masked unless the caller may unmask
them) and bulk imports; every change is announced for the other services' directory caches."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from covenant.auth import (
    DataOwner,
    Principal,
    Scope,
    authorize,
    can,
    scope_filter,
)
from covenant.auth.directory import EMPLOYEE_CHANGED
from covenant.db import Database, idempotency
from covenant.db.outbox import Outbox, new_event
from covenant.errors import (
    AlreadyExists,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    PermissionDenied,
)
from covenant.paging import page
from services.identity import SERVICE, storage
from services.identity.audit import AuditTrail
from services.identity.domain.directory_import import ImportItem, plan_import
from services.identity.domain.org import Employee, OrgUnit, masked, new_org_unit, validate_employee

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


@dataclass(frozen=True)
class EmployeeView:
    employee: Employee
    created_at: datetime
    updated_at: datetime


@dataclass
class OrgDirectory:
    db: Database
    cipher: storage.FieldCipher
    audit: AuditTrail
    clock: Callable[[], datetime]
    outbox: Outbox  # every service caches who-is-who from these events (covenant.auth.directory)

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

        def fetch(after: str, limit: int) -> list[tuple[OrgUnit, datetime]]:
            with self.db.session() as s:
                return storage.list_org_units(s, root.rstrip("/"), after, limit)

        return page(size, token, ("org-units", root), fetch, key=lambda r: r[0].path, kind=str, first="")

    # -- employees ----------------------------------------------------------------------------------------
    def _view(self, s: Session, principal: Principal, e: Employee) -> EmployeeView:
        return self._shown(principal, e, *storage.employee_times(s, e.employee_id))

    @staticmethod
    def _shown(principal: Principal, e: Employee, created: datetime, updated: datetime) -> EmployeeView:
        """The employee as ``principal`` may see them (masked without the unmask permission)."""
        owner = DataOwner(e.employee_id, e.org_unit)
        shown = e if can(principal, "identity.employees.unmask", owner) else masked(e)
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

        def fetch(after: str, limit: int) -> list[tuple[Employee, datetime, datetime]]:
            with self.db.session() as s:
                return storage.list_employees(
                    s, self.cipher, after=after, limit=limit, scope=f, subtree=subtree.rstrip("/")
                )

        bound = ("employees", subtree)
        rows, nxt = page(size, token, bound, fetch, key=lambda r: r[0].employee_id, kind=str, first="")
        return [self._shown(principal, e, created, updated) for e, created, updated in rows], nxt

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
            current = storage.org_units_of(s, [e.employee_id for e in plan.employees])
            for e in plan.employees:
                # Write permission covers where every record puts its employee and, for one that exists,
                # where they are now (as UpdateEmployee does): nobody pulls people in from outside their scope
                if e.employee_id in current:
                    authorize(
                        principal,
                        "identity.employees.write",
                        DataOwner(e.employee_id, current[e.employee_id]),
                    )
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
                if e.employee_id in current:
                    storage.save_employee(s, e, self.cipher, now)
                    updated += 1
                    self._audit_employee(s, principal, "employee.updated", e, ["import"])
                else:
                    storage.add_employee(s, e, self.cipher, now)
                    created += 1
                    self._audit_employee(s, principal, "employee.created", e)
        return len(plan.org_units), created, updated
