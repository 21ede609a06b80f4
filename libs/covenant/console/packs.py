"""Rule packs for people: readable conditions, parameter edits that yield a new version, a side-by-side
diff, and a dry-run summary in words ("14 × dwell-anomaly would no longer fire").

Nothing here decides anything: the owning service validates, tests, publishes and activates; the console
only prepares the candidate text and shows the service's answers (docs/console.md).
"""

from __future__ import annotations

import difflib
import io
import json
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import yaml
from ruamel.yaml import YAML
from ruamel.yaml.scalarstring import DoubleQuotedScalarString

OPERATORS = {
    "eq": "=",
    "ne": "≠",
    "gt": ">",
    "gte": "≥",
    "lt": "<",
    "lte": "≤",
    "in": "in",
    "not_in": "not in",
    "between": "between",
    "exists": "exists",
    "contains": "contains",
    "matches": "matches",
}


def load(source: str) -> dict[str, Any]:
    """The pack document (safe YAML, the service re-validates whatever is submitted)."""
    doc = yaml.safe_load(source)
    if not isinstance(doc, dict):
        raise ValueError("a rule pack is a YAML mapping")
    return doc


def describe_condition(cond: Any) -> str:
    """One line for a ``when`` tree: ``all``/``any``/``not`` and field → operator → value."""
    if isinstance(cond, Mapping):
        if "all" in cond:
            return " AND ".join(_group(c) for c in cond["all"])
        if "any" in cond:
            return " OR ".join(_group(c) for c in cond["any"])
        if "not" in cond:
            return f"NOT {_group(cond['not'])}"
        parts = []
        for fld, test in cond.items():
            if isinstance(test, Mapping):
                for op, value in test.items():
                    parts.append(f"{fld} {OPERATORS.get(op, op)} {_value(value)}")
            else:
                parts.append(f"{fld} = {_value(test)}")
        return " AND ".join(parts)
    return str(cond)


def _group(cond: Any) -> str:
    text = describe_condition(cond)
    return f"({text})" if (" AND " in text or " OR " in text) else text


def _value(value: Any) -> str:
    if isinstance(value, Mapping) and set(value) == {"expr"}:
        return f"⟨{value['expr']}⟩"
    if isinstance(value, Mapping) and set(value) == {"param"}:
        return f"⟨{value['param']}⟩"
    return json.dumps(value, ensure_ascii=False)


def describe_actions(then: Iterable[Mapping[str, Any]]) -> list[str]:
    out = []
    for call in then or []:
        params = call.get("params") or {}
        args = ", ".join(f"{k}={_value(v)}" for k, v in params.items())
        out.append(f"{call.get('action')}({args})")
    return out


@dataclass
class ParameterView:
    name: str
    type: str
    description: str
    default: Any
    overrides: list[dict[str, Any]] = field(default_factory=list)

    @property
    def scalar(self) -> bool:
        return self.type in ("number", "integer", "string", "boolean")


def parameters(doc: Mapping[str, Any]) -> list[ParameterView]:
    out = []
    for name, spec in (doc.get("parameters") or {}).items():
        spec = spec or {}
        overrides = []
        for o in spec.get("overrides") or []:
            when = o.get("when") or {}
            overrides.append(
                {
                    "role": when.get("role", ""),
                    "org_unit_prefix": when.get("org_unit_prefix", ""),
                    "value": o.get("value"),
                }
            )
        out.append(
            ParameterView(
                name=name,
                type=str(spec.get("type", "")),
                description=str(spec.get("description", "")),
                default=spec.get("default"),
                overrides=overrides,
            )
        )
    return out


class EditError(ValueError):
    """A form value that does not fit the parameter (names the parameter)."""


def _coerce(kind: str, raw: str, name: str) -> Any:
    raw = raw.strip()
    try:
        if kind == "integer":
            return int(raw)
        if kind == "number":
            value = float(raw)
            if value != value or value in (float("inf"), float("-inf")):
                raise ValueError
            return int(value) if value.is_integer() else value
        if kind == "boolean":
            if raw.lower() not in ("true", "false"):
                raise ValueError
            return raw.lower() == "true"
        if kind == "string":
            return raw
        return json.loads(raw)
    except ValueError:
        raise EditError(f"parameter {name}: {raw!r} is not a valid {kind}") from None


