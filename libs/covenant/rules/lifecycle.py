"""The rule-pack lifecycle of one service: validate → publish → approve → activate (now or at an instant)
→ roll back, plus history, diff and dry run. A pack that fails any step never becomes active; the last good
version keeps serving. Who may change which pack, and how many approvals it needs, is
``covenant.rules.authority``; people are checked here when a principal is given (the shipped default
packs are loaded by the system without one)."""

from __future__ import annotations

import contextlib
import difflib
import hashlib
import logging
import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from covenant.auth import Principal
from covenant.db.audit import AuditLog
from covenant.db.engine import Database
from covenant.errors import (
    Aborted,
    AlreadyExists,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    PermissionDenied,
)
from covenant.rules import store
from covenant.rules.authority import (
    ApprovalPolicy,
    PackRef,
    authorize_pack,
    distinct_approvers,
    role_table_of,
)
from covenant.rules.engine import (
    CompiledPack,
    FiredAction,
    PackTestResult,
    RuleEvaluationError,
    compile_and_test,
    run_pack_test_cases,
)
from covenant.rules.pack import Pack, PackError, parse_pack
from covenant.rules.runtime import RuleRuntime, evaluate_packs, resolve_parameter
from covenant.rules.vocabulary import ActionVocabulary
from covenant.telemetry.metrics import RULE_COMPILE_FAILURES

log = logging.getLogger(__name__)
AUDIT_STREAM = "rules"
COMPILED_CACHE = 4  # compiled versions kept besides the active ones (a 200-rule pack: ~10 MB)
DEFAULT_PACKS_AUTHOR = "system:default-packs"


@dataclass(frozen=True)
class DryRunRow:
    event: dict[str, Any]
    active: list[FiredAction]
    candidate: list[FiredAction]
    error: str = ""

    @property
    def changed(self) -> bool:
        key = lambda fs: sorted((f.rule_id, f.action, repr(sorted(f.params.items()))) for f in fs)  # noqa: E731
        return bool(self.error) or key(self.active) != key(self.candidate)


