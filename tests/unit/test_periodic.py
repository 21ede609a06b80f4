import threading
import time

from covenant.periodic import PeriodicWorker


class Counter(PeriodicWorker):
    thread_name = "test-counter"

    def __init__(self, interval: float, fail_first: bool = False, backlog: int = 0) -> None:
        super().__init__(interval)
        self.ticks = 0
        self.fail_first = fail_first
        self.backlog = backlog
        self.done = threading.Event()

    def tick(self) -> bool:
        self.ticks += 1
        if self.fail_first and self.ticks == 1:
            raise RuntimeError("boom")
        if self.ticks >= 3:
            self.done.set()
        self.backlog -= 1
        return self.backlog > 0


def test_a_failing_tick_is_retried_and_stop_joins() -> None:
    w = Counter(0.01, fail_first=True)
    w.start()
    assert w.done.wait(5)
    w.stop(5)
    assert w._thread is not None and not w._thread.is_alive()


def test_waits_one_interval_first_unless_immediate_and_backlog_skips_the_sleep() -> None:
    w = Counter(30.0)
    w.start()
    time.sleep(0.05)
    assert w.ticks == 0
    w.stop(5)
    eager = Counter(30.0, backlog=3)
    eager.immediate = True
    eager.start()
    assert eager.done.wait(5)  # three ticks without a 30 s sleep: the first at once, two for the backlog
    eager.stop(5)
    assert eager.ticks == 3


def test_every_runs_a_function_on_a_named_thread_at_once_when_immediate() -> None:
    seen: list[str] = []
    ran = threading.Event()

    def tick() -> None:
        seen.append(threading.current_thread().name)
        ran.set()

    w = PeriodicWorker.every(60, tick, "test-every", immediate=True)
    assert not w.running
    w.start()
    assert ran.wait(5)  # the interval is a minute: only `immediate` makes it run now
    assert w.running and seen == ["test-every"]
    w.stop(5)
    assert not w.running


def test_wake_runs_a_pass_at_once_and_a_wake_during_a_pass_is_not_lost() -> None:
    passes = threading.Semaphore(0)
    w = PeriodicWorker.every(60, passes.release, "test-wake")
    w.start()
    assert not passes.acquire(timeout=0.3)  # an interval of a minute: nothing yet
    w.wake()
    assert passes.acquire(timeout=5)
    w.wake()
    w.wake()  # two wakes before the pass runs: at least one more pass, never a lost one
    assert passes.acquire(timeout=5)
    w.stop(5)
    assert not w.running


def test_an_idle_wake_runs_at_once_and_while_work_flows_the_wakes_within_the_linger_share_one_pass() -> None:
    passes: list[float] = []

    def tick() -> bool:
        passes.append(time.monotonic())
        return len(passes) == 1  # the first pass found work: more may be flowing

    w = PeriodicWorker.every(30.0, tick, "linger", linger=0.6)
    w.start()
    try:
        time.sleep(0.2)
        woken = time.monotonic()
        w.wake()  # idle: no linger
        deadline = time.monotonic() + 5
        while not passes and time.monotonic() < deadline:
            time.sleep(0.005)
        assert passes and passes[0] - woken < 0.4
        for _ in range(20):  # twenty commits in about 20 ms, each waking the worker, during the linger
            w.wake()
            time.sleep(0.001)
        time.sleep(1.0)
        assert len(passes) == 2  # one pass carried them; without the linger: a pass per wake
        assert passes[1] - passes[0] >= 0.6
        w.wake()  # that pass found nothing: idle again, and a later wake gets its own pass at once
        time.sleep(0.3)
        assert len(passes) == 3
    finally:
        w.stop(5)
