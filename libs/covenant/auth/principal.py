"""Who is calling and what they may do: principals, permissions with data scopes, and the check.

Pure Python (no gRPC, no database). A permission is ``<service>.<resource>.<verb>`` (e.g.
``points.ledger.read``); grants may use ``*`` for a whole segment (``attendance.*.read``) or ``*`` alone.
A grant carries a data scope: ``self`` (own data), ``team`` (same org unit), ``subtree`` (the caller's org
unit and everything below it) or ``all``. Org units are paths such as ``/hq/branch-1/team-3``.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property

from covenant.errors import NotFound, PermissionDenied


class Scope(enum.IntEnum):
    """How far a grant reaches; wider scopes include narrower ones."""

    SELF = 1
    TEAM = 2
    SUBTREE = 3
    ALL = 4

    @classmethod
    def parse(cls, value: str | Scope) -> Scope:
        if isinstance(value, Scope):
            return value
        try:
            return cls[value.strip().upper()]
        except KeyError:
            raise ValueError(f"unknown scope {value!r}; expected self, team, subtree or all") from None

    def __str__(self) -> str:
        return self.name.lower()


@dataclass(frozen=True)
class DataOwner:
    """Whose data a request touches: the employee and their org unit path."""

    employee_id: str
    org_unit: str = ""


def _under(org_unit: str, root: str) -> bool:
    if not root:
        return False
    root = root.rstrip("/")
    return org_unit == root or org_unit.startswith(root + "/")


@dataclass(frozen=True)
class Principal:
    """The authenticated caller, as its verified token describes it."""

    subject: str
    kind: str = "user"  # "user" or "service"
    employee_id: str = ""
    org_unit: str = ""
    permissions: Mapping[str, Scope] = field(default_factory=dict)
    roles: tuple[str, ...] = ()
    token_id: str = ""
    expires_at: datetime | None = None

    @cached_property
    def _grants(self) -> tuple[dict[str, Scope], tuple[tuple[tuple[str, ...], Scope], ...]]:
        exact: dict[str, Scope] = {}
        patterns: list[tuple[tuple[str, ...], Scope]] = []
        for name, scope in self.permissions.items():
            scope = Scope.parse(scope)
            if "*" in name:
                patterns.append((tuple(name.split(".")), scope))
            else:
                exact[name] = max(scope, exact.get(name, Scope.SELF))
        return exact, tuple(patterns)

    def scope_for(self, permission: str) -> Scope | None:
        """The widest scope any grant gives for ``permission``, or None when nothing grants it."""
        exact, patterns = self._grants
        best = exact.get(permission)
        if patterns:
            parts = permission.split(".")
            for pattern, scope in patterns:
                if _matches(pattern, parts) and (best is None or scope > best):
                    best = scope
        return best

    def covers(self, scope: Scope, owner: DataOwner) -> bool:
        """Whether a grant of ``scope`` reaches ``owner``'s data."""
        if scope is Scope.ALL:
            return True
        if self.employee_id and owner.employee_id == self.employee_id:
            return True
        if scope is Scope.TEAM:
            return bool(self.org_unit) and owner.org_unit == self.org_unit
        if scope is Scope.SUBTREE:
            return _under(owner.org_unit, self.org_unit)
        return False


def _matches(pattern: tuple[str, ...], parts: list[str]) -> bool:
    if pattern == ("*",):
        return True
    if len(pattern) != len(parts):
        return False
    return all(p == "*" or p == q for p, q in zip(pattern, parts, strict=True))


def can(principal: Principal, permission: str, owner: DataOwner | None = None) -> bool:
    """True when ``principal`` holds ``permission`` with a scope that covers ``owner`` (if given)."""
    scope = principal.scope_for(permission)
    if scope is None:
        return False
    return owner is None or principal.covers(scope, owner)


def authorize(principal: Principal, permission: str, owner: DataOwner | None = None) -> Scope:
    """Raise PermissionDenied unless ``principal`` may use ``permission`` on ``owner``'s data.

    Returns the scope the grant gives, so list handlers can filter with it.
    """
    scope = principal.scope_for(permission)
    if scope is None:
        raise PermissionDenied(permission)
    if owner is not None and not principal.covers(scope, owner):
        raise PermissionDenied(
            permission, f"scope {scope} does not cover {owner.employee_id or owner.org_unit}"
        )
    return scope


