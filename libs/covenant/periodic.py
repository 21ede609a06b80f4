"""One periodic background loop for every worker the chassis runs beside the gRPC server.

A subclass implements ``tick()``; ``start()`` runs it on a daemon thread every ``interval`` seconds (after a
first wait, or at once with ``immediate = True``) until ``stop()``. A tick that raises is logged and the next
one retries; a tick that returns True has more work waiting and runs again without sleeping, or after
``linger`` when set: under a stream of work the passes then carry what arrived in those milliseconds, while
an idle worker woken by ``wake()`` runs at once. Intervals come from ``covenant.settings.Settings`` (see the
README's settings table).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Self

log = logging.getLogger(__name__)


class PeriodicWorker:
    """Calls ``tick()`` every ``interval`` seconds on a daemon thread named ``thread_name``."""

    thread_name = "periodic-worker"
    immediate = False  # first tick at start-up instead of one interval later
    # After a pass that found work, wait this long before the next one so that what arrives in those
    # milliseconds shares it: under a stream of small commits one pass carries many of them. A wake of an
    # idle worker does not wait.
    linger = 0.0

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self._stop = threading.Event()
        self._wake = threading.Event()  # set by wake() and stop()
        self._thread: threading.Thread | None = None

    @classmethod
    def every(
        cls,
        interval: float,
        tick: Callable[[], bool | None],
        name: str,
        *,
        immediate: bool = False,
        linger: float = 0.0,
    ) -> PeriodicWorker:
        """A worker that calls ``tick`` (same contract as ``tick()``) on a thread named ``name``."""
        worker = cls(interval)
        worker.tick = tick  # type: ignore[method-assign]
        worker.thread_name = name
        worker.immediate = immediate
        worker.linger = linger
        return worker

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def tick(self) -> bool | None:
        """One pass; True when more work is waiting (the next pass starts without sleeping)."""
        raise NotImplementedError

    def next_wait(self) -> float:
        """Seconds to sleep before the next pass (``interval`` unless a subclass knows better)."""
        return self.interval

    def wake(self) -> None:
        """Run the next pass now instead of at the end of the current wait (a wake during a pass runs one
        more pass right after it, so none is lost)."""
        self._wake.set()

    def _loop(self) -> None:
        wait = 0.0 if self.immediate else self.next_wait()
        again = False
        while True:
            if again and self.linger > 0:
                self._stop.wait(self.linger)  # work is flowing: what arrives meanwhile shares the next pass
            else:
                self._wake.wait(wait)  # idle: ends early on wake() or stop(), and the pass runs at once
            self._wake.clear()
            if self._stop.is_set():
                return
            try:
                again = bool(self.tick())
            except Exception:  # keep the loop alive; the next pass retries
                log.exception("%s pass failed", self.thread_name)
                again = False
            if self._stop.is_set():  # a tick may end its own worker
                return
            wait = 0.0 if again else self.next_wait()

    def start(self) -> Self:
        self._stop.clear()
        self._wake.clear()
        self._thread = threading.Thread(target=self._loop, name=self.thread_name, daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float | None = None) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)
