"""The shipped role table, read from the role pack (rules/identity/roles.yaml), so tests follow whatever
roles and grants the pack holds."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import yaml

ROLE_PACK = Path(__file__).resolve().parents[2] / "rules" / "identity" / "roles.yaml"


@cache
def shipped_roles() -> dict[str, dict[str, str]]:
    """``{role: {permission: scope}}`` as the shipped role pack grants them."""
    pack = yaml.safe_load(ROLE_PACK.read_text(encoding="utf-8"))
    table = pack["parameters"]["role_grants"]["default"]
    return {str(r): {str(p): str(s) for p, s in (g or {}).items()} for r, g in table.items()}


def grants(role: str) -> dict[str, str]:
    return dict(shipped_roles()[role])
