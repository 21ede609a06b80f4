"""Filling protobuf messages from rows and domain objects."""

from __future__ import annotations

from typing import Any


def same(obj: Any, names: str) -> dict[str, Any]:
    """``name=obj.name`` (``obj[name]`` for a dict) for each of the space-separated ``names``: the keyword
    arguments of a message whose fields are named as ``obj``'s."""
    return {n: obj[n] if isinstance(obj, dict) else getattr(obj, n) for n in names.split()}
