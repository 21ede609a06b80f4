"""Group commit (``covenant.coalesce``): calls arriving while a unit of work runs share the next one."""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable

import pytest

from covenant.coalesce import Coalescer
from covenant.db.engine import commit_guard


def _queued_behind_a_running_unit(
    coalescer: Coalescer[str, str], started: threading.Event, later: list[str]
) -> tuple[dict[str, object], Callable[[], None]]:
    """Start ``first`` (its unit blocks until released), then ``later`` while it runs; returns each call's
    result or exception, and the function that releases the first unit and waits for every call."""
    got: dict[str, object] = {}

    def call(item: str) -> None:
        try:
            got[item] = coalescer(item)
        except Exception as exc:
            got[item] = exc

    threads = [threading.Thread(target=call, args=("first",))]
    threads[0].start()
    assert started.wait(5)
    for item in later:
        threads.append(threading.Thread(target=call, args=(item,)))
        threads[-1].start()
    deadline = time.monotonic() + 5
    while len(coalescer._queue[0].items if coalescer._queue else ()) < len(later):
        assert time.monotonic() < deadline, "the later calls did not queue"
        time.sleep(0.005)

    def finish() -> None:
        for t in threads:
            t.join(5)

    return got, finish


def test_a_lone_call_runs_at_once_in_a_unit_of_its_own() -> None:
    units: list[list[str]] = []
    c: Coalescer[str, str] = Coalescer(lambda items: units.append(list(items)) or [i.upper() for i in items])
    assert c("a") == "A" and c("b") == "B"
    assert units == [["a"], ["b"]]


def test_calls_arriving_while_a_unit_runs_share_the_next_and_each_gets_its_own_result() -> None:
    units: list[list[str]] = []
    started, release = threading.Event(), threading.Event()

    def run(items: list[str]) -> list[str | BaseException]:
        units.append(list(items))
        if items == ["first"]:
            started.set()
            release.wait(5)
        return [ValueError(i) if i.startswith("bad") else i.upper() for i in items]

    c: Coalescer[str, str] = Coalescer(run)
    got, finish = _queued_behind_a_running_unit(c, started, ["x", "bad-y", "z"])
    release.set()
    finish()
    assert units[0] == ["first"] and sorted(units[1]) == ["bad-y", "x", "z"] and len(units) == 2
    assert got["first"] == "FIRST" and got["x"] == "X" and got["z"] == "Z"
    assert isinstance(got["bad-y"], ValueError) and str(got["bad-y"]) == "bad-y"  # only its own caller


def test_a_failing_unit_fails_its_own_calls_and_the_next_unit_still_runs() -> None:
    started, release = threading.Event(), threading.Event()

    def run(items: list[str]) -> list[str]:
        if items == ["first"]:
            started.set()
            release.wait(5)
            raise RuntimeError("database went away")
        return [i.upper() for i in items]

    c: Coalescer[str, str] = Coalescer(run)
    got, finish = _queued_behind_a_running_unit(c, started, ["x"])
    release.set()
    finish()
    assert isinstance(got["first"], RuntimeError) and got["x"] == "X"
    assert c("y") == "Y" and not c._running and not c._queue


def test_at_most_max_items_share_a_unit() -> None:
    units: list[int] = []
    started, release = threading.Event(), threading.Event()

    def run(items: list[str]) -> list[str]:
        units.append(len(items))
        if items == ["first"]:
            started.set()
            release.wait(5)
        return list(items)

    c: Coalescer[str, str] = Coalescer(run, max_items=2)
    got, finish = _queued_behind_a_running_unit(c, started, ["a", "b"])
    for item in ("c", "d", "e"):  # the waiting group is full: they queue in the next ones
        threading.Thread(target=lambda i=item: got.setdefault(i, c(i))).start()
    time.sleep(0.2)
    release.set()
    finish()
    deadline = time.monotonic() + 5
    while len(got) < 6 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert units[0] == 1 and max(units[1:]) <= 2 and sum(units) == 6 and len(got) == 6


@pytest.mark.parametrize(
    ("first_refuses", "second_refuses", "commits"),
    [(False, False, True), (True, False, True), (False, True, True), (True, True, False)],
)
def test_a_unit_commits_unless_every_call_in_it_may_no_longer(
    first_refuses: bool, second_refuses: bool, commits: bool
) -> None:
    seen: list[str | None] = []
    started, release = threading.Event(), threading.Event()

    def run(items: list[str]) -> list[str]:
        if items == ["first"]:
            started.set()
            release.wait(5)
            return list(items)
        guard = commit_guard.get()
        seen.append(guard() if guard else None)
        return list(items)

    c: Coalescer[str, str] = Coalescer(run)
    refusals = {"x": first_refuses, "y": second_refuses}

    def call(item: str) -> None:
        commit_guard.set(lambda: "the call was cancelled" if refusals[item] else None)
        c(item)

    t0 = threading.Thread(target=c, args=("first",))
    t0.start()
    assert started.wait(5)
    others = [threading.Thread(target=call, args=(i,)) for i in ("x", "y")]
    for t in others:
        t.start()
    deadline = time.monotonic() + 5
    while (not c._queue or len(c._queue[0].items) < 2) and time.monotonic() < deadline:
        time.sleep(0.005)
    release.set()
    for t in [t0, *others]:
        t.join(5)
    assert seen == [None if commits else "the call was cancelled"]


