"""Safe parameter expressions in rule packs, e.g. ``{expr: "event.amount // 10000 * 5"}``.

A small whitelist over Python's syntax: literals, ``event.<field>`` / ``facts.<name>`` look-ups,
arithmetic, comparisons, boolean logic, ``x if c else y`` and the functions min, max, abs, round, int,
float, len, str. Nothing else parses, so a pack can never run arbitrary code.
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any

_BIN: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
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
    "round": round,
    "int": int,
    "float": float,
    "len": len,
    "str": str,
}


class ExpressionError(ValueError):
    """An expression that does not parse or fails to evaluate."""


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


@lru_cache(maxsize=4096)
def compile_expression(source: str) -> ast.Expression:
    """Parse and vet an expression (cached)."""
    try:
        tree = ast.parse(source, mode="eval")
    except SyntaxError as exc:
        raise ExpressionError(f"syntax error: {exc.msg}") from None
    _check(tree)
    return tree


def evaluate(source: str, event: Mapping[str, Any], facts: Mapping[str, Any]) -> Any:
    """Evaluate ``source`` over the event and facts."""
    return _eval(compile_expression(source).body, {"event": event, "facts": facts})


def _eval(node: ast.AST, scope: dict[str, Any]) -> Any:
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Name):
        return scope[node.id] if node.id in scope else _FUNCS[node.id]
    if isinstance(node, ast.Attribute):
        base = _eval(node.value, scope)
        if not isinstance(base, Mapping) or node.attr not in base:
            raise ExpressionError(f"no field {node.attr!r}")
        return base[node.attr]
    if isinstance(node, ast.BinOp):
        return _BIN[type(node.op)](_eval(node.left, scope), _eval(node.right, scope))
    if isinstance(node, ast.UnaryOp):
        value = _eval(node.operand, scope)
        return (
            -value
            if isinstance(node.op, ast.USub)
            else (+value if isinstance(node.op, ast.UAdd) else not value)
        )
    if isinstance(node, ast.BoolOp):
        values = (_eval(v, scope) for v in node.values)
        return all(values) if isinstance(node.op, ast.And) else any(values)
    if isinstance(node, ast.Compare):
        left = _eval(node.left, scope)
        for op, right_node in zip(node.ops, node.comparators, strict=True):
            right = _eval(right_node, scope)
            if not _CMP[type(op)](left, right):
                return False
            left = right
        return True
    if isinstance(node, ast.IfExp):
        return _eval(node.body, scope) if _eval(node.test, scope) else _eval(node.orelse, scope)
    if isinstance(node, ast.Call):
        return _eval(node.func, scope)(*[_eval(a, scope) for a in node.args])
    raise ExpressionError(f"{type(node).__name__} is not allowed")
