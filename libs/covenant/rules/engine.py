"""Compiling a pack to a durable-rules ruleset, and evaluating events against it.

Design, from the measured behaviour of durable-rules 2.0.28 (docs/rule-packs.md, benchmarks/rules_eval.py):
- a pack version compiles to a durable-rules JSON ruleset (one durable rule per pack rule, same id and
  priority; the condition tree becomes durable's $and/$or/$lt/... expression, negations pushed down to the
  leaves). The durable engine core does all the matching;
- rules that pin ``event.type`` are indexed by it: one ruleset per event type the pack names (only the rules
  pinned to it) and one for the rules of any type; an event runs its type's ruleset and the any-type one,
  merged in priority order. No rule is copied into every per-type ruleset, so compile cost (time and the
  engine's memory) is linear in the pack's size;
- ``matches`` is RE2 (``google-re2``): linear time in the text, whatever the pattern;
- each compiled version has its own rulesets (unique names per pack id + content hash + counter), so
  activating a version is building a new object and swapping a reference; the old rulesets are deleted
  from the engine once no evaluation uses them any more (a 200-rule pack holds ~2.5 MB);
- one fixed session id per ruleset and nothing left behind: hit policy ``collect`` (default) asserts the
  event as a fact — every matching rule fires, in priority order — and retracts it at once; an unmatched
  fact is "not handled", which is simply an empty result. Hit policy ``first`` posts the event (consumed by
  the highest-priority match) and a catch-all rule of the lowest priority consumes unmatched events, which
  durable would otherwise keep for correlation. Memory is flat however many employees or events pass;
- the engine only says which rules fired; action parameters (literals and expressions) are computed
  afterwards in Python, where a failure becomes a ``RuleEvaluationError`` naming the pack, version and
  rule instead of silently firing nothing.
"""

from __future__ import annotations

import contextlib
import copy
import itertools
import json
import threading
import weakref
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import durable_rules_engine as durable_core
import re2

from covenant.errors import FailedPrecondition
from covenant.rules.bounds import compile_pattern
from covenant.rules.expr import ExpressionError, evaluate, event_fields
from covenant.rules.pack import Pack, PackError, Rule
from covenant.rules.vocabulary import ActionVocabulary

CATCH_ALL = "__covenant_catch_all__"
MARKER = "cv__"
SEP = "__"
SID = "0"
RULES_OK, NOT_HANDLED = 0, 1  # durable-rules result codes (ERR_EVENT_NOT_HANDLED = 1)
_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=str).encode


class RuleEvaluationError(FailedPrecondition):
    """A fired rule whose action could not be computed (bad expression, missing field, bad parameter)."""


class Params(dict):  # type: ignore[type-arg]
    """Read-only action parameters: a ``dict`` (JSON- and Struct-friendly) that refuses changes, because the
    actions of rules with literal parameters are shared between evaluations."""

    __slots__ = ()

    def _read_only(self, *_args: Any, **_kwargs: Any) -> None:
        raise TypeError("action parameters are read-only; copy them with dict(params)")

    __setitem__ = __delitem__ = clear = pop = popitem = setdefault = update = __ior__ = _read_only  # type: ignore[assignment]

    def __copy__(self) -> dict[str, Any]:
        return dict(self)

    def __deepcopy__(self, memo: dict[int, Any]) -> dict[str, Any]:
        return copy.deepcopy(dict(self), memo)

    def __reduce__(self) -> tuple[Any, ...]:
        return (dict, (dict(self),))


@dataclass(frozen=True)
class FiredAction:
    """One action a rule fired, with its provenance."""

    action: str
    params: Mapping[str, Any]
    rule_id: str
    pack_id: str
    pack_version: str


Derived = list[tuple[str, str, str, Any]]  # (flag key, field key, "contains" | "matches", argument)


