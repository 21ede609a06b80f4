"""The role → permission table: folded from every service's ``permissions.ROLE_GRANTS`` into the identity
rule pack ``rules/identity/roles.yaml`` (parameter ``role_grants``), and read back from the live pack.

Regenerate the pack after a service changes its grants: ``python -m services.identity.role_pack``.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Mapping
from typing import Any

from covenant.services import SERVICES
from services.identity.domain.rbac import RoleTable, merge_grants

PARAMETER = "role_grants"
PACK_ID = "identity-roles"


def service_role_grants() -> dict[str, dict[str, dict[str, str]]]:
    """``{service: ROLE_GRANTS}`` for every service that has a ``permissions`` module."""
    out: dict[str, dict[str, dict[str, str]]] = {}
    for name in SERVICES:
        try:
            module = importlib.import_module(f"services.{name}.permissions")
        except ModuleNotFoundError:
            continue
        out[name] = dict(getattr(module, "ROLE_GRANTS", {}))
    return out


# Chassis permissions: rule-pack governance (every service) and event delivery between services. Rule
# authority is scoped to the packs each remit owns (docs/rule-packs.md, "Rule authority"): a grant names the
# service and pack glob, or the pack's owner group after '@'. The role table (identity-roles) is changed by
# platform admins only ('*'); nobody else holds authority over identity packs.
def _owns(*resources: str) -> dict[str, str]:
    """publish, activate and approve on each resource (``<service>/<pack glob>`` or ``*/@<owner>``)."""
    return {f"rules.{r}.{verb}": "all" for r in resources for verb in ("publish", "activate", "approve")}


CHASSIS_GRANTS: dict[str, dict[str, str]] = {
    # compliance owner: the compliance packs and every pack owned by the compliance office
    "compliance_officer": {"rules.packs.read": "all", **_owns("compliance/*", "*/@compliance-office")},
    # operations risk: attendance / field-presence thresholds
    "operations_risk": {
        "rules.packs.read": "all",
        **_owns("attendance/*", "*/@operations-risk"),
        "attendance.routes.read": "all",
        "attendance.places.read": "all",
        "identity.org_units.read": "all",
    },
    # HR: scorecard metrics and signals (hr-analytics) and the points incentives (sales-operations)
    "hr": {
        "rules.packs.read": "all",
        **_owns("scoring/*", "*/@hr-analytics", "points/*", "*/@sales-operations"),
    },
    # rules admin: reads and checks every pack; changes none
    "rules_admin": {"rules.packs.read": "all"},
    "auditor": {"rules.packs.read": "all"},
    # leads see dry runs over their own people's events only
    "branch_manager": {"rules.packs.read": "subtree"},
    "team_lead": {"rules.packs.read": "team"},
    "service": {"events.deliveries.write": "all"},
}

# One service account per service (role ``<service>_service``): deliver its events, read the directory,
# and that service's own service grants; nothing of another service (the legacy ``service`` role is the
# union of them all and is kept for accounts created before). No service reads the role table
# (``identity.roles.read``): tokens carry the grants.
_SERVICE_ACCOUNT_BASE = {
    "events.deliveries.write": "all",
    "identity.employees.read": "all",
    "identity.org_units.read": "all",
}


def _sources_only(service: str) -> set[str]:
    """Permissions of ``service`` that only source systems may use: every RPC checking them refuses a
    Covenant service's own account (it speaks through its events), so its account must not hold them."""
    rpcs = getattr(importlib.import_module(f"services.{service}.permissions"), "RPCS", {})
    checked: dict[str, bool] = {}
    for check in rpcs.values():
        checked[check.permission] = checked.get(check.permission, True) and check.sources_only
    return {p for p, only in checked.items() if only}


def service_account_role(service: str) -> str:
    """The role the service account of ``service`` holds."""
    return f"{service}_service"


def service_account_grants() -> dict[str, dict[str, str]]:
    """``{<service>_service: grants}`` for every service."""
    out = {}
    for name, grants in service_role_grants().items():
        dead = _sources_only(name)
        own = {
            p: sc for p, sc in grants.get("service", {}).items() if p.startswith(f"{name}.") and p not in dead
        }
        out[service_account_role(name)] = {**_SERVICE_ACCOUNT_BASE, **own}
    for name in SERVICES:
        out.setdefault(service_account_role(name), dict(_SERVICE_ACCOUNT_BASE))
    return out


def default_role_grants() -> dict[str, dict[str, str]]:
    """Every service's default grants merged (widest scope wins), roles and permissions sorted."""
    merged = merge_grants(CHASSIS_GRANTS, *service_role_grants().values(), service_account_grants())
    return {role: dict(sorted(g.items())) for role, g in sorted(merged.items())}


class LiveRoleTable:
    """The role table from the active identity pack's ``role_grants`` parameter (hot-swapped with the
    pack), falling back to the folded defaults when no pack provides it."""

    def __init__(self, rules: Any) -> None:
        self._rules = rules
        self._lock = threading.Lock()
        self._cached: tuple[Any, RoleTable] | None = None
        self._default = RoleTable.from_mapping(default_role_grants(), "defaults", "0")

    def _raw(self) -> tuple[Mapping[str, Mapping[str, str]] | None, str, str]:
        if self._rules is None:
            return None, "", ""
        try:
            packs = self._rules.snapshot()  # the table and the version it is stamped with, from one set
            value = self._rules.parameter(PARAMETER, packs=packs)
        except Exception:  # no active pack defines it yet
            return None, "", ""
        pack_id, version = self._rules.parameter_source(PARAMETER, packs=packs)
        return value, pack_id or PACK_ID, version

    def __call__(self) -> RoleTable:
        raw, pack_id, version = self._raw()
        if not raw:
            return self._default
        with self._lock:
            if self._cached is not None and self._cached[0] is raw:
                return self._cached[1]
            table = RoleTable.from_mapping(raw, pack_id, version)
            self._cached = (raw, table)
            return table


def render_pack(version: str) -> str:
    """The identity roles pack (YAML) with every service's default grants folded in."""
    import yaml

    doc = {
        "id": PACK_ID,
        "version": version,
        "service": "identity",
        "owner": "platform-security",
        "description": "Role -> permission table with data scopes (self, team, subtree, all). Generated from "
        "each service's permissions.ROLE_GRANTS by `python -m services.identity.role_pack`; edit and publish "
        "a new version to change grants at runtime.",
        "parameters": {PARAMETER: {"type": "object", "default": default_role_grants()}},
        "rules": [],
    }
    modeline = "# yaml-language-server: $schema=../../libs/covenant/rules/pack.schema.json\n"
    return modeline + yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)


if __name__ == "__main__":
    import sys
    from pathlib import Path

    target = Path(__file__).resolve().parents[2] / "rules" / "identity" / "roles.yaml"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(render_pack(sys.argv[1] if len(sys.argv) > 1 else "2026.11.1"))
    print(target)
