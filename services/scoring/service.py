"""The scoring service: the wiring its use cases share (rule packs, directory, clock, one unit of work per
call through a ``ScoringStore``) and one object per capability: ``scorecards`` (versions), ``metrics``
(intake), ``periods`` (period scoring with rankings and signals) and ``scores`` (reads and calibration)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from covenant.db.audit import AuditLog
from covenant.db.engine import Database
from covenant.units import ServiceUnits
from services.scoring.intake import MetricIntake
from services.scoring.periods import SOURCE, PeriodScoring
from services.scoring.ports import ScoringStore
from services.scoring.scorecards import Scorecards
from services.scoring.scores import Scores
from services.scoring.storage import SqlScoringStore


class ScoringService(ServiceUnits[ScoringStore]):
    def __init__(self, db: Database, rules: Any, **wiring: Any) -> None:
        """``wiring``: the keyword arguments of ``ServiceUnits`` but ``source``; ``stores`` opens one unit of
        work as a ``ScoringStore`` (default: a SQL session of ``db``)."""
        super().__init__(db, rules, source=SOURCE, **wiring)
        self.audit = AuditLog("scoring")
        self.scorecards = Scorecards(self.stores, self.clock)
        self.metrics = MetricIntake(self.stores, self.store, rules, self.directory, self.tz, self.clock)
        self.periods = PeriodScoring(self.stores, rules, self.clock)
        self.scores = Scores(self.stores, self.clock, self.directory)

    def store(self, session: Session) -> SqlScoringStore:
        """The ``ScoringStore`` over ``session`` (a unit of work the caller opened)."""
        return SqlScoringStore(session, self.outbox, self.audit)
