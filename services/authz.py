"""The authorization matrix: every RPC of every service x every shipped role x whose data the call is about.

Built from the tables alone: each service's ``permissions.RPCS`` (what each RPC checks), the chassis RPCs
(rule packs, event delivery) and the role pack ``rules/identity/roles.yaml`` (what each role is granted).
``python scripts/gen_authz_matrix.py`` writes it to ``docs/authorization.md``;
``tests/integration/test_authorization_matrix.py`` asserts every cell through real gRPC in jwt mode.
"""

from __future__ import annotations

import dataclasses
import importlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

from covenant.auth.matrix import DATA_TARGETS, About, PackSpec, RpcCheck, Target, expected
from covenant.auth.principal import DataOwner, Principal, parse_permissions
from covenant.services import EMITS, SERVICES, SUBSCRIBERS, service_account, sources_of

RULES_DIR = Path(__file__).resolve().parents[1] / "rules"
ROLE_PACK = RULES_DIR / "identity" / "roles.yaml"

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
# The manager chain (the directory's manager_id): the colleague and the other team's employee report to the
# caller (so a lead's team and a branch manager's subtree are their line); the other unit's does not.
MANAGERS: dict[Target, str] = {Target.TEAM: CALLER, Target.OTHER_TEAM: CALLER}

RULES_SERVICE = "covenant.rules.v1.RulePackService"
EVENTS_SERVICE = "covenant.events.v1.EventSinkService"
# Rule authority (docs/rule-packs.md, "Rule authority"): changing a pack names the service's shipped pack
# (``{verb}`` RPCs, About.PACK, resolved per service by ``pack_check``); reading needs rules.packs.read, whose
# scope only limits what a dry run shows.
RULE_RPCS: dict[str, RpcCheck] = {
    "ValidateRulePack": RpcCheck("rules.packs.read"),
    "TestRulePack": RpcCheck("rules.packs.read"),
    "PublishRulePack": RpcCheck("publish", About.PACK),
    "ActivateRulePackVersion": RpcCheck("activate", About.PACK),
    "RollbackRulePack": RpcCheck("activate", About.PACK),
    "GetRulePackVersion": RpcCheck("rules.packs.read"),
    "ListRulePackVersions": RpcCheck("rules.packs.read", About.LIST),
    "ListActiveRulePacks": RpcCheck("rules.packs.read", About.LIST),
    "DiffRulePackVersions": RpcCheck("rules.packs.read"),
    "DryRunRulePack": RpcCheck("rules.packs.read"),
    "GetApprovalRequest": RpcCheck("rules.packs.read"),
    "ApproveRulePackVersion": RpcCheck("approve", About.PACK),
    "RejectRulePackVersion": RpcCheck("approve", About.PACK),
}
EVENT_RPCS: dict[str, RpcCheck] = {"DeliverEvents": RpcCheck("events.deliveries.write", About.EVENTS)}
# Event provenance (docs/security.md, "Event provenance"): a consumer accepts an event only from the service
# account of its declared source (covenant.services EMITS/SUBSCRIBERS). The events column delivers an event
# ``event_source`` emits; only that source's own account, holding events.deliveries.write, gets it in.
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
    """Service-account roles: the older catch-all ``service`` and the per-service ``<service>_service``."""
    return role == "service" or role.endswith("_service")


def account_of(role: str) -> str:
    """The subject of the service account holding a service role: ``attendance_service`` is the role of
    ``serviceAccounts/attendance`` (identity bootstraps it so); ``service`` that of an older account."""
    service = role.removesuffix("_service")
    return (
        service_account(service)
        if role.endswith("_service") and service in SERVICES
        else f"serviceAccounts/{role}"
    )


def principal_for(role: str, grants: Mapping[str, str] | None = None) -> Principal:
    """The caller holding ``role`` alone: an employee of TEAM_UNIT (anchored per ANCHORS), or a service."""
    perms = parse_permissions(grants if grants is not None else shipped_roles()[role])
    if is_service_role(role):
        return Principal(account_of(role), kind="service", permissions=perms, roles=(role,))
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


