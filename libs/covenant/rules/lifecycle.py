"""The rule-pack lifecycle of one service: validate → publish → activate → roll back, plus history, diff
and dry run. A pack that fails any step never becomes active; the last good version keeps serving."""

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

from covenant.db.audit import AuditLog
from covenant.db.engine import Database
from covenant.errors import Aborted, AlreadyExists, FailedPrecondition, InvalidArgument, NotFound
from covenant.rules import store
from covenant.rules.engine import (
    CompiledPack,
    FiredAction,
    PackTestResult,
    RuleEvaluationError,
    compile_and_test,
    run_pack_test_cases,
)
from covenant.rules.pack import Pack, PackError, parse_pack
from covenant.rules.runtime import RuleRuntime, evaluate_packs
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
        self, db: Database, service: str, vocabulary: ActionVocabulary, runtime: RuleRuntime
    ) -> None:
        self.db = db
        self.service = service
        self.vocabulary = vocabulary
        self.runtime = runtime
        self.audit = AuditLog(AUDIT_STREAM)
        self._compiled: OrderedDict[str, CompiledPack] = OrderedDict()  # by sha256 of the source text
        self._cache_lock = threading.Lock()
        self._loaded: dict[str, tuple[str, int]] = {}
        self._lock = threading.Lock()

    # -- validation --------------------------------------------------------------------------
    def validate(self, source: str, *, check_service: bool = True) -> tuple[Pack, CompiledPack]:
        """Parse, check against the vocabulary, compile and run the pack's own tests."""
        if not source.strip():
            raise InvalidArgument("is empty", field="source_yaml")
        pack = parse_pack(source, self.vocabulary)
        if check_service and pack.service != self.service:
            raise PackError([f"pack: service is {pack.service!r}, this is the {self.service!r} service"])
        return pack, compile_and_test(pack, self.vocabulary)

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

    # -- publish / activate / roll back ------------------------------------------------------
    def publish(self, source: str, author: str, *, request_id: str = "") -> tuple[store.StoredVersion, bool]:
        """Validate and store an immutable version; returns (version, created). Publishing the same content
        again returns the stored version; different content under an existing version is ALREADY_EXISTS."""
        pack, compiled = self.validate(source)
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

    def activate(
        self,
        pack_id: str,
        version: str,
        actor: str,
        *,
        action: str = "rule_pack.activated",
        request_id: str = "",
    ) -> store.StoredVersion:
        """Make a published version the active one (every replica's watcher swaps to it). Activating the
        version that is already active changes nothing."""
        with self.db.session() as s:
            stored = store.get_version(s, pack_id, version)
            if stored is None:
                raise NotFound(f"packs/{pack_id}/versions/{version} not found")
            # Compiled and tested when published; this guards against a vocabulary changed since.
            self._compile(stored.source)
            previous = store.active_state(s).get(pack_id, ("", 0))[0]
            if previous != version:
                generation = store.set_active(s, pack_id, version, actor)
                self.audit.append(
                    s,
                    actor=actor,
                    action=action,
                    subject=f"packs/{pack_id}",
                    data={
                        "version": version,
                        "previous": previous,
                        "generation": generation,
                        "request_id": request_id,
                    },
                )
        self.refresh()
        return stored

    def rollback(
        self, pack_id: str, to_version: str, actor: str, *, request_id: str = ""
    ) -> store.StoredVersion:
        """Re-activate an earlier published version (a no-op when it is already the active one)."""
        with self.db.session() as s:
            current = store.active_state(s).get(pack_id)
        if current is None:
            raise FailedPrecondition(f"pack {pack_id} has no active version to roll back from")
        return self.activate(
            pack_id, to_version, actor, action="rule_pack.rolled_back", request_id=request_id
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
        rows = []
        for event, facts in inputs:
            now: list[FiredAction] = []
            cand: list[FiredAction] = []
            errors = []
            try:
                now = evaluate_packs(current, event, facts)
            except RuleEvaluationError as exc:
                errors.append(f"active: {exc.message}")
            try:
                cand = evaluate_packs(with_candidate, event, facts)
            except RuleEvaluationError as exc:
                errors.append(f"candidate: {exc.message}")
            rows.append(DryRunRow(dict(event), now, cand, "; ".join(errors)))
        return rows

    # -- replicas ----------------------------------------------------------------------------
    def refresh(self) -> bool:
        """Load the stored active versions into the runtime if they changed. True when swapped."""
        with self._lock:
            with self.db.session() as s:
                state = store.active_state(s)
                if state == self._loaded:
                    return False
                sources = {pid: store.get_version(s, pid, ver) for pid, (ver, _) in state.items()}
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
            self.runtime.set_active(compiled)
            self._loaded = state
            log.info("rule packs active: %s", self.runtime.active_versions())
            return True

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
