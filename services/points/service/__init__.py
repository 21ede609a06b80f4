"""Points use cases, by capability. Each call is one unit of work: applied-event markers, ledger entries,
balances, period totals, audit entries and outgoing events commit together or not at all."""

from __future__ import annotations

from typing import Any

from services.points.service.base import Deps
from services.points.service.events import Events
from services.points.service.expiry import Expiry
from services.points.service.goals import Goals
from services.points.service.reads import Reads
from services.points.service.rewards import Rewards


class PointsService(Deps):
    """The shared dependencies with the capabilities over them: ``events`` (business events, reversals,
    adjustments), ``reads`` (balances, ledger pages, leaderboards), ``goals`` (team and personal goals,
    nudges), ``expiry`` and ``rewards`` (catalogue and redemptions)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        """Takes the arguments of ``Deps``."""
        super().__init__(*args, **kwargs)
        self.events = Events(self)
        self.reads = Reads(self)
        self.goals = Goals(self)
        self.expiry = Expiry(self)
        self.rewards = Rewards(self)
