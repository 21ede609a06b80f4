"""The durable deadline scheduler: a loop that fires due timers from the database, exactly once.

Deadlines and reminders are rows (``commitment_timers``); every replica runs this loop. On PostgreSQL,
``FOR UPDATE SKIP LOCKED`` gives each replica disjoint due rows and the effect, the outgoing events and
``fired_at`` commit together, so a deadline settles once however many schedulers run; after a restart the
first pass catches up on everything that fell due while the service was down.
"""

from __future__ import annotations

from covenant.periodic import PeriodicWorker
from services.commitments.service import CommitmentsService


class DeadlineScheduler(PeriodicWorker):
    """Background worker: ``start()`` / ``stop()``; ``run_once()`` drains everything due now."""

    thread_name = "commitments-scheduler"
    immediate = True  # catch up on what fell due while the service was down

    def __init__(self, service: CommitmentsService, *, interval: float = 1.0, batch: int = 500) -> None:
        super().__init__(interval)
        self.service = service
        self.batch = batch

    def run_once(self) -> int:
        total = 0
        while True:
            fired = self.service.settle_due(self.batch)
            total += fired
            if fired < self.batch:
                return total

    def tick(self) -> None:
        self.run_once()
