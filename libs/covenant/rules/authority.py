"""Who may change which rule pack: scoped rule authority, the role-table guard and approval counts.

Pure Python (no gRPC, no database). Changing a pack needs a grant naming the service and the pack, or the
pack's owner group (docs/rule-packs.md, "Rule authority")::

    rules.<service>/<pack-id glob>.<verb>     rules.compliance/*.publish, rules.scoring/scoring-*.approve
    rules.<service>/@<owner group>.<verb>     rules.*/@compliance-office.activate

with verb ``publish``, ``activate`` or ``approve`` (``*`` for all three). ``rules.*.<verb>`` and ``*``
reach every pack. ``rules.packs.read`` (validate, test, history, diff, dry run) is not pack-scoped; its
data scope limits which events a dry run replays.

A pack that defines the ``role_grants`` parameter is a role table (the identity service builds its
permissions from it): only platform admins change it, and every grant it hands out must be held by the
person publishing, approving or activating it (no escalation through packs).
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from covenant.auth import Principal, Scope
from covenant.errors import InvalidArgument, PermissionDenied

READ = "rules.packs.read"
ROLE_TABLE_PARAMETER = "role_grants"
PLATFORM_ADMIN = "platform_admin"


@dataclass(frozen=True)
class PackRef:
    """The pack a change is about: its service, id and owner group(s) (stored and proposed)."""

    service: str
    pack_id: str
    owners: tuple[str, ...] = ()
    role_table: Mapping[str, Mapping[str, str]] | None = None

    def permission(self, verb: str) -> str:
        """The narrowest permission that allows ``verb`` on this pack (named in denials)."""
        return f"rules.{self.service}/{self.pack_id}.{verb}"


def _resource_matches(resource: str, ref: PackRef) -> bool:
    if resource == "*":
        return True
    service, sep, selector = resource.partition("/")
    if not sep or not selector or not fnmatch.fnmatchcase(ref.service, service):
        return False
    if selector.startswith("@"):
        return bool(ref.owners) and all(owner == selector[1:] for owner in ref.owners)
    return fnmatch.fnmatchcase(ref.pack_id, selector)


def holds(principal: Principal, verb: str, ref: PackRef) -> bool:
    """Whether any of the principal's grants allows ``verb`` on the pack."""
    for name in principal.permissions:
        if name == "*":
            return True
        parts = name.split(".", 1)
        if len(parts) != 2 or parts[0] not in ("rules", "*"):
            continue
        resource, _, grant_verb = parts[1].rpartition(".")
        if grant_verb in (verb, "*") and resource and _resource_matches(resource, ref):
            return True
    return False


def authorize_pack(principal: Principal, verb: str, ref: PackRef) -> None:
    """Raise PermissionDenied naming the permission unless ``principal`` may ``verb`` the pack; for a role
    table, also unless they are a platform admin holding every grant the table hands out."""
    if not holds(principal, verb, ref):
        raise PermissionDenied(ref.permission(verb))
    if ref.role_table is not None:
        if PLATFORM_ADMIN not in principal.roles:
            raise PermissionDenied(
                ref.permission(verb), "the role table changes only by platform admins (role platform_admin)"
            )
        missing = escalations(principal, ref.role_table)
        if missing:
            perm, scope, role = missing[0]
            raise PermissionDenied(
                perm,
                f"the pack grants {len(missing)} permission(s) you do not hold (first: {perm} with scope "
                f"{scope} to role {role}); a pack can never grant what its publisher lacks",
            )


def escalations(principal: Principal, table: Mapping[str, Mapping[str, str]]) -> list[tuple[str, str, str]]:
    """Grants of a role table that ``principal`` does not hold at the same or a wider scope, as
    ``(permission, scope, role)``, sorted."""
    out = []
    for role, grants in table.items():
        for perm, scope in (grants or {}).items():
            try:
                wanted = Scope.parse(str(scope))
            except ValueError:
                wanted = Scope.ALL
            held = principal.scope_for(str(perm))
            if held is None or held < wanted:
                out.append((str(perm), str(wanted), str(role)))
    return sorted(out)


def role_table_of(parameters: Mapping[str, object]) -> Mapping[str, Mapping[str, str]] | None:
    """The role table a pack's parameters hand out, or None when the pack is not a role table."""
    param = parameters.get(ROLE_TABLE_PARAMETER)
    if param is None:
        return None
    table = getattr(param, "default", param)
    values = [table]
    for override in getattr(param, "overrides", None) or ():
        values.append(getattr(override, "value", override))
    merged: dict[str, dict[str, str]] = {}
    for value in values:
        if isinstance(value, Mapping):
            for role, grants in value.items():
                if isinstance(grants, Mapping):
                    merged.setdefault(str(role), {}).update({str(k): str(v) for k, v in grants.items()})
                else:
                    merged.setdefault(str(role), {})["<invalid>"] = "all"
    return merged


# -- how many approvals a pack needs ---------------------------------------------------------------
MINIMUM_APPROVALS = 1  # the role table and scorecards (every scoring pack) never go below this


@dataclass(frozen=True)
class ApprovalPolicy:
    """Approvals needed before a version may be activated, per pack: ``[(selector, count)]`` where the
    selector is a pack-id glob or ``<service>/<pack-id glob>``; the last match wins. Role tables and
    scoring packs need at least ``MINIMUM_APPROVALS`` whatever the configuration says."""

    rules: tuple[tuple[str, int], ...] = ()

    @classmethod
    def parse(cls, text: str | None) -> ApprovalPolicy:
        """``"scoring/*=2,compliance-*=1"`` (the ``COVENANT_RULES_APPROVALS`` setting)."""
        rules = []
        for item in (text or "").split(","):
            item = item.strip()
            if not item:
                continue
            selector, sep, count = item.partition("=")
            if not sep or not selector.strip() or not count.strip().isdigit() or int(count) > 10:
                raise InvalidArgument(
                    f"{item!r} is not <pack glob>=<0..10>", field="COVENANT_RULES_APPROVALS"
                )
            rules.append((selector.strip(), int(count)))
        return cls(tuple(rules))

    def required(self, ref: PackRef) -> int:
        n = 0
        for selector, count in self.rules:
            service, sep, pack = selector.rpartition("/")
            if fnmatch.fnmatchcase(ref.pack_id, pack) and (
                not sep or fnmatch.fnmatchcase(ref.service, service)
            ):
                n = count
        if ref.role_table is not None or ref.service == "scoring":
            n = max(n, MINIMUM_APPROVALS)
        return n


def distinct_approvers(approvers: Iterable[str], author: str) -> list[str]:
    """Approvers that count: each person once, never the version's author."""
    seen: list[str] = []
    for a in approvers:
        if a != author and a not in seen:
            seen.append(a)
    return seen
