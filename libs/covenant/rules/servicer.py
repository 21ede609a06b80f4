"""gRPC adapter for ``covenant.rules.v1.RulePackService``. Who may change which pack is decided in the
lifecycle (``covenant.rules.authority``); what tooling may show is ``covenant.rules.scoping``."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC
from typing import Any

from google.protobuf.struct_pb2 import Struct

from covenant.auth import Principal, Scope, authorize, scope_filter
from covenant.errors import InvalidArgument
from covenant.events.v1.event_pb2 import Event
from covenant.grpc.context import current_principal
from covenant.paging import page
from covenant.rules import store
from covenant.rules.authority import READ
from covenant.rules.engine import FiredAction
from covenant.rules.lifecycle import DryRunRow, RulePackManager
from covenant.rules.pack import PackError, load_pack_yaml
from covenant.rules.scoping import mask_text, mask_value, visible
from covenant.rules.v1 import rule_pack_service_pb2 as pb
from covenant.rules.v1 import rule_pack_service_pb2_grpc
from covenant.structs import struct_dict
from covenant.timestamps import ts as _ts


def parse_name(name: str) -> tuple[str, str]:
    parts = name.split("/")
    if len(parts) != 4 or parts[0] != "packs" or parts[2] != "versions" or not parts[1] or not parts[3]:
        raise InvalidArgument("must look like packs/{pack_id}/versions/{version}", field="name")
    return parts[1], parts[3]


_HEADERS: dict[str, tuple[str, str]] = {}


def _header(content_hash: str, source: str) -> tuple[str, str]:
    """(owner, description) of a stored version; versions are immutable, so cached by content hash."""
    cached = _HEADERS.get(content_hash)
    if cached is not None:
        return cached
    try:
        doc = load_pack_yaml(source)
    except InvalidArgument:
        doc = None
    header = (
        (str(doc.get("owner", "")), str(doc.get("description", ""))) if isinstance(doc, dict) else ("", "")
    )
    if len(_HEADERS) >= 4096:
        _HEADERS.clear()
    _HEADERS[content_hash] = header
    return header


def approvals_pb(approvals: Iterable[store.Approval]) -> list[pb.Approval]:
    return [
        pb.Approval(approver=a.approver, approve_time=_ts(a.approved_at), comment=a.comment)
        for a in approvals
    ]


def rejection_pb(r: store.Rejection) -> pb.Rejection:
    return pb.Rejection(rejected_by=r.rejected_by, reject_time=_ts(r.rejected_at), reason=r.reason)


def version_pb(
    v: store.StoredVersion,
    active: bool,
    with_source: bool = False,
    approvals_required: int = 0,
    rejection: store.Rejection | None = None,
) -> pb.RulePackVersion:
    t = _ts(v.created_at)
    owner, description = _header(v.content_hash, v.source)
    return pb.RulePackVersion(
        name=f"packs/{v.pack_id}/versions/{v.version}",
        pack_id=v.pack_id,
        version=v.version,
        content_hash=v.content_hash,
        author=v.author,
        create_time=t,
        active=active,
        source_yaml=v.source if with_source else "",
        owner=owner,
        description=description,
        approvals_required=approvals_required,
        rejection=rejection_pb(rejection) if rejection else None,
    )


def fired_pb(actions: Iterable[FiredAction]) -> list[pb.FiredActionView]:
    """Fired actions as shown by tooling: parameters with personal data masked."""
    out = []
    for a in actions:
        params = Struct()
        params.update(mask_value(dict(a.params)))
        out.append(
            pb.FiredActionView(
                action=a.action,
                params=params,
                rule_id=a.rule_id,
                pack_version=a.pack_version,
                pack_id=a.pack_id,
            )
        )
    return out


def event_input(event: Event) -> dict[str, Any]:
    """An Event envelope as the flat mapping services evaluate: the data fields plus the envelope's
    id, type, subject, org_unit, source and occurred_at (envelope fields win over data fields)."""
    out: dict[str, Any] = struct_dict(event.data)
    out.update({"id": event.id, "type": event.type})
    for name in ("subject", "org_unit", "source"):
        if getattr(event, name):
            out[name] = getattr(event, name)
    if event.HasField("occurred_at"):
        out["occurred_at"] = event.occurred_at.ToJsonString()
    return out


class RulePackServicer(rule_pack_service_pb2_grpc.RulePackServiceServicer):
    def __init__(self, manager: RulePackManager) -> None:
        self.manager = manager

    def ValidateRulePack(
        self, request: pb.ValidateRulePackRequest, context: Any
    ) -> pb.ValidateRulePackResponse:
        authorize(current_principal(), READ)
        if not request.source_yaml.strip():
            raise InvalidArgument("is empty", field="source_yaml")
        try:
            pack, _ = self.manager.validate(request.source_yaml)
        except PackError as exc:
            return pb.ValidateRulePackResponse(valid=False, problems=exc.problems)
        return pb.ValidateRulePackResponse(
            valid=True,
            pack_id=pack.id,
            version=pack.version,
            content_hash=pack.content_hash,
            tests_passed=len(pack.tests),
        )

    def TestRulePack(self, request: pb.TestRulePackRequest, context: Any) -> pb.TestRulePackResponse:
        authorize(current_principal(), READ)
        if not request.source_yaml.strip():
            raise InvalidArgument("is empty", field="source_yaml")
        try:
            results = self.manager.test(request.source_yaml)
        except PackError as exc:
            return pb.TestRulePackResponse(passed=False, problems=exc.problems)
        return pb.TestRulePackResponse(
            passed=all(r.passed for r in results),
            results=[
                pb.TestCaseResult(
                    name=r.name, line=r.line, passed=r.passed, message=r.message, actions=fired_pb(r.fired)
                )
                for r in results
            ],
        )

    def PublishRulePack(self, request: pb.PublishRulePackRequest, context: Any) -> pb.RulePackVersion:
        principal = current_principal()
        if not request.source_yaml.strip():
            raise InvalidArgument("is empty", field="source_yaml")
        stored, _created = self.manager.publish(
            request.source_yaml,
            principal.subject,
            request_id=request.request_id,
            principal=principal,
            activate=request.activate,
        )
        if request.activate:
            self.manager.activate(
                stored.pack_id,
                stored.version,
                principal.subject,
                request_id=request.request_id,
                principal=principal,
            )
        return self._version(stored)

    def ActivateRulePackVersion(
        self, request: pb.ActivateRulePackVersionRequest, context: Any
    ) -> pb.RulePackVersion:
        principal = current_principal()
        pack_id, version = parse_name(request.name)
        effective_at = None
        if request.HasField("effective_time"):
            try:
                effective_at = request.effective_time.ToDatetime(tzinfo=UTC)
            except (ValueError, OverflowError):
                raise InvalidArgument("is not a valid time", field="effective_time") from None
        stored = self.manager.activate(
            pack_id,
            version,
            principal.subject,
            request_id=request.request_id,
            principal=principal,
            effective_at=effective_at,
        )
        return self._version(stored)

    def RollbackRulePack(self, request: pb.RollbackRulePackRequest, context: Any) -> pb.RulePackVersion:
        principal = current_principal()
        if not request.pack_id:
            raise InvalidArgument("is required", field="pack_id")
        if not request.to_version and not request.emergency:
            raise InvalidArgument("is required", field="to_version")
        stored = self.manager.rollback(
            request.pack_id,
            request.to_version,
            principal.subject,
            request_id=request.request_id,
            principal=principal,
            emergency_reason=request.reason if request.emergency else None,
        )
        return self._version(stored)

    def _version(self, stored: store.StoredVersion, with_source: bool = False) -> pb.RulePackVersion:
        """A version with whether it is active, the approvals its pack needs and its open approvals."""
        _, active = self.manager.history(stored.pack_id)
        out = version_pb(stored, active=active == stored.version, with_source=with_source)
        out.approvals_required = self.manager.required_approvals(stored)
        out.approvals.extend(approvals_pb(self.manager.approvals(stored.pack_id, stored.version)))
        rejection = self.manager.rejection(stored.pack_id, stored.version)
        if rejection is not None:
            out.rejection.CopyFrom(rejection_pb(rejection))
        return out

    def GetApprovalRequest(self, request: pb.GetApprovalRequestRequest, context: Any) -> pb.ApprovalRequest:
        principal = current_principal()
        authorize(principal, READ)
        pack_id, version = parse_name(request.name)
        return self._approval_request(principal, self.manager.get(pack_id, version))

    def ApproveRulePackVersion(
        self, request: pb.ApproveRulePackVersionRequest, context: Any
    ) -> pb.ApprovalRequest:
        return self._review(request, "approve", comment=request.comment)

    def RejectRulePackVersion(
        self, request: pb.RejectRulePackVersionRequest, context: Any
    ) -> pb.ApprovalRequest:
        return self._review(request, "reject", reason=request.reason)

    def _review(self, request: Any, verdict: str, **why: str) -> pb.ApprovalRequest:
        """A second person's approval or rejection of a version; the approval request as it now stands
        (with the dry run for an approver who may read it; a rejected version has nothing left to run)."""
        principal = current_principal()
        pack_id, version = parse_name(request.name)
        decide = self.manager.approve if verdict == "approve" else self.manager.reject
        stored, _ = decide(pack_id, version, principal, request_id=request.request_id, **why)
        dry_run = verdict == "approve" and can_read(principal)
        return self._approval_request(principal, stored, with_dry_run=dry_run)

    def _approval_request(
        self, principal: Principal, stored: store.StoredVersion, *, with_dry_run: bool = True
    ) -> pb.ApprovalRequest:
        _, active = self.manager.history(stored.pack_id)
        version = self._version(stored)
        out = pb.ApprovalRequest(
            version=version,
            active_version=active,
            approvals_required=version.approvals_required,
            approvals=version.approvals,
            ready=len(version.approvals) >= version.approvals_required and not version.HasField("rejection"),
        )
        if active and active != stored.version:
            text, added, removed, changed = self.manager.diff(stored.pack_id, active, stored.version)
            out.diff.CopyFrom(
                pb.DiffRulePackVersionsResponse(
                    unified_diff=mask_text(text),
                    added_rules=added,
                    removed_rules=removed,
                    changed_rules=changed,
                )
            )
        if with_dry_run:
            pack, compiled = self.manager.candidate(stored.source)
            out.dry_run.CopyFrom(dry_run_pb(self.manager.dry_run(pack, compiled, self._recent(principal))))
        return out

    def _recent(self, principal: Principal) -> list[tuple[dict[str, Any], dict[str, Any]]]:
        """The service's recently evaluated events the caller's rules.packs.read scope covers."""
        scope = scope_filter(principal, READ)
        return [(e, f) for e, f in self.manager.runtime.recent() if visible(scope, e, f)]

    def GetRulePackVersion(self, request: pb.GetRulePackVersionRequest, context: Any) -> pb.RulePackVersion:
        principal = current_principal()
        scope = authorize(principal, READ)
        pack_id, version = parse_name(request.name)
        out = self._version(self.manager.get(pack_id, version), with_source=True)
        if scope is not Scope.ALL and not self.manager.may_change(principal, pack_id):
            out.source_yaml = mask_text(out.source_yaml)  # personal data in a pack only for its owners
        return out

    def ListRulePackVersions(
        self, request: pb.ListRulePackVersionsRequest, context: Any
    ) -> pb.ListRulePackVersionsResponse:
        authorize(current_principal(), READ)
        if not request.pack_id:
            raise InvalidArgument("is required", field="pack_id")
        versions, active = self.manager.history(request.pack_id)
        numbered = list(enumerate(versions, start=1))  # offset paging: a version's cursor is its position
        rows, token = page(
            request.page_size,
            request.page_token,
            ("rule-pack-versions", request.pack_id),
            lambda offset, limit: numbered[offset : offset + limit],
            key=lambda row: row[0],
            kind=int,
            first=0,
        )
        required = self.manager.required_approvals(versions[0]) if versions else 0
        rejected = self.manager.rejections(request.pack_id)
        return pb.ListRulePackVersionsResponse(
            versions=[
                version_pb(
                    v, v.version == active, approvals_required=required, rejection=rejected.get(v.version)
                )
                for _, v in rows
            ],
            next_page_token=token,
        )

    def ListActiveRulePacks(
        self, request: pb.ListActiveRulePacksRequest, context: Any
    ) -> pb.ListActiveRulePacksResponse:
        authorize(current_principal(), READ)
        return pb.ListActiveRulePacksResponse(
            packs=[version_pb(v, True) for v in self.manager.active_versions()],
            serving_versions=self.manager.runtime.active_versions(),
            scheduled=[
                pb.ScheduledActivation(
                    pack_id=item.pack_id, version=item.version, effective_time=_ts(item.effective_at)
                )
                for item in self.manager.scheduled()
            ],
        )

    def DiffRulePackVersions(
        self, request: pb.DiffRulePackVersionsRequest, context: Any
    ) -> pb.DiffRulePackVersionsResponse:
        authorize(current_principal(), READ)
        for field in ("pack_id", "from_version", "to_version"):
            if not getattr(request, field):
                raise InvalidArgument("is required", field=field)
        text, added, removed, changed = self.manager.diff(
            request.pack_id, request.from_version, request.to_version
        )
        return pb.DiffRulePackVersionsResponse(
            unified_diff=mask_text(text), added_rules=added, removed_rules=removed, changed_rules=changed
        )

    def DryRunRulePack(self, request: pb.DryRunRulePackRequest, context: Any) -> pb.DryRunRulePackResponse:
        principal = current_principal()
        authorize(principal, READ)
        if request.candidate_yaml:
            pack, compiled = self.manager.candidate(request.candidate_yaml)
        elif request.candidate_version:
            pack_id, version = parse_name(request.candidate_version)
            pack, compiled = self.manager.candidate(self.manager.get(pack_id, version).source)
        else:
            raise InvalidArgument("give candidate_yaml or candidate_version", field="candidate_yaml")
        if request.inputs:
            inputs = [(event_input(item.event), struct_dict(item.facts)) for item in request.inputs]
        else:
            inputs = self._recent(principal)
        return dry_run_pb(self.manager.dry_run(pack, compiled, inputs))


def can_read(principal: Principal) -> bool:
    return principal.scope_for(READ) is not None


def dry_run_pb(rows: list[DryRunRow]) -> pb.DryRunRulePackResponse:
    """Dry-run rows as the API shows them (personal data masked)."""
    return pb.DryRunRulePackResponse(
        results=[
            pb.DryRunResult(
                event_type=str(r.event.get("type", "")),
                event_id=mask_text(str(r.event.get("id", ""))),
                active_actions=fired_pb(r.active),
                candidate_actions=fired_pb(r.candidate),
                changed=r.changed,
                error=mask_text(r.error),
            )
            for r in rows
        ],
        events=len(rows),
        changed=sum(r.changed for r in rows),
    )
