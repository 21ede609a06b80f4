"""The scoring service: the wiring its use cases share (rule packs, directory, clock, one unit of work per
call through a ``ScoringStore``) and one object per capability: ``scorecards`` (versions), ``metrics``
(intake), ``periods`` (period scoring with rankings and signals) and ``scores`` (reads and calibration)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from covenant.auth.directory import Directory
from covenant.db.audit import AuditLog
from covenant.db.engine import Database
from covenant.db.outbox import Outbox
from services.scoring.intake import MetricIntake
from services.scoring.periods import SOURCE, PeriodScoring
from services.scoring.ports import ScoringStore, Stores
from services.scoring.scorecards import Scorecards
from services.scoring.scores import Scores
from services.scoring.storage import SqlScoringStore


class ScoringService:
    def __init__(
        self,
        db: Database,
        rules: Any,
        *,
        timezone: str = "Asia/Shanghai",
        clock: Callable[[], datetime] | None = None,
        directory: Directory | None = None,
        stores: Stores | None = None,
    ) -> None:
        """``stores`` opens one unit of work as a ``ScoringStore`` (default: a SQL session of ``db``)."""
        self.db = db
        self.rules = rules
        self.tz = ZoneInfo(timezone)
        self.clock = clock or (lambda: datetime.now(UTC))
        self.outbox = Outbox(SOURCE)
        self.audit = AuditLog("scoring")
        self.stores = stores or self._sql_store
        self.scorecards = Scorecards(self.stores, self.clock)
        self.metrics = MetricIntake(self.stores, self.store, rules, directory, self.tz, self.clock)
        self.periods = PeriodScoring(self.stores, rules, self.clock)
        self.scores = Scores(self.stores, self.clock, directory)

    def store(self, session: Session) -> SqlScoringStore:
        """The ``ScoringStore`` over ``session`` (a unit of work the caller opened)."""
        return SqlScoringStore(session, self.outbox, self.audit)

    @contextmanager
    def _sql_store(self) -> Iterator[ScoringStore]:
        with self.db.session() as session:
            yield self.store(session)
