"""What each RPC checks, and the allowed/denied answer that follows for a caller and a target.

Each service declares ``RPCS: dict[str, RpcCheck]`` next to its permission table
(``services/<name>/permissions.py``); with the role table this gives the authorization matrix
(``services/authz.py``, ``docs/authorization.md``), which ``tests/integration/test_authorization_matrix.py``
asserts cell by cell through real gRPC. Pure Python.
"""

from __future__ import annotations

import enum
import fnmatch
from collections.abc import Mapping
from dataclasses import dataclass

from covenant.auth.principal import DataOwner, Principal, Scope, can
from covenant.services import own_account_of


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
    PACK = "pack"  # rule authority over the service's pack (``RpcCheck.pack``; docs/rule-packs.md)


@dataclass(frozen=True)
class PackSpec:
    """The rule pack a rule-authority RPC is about: its service, id, owner group and, for a role table
    (a pack defining ``role_grants``), what it grants."""

    service: str
    pack_id: str
    owner: str = ""
    role_table: Mapping[str, Mapping[str, str]] | None = None

    def permission(self, verb: str) -> str:
        """``rules.<service>/<pack>.<verb>``: the permission a denial names."""
        return f"rules.{self.service}/{self.pack_id}.{verb}"


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
    pack: PackSpec | None = None  # About.PACK: the pack; ``permission`` is then its verb's permission
    # Source systems only: a Covenant service's own account is refused whatever it holds (it speaks through
    # its events; docs/security.md, "Event provenance").
    sources_only: bool = False
    # Chain of command (docs/security.md, "Chain of command"): ``"require"``: a team/subtree grant reaches
    # only people who report to the caller; ``"forbid"``: nobody acts on someone who reports to them.
    line: str = ""


class Target(enum.StrEnum):
    """The matrix columns: whose data the call is about, relative to the caller."""

    OWN = "own data"
    TEAM = "own team"
    OTHER_TEAM = "other team"
    OTHER_UNIT = "other unit"
    EVENTS = "another service's events"


DATA_TARGETS = (Target.OWN, Target.TEAM, Target.OTHER_TEAM, Target.OTHER_UNIT)


def expected(
    principal: Principal, check: RpcCheck, owner: DataOwner | None, *, reports: bool = False
) -> bool:
    """Whether ``principal`` may make the call about ``owner``'s data (None for RPCs about nobody);
    ``reports``: the owner reports to the caller (the caller is in their manager chain)."""
    if check.about is About.PUBLIC or check.about is About.AUTHENTICATED:
        return True
    if check.sources_only and principal.kind == "service" and own_account_of(principal.subject):
        return False
    if check.about is About.PACK and check.pack is not None:
        return may_change_pack(principal, check.permission.rpartition(".")[2], check.pack)
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
    if not can(principal, permission, owner):
        return False
    line_manager = principal.kind == "user" and bool(principal.employee_id)
    if check.line == "forbid" and line_manager and reports:
        return False
    if check.line == "require" and line_manager and not own and not reports:
        return principal.scope_for(permission) not in (Scope.TEAM, Scope.SUBTREE)
    return True


def _reaches(grant: str, wanted: tuple[str, ...]) -> bool:
    return grant == "*" or any(fnmatch.fnmatchcase(w, grant) for w in wanted)


def may_change_pack(principal: Principal, verb: str, pack: PackSpec) -> bool:
    """Rule authority as docs/rule-packs.md ("Rule authority") states it, from the grants: a grant naming
    ``rules.<service>/<pack>.<verb>`` or ``rules.<service>/@<owner>.<verb>`` (globs, ``*`` verb, ``*``);
    a role table only for platform admins who hold every grant it hands out."""
    wanted = [pack.permission(verb)]
    if pack.owner:
        wanted.append(f"rules.{pack.service}/@{pack.owner}.{verb}")
    if not any(_reaches(g, tuple(wanted)) for g in principal.permissions):
        return False
    if pack.role_table is None:
        return True
    if "platform_admin" not in principal.roles:
        return False
    return all(
        (held := principal.scope_for(perm)) is not None and held >= Scope.parse(scope)
        for grants in pack.role_table.values()
        for perm, scope in grants.items()
    )
