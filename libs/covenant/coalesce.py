"""Group commit for unary calls: calls that arrive while one runs share the next unit of work.

A service whose unary mutation costs mostly per-transaction work (statements, commit, the events' delivery)
wraps it in a ``Coalescer``: the first call runs alone at once, as without it; calls arriving while a unit of
work is running queue up, and when it ends they run together as one (``run`` gets their items in arrival
order and returns one result, or an exception, per item). No call waits for a timer: under light load every
call runs alone; under concurrent load each transaction carries the calls that queued during the last one.

Each unit of work runs on the thread of its first call (the group's leader), under a commit guard that
refuses only when every call of the group may no longer commit (``covenant.db.engine.commit_guard``: each
member's own guard, captured when it queued; the drain grace expiring refuses for all). A call cancelled by
its own client while its group commits is committed as if the cancel had come a moment later; its retry
with the same request id finds it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

from covenant.db.engine import commit_guard

T = TypeVar("T")
R = TypeVar("R")


class _Group(Generic[T, R]):
    def __init__(self, first_turn: bool) -> None:
        self.items: list[T] = []
        self.guards: list[Callable[[], str | None] | None] = []
        self.turn = threading.Event()  # set when the unit before it has ended
        if first_turn:
            self.turn.set()
        self.done = threading.Event()
        self.results: Sequence[R | BaseException] = ()
        self.closed = False  # its unit of work has started: no one joins any more

    def guard(self) -> str | None:
        """Why the group's unit of work must not commit: only when no member may commit any more."""
        reasons = [g() for g in self.guards if g is not None]
        if len(reasons) < len(self.guards) or not all(reasons):
            return None
        return reasons[0]


class Coalescer(Generic[T, R]):
    """``coalescer(item)`` runs ``run([item, ...])`` for ``item`` and the calls queued with it, and returns
    this item's result (raising it when it is an exception). At most ``max_items`` items share a unit."""

    def __init__(self, run: Callable[[list[T]], Sequence[R | BaseException]], max_items: int = 100) -> None:
        self._run = run
        self.max_items = max_items
        self._lock = threading.Lock()
        self._busy = False  # a unit of work is running
        self._queue: list[_Group[T, R]] = []  # groups waiting for their turn, oldest first

    def __call__(self, item: T) -> R:
        with self._lock:
            group = self._queue[-1] if self._queue else None
            if group is None or group.closed or len(group.items) >= self.max_items:
                group = _Group(first_turn=not self._busy)
                self._busy = True
                self._queue.append(group)
            index = len(group.items)
            group.items.append(item)
            group.guards.append(commit_guard.get())
        if index == 0:
            self._lead(group)
        else:
            group.done.wait()
        result = group.results[index]
        if isinstance(result, BaseException):
            raise result
        return result

    def _lead(self, group: _Group[T, R]) -> None:
        group.turn.wait()
        with self._lock:
            group.closed = True
            self._queue.remove(group)
        token = commit_guard.set(group.guard)
        try:
            results = self._run(group.items)
            if len(results) != len(group.items):
                raise RuntimeError(f"run returned {len(results)} results for {len(group.items)} items")
            group.results = results
        except BaseException as exc:  # every member of the group gets it
            group.results = [exc] * len(group.items)
        finally:
            commit_guard.reset(token)
            group.done.set()
            with self._lock:
                if self._queue:
                    self._queue[0].turn.set()
                else:
                    self._busy = False
