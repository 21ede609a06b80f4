"""Validation of a bulk directory import: every record is checked before anything is applied."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from covenant.errors import CovenantError, InvalidArgument
from services.identity.domain.org import Employee, OrgUnit, new_org_unit, validate_employee


class LineError(NamedTuple):
    """A bad record: its index, the field at fault and why."""

    index: int
    field: str
    message: str


@dataclass(frozen=True)
class ImportPlan:
    """What a valid import will do."""

    org_units: tuple[OrgUnit, ...]
    employees: tuple[Employee, ...]


ImportItem = OrgUnit | Employee


def plan_import(
    items: Sequence[ImportItem],
    org_unit_exists: Callable[[str], bool],
    employee_exists: Callable[[str], bool],
    max_errors: int = 100,
) -> ImportPlan:
    """Validate every record; raise InvalidArgument listing each bad line (``records[i].<field>``).

    Org units may come in any order within the batch (a parent may follow its child); employees may
    reference org units and managers created by the same batch.
    """
    errors: list[LineError] = []
    units: dict[str, OrgUnit] = {}
    employees: dict[str, tuple[int, Employee]] = {}
    unit_lines: list[tuple[int, OrgUnit]] = []

    def fail(i: int, exc: CovenantError) -> None:
        field = exc.field or f"records[{i}]"
        msg = exc.message.removeprefix(f"{exc.field}: ") if exc.field else exc.message
        errors.append(LineError(i, field, msg))

    for i, item in enumerate(items):
        prefix = f"records[{i}]"
        try:
            if isinstance(item, OrgUnit):
                unit = new_org_unit(item.path, item.display_name, f"{prefix}.org_unit")
                if unit.path in units or org_unit_exists(unit.path):
                    raise InvalidArgument(
                        f"org unit {unit.path} already exists", field=f"{prefix}.org_unit.path"
                    )
                units[unit.path] = unit
                unit_lines.append((i, unit))
            else:
                emp = validate_employee(item, f"{prefix}.employee")
                if emp.employee_id in employees:
                    raise InvalidArgument(
                        f"duplicate of records[{employees[emp.employee_id][0]}]",
                        field=f"{prefix}.employee.employee_id",
                    )
                employees[emp.employee_id] = (i, emp)
        except CovenantError as exc:
            fail(i, exc)

    for i, unit in unit_lines:
        parent = unit.parent_path
        if parent and parent not in units and not org_unit_exists(parent):
            errors.append(
                LineError(i, f"records[{i}].org_unit.path", f"parent org unit {parent} does not exist")
            )
    for i, emp in employees.values():
        if emp.org_unit not in units and not org_unit_exists(emp.org_unit):
            errors.append(
                LineError(i, f"records[{i}].employee.org_unit", f"org unit {emp.org_unit} does not exist")
            )
        if emp.manager_id and emp.manager_id not in employees and not employee_exists(emp.manager_id):
            errors.append(
                LineError(i, f"records[{i}].employee.manager_id", f"employee {emp.manager_id} does not exist")
            )
    if errors:
        errors.sort(key=lambda e: e.index)
        shown = errors[:max_errors]
        detail = "; ".join(f"{e.field}: {e.message}" for e in shown)
        more = f" (and {len(errors) - len(shown)} more)" if len(errors) > len(shown) else ""
        raise InvalidArgument(
            f"import rejected, nothing applied: {len(errors)} bad record(s): {detail}{more}",
            field=shown[0].field,
        )
    ordered_units = sorted(units.values(), key=lambda u: u.path.count("/"))
    return ImportPlan(
        tuple(ordered_units), tuple(e for _, e in sorted(employees.values(), key=lambda x: x[0]))
    )


__all__ = ["ImportItem", "ImportPlan", "LineError", "plan_import"]