def apply_parameter_form(source: str, form: Mapping[str, str], version: str) -> str:
    """``source`` with parameter defaults and overrides taken from the edit form and the new ``version``.

    Changed values are patched in place on their own lines (positions from a ruamel.yaml round-trip load),
    so comments, wrapping and every other line stay exactly as the author wrote them and the approver's
    diff shows only what changed. Adding or removing an override changes structure: the document is then
    written back by ruamel.yaml, which keeps comments but may re-wrap long lines.

    Form fields: ``p.<name>.default``, ``p.<name>.o.<i>.value`` (empty removes that override),
    ``p.<name>.o.new.role`` / ``.org_unit_prefix`` / ``.value`` to add one.
    """
    yaml_rt = YAML(typ="rt")
    yaml_rt.width = 110  # the shipped packs wrap at 110 too
    yaml_rt.preserve_quotes = True
    yaml_rt.indent(mapping=2, sequence=4, offset=2)  # the shipped packs' layout
    doc = yaml_rt.load(source)
    if not isinstance(doc, dict):
        raise EditError("a rule pack is a YAML mapping")
    patches: list[tuple[Any, Any, Any]] = [(doc, "version", version)]  # (mapping, key, new value)
    structural = False
    for name, spec in (doc.get("parameters") or {}).items():
        kind = str(spec.get("type", ""))
        key = f"p.{name}.default"
        if key in form:
            patches.append((spec, "default", _coerce(kind, form[key], name)))
        overrides = spec.get("overrides") or []
        for i in reversed(range(len(overrides))):
            raw = form.get(f"p.{name}.o.{i}.value")
            if raw is None:
                continue
            if raw.strip():
                patches.append((overrides[i], "value", _coerce(kind, raw, name)))
            else:
                del overrides[i]
                structural = True
        raw_new = (form.get(f"p.{name}.o.new.value") or "").strip()
        if raw_new:
            when = {}
            if (form.get(f"p.{name}.o.new.role") or "").strip():
                when["role"] = form[f"p.{name}.o.new.role"].strip()
            if (form.get(f"p.{name}.o.new.org_unit_prefix") or "").strip():
                when["org_unit_prefix"] = form[f"p.{name}.o.new.org_unit_prefix"].strip()
            if not when:
                raise EditError(f"parameter {name}: a new override needs a role or an org unit prefix")
            if "overrides" not in spec:
                spec["overrides"] = []
            spec["overrides"].append({"when": when, "value": _coerce(kind, raw_new, name)})
            structural = True
        if "overrides" in spec and not spec["overrides"]:
            del spec["overrides"]
    if not structural:
        patched = _patch_in_place(source, patches)
        if patched is not None:
            return patched
    for mapping, key, value in patches:
        mapping[key] = DoubleQuotedScalarString(value) if key == "version" else value
    out = io.StringIO()
    yaml_rt.dump(doc, out)
    return out.getvalue()


_SCALAR_END = re.compile(r"""("(?:[^"\\]|\\.)*"|'(?:[^']|'')*'|[^,}\]\s#]*(?:\s+[^,}\]\s#]+)*)""")


def _render_scalar(value: Any, quoted: bool) -> str | None:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return json.dumps(value)
    if isinstance(value, str):
        plain = not quoted and value and value == value.strip()
        return value if plain else json.dumps(value, ensure_ascii=False)
    return None  # objects and lists: written back whole


def _patch_in_place(source: str, patches: list[tuple[Any, Any, Any]]) -> str | None:
    """Each (mapping, key, value) written over the old scalar on its line; None when one is not a one-line
    scalar (then the caller writes the whole document)."""
    lines = source.splitlines(keepends=True)
    edits: list[tuple[int, int, int, str]] = []
    for mapping, key, value in patches:
        try:
            line, col = mapping.lc.value(key)
        except (AttributeError, KeyError, TypeError):
            return None
        text = lines[line]
        match = _SCALAR_END.match(text, col)
        if match is None or not match.group(0):
            return None
        old = match.group(0)
        rendered = _render_scalar(value, quoted=old[:1] in "\"'" or key == "version")
        if rendered is None:
            return None
        if old != rendered:
            edits.append((line, col, col + len(old), rendered))
    for line, start, end, rendered in sorted(edits, reverse=True):
        lines[line] = lines[line][:start] + rendered + lines[line][end:]
    return "".join(lines)


