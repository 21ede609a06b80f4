"""Safe parameter expressions in rule packs, e.g. ``{expr: "event.amount // 10000 * 5"}``.

A small whitelist over Python's syntax: literals, ``event.<field>`` / ``facts.<name>`` look-ups,
arithmetic, comparisons, boolean logic, ``x if c else y`` and the functions min, max, abs, round, int,
float, len, str. Nothing else parses, so a pack can never run arbitrary code.

Bounded (docs/rule-packs.md): the source length, the number of syntax nodes and their nesting, every string
and collection a step produces (checked *before* ``'x' * 1500000000`` allocates anything), integers (64-bit),
floats (finite), ``round`` digits, and the wall time of one evaluation. There is no power operator.
"""

from __future__ import annotations

import ast
import math
import operator
import time
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any

_BIN: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: lambda a, b: _add(a, b),
    ast.Sub: operator.sub,
    ast.Mult: lambda a, b: _mul(a, b),
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: lambda a, b: _mod(a, b),
}
_CMP: dict[type, Callable[[Any, Any], Any]] = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
}
_FUNCS: dict[str, Callable[..., Any]] = {
    "min": min,
    "max": max,
    "abs": abs,
    "round": lambda *a: _round(*a),
    "int": lambda *a: _int(*a),
    "float": float,
    "len": len,
    "str": lambda *a: _str(*a),
}


MAX_SOURCE_CHARS = 1000
MAX_NODES = 200
MAX_DEPTH = 24
MAX_STR_CHARS = 10_000
MAX_ITEMS = 10_000
MAX_INT = 2**63 - 1
MAX_SECONDS = 1.0  # wall time of one evaluation: generous, so machine load never trips it
MAX_STEPS = 2_000  # node evaluations of one evaluation (deterministic)


class ExpressionError(ValueError):
    """An expression that does not parse or fails to evaluate."""


def _size(value: Any) -> None:
    """Refuse a value over the bounds (strings, collections, integers, floats)."""
    if isinstance(value, bool):
        return
    if isinstance(value, int):
        if not -MAX_INT - 1 <= value <= MAX_INT:
            raise ExpressionError("integer result out of the 64-bit range")
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise ExpressionError("result is not a finite number")
    elif isinstance(value, str):
        if len(value) > MAX_STR_CHARS:
            raise ExpressionError(f"string result longer than {MAX_STR_CHARS} characters")
    elif isinstance(value, list | tuple | dict | set | frozenset) and len(value) > MAX_ITEMS:
        raise ExpressionError(f"collection result larger than {MAX_ITEMS} items")


def _length(value: Any) -> int | None:
    return len(value) if isinstance(value, str | list | tuple) else None


def _mul(a: Any, b: Any) -> Any:
    """``*`` refusing repetition of a string or list beyond the bounds before allocating it."""
    for seq, n in ((a, b), (b, a)):
        size = _length(seq)
        if size is not None and isinstance(n, int):
            limit = MAX_STR_CHARS if isinstance(seq, str) else MAX_ITEMS
            if n > 0 and size * n > limit:
                raise ExpressionError(f"repetition would make {size * n} items (limit {limit})")
    return operator.mul(a, b)


def _add(a: Any, b: Any) -> Any:
    la, lb = _length(a), _length(b)
    if la is not None and lb is not None and la + lb > max(MAX_STR_CHARS, MAX_ITEMS):
        raise ExpressionError("concatenation result too large")
    return operator.add(a, b)


def _mod(a: Any, b: Any) -> Any:
    if isinstance(a, str | bytes):  # printf-style formatting: '%999999999d' % 1 would allocate a gigabyte
        raise ExpressionError("% is arithmetic only (no string formatting)")
    return operator.mod(a, b)


def _round(number: Any, digits: Any = None) -> Any:
    if digits is not None and (not isinstance(digits, int) or abs(digits) > 20):
        raise ExpressionError("round() digits must be an integer between -20 and 20")
    return round(number) if digits is None else round(number, digits)


def _str(value: Any = "") -> str:
    """``str`` of a scalar only: the text of a whole event or fact set is nothing a parameter needs."""
    if isinstance(value, Mapping | list | tuple | set):
        raise ExpressionError("str() takes a single value, not a mapping or a list")
    return str(value)


def _int(value: Any = 0) -> int:
    if isinstance(value, str) and len(value) > 32:
        raise ExpressionError("int() of a string longer than 32 characters")
    return int(value)


def _check(node: ast.AST) -> None:
    allowed = (
        ast.Expression,
        ast.Constant,
        ast.Name,
        ast.Load,
        ast.Attribute,
        ast.BinOp,
        ast.UnaryOp,
        ast.USub,
        ast.UAdd,
        ast.Not,
        ast.BoolOp,
        ast.And,
        ast.Or,
        ast.Compare,
        ast.IfExp,
        ast.Call,
        *_BIN,
        *_CMP,
    )
    for child in ast.walk(node):
        if not isinstance(child, allowed):
            raise ExpressionError(f"{type(child).__name__} is not allowed in an expression")
        if isinstance(child, ast.Name) and child.id not in ("event", "facts", *_FUNCS):
            raise ExpressionError(f"unknown name {child.id!r} (use event.<field> or facts.<name>)")
        if isinstance(child, ast.Call) and not (isinstance(child.func, ast.Name) and child.func.id in _FUNCS):
            raise ExpressionError("only min, max, abs, round, int, float, len and str may be called")
        if isinstance(child, ast.Attribute) and child.attr.startswith("_"):
            raise ExpressionError("private attributes are not allowed")


