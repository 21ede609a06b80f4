"""The authorization matrix: every RPC of every service x every shipped role x whose data the call is about.

Built from the tables alone: each service's ``permissions.RPCS`` (what each RPC checks), the chassis RPCs
(rule packs, event delivery) and the role pack ``rules/identity/roles.yaml`` (what each role is granted).
``python scripts/gen_authz_matrix.py`` writes it to ``docs/authorization.md``;
``tests/integration/test_authorization_matrix.py`` asserts every cell through real gRPC in jwt mode.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

from covenant.auth.matrix import DATA_TARGETS, About, RpcCheck, Target, expected
from covenant.auth.principal import DataOwner, Principal, parse_permissions
from covenant.services import SERVICES, SUBSCRIBERS

ROLE_PACK = Path(__file__).resolve().parents[1] / "rules" / "identity" / "roles.yaml"

# Where the callers and the people their calls are about sit in the org tree.
CALLER = "ME"
TEAM_UNIT, OTHER_TEAM_UNIT, OTHER_UNIT = "/hq/b1/t1", "/hq/b1/t2", "/hq/b2/t1"
ANCHORS = {"branch_manager": "/hq/b1"}  # roles assigned at the branch; everyone else at their team
PEOPLE: dict[Target, DataOwner] = {
    Target.OWN: DataOwner(CALLER, TEAM_UNIT),
    Target.TEAM: DataOwner("MATE", TEAM_UNIT),
    Target.OTHER_TEAM: DataOwner("PEER", OTHER_TEAM_UNIT),
    Target.OTHER_UNIT: DataOwner("FAR", OTHER_UNIT),
}

RULES_SERVICE = "covenant.rules.v1.RulePackService"
EVENTS_SERVICE = "covenant.events.v1.EventSinkService"
RULE_RPCS: dict[str, RpcCheck] = {
    "ValidateRulePack": RpcCheck("rules.packs.read"),
    "TestRulePack": RpcCheck("rules.packs.read"),
    "PublishRulePack": RpcCheck("rules.packs.publish"),
    "ActivateRulePackVersion": RpcCheck("rules.packs.activate"),
    "RollbackRulePack": RpcCheck("rules.packs.activate"),
    "GetRulePackVersion": RpcCheck("rules.packs.read"),
    "ListRulePackVersions": RpcCheck("rules.packs.read", About.LIST),
    "ListActiveRulePacks": RpcCheck("rules.packs.read", About.LIST),
    "DiffRulePackVersions": RpcCheck("rules.packs.read"),
    "DryRunRulePack": RpcCheck("rules.packs.read"),
}
EVENT_RPCS: dict[str, RpcCheck] = {"DeliverEvents": RpcCheck("events.deliveries.write", About.EVENTS)}
# Whether consumers accept an event only from the service account of its declared source (event provenance,
# issue 15, branch t15-provenance). Until then the column follows events.deliveries.write alone; set True
# when that check is merged (and regenerate docs/authorization.md): the probe's caller is never the declared
# source's own account, so every cell of the column is then denied.
PROVENANCE_ENFORCED = True


@dataclass(frozen=True)
class Rpc:
    """One RPC of one service and what it checks."""

    service: str  # short name: "points"
    grpc_service: str  # "covenant.points.v1.PointsService"
    method: str
    check: RpcCheck

    @property
    def full_name(self) -> str:
        return f"/{self.grpc_service}/{self.method}"


@cache
def shipped_roles() -> dict[str, dict[str, str]]:
    """``{role: {permission: scope}}`` from the shipped role pack."""
    pack = yaml.safe_load(ROLE_PACK.read_text(encoding="utf-8"))
    table = pack["parameters"]["role_grants"]["default"]
    return {str(r): {str(p): str(s) for p, s in (g or {}).items()} for r, g in sorted(table.items())}


def is_service_role(role: str) -> bool:
    """Service-account roles (``service``, or per-service ones named ``service...``)."""
    return role == "service" or role.startswith("service")


def principal_for(role: str, grants: Mapping[str, str] | None = None) -> Principal:
    """The caller holding ``role`` alone: an employee of TEAM_UNIT (anchored per ANCHORS), or a service."""
    perms = parse_permissions(grants if grants is not None else shipped_roles()[role])
    if is_service_role(role):
        return Principal(f"serviceAccounts/{role}", kind="service", permissions=perms, roles=(role,))
    return Principal(
        f"employees/{CALLER}",
        employee_id=CALLER,
        org_unit=ANCHORS.get(role, TEAM_UNIT),
        permissions=perms,
        roles=(role,),
    )


def consumers() -> list[str]:
    """Services that serve EventSinkService (those some other service delivers events to)."""
    subscribed = {s for subs in SUBSCRIBERS.values() for s in subs}
    return [s for s in SERVICES if s in subscribed]


def rpcs() -> Iterator[Rpc]:
    """Every RPC of every service, in service order."""
    for name, info in SERVICES.items():
        own: dict[str, RpcCheck] = importlib.import_module(f"services.{name}.permissions").RPCS
        for method, check in own.items():
            yield Rpc(name, info.grpc_service, method, check)
        for method, check in RULE_RPCS.items():
            yield Rpc(name, RULES_SERVICE, method, check)
        if name in consumers():
            for method, check in EVENT_RPCS.items():
                yield Rpc(name, EVENTS_SERVICE, method, check)


def targets(rpc: Rpc) -> tuple[Target, ...]:
    """The columns an RPC has: the four data targets, one (its own result) when it is about nobody, or the
    events column for event delivery."""
    if rpc.check.about is About.EVENTS:
        return (Target.EVENTS,)
    if rpc.check.about in (About.EMPLOYEE, About.UNIT, About.SUBJECT):
        return DATA_TARGETS
    return (Target.OWN,)


def cell(role: str, rpc: Rpc, target: Target) -> bool:
    """Expected: may a caller holding ``role`` make this call about ``target``?"""
    if target is Target.EVENTS and PROVENANCE_ENFORCED:
        return False
    owner = PEOPLE.get(target) if rpc.check.about in (About.EMPLOYEE, About.UNIT, About.SUBJECT) else None
    return expected(principal_for(role), rpc.check, owner)


def render() -> str:
    """docs/authorization.md."""
    roles = list(shipped_roles())
    out = [
        "# Authorization matrix",
        "",
        "Generated by `python scripts/gen_authz_matrix.py` from each service's `permissions.RPCS`, the",
        "chassis RPCs and the role pack `rules/identity/roles.yaml`; do not edit by hand (a test fails when",
        "it is stale). `tests/integration/test_authorization_matrix.py` asserts every cell through real gRPC",
        "in `jwt` mode.",
        "",
        "Each role's caller holds that role alone. Employees sit in team `/hq/b1/t1` (a branch manager's",
        "role is assigned at branch `/hq/b1`); service roles are service accounts. A cell about data shows",
        "four marks, for the call about: **own data** (the caller), **own team** (a colleague in",
        "`/hq/b1/t1`), **other team** (`/hq/b1/t2`, same branch), **other unit** (`/hq/b2/t1`). One mark:",
        "the RPC is about nobody in particular (lists are filtered by the grant's scope). `DeliverEvents`",
        "shows the column **another service's events**: delivering an event declared by another service",
        "into the service's inbox. `Y` allowed, `.` denied (PERMISSION_DENIED naming the permission). Who",
        "the employee is (org unit) comes from the directory; separation of duties (`own: deny`) holds",
        "whatever the scope. `own: free`: one's own needs no grant.",
        "",
        "Health and reflection are public on every service and not listed.",
    ]
    by_service: dict[str, list[Rpc]] = {}
    for rpc in rpcs():
        by_service.setdefault(rpc.service, []).append(rpc)
    for name, items in by_service.items():
        out += ["", f"## {name}", ""]
        out.append("| RPC | checks | " + " | ".join(roles) + " |")
        out.append("|---|---|" + "---|" * len(roles))
        for rpc in items:
            c = rpc.check
            what = c.permission or c.about.value
            if c.about not in (About.PUBLIC, About.AUTHENTICATED, About.NONE):
                what += f" ({c.about.value}"
                what += f"; own: {c.own})" if c.own else ")"
            service = rpc.grpc_service.rsplit(".", 1)[1]
            marks = ["".join("Y" if cell(role, rpc, t) else "." for t in targets(rpc)) for role in roles]
            out.append(f"| {service}.{rpc.method} | {what} | " + " | ".join(f"`{m}`" for m in marks) + " |")
    return "\n".join(out) + "\n"