_VERSION = re.compile(r"^(\d{4})\.(\d{1,2})\.(\d+)$")


def next_version(existing: Iterable[str], today: date) -> str:
    """``YYYY.M.N`` for ``today``: one past the highest version of this month (versions sort as numbers)."""
    prefix = (today.year, today.month)
    highest = 0
    for v in existing:
        m = _VERSION.match(v)
        if m and (int(m.group(1)), int(m.group(2))) == prefix:
            highest = max(highest, int(m.group(3)))
    return f"{today.year}.{today.month}.{highest + 1}"


def dump(doc: Mapping[str, Any]) -> str:
    return yaml.safe_dump(dict(doc), sort_keys=False, allow_unicode=True, width=110)


@dataclass(frozen=True)
class DiffRow:
    left_no: int | None
    left: str
    right_no: int | None
    right: str
    kind: str  # same, changed, added, removed


def side_by_side(a: str, b: str, context: int | None = None) -> list[DiffRow]:
    """Rows for a two-column diff of ``a`` and ``b`` (line numbers from 1). With ``context``, runs of
    unchanged lines longer than twice that are folded into one ``skip`` row saying how many lines."""
    rows = _side_by_side(a, b)
    if context is None:
        return rows
    keep = [False] * len(rows)
    for i, r in enumerate(rows):
        if r.kind != "same":
            for j in range(max(0, i - context), min(len(rows), i + context + 1)):
                keep[j] = True
    out: list[DiffRow] = []
    skipped = 0
    for r, k in zip(rows, keep, strict=True):
        if k:
            if skipped:
                out.append(DiffRow(None, f"… {skipped}", None, f"… {skipped}", "skip"))
                skipped = 0
            out.append(r)
        else:
            skipped += 1
    if skipped:
        out.append(DiffRow(None, f"… {skipped}", None, f"… {skipped}", "skip"))
    return out


def _side_by_side(a: str, b: str) -> list[DiffRow]:
    la, lb = a.splitlines(), b.splitlines()
    rows: list[DiffRow] = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(a=la, b=lb, autojunk=False).get_opcodes():
        if tag == "equal":
            rows += [DiffRow(i1 + k + 1, la[i1 + k], j1 + k + 1, lb[j1 + k], "same") for k in range(i2 - i1)]
            continue
        n = max(i2 - i1, j2 - j1)
        for k in range(n):
            left = i1 + k < i2
            right = j1 + k < j2
            kind = "changed" if left and right else ("removed" if left else "added")
            rows.append(
                DiffRow(
                    i1 + k + 1 if left else None,
                    la[i1 + k] if left else "",
                    j1 + k + 1 if right else None,
                    lb[j1 + k] if right else "",
                    kind,
                )
            )
    return rows


@dataclass(frozen=True)
class DryRunLine:
    rule_id: str
    action: str
    count: int
    direction: str  # "removed" (would no longer fire) or "added" (would newly fire)


def summarize_dry_run(results: Sequence[Any]) -> list[DryRunLine]:
    """Changed dry-run results, counted per (rule, action) that would stop or start firing."""
    removed: Counter[tuple[str, str]] = Counter()
    added: Counter[tuple[str, str]] = Counter()
    for r in results:
        if not r.changed:
            continue
        before = Counter((a.rule_id, a.action) for a in r.active_actions)
        after = Counter((a.rule_id, a.action) for a in r.candidate_actions)
        removed.update(before - after)
        added.update(after - before)
    lines = [DryRunLine(rule, action, n, "removed") for (rule, action), n in removed.items()]
    lines += [DryRunLine(rule, action, n, "added") for (rule, action), n in added.items()]
    return sorted(lines, key=lambda x: (x.direction, -x.count, x.rule_id))
