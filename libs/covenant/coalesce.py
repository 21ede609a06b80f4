"""Group commit for unary calls: calls that arrive while one runs share the next unit of work.

A service whose unary mutation costs mostly per-transaction work (statements, commit, the events' delivery)
wraps it in a ``Coalescer``: the first call runs alone at once, as without it; calls arriving while a unit of
work is running queue up, and when it ends they run together as one (``run`` gets their items in arrival
order and returns one result, or an exception, per item). No call waits for a timer: under light load every
call runs alone; under concurrent load each transaction carries the calls that queued during the last one.

With ``fill_wait``, a group that gets its turn right after a unit ended first waits, at most that long, for
the callers of that unit to call again (a client that sends its next call as soon as the last one returns):
with four such callers, units alternate two and two, or one and three, without it, and carry all four with
it, so each unit's fixed cost (round trips, commit) is shared by twice as many calls. A group that fills
starts at once; one that waits in vain starts at the deadline, and then no group waits for
``fill_backoff`` seconds, so callers that pace their calls pay one wait a while, not one a call. A lone
caller never waits: the unit before it carried only itself.

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
        self.expect = 0  # items it waits for (up to ``fill_wait``) once it has its turn
        self.filled = threading.Event()  # it has ``expect`` items

    def guard(self) -> str | None:
        """Why the group's unit of work must not commit: only when no member may commit any more."""
        reasons = [g() for g in self.guards if g is not None]
        if len(reasons) < len(self.guards) or not all(reasons):
            return None
        return reasons[0]


class Coalescer(Generic[T, R]):
    """``coalescer(item)`` runs ``run([item, ...])`` for ``item`` and the calls queued with it, and returns
    this item's result (raising it when it is an exception). At most ``max_items`` items share a unit; with
    ``stall_after`` (seconds), the next group does not wait longer than that for the units running; with
    ``fill_wait`` (seconds), a group waits up to that long for the callers of the unit that just ended."""

    def __init__(
        self,
        run: Callable[[list[T]], Sequence[R | BaseException]],
        max_items: int = 100,
        stall_after: float | None = None,
        fill_wait: float | None = None,
        fill_backoff: float = 1.0,
    ) -> None:
        self._run = run
        self.max_items = max_items
        self.stall_after = stall_after
        self.fill_wait = fill_wait
        self.fill_backoff = fill_backoff
        self._ended = (float("-inf"), 0)  # when the last unit ended, and how many items it carried
        self._no_fill_until = float("-inf")  # after a fill wait in vain
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
            if group.expect and len(group.items) >= group.expect:
                group.filled.set()
        if index == 0:
            self._lead(group)
        else:
            group.done.wait()
        result = group.results[index]
        if isinstance(result, BaseException):
            raise result
        return result

    def _give_turn(self, group: _Group[T, R]) -> None:
        """(Under the lock.) With ``fill_wait``, right after a unit ended, the group expects that unit's
        callers back besides its own."""
        group.turned_at = now = time.monotonic()
        ended_at, carried = self._ended
        if self.fill_wait is not None and now - ended_at < self.fill_wait and now >= self._no_fill_until:
            group.expect = min(self.max_items, len(group.items) + carried)
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

    def _fill(self, group: _Group[T, R]) -> None:
        """Until ``group`` has the items it expects, or ``fill_wait`` from its turn (then no group waits
        for ``fill_backoff``)."""
        if self.fill_wait is None or len(group.items) >= group.expect:
            return
        if not group.filled.wait(max(0.0, group.turned_at + self.fill_wait - time.monotonic())):
            with self._lock:
                self._no_fill_until = time.monotonic() + self.fill_backoff

    def _lead(self, group: _Group[T, R]) -> None:
        self._wait_turn(group)
        self._fill(group)
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
                self._ended = (time.monotonic(), len(group.items))
                waiting = next((g for g in self._queue if not g.turn.is_set()), None)
                if waiting is not None:
                    self._give_turn(waiting)