def _flag(key: str, op: str, value: Any, derived: Derived) -> str:
    """Existence, text tests and numeric views are computed in Python into extra fields of the message, which
    the durable rule then matches: durable's ``$nex`` also passes when the field is present (measured,
    2.0.28), its regex dialect is not Python's, and it orders strings against numbers. ``contains`` is an
    exact substring (or list membership) test."""
    arg = compile_pattern(str(value)) if op == "matches" else value
    for flag, k, o, a in derived:
        if (k, o, a) == (key, op, arg):
            return flag
    flag = f"{MARKER}{len(derived)}"
    derived.append((flag, key, op, arg))
    return flag


def _missing(key: str, derived: Derived) -> dict[str, Any]:
    return {_flag(key, "exists", None, derived): False}


def _number(key: str, derived: Derived) -> str:
    """The field's numeric view: present only when the value is a number (durable would otherwise order
    strings against numbers: ``"gold" > 3`` holds there)."""
    return _flag(key, "number", None, derived)


def _positive(key: str, op: str, value: Any, derived: Derived) -> dict[str, Any]:
    """A leaf comparison. Comparisons need the field, except ne / not_in, which a missing field passes;
    gt/gte/lt/lte/between need a number."""
    if op == "eq":
        return {key: value}
    if op == "ne":
        return {"$or": [_missing(key, derived), {"$neq": {key: value}}]}
    if op in ("gt", "gte", "lt", "lte"):
        return {f"${op}": {_number(key, derived): value}}
    if op == "in":
        return {key: value[0]} if len(value) == 1 else {"$or": [{key: v} for v in value]}
    if op == "not_in":
        return {"$or": [_missing(key, derived), {"$and": [{"$neq": {key: v}} for v in value]}]}
    if op == "between":
        num = _number(key, derived)
        return {"$and": [{"$gte": {num: value[0]}}, {"$lte": {num: value[1]}}]}
    if op == "exists":
        return {_flag(key, "exists", None, derived): bool(value)}
    if op in ("contains", "matches"):
        return {_flag(key, op, value, derived): True}
    raise PackError([f"unknown operator {op!r}"])


_COMPLEMENT = {"gt": "lte", "gte": "lt", "lt": "gte", "lte": "gt"}


def _negative(key: str, op: str, value: Any, derived: Derived) -> dict[str, Any]:
    """The exact complement of ``_positive`` (a missing field fails a comparison, so passes its ``not``)."""
    if op == "eq":
        return _positive(key, "ne", value, derived)
    if op == "ne":
        return {key: value}
    if op in _COMPLEMENT:
        num = _number(key, derived)
        return {"$or": [_missing(num, derived), {f"${_COMPLEMENT[op]}": {num: value}}]}
    if op == "in":
        return _positive(key, "not_in", value, derived)
    if op == "not_in":
        return _positive(key, "in", value, derived)
    if op == "between":
        num = _number(key, derived)
        return {"$or": [_missing(num, derived), {"$lt": {num: value[0]}}, {"$gt": {num: value[1]}}]}
    if op == "exists":
        return _positive(key, "exists", not value, derived)
    if op in ("contains", "matches"):
        return {_flag(key, op, value, derived): False}
    raise PackError([f"unknown operator {op!r}"])


def condition_paths(cond: Mapping[str, Any]) -> set[str]:
    """The ``event.x`` / ``facts.y`` paths a condition tree reads."""
    if "all" in cond or "any" in cond:
        return {p for c in cond.get("all", cond.get("any")) for p in condition_paths(c)}
    if "not" in cond:
        return condition_paths(cond["not"])
    return set(cond)


def compile_condition(
    cond: Mapping[str, Any], negate: bool = False, derived: Derived | None = None
) -> dict[str, Any]:
    """A pack condition tree as a durable-rules expression (negations pushed down to the leaves; text
    tests become boolean fields listed in ``derived``)."""
    derived = [] if derived is None else derived
    if "all" in cond or "any" in cond:
        parts = [compile_condition(c, negate, derived) for c in cond.get("all", cond.get("any"))]
        conj = ("all" in cond) != negate
        return parts[0] if len(parts) == 1 else {"$and" if conj else "$or": parts}
    if "not" in cond:
        return compile_condition(cond["not"], not negate, derived)
    ((path, ops),) = cond.items()
    key = path.replace(".", SEP)
    leaf = _negative if negate else _positive
    parts = [leaf(key, op, value, derived) for op, value in ops.items()]
    if len(parts) == 1:
        return parts[0]
    return {"$or" if negate else "$and": parts}  # not (a and b) == (not a) or (not b)


