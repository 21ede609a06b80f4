"""The rule runtime a service evaluates against: its active packs, swapped atomically on activation.

A service's evaluations run in a ``rules evaluate`` span and record ``covenant.rules.evaluations`` (per pack
and version), ``covenant.rules.hits`` (per pack, version and rule that fired) and
``covenant.rules.evaluation.duration`` (docs/operations.md); dry runs (``evaluate_packs`` alone) do not.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from covenant.rules.engine import CompiledPack, FiredAction
from covenant.rules.vocabulary import ActionVocabulary
from covenant.telemetry import metrics as m
from covenant.telemetry import tracer


def evaluate_packs(
    packs: Iterable[CompiledPack], event: Mapping[str, Any], facts: Mapping[str, Any], *, service: str = ""
) -> list[FiredAction]:
    """Fired actions of the packs that apply to ``event['type']`` and are in force today, in the given
    pack order, each pack's in rule priority order. With ``service``, evaluations and hits are counted."""
    event_type = str(event.get("type", ""))
    out: list[FiredAction] = []
    for compiled in packs:
        pack = compiled.pack
        if pack.events and event_type not in pack.events:
            continue
        if (pack.effective_from or pack.effective_to) and not pack.in_force(datetime.now(UTC).date()):
            continue
        fired = compiled.evaluate(event, facts)
        if service:
            labels = {"service": service, "pack": pack.id, "version": pack.version}
            m.RULE_EVALUATIONS.add(1, labels)
            for rule_id in dict.fromkeys(f.rule_id for f in fired):  # a rule hits once per evaluation
                m.RULE_HITS.add(1, {**labels, "rule": rule_id})
        out.extend(fired)
    return out


class RuleRuntime:
    """Evaluates events against every active pack of one service.

    ``set_active`` replaces the whole set of compiled packs in one reference assignment: an evaluation
    already running finishes on the packs it started with; the next one sees the new set. Nothing is
    lost or half-applied during a swap.
    """

    def __init__(
        self, service: str, vocabulary: ActionVocabulary | None = None, *, recent: int = 500
    ) -> None:
        self.service = service
        self.vocabulary = vocabulary
        self._active: tuple[CompiledPack, ...] = ()
        self._recent: deque[tuple[dict[str, Any], dict[str, Any]]] = deque(maxlen=recent)
        self._swap_lock = threading.Lock()

    # -- activation ----------------------------------------------------------------------------
    def set_active(self, packs: Mapping[str, CompiledPack]) -> None:
        """Atomically install the compiled packs (by pack id)."""
        with self._swap_lock:
            self._active = tuple(packs[k] for k in sorted(packs))

    def active(self) -> dict[str, CompiledPack]:
        return {c.pack.id: c for c in self._active}

    def active_versions(self) -> dict[str, str]:
        return {c.pack.id: c.pack.version for c in self._active}

    # -- evaluation ----------------------------------------------------------------------------
    def evaluate(
        self,
        event: Mapping[str, Any],
        facts: Mapping[str, Any] | None = None,
        *,
        record: bool = True,
        packs: Sequence[CompiledPack] | None = None,
    ) -> list[FiredAction]:
        """Fired actions of every active pack that applies to ``event['type']`` and is in force today, pack by
        pack (ordered by pack id), each pack's in rule priority order; empty when nothing matched. Raises
        RuleEvaluationError (naming pack, version and rule) when a fired action cannot be computed.

        ``packs`` pins the evaluation to a set taken earlier from ``snapshot()``, so that a batch evaluated
        event by event sees one pack set even when an activation lands midway."""
        facts = facts or {}
        if record:  # kept for dry runs, failing evaluations included
            self._recent.append((dict(event), dict(facts)))
        started = time.perf_counter()
        with tracer.start_as_current_span("rules evaluate", attributes={"service": self.service}) as span:
            active = self._active if packs is None else packs
            fired = evaluate_packs(active, event, facts, service=self.service)
            span.set_attribute("covenant.rules.fired", len(fired))
        m.RULE_EVALUATION_DURATION.record((time.perf_counter() - started) * 1000, {"service": self.service})
        return fired

    def snapshot(self) -> tuple[CompiledPack, ...]:
        """The active packs as one immutable set (pass it back as ``evaluate(..., packs=)``)."""
        return self._active

    def recent(self) -> list[tuple[dict[str, Any], dict[str, Any]]]:
        """Recently evaluated (event, facts) pairs, newest last (for dry runs)."""
        return list(self._recent)

    def parameter(
        self, name: str, *, role: str | None = None, org_unit: str | None = None, default: Any = None
    ) -> Any:
        """A pack parameter, resolved for a role and org unit (the first active pack that defines it)."""
        for compiled in self._active:
            param = compiled.pack.parameters.get(name)
            if param is not None:
                return param.resolve(role, org_unit)
        return default

    def parameter_source(self, name: str) -> tuple[str, str]:
        """(pack id, version) of the pack a parameter comes from, or ("", "")."""
        for compiled in self._active:
            if name in compiled.pack.parameters:
                return compiled.pack.id, compiled.pack.version
        return "", ""
