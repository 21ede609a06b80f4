"""A batch's evaluator: one pack snapshot, one evaluation per distinct decision, the same answers and the
same counts as evaluating event by event."""

from __future__ import annotations

import random
from contextlib import nullcontext
from typing import Any
from unittest.mock import MagicMock

import pytest

from covenant.rules import parse_pack
from covenant.rules import runtime as runtime_module
from covenant.rules.engine import CompiledPack, pack_event_fields
from covenant.rules.expr import event_fields
from covenant.rules.runtime import RuleRuntime
from tests.unit.test_rules_engine import RULES as ENGINE_RULES
from tests.unit.test_rules_engine import VOCAB

# The engine tests' pack, its first two rules, and a rule whose parameter is an expression of ``units``.
RULES = (
    ENGINE_RULES[: ENGINE_RULES.index("  - id: any-flag")]
    + """\
  - id: scaled
    priority: 3
    when: {event.type: {eq: sale}}
    then: [{action: note, params: {n: {expr: "event.units * 2 if event.units else 0"}}}]
"""
)


def _pack(rules: str, pack_id: str = "p") -> CompiledPack:
    text = f"id: {pack_id}\nversion: '1'\nservice: scoring\nowner: o\nrules:\n{rules}"
    return CompiledPack(parse_pack(text, VOCAB), VOCAB)


def _runtime(*packs: CompiledPack) -> RuleRuntime:
    runtime = RuleRuntime("scoring", VOCAB)
    runtime.set_active({c.pack.id: c for c in packs})
    return runtime


def _actions(fired: list[Any]) -> list[tuple[str, str, int]]:
    return [(f.pack_id, f.rule_id, f.params["n"]) for f in fired]


class _Counter:
    def __init__(self) -> None:
        self.calls: list[dict[str, str]] = []

    def add(self, amount: int, labels: dict[str, str]) -> None:
        self.calls.extend([labels] * amount)


def test_the_fields_a_pack_reads_are_its_conditions_and_expressions_and_the_type() -> None:
    assert pack_event_fields(_pack(RULES).pack) == {"type", "amount", "tier", "units"}
    assert event_fields("event.a + max(event.b, 3) + facts.c") == {"a", "b"}
    assert event_fields("len(event)") is None  # the whole event: nothing may be left out of the key
    whole = (
        "  - id: w\n    when: {event.type: {eq: sale}}\n"
        "    then: [{action: note, params: {n: {expr: 'len(event)'}}}]\n"
    )
    assert pack_event_fields(_pack(whole).pack) is None


def test_alike_events_are_decided_once_and_still_counted_each(monkeypatch: pytest.MonkeyPatch) -> None:
    compiled = _pack(RULES)
    runtime = _runtime(compiled)
    runs = []
    real = compiled.evaluate
    monkeypatch.setattr(compiled, "evaluate", lambda event, facts=None: runs.append(1) or real(event, facts))
    evaluations, hits = _Counter(), _Counter()
    monkeypatch.setattr(runtime_module.m, "RULE_EVALUATIONS", evaluations)
    monkeypatch.setattr(runtime_module.m, "RULE_HITS", hits)
    with runtime.evaluator() as evaluate:
        for i in range(50):  # fifty reps' visits: ids and places differ, nothing the pack reads does
            event = {"type": "sale", "amount": 500, "tier": "silver", "units": 0}
            event |= {"visit_id": f"v{i}", "lat": 31.2 + i / 1e4}
            assert _actions(evaluate(event)) == [("p", "big", 1), ("p", "not-vip", 2), ("p", "scaled", 0)]
    assert len(runs) == 1
    assert len(evaluations.calls) == 50 and len(hits.calls) == 150  # repeats counted when the batch ends
    assert len(runtime.recent()) == 50  # dry runs still see every event


def test_facts_are_part_of_the_decision_and_a_batch_is_one_span(monkeypatch: pytest.MonkeyPatch) -> None:
    compiled = CompiledPack(
        parse_pack(
            "id: f\nversion: '1'\nservice: scoring\nowner: o\nrules:\n"
            + ENGINE_RULES[ENGINE_RULES.index("  - id: any-flag") :],
            VOCAB,
        ),
        VOCAB,
    )
    runtime = _runtime(compiled)
    runs = []
    real = compiled.evaluate
    monkeypatch.setattr(compiled, "evaluate", lambda event, facts=None: runs.append(1) or real(event, facts))
    spans: list[str] = []
    monkeypatch.setattr(runtime_module.tracer, "start_as_current_span", _recording(spans))
    event = {"type": "sale", "amount": 300}
    with runtime.evaluator() as evaluate:
        assert evaluate(event) == []  # no flag among the facts: the rule does not fire
        assert _actions(evaluate(event, {"flag": 1})) == [("f", "any-flag", 3)]  # same event, other facts
        assert _actions(evaluate(dict(event), {"flag": 1})) == [("f", "any-flag", 3)]
    assert len(runs) == 2  # decided once per distinct (event, facts)
    assert spans == ["rules evaluate batch"]
    assert runtime.recent()[1] == (event, {"flag": 1})


def _recording(names: list[str]) -> Any:
    """A ``start_as_current_span`` that records the names of the spans started."""

    def start(name: str, **_kw: Any) -> Any:
        names.append(name)
        return nullcontext(MagicMock())

    return start


def test_the_batch_evaluator_answers_as_event_by_event_evaluation() -> None:
    other = _pack(
        "  - id: named\n    when: {event.employee_id: {eq: E1}}\n"
        "    then: [{action: note, params: {n: 7}}]\n",
        "q",
    )
    runtime = _runtime(_pack(RULES), other)
    rng = random.Random(20261203)
    values: list[Any] = [None, 0, 1, 1.0, True, 150, 150.0, "150", "gold", "silver", [1, 2], {"k": 1}]
    events = []
    for _ in range(400):
        event = {"type": rng.choice(["sale", "chat", "sale"])}
        for name in ("amount", "tier", "units", "employee_id", "visit_id"):
            if rng.random() < 0.8:
                event[name] = rng.choice([*values, "E1", "E2"])
        events.append(event)
    with runtime.evaluator() as evaluate:
        for event in events:
            try:
                expected = _actions(runtime.evaluate(event))
            except Exception as exc:  # a failing expression fails the same way, every time
                with pytest.raises(type(exc)):
                    evaluate(event)
                continue
            assert _actions(evaluate(event)) == expected, event


def test_a_batch_keeps_the_pack_set_it_started_with() -> None:
    runtime = _runtime(_pack(RULES))
    event = {"type": "sale", "amount": 500, "tier": "gold", "units": 0}
    with runtime.evaluator() as evaluate:
        before = _actions(evaluate(event))
        runtime.set_active({"p": _pack(RULES.replace("n: 1}", "n: 9}"))})
        assert _actions(evaluate(event)) == before == [("p", "big", 1), ("p", "scaled", 0)]
    with runtime.evaluator() as evaluate:
        assert _actions(evaluate(event)) == [("p", "big", 9), ("p", "scaled", 0)]