def _plan(rule: Rule) -> list[tuple[str, dict[str, Any], list[tuple[str, str]]]]:
    """Per action: (name, literal params, [(param, expression)])."""
    plan = []
    for call in rule.then:
        literal = {k: v for k, v in call.params.items() if not _is_expr(v)}
        computed = [(k, str(v["expr"])) for k, v in call.params.items() if _is_expr(v)]
        plan.append((call.action, literal, computed))
    return plan


def _is_expr(value: Any) -> bool:
    return isinstance(value, Mapping) and set(value) == {"expr"}


def pack_event_fields(pack: Pack) -> frozenset[str] | None:
    """The top-level event fields a pack's evaluation can read: ``type``, the fields its conditions test and
    those its computed parameters use; None when an expression reads the event as a whole. Two events that
    agree on these fired the same actions (conditions compare fields with literals only)."""
    fields = {"type"}
    for rule in pack.rules:
        for path in condition_paths(rule.when):
            root, _, rest = path.partition(".")
            if root == "event":
                fields.add(rest.split(".", 1)[0])
        for _, _, computed in _plan(rule):
            for _, source in computed:
                read = event_fields(source)
                if read is None:
                    return None
                fields |= read
    return frozenset(fields)


def _compared_keys(definition: Mapping[str, Any]) -> set[str]:
    """Message keys the durable conditions compare directly."""
    keys: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, list):
            for item in node:
                walk(item)
        elif isinstance(node, dict):
            for k, v in node.items():
                if k.startswith("$"):
                    walk(v)
                else:
                    keys.add(k)

    for rule in definition.values():
        walk([part["m"] for part in rule["all"]])
    return keys


MAX_EVENT_TYPES = 256  # distinct event types a pack's rules may pin
MAX_ALTERNATIVES = 512  # durable-rules 2.0.28 never returns from create_ruleset past 512 (measured)


def alternatives(cond: Any) -> int:
    """How many alternatives (``$or`` branches, multiplied through ``$and``) durable expands a condition
    into; every one costs a path in the ruleset's network."""
    if isinstance(cond, Mapping):
        if "$or" in cond:
            return sum(alternatives(c) for c in cond["$or"])
        if "$and" in cond:
            product = 1
            for c in cond["$and"]:
                product *= alternatives(c)
            return product
    return 1


def ruleset_definition(
    pack: Pack, derived: Derived | None = None, rules: list[Rule] | None = None, *, bounded: bool = False
) -> dict[str, Any]:
    """The durable-rules JSON ruleset of a pack (or of some of its ``rules``): one durable rule per pack
    rule, same id and priority. Fields to compute per message are appended to ``derived``. ``bounded``:
    refuse (naming the rule) a ruleset whose conditions expand to more than ``MAX_ALTERNATIVES``
    alternatives, which durable-rules would hang on."""
    derived = [] if derived is None else derived
    spec: dict[str, Any] = {}
    total = 1 if pack.hit_policy == "first" else 0  # the catch-all
    for rule in pack.rules if rules is None else rules:
        try:
            cond = compile_condition(rule.when, derived=derived)
        except PackError as exc:
            raise PackError([f"rule {rule.id} (line {rule.line}): {p}" for p in exc.problems]) from None
        except re2.error as exc:
            detail = exc.args[0].decode() if exc.args and isinstance(exc.args[0], bytes) else exc
            raise PackError(
                [f"rule {rule.id} (line {rule.line}): matches: not a valid RE2 regular expression: {detail}"]
            ) from None
        total += alternatives(cond)
        if bounded and total > MAX_ALTERNATIVES:
            raise PackError(
                [
                    f"rule {rule.id} (line {rule.line}): the rules for one event type expand to more than "
                    f"{MAX_ALTERNATIVES} condition alternatives (each rule, `any` branch, `in` value, `ne` "
                    "and `not_in` counts; the engine's limit): split the pack or pin rules to event types"
                ]
            )
        spec[rule.id] = {"all": [{"m": cond}], "pri": rule.priority}
    if pack.hit_policy == "first":  # events are consumed; the catch-all consumes the unmatched ones
        spec[CATCH_ALL] = {"all": [{"m": {MARKER: 1}}], "pri": 2**31 - 1}
    return spec


