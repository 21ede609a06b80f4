"""Response messages from rows and domain objects (and rows from request messages)."""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from typing import Any


def fields_of(source: Any, names: str, ints: str = "") -> dict[str, Any]:
    """``{name: source.name}`` (``source[name]`` for a mapping) for each whitespace-separated name in
    ``names``, and ``int(...)`` of it for each in ``ints`` (database numerics): the fields a message takes
    from an object with the same field names, as in
    ``pb.Case(**fields_of(row, "employee_id org_unit state"), opened_at=ts(row.opened_at))``."""
    get = source.__getitem__ if isinstance(source, Mapping) else partial(getattr, source)
    return {**{n: get(n) for n in names.split()}, **{n: int(get(n)) for n in ints.split()}}