@cache
def shipped_pack(service: str) -> tuple[PackSpec, str, Path]:
    """The service's shipped pack (the first of ``rules/<service>/*.yaml``) the rule RPCs are probed with:
    (what rule authority sees of it, its version, its file)."""
    path = sorted((RULES_DIR / service).glob("*.yaml"))[0]
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    grants = (doc.get("parameters") or {}).get("role_grants")
    table = None
    if grants is not None:
        table = {str(r): {str(p): str(v) for p, v in (g or {}).items()} for r, g in grants["default"].items()}
    spec = PackSpec(service, str(doc["id"]), str(doc.get("owner", "")), table)
    return spec, str(doc["version"]), path


def pack_check(service: str, check: RpcCheck) -> RpcCheck:
    """A RULE_RPCS entry for one service: a pack verb becomes the permission naming its shipped pack."""
    if check.about is not About.PACK:
        return check
    spec = shipped_pack(service)[0]
    return dataclasses.replace(check, permission=spec.permission(check.permission), pack=spec)


def event_source(consumer: str) -> tuple[str, str]:
    """(source, type) of the event the events column delivers to ``consumer``: an event another service
    declares and ``consumer`` subscribes to (a non-identity source when there is one)."""
    sources = sources_of(consumer)
    source = next((s for s in sources if s != "identity"), sources[0])
    return source, sorted(EMITS[source])[0]


def rpcs() -> Iterator[Rpc]:
    """Every RPC of every service, in service order."""
    for name, info in SERVICES.items():
        own: dict[str, RpcCheck] = importlib.import_module(f"services.{name}.permissions").RPCS
        for method, check in own.items():
            yield Rpc(name, info.grpc_service, method, check)
        for method, check in RULE_RPCS.items():
            yield Rpc(name, RULES_SERVICE, method, pack_check(name, check))
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
        source = event_source(rpc.service)[0]
        who = principal_for(role)
        if who.kind != "service" or who.subject != service_account(source):
            return False
    owner = PEOPLE.get(target) if rpc.check.about in (About.EMPLOYEE, About.UNIT, About.SUBJECT) else None
    return expected(principal_for(role), rpc.check, owner, reports=MANAGERS.get(target) == CALLER)


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
        "role is assigned at branch `/hq/b1`); service roles are service accounts (`<service>_service` is",
        "the role of `serviceAccounts/<service>`). A cell about data shows",
        "four marks, for the call about: **own data** (the caller), **own team** (a colleague in",
        "`/hq/b1/t1`), **other team** (`/hq/b1/t2`, same branch), **other unit** (`/hq/b2/t1`). One mark:",
        "the RPC is about nobody in particular (lists are filtered by the grant's scope). `DeliverEvents`",
        "shows the column **another service's events**: delivering an event declared by another service",
        "(the first non-identity source the service subscribes to) into the service's inbox; event",
        "provenance admits it only from that source's own service account. Changing a rule pack (`pack`)",
        "is about the service's shipped pack: a grant must name the service and the pack or its owner group",
        '(docs/rule-packs.md, "Rule authority"); the role table only for platform admins.',
        "`Y` allowed, `.` denied (PERMISSION_DENIED naming the permission). Who",
        "the employee is (org unit) comes from the directory; separation of duties (`own: deny`) holds",
        "whatever the scope. `own: free`: one's own needs no grant. The colleague and the other team's",
        "employee report to the caller (the directory's manager chain); the other unit's does not.",
        "`line: require`: a team/subtree grant reaches only the caller's reports (chain of command);",
        "`line: forbid`: nobody acts on someone who reports to them (independence).",
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
                what += f" ({c.about.value}" + (f"; owner {c.pack.owner}" if c.pack and c.pack.owner else "")
                what += f"; own: {c.own})" if c.own else ")"
            if c.sources_only:
                what += "; source systems only"
            if c.line:
                what += f"; line: {c.line}"
            service = rpc.grpc_service.rsplit(".", 1)[1]
            marks = ["".join("Y" if cell(role, rpc, t) else "." for t in targets(rpc)) for role in roles]
            out.append(f"| {service}.{rpc.method} | {what} | " + " | ".join(f"`{m}`" for m in marks) + " |")
    return "\n".join(out) + "\n"
