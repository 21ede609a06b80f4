"""What each RPC checks, and the allowed/denied answer that follows for a caller and a target.

Each service declares ``RPCS: dict[str, RpcCheck]`` next to its permission table
(``services/<name>/permissions.py``); with the role table this gives the authorization matrix
(``services/authz.py``, ``docs/authorization.md``), which ``tests/integration/test_authorization_matrix.py``
asserts cell by cell through real gRPC. Pure Python.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from covenant.auth.principal import DataOwner, Principal, can


class About(enum.StrEnum):
    """What the RPC's permission is checked against."""

    PUBLIC = "public"  # no token needed
    AUTHENTICATED = "authenticated"  # any valid token
    NONE = "none"  # the permission alone (no data owner): catalogues, imports, jobs
    LIST = "list"  # the permission alone; results are filtered by its scope
    EMPLOYEE = "employee"  # the permission with a scope covering the employee the request is about
    UNIT = "unit"  # the permission with a scope covering the org unit the request is about
    SUBJECT = "subject"  # one's own without a grant; anyone else's with the permission (any scope)
    EVENTS = "events"  # event delivery into the service's inbox


@dataclass(frozen=True)
class RpcCheck:
    """How one RPC is authorized.

    ``own``: what applies when the employee the request is about is the caller: ``""`` (the same rule as
    for anyone), ``"deny"`` (separation of duties: never about oneself), ``"free"`` (one's own needs no
    grant) or another permission name that applies instead (e.g. cancelling one's own redemption).
    """

    permission: str
    about: About = About.NONE
    own: str = ""


class Target(enum.StrEnum):
    """The matrix columns: whose data the call is about, relative to the caller."""

    OWN = "own data"
    TEAM = "own team"
    OTHER_TEAM = "other team"
    OTHER_UNIT = "other unit"
    EVENTS = "another service's events"


DATA_TARGETS = (Target.OWN, Target.TEAM, Target.OTHER_TEAM, Target.OTHER_UNIT)


def expected(principal: Principal, check: RpcCheck, owner: DataOwner | None) -> bool:
    """Whether ``principal`` may make the call about ``owner``'s data (None for RPCs about nobody)."""
    if check.about is About.PUBLIC or check.about is About.AUTHENTICATED:
        return True
    own = owner is not None and bool(principal.employee_id) and owner.employee_id == principal.employee_id
    if own and check.own == "deny":
        return False
    if own and check.own == "free":
        return True
    permission = check.own if own and check.own not in ("", "deny", "free") else check.permission
    if check.about in (About.NONE, About.LIST, About.EVENTS, About.SUBJECT) or owner is None:
        return principal.scope_for(permission) is not None
    if check.about is About.UNIT:
        owner = DataOwner("", owner.org_unit)
    return can(principal, permission, owner)