def test_a_stalled_unit_holds_the_next_group_back_for_stall_after_only() -> None:
    """A unit blocked (on a lock, say) past ``stall_after``: the group queued behind it starts beside it,
    and the one after that still waits for one of them (a unit that ends passes its turn on)."""
    started, release = threading.Event(), threading.Event()
    ran: list[tuple[list[str], float]] = []

    def run(items: list[str]) -> list[str]:
        ran.append((list(items), time.monotonic()))
        if items == ["stuck"]:
            started.set()
            release.wait(10)
        return [i.upper() for i in items]

    c: Coalescer[str, str] = Coalescer(run, stall_after=0.2)
    got: dict[str, object] = {}
    stuck = threading.Thread(target=lambda: got.setdefault("stuck", c("stuck")))
    stuck.start()
    assert started.wait(5)
    queued_at = time.monotonic()
    assert c("next") == "NEXT"  # returns while "stuck" is still running
    waited = time.monotonic() - queued_at
    assert 0.15 <= waited < 2 and "stuck" not in got, waited
    release.set()
    stuck.join(5)
    assert got["stuck"] == "STUCK" and [items for items, _ in ran] == [["stuck"], ["next"]]
    assert not c._running and not c._queue


def test_without_stall_after_the_next_group_waits_for_the_unit_however_long() -> None:
    started, release = threading.Event(), threading.Event()

    def run(items: list[str]) -> list[str]:
        if items == ["first"]:
            started.set()
            release.wait(10)
        return [i.upper() for i in items]

    c: Coalescer[str, str] = Coalescer(run)
    got, finish = _queued_behind_a_running_unit(c, started, ["next"])
    time.sleep(0.5)
    assert got == {}  # both still waiting: "next" queued behind "first"
    release.set()
    finish()
    assert got == {"first": "FIRST", "next": "NEXT"}


# -- fill_wait: the callers of the unit that just ended share the next -----------------------------------


def test_with_fill_wait_callers_that_call_again_at_once_all_share_each_unit() -> None:
    """Four callers each sending their next call as soon as the last returns: without ``fill_wait`` units keep
    splitting (seen here: 1, 4, 1, 4, ...); with it, once they have met, every unit carries all four."""
    units: list[int] = []

    def run(items: list[str]) -> list[str]:
        units.append(len(items))
        time.sleep(0.005)  # the unit's round trips
        return [i.upper() for i in items]

    c: Coalescer[str, str] = Coalescer(run, fill_wait=3.0)  # a caller late by that much would split a unit

    start = threading.Barrier(4)

    def caller(k: int) -> None:
        start.wait()
        for n in range(8):
            assert c(f"{k}-{n}") == f"{k}-{n}".upper()

    threads = [threading.Thread(target=caller, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sum(units) == 32
    # A caller the machine started late makes the first units partial; once all four have met, each unit
    # carries every caller still calling: four, then fewer only as the callers that were ahead finish.
    met = units.index(4) if 4 in units else len(units)
    after = units[met:]
    assert after and all(a >= b for a, b in itertools.pairwise(after)), units


def test_a_lone_caller_never_waits_to_fill() -> None:
    """The unit before each call carried only its caller: nobody else is expected back."""
    c: Coalescer[str, str] = Coalescer(lambda items: [i.upper() for i in items], fill_wait=5.0)
    began = time.monotonic()
    assert [c(x) for x in "abcde"] == list("ABCDE")
    assert time.monotonic() - began < 2.5  # one wait alone would be 5 s


def test_a_fill_wait_in_vain_runs_at_its_deadline_and_then_none_waits_for_a_while() -> None:
    """A group queued behind a unit of one caller expects that caller back; it does not come: the group runs
    after ``fill_wait``, and for ``fill_backoff`` the next group that would wait runs at once."""
    started, release = threading.Event(), threading.Event()

    def run(items: list[str]) -> list[str]:
        if items[0].startswith("first"):
            started.set()
            release.wait(10)
        return [i.upper() for i in items]

    c: Coalescer[str, str] = Coalescer(run, fill_wait=1.0, fill_backoff=60.0)
    got, finish = _queued_behind_a_running_unit(c, started, ["next"])
    released = time.monotonic()
    release.set()
    finish()
    waited = time.monotonic() - released
    assert got == {"first": "FIRST", "next": "NEXT"} and waited >= 1.0, waited
    started.clear()
    release.clear()
    got, finish = _queued_behind_a_running_unit(c, started, ["next again"])
    released = time.monotonic()
    release.set()
    finish()
    assert got == {"first": "FIRST", "next again": "NEXT AGAIN"}
    assert time.monotonic() - released < 0.5  # backing off: it would have waited 1 s