def rule_event_types(when: Mapping[str, Any]) -> frozenset[str] | None:
    """The event types a rule can match, when its condition pins ``event.type`` (a leaf ``eq``/``in``, alone
    or directly under ``all``); None when it can match any type."""
    for leaf in when.get("all", [when]):
        ops = leaf.get("event.type") if isinstance(leaf, Mapping) else None
        if isinstance(ops, Mapping):
            if "eq" in ops and isinstance(ops["eq"], str):
                return frozenset([ops["eq"]])
            if "in" in ops and all(isinstance(v, str) for v in ops["in"]):
                return frozenset(ops["in"])
    return None


class _Ruleset:
    """One durable-rules ruleset and how to build its messages. Not locked: CompiledPack locks."""

    def __init__(self, name: str, pack: Pack, rules: list[Rule]) -> None:
        self.first = pack.hit_policy == "first"
        self.derived: Derived = []
        self.definition = ruleset_definition(pack, self.derived, rules, bounded=True)
        compared = _compared_keys(self.definition)
        self.fields: list[tuple[str, str, tuple[str, ...], bool]] = []
        for dotted in sorted({p for r in rules for p in condition_paths(r.when)}):
            root, *path = dotted.split(".")
            key = dotted.replace(".", SEP)
            self.fields.append((key, root, tuple(path), key in compared))
        try:
            self.handle = durable_core.create_ruleset(name, json.dumps(self.definition, ensure_ascii=False))
        except Exception as exc:
            raise PackError([f"pack: durable-rules rejected the compiled ruleset: {exc}"]) from None
        self._finalizer = weakref.finalize(self, durable_core.delete_ruleset, self.handle)

    def message(self, event: Mapping[str, Any], facts: Mapping[str, Any]) -> dict[str, Any]:
        """The durable message: only what the conditions read (less to encode and match) — the raw fields
        durable compares, plus the computed existence / text / number fields."""
        message: dict[str, Any] = {"sid": SID, "id": 0, MARKER: 1} if self.first else {"sid": SID, "id": 0}
        values: dict[str, Any] = {}
        roots = {"event": event, "facts": facts}
        for key, root, path, raw in self.fields:
            value: Any = roots[root]
            for part in path:
                if type(value) is not dict and not isinstance(value, Mapping):
                    value = None
                    break
                value = value.get(part)
                if value is None:
                    break
            if value is not None:
                values[key] = value
                if raw:
                    message[key] = value
        for flag, key, op, arg in self.derived:
            value = values.get(key) if key in values else message.get(key)
            if op == "number":
                if type(value) in (int, float):
                    message[flag] = value
            elif value is None:
                message[flag] = False
            elif op == "exists":
                message[flag] = True
            elif op == "contains":
                message[flag] = (
                    (arg in value) if isinstance(value, list | tuple) else (str(arg) in str(value))
                )
            else:
                message[flag] = arg.search(str(value)) is not None
        return message

    def fire(self, message: dict[str, Any]) -> list[str]:
        """Assert the message, take every rule the engine fires (priority order), leave nothing behind."""
        handle = self.handle
        fired: list[str] = []
        text = _dumps(message)
        if self.first:
            code, state = durable_core.assert_event(handle, text)
        else:
            code, state = durable_core.assert_fact(handle, text)
        try:
            if code == RULES_OK:
                started = durable_core.start_action_for_state(handle, state)
                action = started[1] if started else None
                while action:
                    rule_id = action[2 : action.index('"', 2)]  # '{"<rule id>":{"m":{...}}}'
                    if rule_id not in fired:  # an "any"/"$or" rule fires once per true branch
                        fired.append(rule_id)
                    action = durable_core.complete_and_start_action(handle, state)
            elif code != NOT_HANDLED:
                raise RuntimeError(f"durable-rules returned code {code}")
        except BaseException:
            with contextlib.suppress(Exception):
                durable_core.abandon_action(handle, state)
            raise
        finally:
            if not self.first:
                durable_core.retract_fact(handle, text)
        if self.first:
            return [r for r in fired[:1] if r != CATCH_ALL]
        return fired


