"""The rule runtime a service evaluates against: its active packs, swapped atomically on activation.

A service's evaluations run in a ``rules evaluate`` span and record ``covenant.rules.evaluations`` (per pack
and version), ``covenant.rules.hits`` (per pack, version and rule that fired) and
``covenant.rules.evaluation.duration`` (docs/operations.md); dry runs (``evaluate_packs`` alone) do not.
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections import deque
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from covenant.rules.engine import CompiledPack, FiredAction
from covenant.rules.vocabulary import ActionVocabulary
from covenant.telemetry import metrics as m
from covenant.telemetry import tracer

# (name, role, org unit, default) -> the parameter's value for that role and unit in some pack set.
ParameterLookup = Callable[[str, "str | None", "str | None", Any], Any]
# Re-derives the facts a service computed with pack parameters (e.g. ``exceeds_dwell`` from
# ``duration_minutes`` and ``dwell_minutes``), so a dry run judges a candidate with its own parameters.
FactDeriver = Callable[[Mapping[str, Any], Mapping[str, Any], ParameterLookup], Mapping[str, Any]]


def resolve_parameter(
    packs: Iterable[CompiledPack], name: str, role: str | None, org_unit: str | None, default: Any
) -> Any:
    """A parameter resolved for a role and org unit in ``packs`` (the first pack that defines it)."""
    for compiled in packs:
        param = compiled.pack.parameters.get(name)
        if param is not None:
            return param.resolve(role, org_unit)
    return default


def evaluate_packs(
    packs: Iterable[CompiledPack], event: Mapping[str, Any], facts: Mapping[str, Any], *, service: str = ""
) -> list[FiredAction]:
    """Fired actions of the packs that apply to ``event['type']`` and are in force today, in the given
    pack order, each pack's in rule priority order. With ``service``, evaluations and hits are counted."""
    return [f for _, fired in _evaluate_each(packs, event, facts, service) for f in fired]


def _evaluate_each(
    packs: Iterable[CompiledPack], event: Mapping[str, Any], facts: Mapping[str, Any], service: str
) -> list[tuple[CompiledPack, list[FiredAction]]]:
    """(pack, its fired actions) for every pack that applies to the event and is in force today."""
    event_type = str(event.get("type", ""))
    out: list[tuple[CompiledPack, list[FiredAction]]] = []
    for compiled in packs:
        pack = compiled.pack
        if pack.events and event_type not in pack.events:
            continue
        if (pack.effective_from or pack.effective_to) and not pack.in_force(datetime.now(UTC).date()):
            continue
        fired = compiled.evaluate(event, facts)
        if service:
            _count(service, compiled, fired)
        out.append((compiled, fired))
    return out


def _count(service: str, compiled: CompiledPack, fired: Sequence[FiredAction], times: int = 1) -> None:
    labels = {"service": service, "pack": compiled.pack.id, "version": compiled.pack.version}
    m.RULE_EVALUATIONS.add(times, labels)
    for rule_id in dict.fromkeys(f.rule_id for f in fired):  # a rule hits once per evaluation
        m.RULE_HITS.add(times, {**labels, "rule": rule_id})


def _memo_key(event: Mapping[str, Any], fields: tuple[str, ...] | None) -> Hashable:
    """Equal for events equal on ``fields`` (every field when None): (name, type, value) triples when the
    values are hashable (the type keeps 1, 1.0 and True apart), else canonical JSON with typed leaves."""
    items = list(event.items()) if fields is None else [(k, event[k]) for k in fields if k in event]
    try:
        key = tuple(sorted((k, type(v), v) for k, v in items))
        hash(key)
    except TypeError:
        return json.dumps(dict(items), sort_keys=True, default=lambda v: f"{type(v).__name__}:{v}")
    return key


