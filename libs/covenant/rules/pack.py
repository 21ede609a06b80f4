"""Rule packs: YAML text → validated ``Pack`` (schema, rule ids, actions, parameters, expressions).

Every problem is a ``PackError`` naming the rule (when there is one) and the YAML line, e.g.
``rule dwell-anomaly (line 14): unknown action 'raise_dwel_anomaly'``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from covenant.rules.bounds import PackError, check_yaml_bounds, pattern_problem
from covenant.rules.expr import ExpressionError, fold_constant
from covenant.rules.vocabulary import ActionVocabulary

SCHEMA_PATH = Path(__file__).with_name("pack.schema.json")


@cache
def schema_validator() -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(json.loads(SCHEMA_PATH.read_text()))


@dataclass(frozen=True)
class ActionCall:
    action: str
    params: Mapping[str, Any]


@dataclass(frozen=True)
class Rule:
    id: str
    priority: int
    when: Mapping[str, Any]
    then: tuple[ActionCall, ...]
    description: str = ""
    line: int = 0


@dataclass(frozen=True)
class Override:
    role: str | None
    org_unit_prefix: str | None
    value: Any


@dataclass(frozen=True)
class Parameter:
    name: str
    default: Any
    overrides: tuple[Override, ...] = ()

    def resolve(self, role: str | None, org_unit: str | None) -> Any:
        """The most specific matching override (role and prefix > longest prefix > role), else default."""
        best: tuple[int, Any] | None = None
        for o in self.overrides:
            if o.role is not None and o.role != role:
                continue
            if o.org_unit_prefix is not None:
                root = o.org_unit_prefix.rstrip("/")
                if not org_unit or not (org_unit == root or org_unit.startswith(root + "/")):
                    continue
            rank = (1000 if o.role else 0) + (len(o.org_unit_prefix) if o.org_unit_prefix else 0)
            if best is None or rank > best[0]:
                best = (rank, o.value)
        return self.default if best is None else best[1]


@dataclass(frozen=True)
class PackTest:
    name: str
    event: Mapping[str, Any]
    facts: Mapping[str, Any]
    expect: tuple[Mapping[str, Any], ...]
    line: int = 0


@dataclass(frozen=True)
class Pack:
    id: str
    version: str
    service: str
    owner: str
    description: str
    hit_policy: str
    events: tuple[str, ...]
    effective_from: date | None
    effective_to: date | None
    parameters: Mapping[str, Parameter]
    rules: tuple[Rule, ...]
    tests: tuple[PackTest, ...]
    source: str = field(repr=False, default="")
    content_hash: str = ""

    def in_force(self, day: date) -> bool:
        return (self.effective_from is None or day >= self.effective_from) and (
            self.effective_to is None or day <= self.effective_to
        )


def canonical_hash(document: Any) -> str:
    """sha256 of the pack's parsed content (formatting and comments do not change it)."""
    text = json.dumps(document, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def _lines(
    node: yaml.Node, path: tuple[Any, ...] = (), out: dict[tuple[Any, ...], int] | None = None
) -> dict:
    """YAML path → 1-based line number."""
    out = {} if out is None else out
    out[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            _lines(value, (*path, key.value), out)
    elif isinstance(node, yaml.SequenceNode):
        for i, value in enumerate(node.value):
            _lines(value, (*path, i), out)
    return out


_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _load_yaml(text: str) -> tuple[yaml.Node | None, Any]:
    """The YAML node tree (for line numbers) and the plain document, from one parse, once
    ``check_yaml_bounds`` has passed (so the recursive composer never sees deep or aliased input)."""
    check_yaml_bounds(text)
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        return node, (loader.construct_document(node) if node is not None else None)
    finally:
        loader.dispose()


def load_pack_yaml(text: str) -> Any:
    """The plain document of a pack's YAML, within the pack limits (``PackError`` otherwise). Every place that
    reads pack YAML (service, CLI) goes through here or ``parse_pack``."""
    try:
        return _load_yaml(text)[1]
    except PackError:
        raise
    except (ValueError, yaml.YAMLError) as exc:
        raise PackError([f"pack: YAML error: {getattr(exc, 'problem', exc)}"]) from None


def _where(rule_id: str | None, line: int | None) -> str:
    if rule_id:
        return f"rule {rule_id} (line {line})" if line else f"rule {rule_id}"
    return f"line {line}" if line else "pack"


def _deepest(err: jsonschema.ValidationError) -> jsonschema.ValidationError:
    """For oneOf/anyOf failures (condition trees), the sub-error deepest in the document: it points at the
    offending leaf and its line instead of at the whole ``when``."""
    while err.context:
        err = max(err.context, key=lambda e: len(e.absolute_path))
    return err


_TYPES: dict[str, tuple[type, ...]] = {
    "integer": (int,),
    "number": (int, float),
    "string": (str,),
    "boolean": (bool,),
    "list": (list,),
    "object": (dict,),
}


def _day(doc: dict[str, Any], key: str, lines: dict, problems: list[str]) -> date | None:
    value = doc.get(key)
    if not value:
        return None
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        problems.append(f"{_where(None, lines.get((key,)))}: {key}: {value!r} is not a date (YYYY-MM-DD)")
        return None


def _parameter_problems(name: str, spec: dict[str, Any], lines: dict) -> list[str]:
    """A typed parameter's default and override values must have its type."""
    kind = spec.get("type")
    if kind is None:
        return []
    allowed = _TYPES[kind]

    def ok(value: Any) -> bool:
        return isinstance(value, allowed) and not (isinstance(value, bool) and bool not in allowed)

    problems = []
    if not ok(spec["default"]):
        line = lines.get(("parameters", name, "default"))
        problems.append(f"parameter {name} (line {line}): default {spec['default']!r} is not {kind}")
    for i, o in enumerate(spec.get("overrides", [])):
        if not ok(o["value"]):
            line = lines.get(("parameters", name, "overrides", i, "value"))
            problems.append(f"parameter {name} (line {line}): override value {o['value']!r} is not {kind}")
    return problems


def _patterns(cond: Any) -> list[Any]:
    """Every ``matches`` argument in a condition tree (iterative; the tree's depth is already bounded)."""
    found, todo = [], [cond]
    while todo:
        node = todo.pop()
        if isinstance(node, list):
            todo.extend(node)
        elif isinstance(node, dict):
            for key, value in node.items():
                if key == "matches":
                    found.append(value)
                else:
                    todo.append(value)
    return found


def parse_pack(text: str, vocabulary: ActionVocabulary | None = None) -> Pack:
    """Parse and validate a pack. Raises PackError listing every problem, with rule ids and lines."""
    try:
        node, doc = _load_yaml(text)
    except ValueError as exc:  # e.g. an unquoted 2026-13-01, which YAML reads as a (bad) date
        raise PackError([f"pack: YAML value error: {exc}"]) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else None
        raise PackError(
            [f"{_where(None, line)}: YAML syntax error: {getattr(exc, 'problem', exc)}"]
        ) from None
    if not isinstance(doc, dict) or node is None:
        raise PackError(["pack: a rule pack is a YAML mapping"])
    lines = _lines(node)
    for key in ("effective_from", "effective_to"):  # YAML reads an unquoted 2026-01-01 as a date
        if isinstance(doc.get(key), date):
            doc[key] = doc[key].isoformat()
    problems: list[str] = []
    errors = [_deepest(e) for e in schema_validator().iter_errors(doc)]
    for err in sorted(errors, key=lambda e: list(map(str, e.absolute_path))):
        path = tuple(err.absolute_path)
        rule_id = None
        if len(path) >= 2 and path[0] == "rules" and isinstance(path[1], int):
            rules = doc.get("rules") or []
            rule_id = (
                rules[path[1]].get("id")
                if path[1] < len(rules) and isinstance(rules[path[1]], dict)
                else None
            )
        best = max((p for p in lines if path[: len(p)] == p), key=len, default=())
        where = _where(str(rule_id) if rule_id else None, lines.get(best))
        problems.append(f"{where}: schema: {'.'.join(map(str, path)) or 'pack'}: {err.message}")
    if problems:
        raise PackError(problems)
    if vocabulary is not None and vocabulary.service != doc["service"]:
        problems.append(
            f"pack: service {doc['service']!r} does not match the {vocabulary.service!r} vocabulary"
        )
    seen: dict[str, int] = {}
    rules: list[Rule] = []
    for i, r in enumerate(doc["rules"]):
        line = lines.get(("rules", i), 0)
        if r["id"] in seen:
            problems.append(f"{_where(r['id'], line)}: duplicate rule id (first at line {seen[r['id']]})")
        seen.setdefault(r["id"], line)
        for pattern in _patterns(r["when"]):
            if (problem := pattern_problem(str(pattern))) is not None:
                problems.append(f"{_where(r['id'], line)}: {problem}")
        calls = []
        for j, call in enumerate(r["then"]):
            params = call.get("params", {}) or {}
            cline = lines.get(("rules", i, "then", j), line)
            literal = {k: v for k, v in params.items() if not (isinstance(v, dict) and set(v) == {"expr"})}
            for k, v in params.items():
                if isinstance(v, dict) and set(v) == {"expr"}:
                    try:
                        fold_constant(str(v["expr"]))
                    except ExpressionError as exc:
                        problems.append(f"{_where(r['id'], cline)}: params.{k}: {exc}")
            if vocabulary is not None:
                if call["action"] not in vocabulary:
                    problems.append(f"{_where(r['id'], cline)}: {vocabulary.errors(call['action'], {})[0]}")
                else:  # computed parameters are checked when the rule fires
                    computed = [k for k in params if k not in literal]
                    problems += [
                        f"{_where(r['id'], cline)}: bad parameter {e}"
                        for e in vocabulary.errors(call["action"], literal, computed)
                    ]
            calls.append(ActionCall(call["action"], params))
        rules.append(
            Rule(
                r["id"], int(r.get("priority", 100)), r["when"], tuple(calls), r.get("description", ""), line
            )
        )
    params = {
        name: Parameter(
            name,
            spec["default"],
            tuple(
                Override(o["when"].get("role"), o["when"].get("org_unit_prefix"), o["value"])
                for o in spec.get("overrides", [])
            ),
        )
        for name, spec in (doc.get("parameters") or {}).items()
    }
    tests = tuple(
        PackTest(
            t["name"], t["event"], t.get("facts", {}) or {}, tuple(t["expect"]), lines.get(("tests", i), 0)
        )
        for i, t in enumerate(doc.get("tests") or [])
    )
    effective_from = _day(doc, "effective_from", lines, problems)
    effective_to = _day(doc, "effective_to", lines, problems)
    if effective_from and effective_to and effective_to < effective_from:
        where = _where(None, lines.get(("effective_to",)))
        problems.append(f"{where}: effective_to is before effective_from")
    for name, spec in (doc.get("parameters") or {}).items():
        problems += _parameter_problems(name, spec, lines)
    if problems:
        raise PackError(problems)
    return Pack(
        id=doc["id"],
        version=str(doc["version"]),
        service=doc["service"],
        owner=doc["owner"],
        description=doc.get("description", ""),
        hit_policy=doc.get("hit_policy", "collect"),
        events=tuple(doc.get("events") or ()),
        effective_from=effective_from,
        effective_to=effective_to,
        parameters=params,
        rules=tuple(sorted(rules, key=lambda r: (r.priority, r.line))),
        tests=tests,
        source=text,
        content_hash=canonical_hash(doc),
    )