class RulePackManager:
    """Lifecycle operations over the service's database and its runtime."""

    def __init__(
        self,
        db: Database,
        service: str,
        vocabulary: ActionVocabulary,
        runtime: RuleRuntime,
        policy: ApprovalPolicy | None = None,
    ) -> None:
        self.db = db
        self.service = service
        self.vocabulary = vocabulary
        self.runtime = runtime
        self.policy = policy or ApprovalPolicy()
        self.audit = AuditLog(AUDIT_STREAM)
        self._compiled: OrderedDict[str, CompiledPack] = OrderedDict()  # by sha256 of the source text
        self._cache_lock = threading.Lock()
        self._loaded: tuple[Any, ...] | None = None
        self._lock = threading.Lock()

    # -- validation --------------------------------------------------------------------------
    def validate(self, source: str, *, check_service: bool = True) -> tuple[Pack, CompiledPack]:
        """Parse, check against the vocabulary, compile and run the pack's own tests."""
        pack = self._parse(source, check_service=check_service)
        return pack, compile_and_test(pack, self.vocabulary)

    def _parse(self, source: str, *, check_service: bool = True) -> Pack:
        if not source.strip():
            raise InvalidArgument("is empty", field="source_yaml")
        pack = parse_pack(source, self.vocabulary)
        if check_service and pack.service != self.service:
            raise PackError([f"pack: service is {pack.service!r}, this is the {self.service!r} service"])
        return pack

    def candidate(self, source: str) -> tuple[Pack, CompiledPack]:
        """A pack for a dry run: valid and compiled, its own tests not required to pass (it is a draft)."""
        if not source.strip():
            raise InvalidArgument("is empty", field="candidate_yaml")
        pack = parse_pack(source, self.vocabulary)
        if pack.service != self.service:
            raise PackError([f"pack: service is {pack.service!r}, this is the {self.service!r} service"])
        return pack, CompiledPack(pack, self.vocabulary)

    def test(self, source: str) -> list[PackTestResult]:
        """Run the pack's own test cases, each reported (PackError when the pack itself is invalid)."""
        if not source.strip():
            raise InvalidArgument("is empty", field="source_yaml")
        pack = parse_pack(source, self.vocabulary)
        if pack.service != self.service:
            raise PackError([f"pack: service is {pack.service!r}, this is the {self.service!r} service"])
        return run_pack_test_cases(CompiledPack(pack, self.vocabulary))

    def _compile(self, source: str) -> CompiledPack:
        """The compiled, tested pack for a published source (a small LRU cache keyed by the text)."""
        key = hashlib.sha256(source.encode()).hexdigest()
        with self._cache_lock:
            cached = self._compiled.get(key)
            if cached is not None:
                self._compiled.move_to_end(key)
                return cached
        _pack, compiled = self.validate(source, check_service=False)
        self._remember(source, compiled)
        return compiled

    def _remember(self, source: str, compiled: CompiledPack) -> None:
        with self._cache_lock:
            self._compiled[hashlib.sha256(source.encode()).hexdigest()] = compiled
            while len(self._compiled) > COMPILED_CACHE:  # evicted rulesets are freed once unused
                self._compiled.popitem(last=False)

    # -- authority ---------------------------------------------------------------------------
    def ref(self, pack: Pack, stored_owner: str = "") -> PackRef:
        """The pack as rule authority sees it: service, id, its owner group(s) (the proposed one and the
        one already stored, both must be covered) and, for a role table, what it grants."""
        owners = tuple(sorted({pack.owner, stored_owner} - {""}))
        return PackRef(pack.service, pack.id, owners, role_table_of(pack.parameters))

    def _stored_owner(self, session: Any, pack_id: str) -> str:
        """The owner group of the pack's first published version (a later version cannot move it)."""
        versions = store.list_versions(session, pack_id)
        return parse_pack(versions[-1].source).owner if versions else ""

    def ref_of(self, stored: store.StoredVersion) -> PackRef:
        with self.db.session() as s:
            owner = self._stored_owner(s, stored.pack_id)
        return self.ref(parse_pack(stored.source), owner)

    def may_change(self, principal: Principal, pack_id: str) -> bool:
        """Whether ``principal`` may publish the pack (its latest version decides what it is)."""
        with self.db.session() as s:
            versions = store.list_versions(s, pack_id)
        if not versions:
            return False
        try:
            authorize_pack(principal, "publish", self.ref_of(versions[0]))
        except PermissionDenied:
            return False
        return True

    def required_approvals(self, stored: store.StoredVersion) -> int:
        return self.policy.required(self.ref_of(stored))

    # -- publish / approve / activate / roll back --------------------------------------------
    def publish(
        self,
        source: str,
        author: str,
        *,
        request_id: str = "",
        principal: Principal | None = None,
        activate: bool = False,
    ) -> tuple[store.StoredVersion, bool]:
        """Validate and store an immutable version; returns (version, created). Publishing the same content
        again returns the stored version; different content under an existing version is ALREADY_EXISTS.
        With a principal, their authority over the pack is checked first (and, with ``activate``, that
        activation needs no approval, so nothing is stored when the activation would be refused)."""
        pack = self._parse(source)  # authority is checked before the pack is compiled and tested
        needed = 0
        if principal is not None:
            with self.db.session() as s:
                ref = self.ref(pack, self._stored_owner(s, pack.id))
            authorize_pack(principal, "publish", ref)
            if activate:
                authorize_pack(principal, "activate", ref)
                needed = self.policy.required(ref)
        compiled = compile_and_test(pack, self.vocabulary)
        if needed:
            raise FailedPrecondition(
                f"pack {pack.id} needs {needed} approval(s) before activation; publish without "
                "activate, then have another person approve it (covenant rules approve)"
            )
        with self.db.session() as s:
            existing = store.get_version(s, pack.id, pack.version)
            if existing is not None:
                if existing.content_hash == pack.content_hash:
                    return existing, False
                raise AlreadyExists(
                    f"packs/{pack.id}/versions/{pack.version} already exists with different content; "
                    "publish a new version"
                )
            stored = store.StoredVersion(
                pack.id, pack.version, pack.content_hash, source, author, datetime.now(UTC)
            )
            store.insert_version(s, stored)
            self.audit.append(
                s,
                actor=author,
                action="rule_pack.published",
                subject=f"packs/{pack.id}/versions/{pack.version}",
                data={
                    "content_hash": pack.content_hash,
                    "rules": [r.id for r in pack.rules],
                    "request_id": request_id,
                },
            )
        self._remember(source, compiled)
        return stored, True

    def _checked_by(self, pack_id: str, version: str, principal: Principal, what: str) -> store.StoredVersion:
        """The version ``principal`` may decide on as a checker (``what``: approval or rejection): one who
        may approve the pack, never its author."""
        stored = self.get(pack_id, version)
        authorize_pack(principal, "approve", self.ref_of(stored))
        if principal.subject == stored.author:
            raise PermissionDenied(
                f"rules.{self.service}/{pack_id}.approve",
                f"you published packs/{pack_id}/versions/{version}; {what} needs a different person",
            )
        return stored

    def approve(
        self, pack_id: str, version: str, principal: Principal, *, comment: str = "", request_id: str = ""
    ) -> tuple[store.StoredVersion, list[store.Approval]]:
        """Record ``principal``'s approval of a version (never its author's); approving twice is a no-op."""
        stored = self._checked_by(pack_id, version, principal, "approval")
        with self.db.session() as s:
            self._refuse_rejected(s, pack_id, version, "approved")
            if store.add_approval(s, pack_id, version, principal.subject, comment):
                self.audit.append(
                    s,
                    actor=principal.subject,
                    action="rule_pack.approved",
                    subject=f"packs/{pack_id}/versions/{version}",
                    data={"comment": comment, "author": stored.author, "request_id": request_id},
                )
            return stored, store.open_approvals(s, pack_id, version)

    def reject(
        self, pack_id: str, version: str, principal: Principal, *, reason: str, request_id: str = ""
    ) -> tuple[store.StoredVersion, store.Rejection]:
        """Record ``principal``'s rejection of a submitted version, with a reason: someone who may approve
        the pack, never its author. A rejected version is never approved or activated; rejecting it again
        returns the first rejection. The active or a scheduled version cannot be rejected (roll back or
        replace the schedule instead)."""
        stored = self._checked_by(pack_id, version, principal, "rejection")
        if not reason.strip():
            raise InvalidArgument("a rejection needs a reason", field="reason")
        with self.db.session() as s:
            existing = store.get_rejection(s, pack_id, version)
            if existing is not None:
                return stored, existing
            if store.active_state(s).get(pack_id, ("", 0))[0] == version:
                raise FailedPrecondition(
                    f"packs/{pack_id}/versions/{version} is active; roll back instead of rejecting it"
                )
            if any(p.pack_id == pack_id and p.version == version for p in store.get_schedule(s, pack_id)):
                raise FailedPrecondition(
                    f"packs/{pack_id}/versions/{version} is scheduled; activate another version to replace "
                    "the schedule first"
                )
            rejection = store.add_rejection(s, pack_id, version, principal.subject, reason.strip())
            self.audit.append(
                s,
                actor=principal.subject,
                action="rule_pack.rejected",
                subject=f"packs/{pack_id}/versions/{version}",
                data={"reason": rejection.reason, "author": stored.author, "request_id": request_id},
            )
        return stored, rejection

    def rejection(self, pack_id: str, version: str) -> store.Rejection | None:
        with self.db.session() as s:
            return store.get_rejection(s, pack_id, version)

    def rejections(self, pack_id: str) -> dict[str, store.Rejection]:
        with self.db.session() as s:
            return store.rejected_versions(s, pack_id)

    def _refuse_rejected(self, s: Any, pack_id: str, version: str, verb: str) -> None:
        r = store.get_rejection(s, pack_id, version)
        if r is not None:
            raise FailedPrecondition(
                f"packs/{pack_id}/versions/{version} was rejected by {r.rejected_by} ({r.reason}); it cannot "
                f"be {verb}: publish a new version"
            )

    def approvals(self, pack_id: str, version: str) -> list[store.Approval]:
        """Open approvals of a version that count (never its author's)."""
        stored = self.get(pack_id, version)
        with self.db.session() as s:
            return [a for a in store.open_approvals(s, pack_id, version) if a.approver != stored.author]

    def activate(
        self,
        pack_id: str,
        version: str,
        actor: str,
        *,
        action: str = "rule_pack.activated",
        request_id: str = "",
        principal: Principal | None = None,
        effective_at: datetime | None = None,
        emergency_reason: str | None = None,
    ) -> store.StoredVersion:
        """Make a published version the active one (every replica's watcher swaps to it), now or at
        ``effective_at``. With a principal: their authority is checked and the version needs the pack's
        approvals by people other than its author (they are used up by this activation), unless this is an
        emergency rollback (``emergency_reason``; the caller checked the target). Activating the version
        that is already active changes nothing."""
        stored = self.get(pack_id, version)
        # Compiled and tested when published; this guards against a vocabulary changed since.
        compiled = self._compile(stored.source)
        starts = compiled.pack.effective_from
        if effective_at is None and starts is not None:  # the pack's own start date schedules it
            effective_at = datetime.combine(starts, datetime.min.time(), UTC)
        needed, approvers = 0, []
        if principal is not None:
            authorize_pack(principal, "activate", self.ref_of(stored))
            needed = self.required_approvals(stored) if emergency_reason is None else 0
        now = datetime.now(UTC)
        later = effective_at is not None and effective_at > now
        with self.db.session() as s:
            previous = store.active_state(s).get(pack_id, ("", 0))[0]
            pending = store.get_schedule(s, pack_id)
            if previous == version and not later and not pending:
                return stored
            self._refuse_rejected(s, pack_id, version, "activated")
            if needed:
                approvers = distinct_approvers(
                    [a.approver for a in store.open_approvals(s, pack_id, version)], stored.author
                )
                if len(approvers) < needed:
                    raise FailedPrecondition(
                        f"packs/{pack_id}/versions/{version} needs {needed} approval(s) by someone other "
                        f"than its author {stored.author}; it has {len(approvers)} "
                        f"(covenant rules approve {self.service} {pack_id} {version})"
                    )
            data: dict[str, Any] = {
                "version": version,
                "previous": previous,
                "request_id": request_id,
                "approved_by": approvers,
            }
            if emergency_reason is not None:
                data.update(emergency=True, reason=emergency_reason)
            if later and effective_at is not None:
                store.set_schedule(
                    s, store.Scheduled(pack_id, version, effective_at, actor, emergency_reason is None)
                )
                store.consume_approvals(s, pack_id, version, 0)
                data["effective_at"] = effective_at.isoformat()
                self.audit.append(
                    s, actor=actor, action="rule_pack.scheduled", subject=f"packs/{pack_id}", data=data
                )
            else:
                if pending:
                    store.take_schedule(s, pack_id, pending[0].version)  # an activation now replaces it
                generation = store.set_active(s, pack_id, version, actor)
                store.consume_approvals(s, pack_id, version, generation)
                kind = action.removeprefix("rule_pack.")
                store.record_activation(
                    s, pack_id, generation, version, actor, kind, emergency_reason is None
                )
                data["generation"] = generation
                self.audit.append(s, actor=actor, action=action, subject=f"packs/{pack_id}", data=data)
        self.refresh()
        return stored

    def last_approved(self, pack_id: str) -> str:
        """The newest version, other than the active one, that became active with its approvals (or was
        shipped); empty when there is none."""
        with self.db.session() as s:
            current = store.active_state(s).get(pack_id, ("", 0))[0]
            for act in store.activation_history(s, pack_id):
                if act.approved and act.version != current:
                    return act.version
        return ""

    def rollback(
        self,
        pack_id: str,
        to_version: str,
        actor: str,
        *,
        request_id: str = "",
        principal: Principal | None = None,
        emergency_reason: str | None = None,
    ) -> store.StoredVersion:
        """Re-activate an earlier published version (a no-op when it is already the active one). A normal
        rollback is an activation like any other (approvals needed). An emergency rollback is one person's
        call, only to the last approved version, and is flagged in the audit."""
        with self.db.session() as s:
            current = store.active_state(s).get(pack_id)
            versions = store.list_versions(s, pack_id)
        if principal is not None:  # authority first: a stranger learns nothing about the pack's state
            if not versions:
                raise PermissionDenied(f"rules.{self.service}/{pack_id}.activate")
            authorize_pack(principal, "activate", self.ref_of(versions[0]))
        if current is None:
            raise FailedPrecondition(f"pack {pack_id} has no active version to roll back from")
        if emergency_reason is not None:
            if not emergency_reason.strip():
                raise InvalidArgument("an emergency rollback needs a reason", field="reason")
            target = self.last_approved(pack_id)
            if not target:
                raise FailedPrecondition(f"pack {pack_id} has no earlier approved version to roll back to")
            if to_version and to_version != target:
                raise FailedPrecondition(
                    f"an emergency rollback goes only to the last approved version {target}, not {to_version}"
                )
            return self.activate(
                pack_id,
                target,
                actor,
                action="rule_pack.emergency_rollback",
                request_id=request_id,
                principal=principal,
                emergency_reason=emergency_reason,
            )
        if not to_version:
            raise InvalidArgument("is required", field="to_version")
        return self.activate(
            pack_id,
            to_version,
            actor,
            action="rule_pack.rolled_back",
            request_id=request_id,
            principal=principal,
        )

    # -- reads -------------------------------------------------------------------------------
    def get(self, pack_id: str, version: str) -> store.StoredVersion:
        with self.db.session() as s:
            stored = store.get_version(s, pack_id, version)
        if stored is None:
            raise NotFound(f"packs/{pack_id}/versions/{version} not found")
        return stored

    def history(self, pack_id: str) -> tuple[list[store.StoredVersion], str]:
        with self.db.session() as s:
            return store.list_versions(s, pack_id), store.active_state(s).get(pack_id, ("", 0))[0]

    def active_versions(self) -> list[store.StoredVersion]:
        with self.db.session() as s:
            state = store.active_state(s)
            return [v for pid, (ver, _) in sorted(state.items()) if (v := store.get_version(s, pid, ver))]

    def diff(
        self, pack_id: str, from_version: str, to_version: str
    ) -> tuple[str, list[str], list[str], list[str]]:
        a, b = self.get(pack_id, from_version), self.get(pack_id, to_version)
        text = "".join(
            difflib.unified_diff(
                a.source.splitlines(keepends=True),
                b.source.splitlines(keepends=True),
                fromfile=f"{pack_id}@{from_version}",
                tofile=f"{pack_id}@{to_version}",
            )
        )
        ra = {r.id: r for r in parse_pack(a.source).rules}
        rb = {r.id: r for r in parse_pack(b.source).rules}
        changed = [
            i
            for i in ra
            if i in rb
            and (ra[i].when, ra[i].then, ra[i].priority) != (rb[i].when, rb[i].then, rb[i].priority)
        ]
        return text, sorted(set(rb) - set(ra)), sorted(set(ra) - set(rb)), sorted(changed)

    def dry_run(
        self,
        candidate: Pack,
        compiled: CompiledPack,
        inputs: Sequence[tuple[Mapping[str, Any], Mapping[str, Any]]],
    ) -> list[DryRunRow]:
        """Each input through the active packs and through the active set with the candidate swapped in."""
        active = self.runtime.active()
        with_candidate = [c for pid, c in sorted({**active, candidate.id: compiled}.items())]
        current = [c for _, c in sorted(active.items())]
        derive = self.runtime.fact_deriver

        def candidate_parameter(name: str, role: str | None, org_unit: str | None, default: Any) -> Any:
            return resolve_parameter(with_candidate, name, role, org_unit, default)

        rows = []
        for event, recorded in inputs:
            facts = recorded
            now: list[FiredAction] = []
            cand: list[FiredAction] = []
            errors = []
            try:
                now = evaluate_packs(current, event, facts)
            except RuleEvaluationError as exc:
                errors.append(f"active: {exc.message}")
            try:
                # facts the service derived with the active parameters, re-derived with the candidate's
                cand_facts = derive(event, facts, candidate_parameter) if derive else facts
                cand = evaluate_packs(with_candidate, event, cand_facts)
            except RuleEvaluationError as exc:
                errors.append(f"candidate: {exc.message}")
            rows.append(DryRunRow(dict(event), now, cand, "; ".join(errors)))
        return rows

    # -- replicas ----------------------------------------------------------------------------
    def refresh(self) -> bool:
        """Apply scheduled activations that are due, then load the stored active versions (and the
        scheduled ones, which the runtime switches to at their instant) if they changed. True when
        swapped."""
        with self._lock:
            self._apply_due_schedules()
            with self.db.session() as s:
                state = store.active_state(s)
                pending = store.get_schedule(s)
                loaded = (state, [(p.pack_id, p.version, p.effective_at) for p in pending])
                if loaded == self._loaded:
                    return False
                sources = {pid: store.get_version(s, pid, ver) for pid, (ver, _) in state.items()}
                later = {p.pack_id: (p, store.get_version(s, p.pack_id, p.version)) for p in pending}
            compiled = {}
            for pid, stored in sources.items():
                if stored is None:
                    continue
                try:
                    compiled[pid] = self._compile(stored.source)
                except PackError as exc:  # keep serving the last good version of this pack
                    RULE_COMPILE_FAILURES.add(1, {"service": self.service, "pack": pid})
                    log.error(
                        "active version %s@%s does not compile here: %s", pid, stored.version, exc.message
                    )
                    current = self.runtime.active().get(pid)
                    if current is not None:
                        compiled[pid] = current
            scheduled = {}
            for pid, (item, stored) in later.items():
                try:
                    if stored is not None:
                        scheduled[pid] = (item.effective_at.timestamp(), self._compile(stored.source))
                except PackError as exc:
                    log.error("scheduled version %s@%s does not compile here: %s", pid, item.version, exc)
            self.runtime.set_active(compiled, scheduled)
            self._loaded = loaded
            log.info("rule packs active: %s", self.runtime.active_versions())
            return True

    def _apply_due_schedules(self) -> None:
        """Store scheduled activations whose instant has passed as the active versions (the first replica
        to get there does it; the runtimes already switched at the instant)."""
        now = datetime.now(UTC)
        with self.db.session() as s:
            due = [p for p in store.get_schedule(s) if p.effective_at <= now]
        for item in due:
            with self.db.session() as s:
                taken = store.take_schedule(s, item.pack_id, item.version)
                if taken is None:
                    continue
                previous = store.active_state(s).get(item.pack_id, ("", 0))[0]
                generation = store.set_active(s, item.pack_id, item.version, item.actor)
                store.record_activation(
                    s, item.pack_id, generation, item.version, item.actor, "scheduled", item.approved
                )
                self.audit.append(
                    s,
                    actor=item.actor,
                    action="rule_pack.activated",
                    subject=f"packs/{item.pack_id}",
                    data={
                        "version": item.version,
                        "previous": previous,
                        "generation": generation,
                        "scheduled_for": item.effective_at.isoformat(),
                    },
                )

    def scheduled(self) -> list[store.Scheduled]:
        with self.db.session() as s:
            return store.get_schedule(s)

    def load_default_packs(self, rules_dir: Path) -> list[str]:
        """Publish and activate each shipped pack (``rules_dir/<service>/*.yaml``) whose id has never been
        published here (author ``system:default-packs``). A shipped pack that does not validate is logged and
        skipped; the service keeps starting. Safe when several replicas start at once."""
        loaded = []
        directory = rules_dir / self.service
        for path in sorted(directory.glob("*.yaml")) if directory.is_dir() else []:
            source = path.read_text()
            try:
                pack = parse_pack(source, self.vocabulary)
                with self.db.session() as s:
                    if store.has_any(s, pack.id):
                        continue
                with contextlib.suppress(AlreadyExists, Aborted):  # another replica was quicker
                    self.publish(source, DEFAULT_PACKS_AUTHOR)
                with self.db.session() as s:
                    if pack.id in store.active_state(s):
                        continue
                with contextlib.suppress(Aborted):
                    self.activate(pack.id, pack.version, DEFAULT_PACKS_AUTHOR)
            except PackError as exc:
                log.error("default rule pack %s is not valid and was not loaded: %s", path, exc.message)
                continue
            loaded.append(f"{pack.id}@{pack.version}")
        self.refresh()
        return loaded
