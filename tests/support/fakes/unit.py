"""The unit of work of the in-memory stores: committed state plus one open unit that commits on success."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Generic, Self, TypeVar

S = TypeVar("S")


class FakeUnits(Generic[S]):
    """Committed ``state`` plus one open unit of work (``unit``): a unit that raises leaves no trace."""

    def __init__(self, state: S) -> None:
        self.state = state
        self._work: S | None = None
        self.units_opened = 0  # units of work begun (a test can tell one transaction from several)

    @contextmanager
    def unit(self) -> Iterator[Self]:
        self.units_opened += 1
        self._work = copy.deepcopy(self.state)
        try:
            yield self
            self.state = self._work
        finally:
            self._work = None

    @property
    def _s(self) -> S:
        assert self._work is not None, "outside a unit of work"
        return self._work
