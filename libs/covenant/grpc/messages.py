"""Response messages from rows and domain objects."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def fields_of(source: Any, names: str) -> dict[str, Any]:
    """``{name: source.name}`` (``source[name]`` for a mapping) for each whitespace-separated name: the
    fields a message takes unchanged from an object with the same field names, as in
    ``pb.Case(**fields_of(row, "employee_id org_unit state"), opened_at=ts(row.opened_at))``."""
    if isinstance(source, Mapping):
        return {n: source[n] for n in names.split()}
    return {n: getattr(source, n) for n in names.split()}
