"""Data-scope SQL: one place that turns an org subtree or a ``ScopeFilter`` into a WHERE clause."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import false, or_
from sqlalchemy.sql.elements import ColumnElement

if TYPE_CHECKING:
    from covenant.auth.principal import ScopeFilter

__all__ = ["scope_clause", "subtree"]


def subtree(org_unit: Any, root: str) -> ColumnElement[bool]:
    """``org_unit`` is ``root`` or lies below it (LIKE wildcards in ``root`` are escaped)."""
    root = root.rstrip("/")
    return or_(org_unit == root, org_unit.startswith(root + "/", autoescape=True))


def scope_clause(scope: ScopeFilter, employee_id: Any, org_unit: Any) -> ColumnElement[bool] | None:
    """The rows ``scope`` lets its principal see, by their employee and org-unit columns.

    ``None`` when the scope is unrestricted; a clause that is always false when it grants nothing.
    """
    if scope.all:
        return None
    terms: list[ColumnElement[bool]] = []
    if scope.employee_id is not None:
        terms.append(employee_id == scope.employee_id)
    if scope.org_unit is not None:
        terms.append(org_unit == scope.org_unit)
    if scope.org_unit_prefix is not None:
        terms.append(subtree(org_unit, scope.org_unit_prefix))
    return or_(*terms) if terms else false()