class CompiledPack:
    """A pack version compiled into durable-rules rulesets. Thread-safe.

    Rules that pin ``event.type`` are indexed by it: the pack gets one ruleset per event type its rules
    name (only those rules) and one for the rules that match any type; an event runs its type's ruleset and
    the any-type one, and the fired rules are merged in priority order (hit policy ``first``: the top one).

    The rulesets are driven through durable-rules' engine core (``durable_rules_engine``, the matcher that
    ``durable.engine.Host`` wraps) rather than through ``Host``: a ``Host`` starts two timer threads that
    never stop and that call ``start_action`` on every ruleset concurrently with synchronous posts (so a
    fired rule could be taken by the timer thread instead of the evaluation that caused it), and it
    round-trips the session state through JSON in Python for every fired rule. Here one evaluation is one
    locked sequence — assert, take every fired rule, retract — and the rulesets are deleted from the engine
    when the compiled pack is garbage (no evaluation can still be using it then).
    """

    _names = itertools.count()

    def __init__(self, pack: Pack, vocabulary: ActionVocabulary | None = None) -> None:
        self.pack = pack
        self.vocabulary = vocabulary
        self._plan = {r.id: _plan(r) for r in pack.rules}
        self._fixed = {
            rule_id: tuple(FiredAction(a, Params(lit), rule_id, pack.id, pack.version) for a, lit, _ in plan)
            for rule_id, plan in self._plan.items()
            if not any(computed for _, _, computed in plan)
        }
        self._lock = threading.Lock()
        self._seq = itertools.count()
        self.ruleset = f"{pack.id}.{pack.content_hash[7:19]}.{next(self._names)}"
        ruleset_definition(pack)  # every rule compiles (errors name rule and line), even if never routed
        pinned = {r.id: rule_event_types(r.when) for r in pack.rules}
        anywhere = [r for r in pack.rules if pinned[r.id] is None]
        types = sorted({t for ts in pinned.values() if ts for t in ts})
        if len(types) > MAX_EVENT_TYPES:  # each costs a ruleset (~65 KB in the engine)
            seen: set[str] = set()
            for rule in pack.rules:
                seen |= pinned[rule.id] or set()
                if len(seen) > MAX_EVENT_TYPES:
                    where = f"rule {rule.id} (line {rule.line})"
                    raise PackError([f"{where}: the pack names more than {MAX_EVENT_TYPES} event types"])
        self._by_type: dict[str, _Ruleset] = {}
        for i, event_type in enumerate(types):
            rules = [r for r in pack.rules if pinned[r.id] and event_type in pinned[r.id]]  # type: ignore[operator]
            self._by_type[event_type] = _Ruleset(f"{self.ruleset}.{i}", pack, rules)
        self._other = _Ruleset(f"{self.ruleset}.any", pack, anywhere) if anywhere else None
        self._order = {r.id: i for i, r in enumerate(pack.rules)}  # pack.rules is in priority order
        self.event_fields = pack_event_fields(pack)

    def rulesets(self) -> list[_Ruleset]:
        """The durable rulesets behind this pack (for inspection and tests)."""
        return [r for r in [*self._by_type.values(), self._other] if r is not None]

    def matching_rules(self, event: Mapping[str, Any], facts: Mapping[str, Any]) -> list[str]:
        """Ids of the rules the engine fires for this event, in firing (priority) order."""
        event_type = event.get("type")
        typed = self._by_type.get(event_type) if isinstance(event_type, str) else None
        rulesets = [r for r in (typed, self._other) if r is not None]
        fired: list[str] = []
        for ruleset in rulesets:
            message = ruleset.message(event, facts)
            with self._lock:
                message["id"] = next(self._seq)
                try:
                    fired += ruleset.fire(message)
                except RuntimeError as exc:
                    raise RuntimeError(f"pack {self.pack.id} version {self.pack.version}: {exc}") from None
        if len(rulesets) > 1:
            fired.sort(key=self._order.__getitem__)
            if self.pack.hit_policy == "first":
                fired = fired[:1]
        return fired

    def evaluate(self, event: Mapping[str, Any], facts: Mapping[str, Any] | None = None) -> list[FiredAction]:
        """Fired actions for one event, in priority order (empty when no rule matched)."""
        facts = facts or {}
        out: list[FiredAction] = []
        for rule_id in self.matching_rules(event, facts):
            fixed = self._fixed.get(rule_id)
            if fixed is not None:  # literal parameters only: the same immutable actions every time
                out.extend(fixed)
                continue
            for action, literal, computed in self._plan[rule_id]:
                out.append(self._computed(rule_id, action, literal, computed, event, facts))
        return out

    def _computed(
        self,
        rule_id: str,
        action: str,
        literal: Mapping[str, Any],
        computed: list[tuple[str, str]],
        event: Mapping[str, Any],
        facts: Mapping[str, Any],
    ) -> FiredAction:
        pack = self.pack
        params = dict(literal)
        for name, source in computed:
            try:
                params[name] = evaluate(source, event, facts)
            except (ExpressionError, ArithmeticError, TypeError, ValueError, KeyError) as exc:
                raise RuleEvaluationError(
                    f"pack {pack.id} version {pack.version} rule {rule_id}: "
                    f"params.{name} = {source!r} failed: {exc}"
                ) from None
        errors = self.vocabulary.errors(action, params) if computed and self.vocabulary is not None else []
        if errors:  # literal params were already checked when the pack was validated
            raise RuleEvaluationError(
                f"pack {pack.id} version {pack.version} rule {rule_id}: action {action}: {'; '.join(errors)}"
            )
        return FiredAction(action, Params(params), rule_id, pack.id, pack.version)