@contextmanager
def authorizing_lookup(
    principal: Principal, permission: str, name: str
) -> Iterator[Callable[[DataOwner], None]]:
    """Around reading one resource by its name (``cases/42``), in the order of Google's AIP-211, so that
    names cannot be probed for existence or ownership:
    - a caller holding ``permission`` nowhere is PERMISSION_DENIED before anything is read;
    - the block calls the yielded ``check(owner)`` once it has read the resource's owner: PERMISSION_DENIED
      naming ``name`` (not the owner) when the caller's scope does not cover it;
    - a ``NotFound`` raised in the block stays NOT_FOUND only for a caller whose grant reaches everything;
      any other caller gets the same PERMISSION_DENIED as for a resource outside its scope.
    """
    scope = authorize(principal, permission)

    def denied() -> PermissionDenied:
        return PermissionDenied(permission, f"scope {scope} does not cover {name}")

    def check(owner: DataOwner) -> None:
        if not principal.covers(scope, owner):
            raise denied()

    try:
        yield check
    except NotFound:
        if scope is Scope.ALL:
            raise
        raise denied() from None


def forbid_self(principal: Principal, employee_id: str, permission: str, action: str) -> None:
    """Separation of duties: nobody acts on their own outcomes, whatever scope they hold.

    Raises PermissionDenied naming ``permission`` when ``employee_id`` is the caller's own, e.g.
    ``forbid_self(p, e, "points.ledger.adjust", "adjust their own points")``.
    """
    if employee_id and principal.employee_id and employee_id == principal.employee_id:
        raise PermissionDenied(permission, f"separation of duties: nobody may {action}")


def holds_all(principal: Principal, grants: Mapping[str, Scope]) -> str | None:
    """The first of ``grants`` the principal does not hold at least as widely, or None when it holds them
    all (an account admin may only give, reset or take over accounts whose rights they hold themselves)."""
    for name, scope in sorted(grants.items()):
        mine = principal.scope_for(name) if "*" not in name else _pattern_scope(principal, name)
        if mine is None or mine < Scope.parse(scope):
            return name
    return None


def _pattern_scope(principal: Principal, pattern: str) -> Scope | None:
    """A wildcard grant is held only through a grant at least as wide (``*`` covers everything)."""
    wanted = tuple(pattern.split("."))
    best: Scope | None = None
    for name, scope in principal.permissions.items():
        mine = tuple(name.split("."))
        wider = mine == ("*",) or (
            len(mine) == len(wanted) and all(m == "*" or m == w for m, w in zip(mine, wanted, strict=True))
        )
        scope = Scope.parse(scope)
        if wider and (best is None or scope > best):
            best = scope
    return best


@dataclass(frozen=True)
class ScopeFilter:
    """What a list query must be restricted to for a caller (``all`` means unrestricted)."""

    all: bool = False
    employee_id: str | None = None
    org_unit: str | None = None  # exact org unit (team scope)
    org_unit_prefix: str | None = None  # subtree scope

    def matches(self, owner: DataOwner) -> bool:
        """Whether a row owned by ``owner`` is visible under this filter."""
        if self.all:
            return True
        if self.employee_id is not None and owner.employee_id == self.employee_id:
            return True
        if self.org_unit is not None and owner.org_unit == self.org_unit:
            return True
        return self.org_unit_prefix is not None and _under(owner.org_unit, self.org_unit_prefix)


def scope_filter(principal: Principal, permission: str) -> ScopeFilter:
    """The filter a list handler applies for ``permission``; raises PermissionDenied when not granted."""
    scope = authorize(principal, permission)
    if scope is Scope.ALL:
        return ScopeFilter(all=True)
    own = principal.employee_id or None
    if scope is Scope.TEAM:
        return ScopeFilter(employee_id=own, org_unit=principal.org_unit or None)
    if scope is Scope.SUBTREE:
        return ScopeFilter(employee_id=own, org_unit_prefix=principal.org_unit or None)
    return ScopeFilter(employee_id=own or principal.subject)


def parse_permissions(grants: Mapping[str, str] | Iterable[str]) -> dict[str, Scope]:
    """Grants as ``{permission: scope}`` or ``["perm:scope", ...]`` into ``{permission: Scope}``."""
    if isinstance(grants, Mapping):
        return {k: Scope.parse(v) for k, v in grants.items()}
    out: dict[str, Scope] = {}
    for item in grants:
        name, _, scope = item.partition(":")
        out[name] = Scope.parse(scope or "all")
    return out


DEV_PRINCIPAL = Principal(
    subject="dev:local-admin",
    kind="user",
    employee_id="",
    org_unit="/",
    permissions={"*": Scope.ALL},
    roles=("platform_admin",),
)