def _depth(node: ast.AST) -> int:
    """Nesting depth of the syntax tree, iteratively (never recursing on hostile input)."""
    deepest, todo = 0, [(node, 1)]
    while todo:
        current, depth = todo.pop()
        deepest = max(deepest, depth)
        todo.extend((child, depth + 1) for child in ast.iter_child_nodes(current))
    return deepest


@lru_cache(maxsize=4096)
def compile_expression(source: str) -> ast.Expression:
    """Parse and vet an expression (cached)."""
    if len(source) > MAX_SOURCE_CHARS:
        raise ExpressionError(f"longer than {MAX_SOURCE_CHARS} characters")
    try:
        tree = ast.parse(source, mode="eval")
    except SyntaxError as exc:
        raise ExpressionError(f"syntax error: {exc.msg}") from None
    except (RecursionError, MemoryError, ValueError):
        raise ExpressionError("too deeply nested") from None
    if sum(1 for _ in ast.walk(tree)) > MAX_NODES:
        raise ExpressionError(f"more than {MAX_NODES} syntax nodes")
    if _depth(tree) > MAX_DEPTH:
        raise ExpressionError(f"nested deeper than {MAX_DEPTH} levels")
    _check(tree)
    return tree


def event_fields(source: str) -> frozenset[str] | None:
    """The ``event.<field>`` names an expression reads; None when it reads the event as a whole."""
    tree = compile_expression(source)
    fields: set[str] = set()
    attached: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "event":
            fields.add(node.attr)
            attached.add(id(node.value))
    if any(isinstance(n, ast.Name) and n.id == "event" and id(n) not in attached for n in ast.walk(tree)):
        return None
    return frozenset(fields)


def _reads_input(tree: ast.AST) -> bool:
    return any(isinstance(n, ast.Name) and n.id in ("event", "facts") for n in ast.walk(tree))


def fold_constant(source: str) -> None:
    """Evaluate an expression that reads neither ``event`` nor ``facts`` once, at validation, so a pack whose
    constant expression breaks a bound (``'x' * 1500000000``) is refused before it is published."""
    tree = compile_expression(source)
    if not _reads_input(tree):
        try:
            evaluate(source, {}, {})
        except ExpressionError:
            raise
        except (ArithmeticError, TypeError, ValueError, KeyError) as exc:
            raise ExpressionError(f"{type(exc).__name__}: {exc}") from None


class _Budget:
    """The bounds on one evaluation's work: a step count (deterministic) and a wall-time deadline."""

    __slots__ = ("deadline", "steps")

    def __init__(self) -> None:
        self.deadline = time.perf_counter() + MAX_SECONDS
        self.steps = 0

    def check(self) -> None:
        self.steps += 1
        if self.steps > MAX_STEPS:
            raise ExpressionError(f"evaluation took more than {MAX_STEPS} steps")
        if self.steps % 64 == 0 and time.perf_counter() > self.deadline:
            raise ExpressionError(f"evaluation took longer than {MAX_SECONDS:g} s")


def evaluate(source: str, event: Mapping[str, Any], facts: Mapping[str, Any]) -> Any:
    """Evaluate ``source`` over the event and facts."""
    return _eval(compile_expression(source).body, {"event": event, "facts": facts}, _Budget())


def _eval(node: ast.AST, scope: dict[str, Any], budget: _Budget) -> Any:
    value = _step(node, scope, budget)
    _size(value)
    budget.check()
    return value


def _step(node: ast.AST, scope: dict[str, Any], budget: _Budget) -> Any:
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Name):
        return scope[node.id] if node.id in scope else _FUNCS[node.id]
    if isinstance(node, ast.Attribute):
        base = _eval(node.value, scope, budget)
        if not isinstance(base, Mapping) or node.attr not in base:
            raise ExpressionError(f"no field {node.attr!r}")
        return base[node.attr]
    if isinstance(node, ast.BinOp):
        return _BIN[type(node.op)](_eval(node.left, scope, budget), _eval(node.right, scope, budget))
    if isinstance(node, ast.UnaryOp):
        value = _eval(node.operand, scope, budget)
        return (
            -value
            if isinstance(node.op, ast.USub)
            else (+value if isinstance(node.op, ast.UAdd) else not value)
        )
    if isinstance(node, ast.BoolOp):
        values = (_eval(v, scope, budget) for v in node.values)
        return all(values) if isinstance(node.op, ast.And) else any(values)
    if isinstance(node, ast.Compare):
        left = _eval(node.left, scope, budget)
        for op, right_node in zip(node.ops, node.comparators, strict=True):
            right = _eval(right_node, scope, budget)
            if not _CMP[type(op)](left, right):
                return False
            left = right
        return True
    if isinstance(node, ast.IfExp):
        test = _eval(node.test, scope, budget)
        return _eval(node.body, scope, budget) if test else _eval(node.orelse, scope, budget)
    if isinstance(node, ast.Call):
        func = _eval(node.func, scope, budget)
        return func(*[_eval(a, scope, budget) for a in node.args])
    raise ExpressionError(f"{type(node).__name__} is not allowed")