def _matches(expected: Mapping[str, Any], got: FiredAction) -> bool:
    if expected.get("action") != got.action:
        return False
    if "rule" in expected and expected["rule"] != got.rule_id:
        return False
    return all(got.params.get(k) == v for k, v in (expected.get("params") or {}).items())


@dataclass(frozen=True)
class PackTestResult:
    """One of a pack's own test cases, run."""

    name: str
    line: int
    passed: bool
    message: str
    fired: tuple[FiredAction, ...]

    @property
    def where(self) -> str:
        return f"test {self.name!r} (line {self.line})"


def run_pack_test_cases(compiled: CompiledPack) -> list[PackTestResult]:
    """Every test case of the pack: given event + facts, the actions expected (order-insensitive; an
    expectation's ``params`` must match the fired ones it names, ``rule`` is optional)."""
    results = []
    for test in compiled.pack.tests:
        try:
            fired = compiled.evaluate(test.event, test.facts)
        except RuleEvaluationError as exc:
            results.append(PackTestResult(test.name, test.line, False, exc.message, ()))
            continue
        unmatched = list(fired)
        missing = []
        for exp in test.expect:
            hit = next((f for f in unmatched if _matches(exp, f)), None)
            if hit is None:
                missing.append(exp)
            else:
                unmatched.remove(hit)
        message = ""
        if missing or unmatched:
            got = [f"{f.rule_id}→{f.action}{dict(f.params)}" for f in fired]
            message = f"expected {list(test.expect)}, got {got or 'no action'}"
        results.append(PackTestResult(test.name, test.line, not message, message, tuple(fired)))
    return results


def run_pack_tests(compiled: CompiledPack) -> list[str]:
    """Failures of the pack's own test cases (empty when they all pass), each naming the test and line."""
    return [f"{r.where}: {r.message}" for r in run_pack_test_cases(compiled) if not r.passed]


def compile_and_test(pack: Pack, vocabulary: ActionVocabulary | None) -> CompiledPack:
    """Compile a validated pack and run its own tests; PackError if anything fails."""
    compiled = CompiledPack(pack, vocabulary)
    failures = run_pack_tests(compiled)
    if failures:
        raise PackError(failures)
    return compiled
