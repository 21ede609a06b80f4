"""Roles → permission grants with data scopes, and what a set of role assignments adds up to."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from covenant.auth import Scope
from covenant.errors import InvalidArgument

ROLES = (
    "sales_rep",
    "team_lead",
    "branch_manager",
    "hr",
    "compliance_officer",
    "rules_admin",
    "auditor",
    "platform_admin",
    "service",
)


def merge_grants(*tables: Mapping[str, Mapping[str, str]]) -> dict[str, dict[str, str]]:
    """Fold several role → {permission: scope} tables into one; the widest scope wins."""
    out: dict[str, dict[str, str]] = {}
    for table in tables:
        for role, grants in table.items():
            target = out.setdefault(role, {})
            for perm, scope in grants.items():
                new = Scope.parse(scope)
                old = target.get(perm)
                if old is None or new > Scope.parse(old):
                    target[perm] = str(new)
    return out


def validate_permission(name: str, field_name: str) -> str:
    parts = name.split(".")
    if name != "*" and (len(parts) != 3 or not all(parts)):
        raise InvalidArgument(
            "permissions are <service>.<resource>.<verb> ('*' segments allowed)", field=field_name
        )
    return name


@dataclass(frozen=True)
class RoleTable:
    """The role → permission table in force, with the pack version it came from."""

    roles: Mapping[str, Mapping[str, str]]
    pack_id: str = ""
    pack_version: str = ""
    _parsed: dict[str, dict[str, Scope]] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_mapping(
        cls, roles: Mapping[str, Mapping[str, str]], pack_id: str = "", pack_version: str = ""
    ) -> RoleTable:
        """Validate and build; raises InvalidArgument naming ``roles.<role>.<permission>``."""
        parsed: dict[str, dict[str, Scope]] = {}
        for role, grants in roles.items():
            parsed[role] = {}
            for perm, scope in grants.items():
                validate_permission(perm, f"roles.{role}")
                try:
                    parsed[role][perm] = Scope.parse(scope)
                except ValueError as exc:
                    raise InvalidArgument(str(exc), field=f"roles.{role}.{perm}") from None
        return cls(
            {r: {p: str(s) for p, s in g.items()} for r, g in parsed.items()}, pack_id, pack_version, parsed
        )

    def has_role(self, role: str) -> bool:
        return role in self._parsed

    def grants_for(self, roles: Iterable[str]) -> dict[str, Scope]:
        """Union of the roles' grants (widest scope per permission); unknown roles add nothing."""
        out: dict[str, Scope] = {}
        for role in roles:
            for perm, scope in self._parsed.get(role, {}).items():
                if perm not in out or scope > out[perm]:
                    out[perm] = scope
        return out


def anchor_org_unit(home_unit: str, assignment_units: Iterable[str]) -> str:
    """The org unit a token's scopes are anchored at.

    A token carries ONE org unit: the employee's own unit unless a role is assigned at another unit, in
    which case the highest such unit (shortest path) is the anchor (a branch manager assigned at
    ``/hq/b1`` while sitting in ``/hq/b1/office``).
    """
    units = [u for u in assignment_units if u]
    if not units:
        return home_unit
    return min(units, key=lambda u: (u.count("/"), u))
