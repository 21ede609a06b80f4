"""Points use cases, by capability. Each call is one unit of work: applied-event markers, ledger entries,
balances, period totals, audit entries and outgoing events commit together or not at all."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any

from covenant.auth.directory import Directory
from covenant.db.engine import Database
from services.points.ports import PointsStore
from services.points.service.base import Deps
from services.points.service.events import Events
from services.points.service.expiry import Expiry
from services.points.service.goals import Goals
from services.points.service.reads import Reads
from services.points.service.rewards import Rewards


class PointsService:
    """The capabilities over one set of dependencies: ``events`` (business events, reversals, adjustments),
    ``reads`` (balances, ledger pages, leaderboards), ``goals`` (team and personal goals, nudges),
    ``expiry`` and ``rewards`` (catalogue and redemptions)."""

    def __init__(
        self,
        db: Database,
        rules: Any,
        *,
        timezone: str = "Asia/Shanghai",
        clock: Callable[[], datetime] | None = None,
        directory: Directory | None = None,
        stores: Callable[[], AbstractContextManager[PointsStore]] | None = None,
    ) -> None:
        deps = Deps(db, rules, timezone=timezone, clock=clock, directory=directory, stores=stores)
        self.clock = deps.clock
        self.events = Events(deps)
        self.reads = Reads(deps)
        self.goals = Goals(deps)
        self.expiry = Expiry(deps)
        self.rewards = Rewards(deps)
