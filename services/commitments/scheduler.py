"""The durable deadline scheduler: a loop that fires due timers from the database, exactly once.

Deadlines and reminders are rows (``commitment_timers``); every replica runs this loop. On PostgreSQL,
``FOR UPDATE SKIP LOCKED`` gives each replica disjoint due rows and the effect, the outgoing events and
``fired_at`` commit together, so a deadline settles once however many schedulers run; after a restart the
first pass catches up on everything that fell due while the service was down.
"""

from __future__ import annotations

import logging
import threading

from services.commitments.service import CommitmentsService

log = logging.getLogger(__name__)


class DeadlineScheduler:
    """Background worker: ``start()`` / ``stop()``; ``run_once()`` drains everything due now."""

    def __init__(self, service: CommitmentsService, *, interval: float = 1.0, batch: int = 500) -> None:
        self.service = service
        self.interval = interval
        self.batch = batch
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run_once(self) -> int:
        total = 0
        while True:
            fired = self.service.settle_due(self.batch)
            total += fired
            if fired < self.batch:
                return total

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.run_once()
            except Exception:  # keep the loop alive; the next pass retries what failed
                log.exception("deadline scheduler pass failed")
            self._stop.wait(self.interval)

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="commitments-scheduler", daemon=True)
        self._thread.start()

    def stop(self, timeout: float | None = None) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