class RuleRuntime:
    """Evaluates events against every active pack of one service.

    ``set_active`` replaces the whole set of compiled packs in one reference assignment: an evaluation
    already running finishes on the packs it started with; the next one sees the new set. Nothing is
    lost or half-applied during a swap.

    Scheduled activations (``set_active(..., scheduled=)``) are held compiled and switched to at their
    instant by the first evaluation after it, on every replica, without waiting for the next poll.
    """

    def __init__(
        self, service: str, vocabulary: ActionVocabulary | None = None, *, recent: int = 500
    ) -> None:
        self.service = service
        self.vocabulary = vocabulary
        self._active: tuple[CompiledPack, ...] = ()
        self._recent: deque[tuple[dict[str, Any], dict[str, Any]]] = deque(maxlen=recent)
        self._swap_lock = threading.Lock()
        self._scheduled: tuple[tuple[float, CompiledPack], ...] = ()
        self._next_at = math.inf
        # Set by a service whose facts depend on pack parameters (see ``FactDeriver``).
        self.fact_deriver: FactDeriver | None = None

    # -- activation ----------------------------------------------------------------------------
    def set_active(
        self,
        packs: Mapping[str, CompiledPack],
        scheduled: Mapping[str, tuple[float, CompiledPack]] | None = None,
    ) -> None:
        """Atomically install the compiled packs (by pack id), and the ones that replace them at a later
        instant (``{pack id: (epoch seconds, compiled)}``)."""
        with self._swap_lock:
            self._active = tuple(packs[k] for k in sorted(packs))
            self._scheduled = tuple(sorted((scheduled or {}).values(), key=lambda item: item[0]))
            self._next_at = self._scheduled[0][0] if self._scheduled else math.inf
        self._current()

    def _current(self) -> tuple[CompiledPack, ...]:
        """The active packs now: a scheduled version whose instant has passed replaces its pack."""
        if time.time() >= self._next_at:
            with self._swap_lock:
                now = time.time()
                due = [c for at, c in self._scheduled if at <= now]
                if due:
                    active = {c.pack.id: c for c in self._active} | {c.pack.id: c for c in due}
                    self._active = tuple(active[k] for k in sorted(active))
                    self._scheduled = tuple(item for item in self._scheduled if item[0] > now)
                    self._next_at = self._scheduled[0][0] if self._scheduled else math.inf
        return self._active

    def active(self) -> dict[str, CompiledPack]:
        return {c.pack.id: c for c in self._current()}

    def active_versions(self) -> dict[str, str]:
        return {c.pack.id: c.pack.version for c in self._current()}

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
        return [f for _, fired in self._evaluate_each(event, facts, packs) for f in fired]

    def _evaluate_each(
        self,
        event: Mapping[str, Any],
        facts: Mapping[str, Any],
        packs: Sequence[CompiledPack] | None,
        *,
        traced: bool = True,
    ) -> list[tuple[CompiledPack, list[FiredAction]]]:
        """``traced``: in a span of its own (a batch's evaluator has one span for all its evaluations)."""
        started = time.perf_counter()
        active = self._current() if packs is None else packs
        if traced:
            with tracer.start_as_current_span("rules evaluate", attributes={"service": self.service}) as span:
                each = _evaluate_each(active, event, facts, self.service)
                span.set_attribute("covenant.rules.fired", sum(len(fired) for _, fired in each))
        else:
            each = _evaluate_each(active, event, facts, self.service)
        m.RULE_EVALUATION_DURATION.record((time.perf_counter() - started) * 1000, {"service": self.service})
        return each

    @contextmanager
    def evaluator(
        self, packs: Sequence[CompiledPack] | None = None
    ) -> Iterator[Callable[..., list[FiredAction]]]:
        """``evaluate(event, facts=None)`` for the events of one batch (``with runtime.evaluator() as
        evaluate:``), on one pack set (``packs``, else a snapshot taken now), memoised: events that agree on
        every field the packs read (``CompiledPack.event_fields``) and on their facts are decided once, so a
        batch of check-ins with distinct ids and places costs one evaluation per distinct decision. Every
        event is kept for dry runs and counted in ``covenant.rules.evaluations`` and ``hits`` (the repeats in
        one add per decision when the batch ends); the duration is recorded for the evaluations that run, all
        in one ``rules evaluate batch`` span."""
        pinned = self.snapshot() if packs is None else tuple(packs)
        fields: tuple[str, ...] | None = ()
        for compiled in pinned:
            read = compiled.event_fields
            fields = None if fields is None or read is None else tuple(sorted({*fields, *read}))
        memo: dict[Hashable, list[tuple[CompiledPack, list[FiredAction]]]] = {}
        repeats: dict[Hashable, int] = {}
        ran = fired_total = 0

        def evaluate(event: Mapping[str, Any], facts: Mapping[str, Any] | None = None) -> list[FiredAction]:
            nonlocal ran, fired_total
            self._recent.append((dict(event), dict(facts or {})))
            key = (_memo_key(event, fields), _memo_key(facts, None) if facts else None)
            each = memo.get(key)
            if each is None:
                each = memo[key] = self._evaluate_each(event, facts or {}, pinned, traced=False)
                ran += 1
            else:
                repeats[key] = repeats.get(key, 0) + 1
            fired = [f for _, found in each for f in found]
            fired_total += len(fired)
            return fired

        with tracer.start_as_current_span(
            "rules evaluate batch", attributes={"service": self.service}
        ) as span:
            try:
                yield evaluate
            finally:
                span.set_attributes({"covenant.rules.evaluated": ran, "covenant.rules.fired": fired_total})
                for key, times in repeats.items():
                    for compiled, fired in memo[key]:
                        _count(self.service, compiled, fired, times)

    def snapshot(self) -> tuple[CompiledPack, ...]:
        """The active packs as one immutable set. A decision takes one and passes it to every
        ``evaluate``, ``parameter`` and ``parameter_source`` call it makes (``packs=``), so its parameters,
        its rules and the version it records all come from the same pack versions even when an activation
        lands midway (docs/rule-packs.md)."""
        return self._current()

    def recent(self) -> list[tuple[dict[str, Any], dict[str, Any]]]:
        """Recently evaluated (event, facts) pairs, newest last (for dry runs)."""
        return list(self._recent)

    def parameter(
        self,
        name: str,
        *,
        role: str | None = None,
        org_unit: str | None = None,
        default: Any = None,
        packs: Sequence[CompiledPack] | None = None,
    ) -> Any:
        """A pack parameter, resolved for a role and org unit (the first active pack that defines it);
        ``packs`` reads it from a ``snapshot()`` taken for the decision at hand."""
        return resolve_parameter(self._current() if packs is None else packs, name, role, org_unit, default)

    def parameter_source(self, name: str, *, packs: Sequence[CompiledPack] | None = None) -> tuple[str, str]:
        """(pack id, version) of the pack a parameter comes from (in ``packs`` when given), or ("", "")."""
        for compiled in self._current() if packs is None else packs:
            if name in compiled.pack.parameters:
                return compiled.pack.id, compiled.pack.version
        return "", ""
