"""Group commit for unary calls: calls that arrive while one runs share the next unit of work.

A service whose unary mutation costs mostly per-transaction work (statements, commit, the events' delivery)
wraps it in a ``Coalescer``: the first call runs alone at once, as without it; calls arriving while a unit of
work is running queue up, and when it ends they run together as one (``run`` gets their items in arrival
order and returns one result, or an exception, per item). No call waits for a timer: under light load every
call runs alone; under concurrent load each transaction carries the calls that queued during the last one.

A unit that has run for ``stall_after`` seconds (waiting on a lock, say) no longer holds the others back: the
next group starts beside it, so one slow unit delays every caller by at most that long, not by as long as it
takes. Units running side by side are as safe as two processes: the unit of work takes its own locks.

Each unit of work runs on the thread of its first call (the group's leader), under a commit guard that
refuses only when every call of the group may no longer commit (``covenant.db.engine.commit_guard``: each
member's own guard, captured when it queued; the drain grace expiring refuses for all). A call cancelled by
its own client while its group commits is committed as if the cancel had come a moment later; its retry
with the same request id finds it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

from covenant.db.engine import commit_guard

T = TypeVar("T")
R = TypeVar("R")


class _Group(Generic[T, R]):
    def __init__(self) -> None:
        self.items: list[T] = []
        self.guards: list[Callable[[], str | None] | None] = []
        self.turn = threading.Event()  # set when the unit before it has ended (or stalled)
        self.turned_at = 0.0  # when it got its turn (time.monotonic)
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
    this item's result (raising it when it is an exception). At most ``max_items`` items share a unit; with
    ``stall_after`` (seconds), the next group does not wait longer than that for the units running."""

    def __init__(
        self,
        run: Callable[[list[T]], Sequence[R | BaseException]],
        max_items: int = 100,
        stall_after: float | None = None,
    ) -> None:
        self._run = run
        self.max_items = max_items
        self.stall_after = stall_after
        self._lock = threading.Lock()
        self._running: list[_Group[T, R]] = []  # groups given their turn, until their unit ends
        self._queue: list[_Group[T, R]] = []  # groups not started yet, oldest first

    def __call__(self, item: T) -> R:
        with self._lock:
            group = self._queue[-1] if self._queue else None
            if group is None or group.closed or len(group.items) >= self.max_items:
                group = _Group()
                self._queue.append(group)
                if not self._running:
                    self._give_turn(group)
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

    def _give_turn(self, group: _Group[T, R]) -> None:
        """(Under the lock.)"""
        group.turned_at = time.monotonic()
        self._running.append(group)
        group.turn.set()

    def _wait_turn(self, group: _Group[T, R]) -> None:
        """Until the unit before ``group`` ends, or, with ``stall_after``, until every running unit has run
        that long while ``group`` is the first waiting."""
        stall = self.stall_after
        if stall is None:
            group.turn.wait()
            return
        while not group.turn.wait(stall):
            with self._lock:
                if group.turn.is_set():
                    return
                now = time.monotonic()
                first = next(g for g in self._queue if not g.turn.is_set())
                if first is group and all(now - g.turned_at >= stall for g in self._running):
                    self._give_turn(group)

    def _lead(self, group: _Group[T, R]) -> None:
        self._wait_turn(group)
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
                self._running.remove(group)
                waiting = next((g for g in self._queue if not g.turn.is_set()), None)
                if waiting is not None:
                    self._give_turn(waiting)
