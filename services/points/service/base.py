"""What every points capability shares: the database, the rule packs, the clock and time zone, the
directory, the outbox, the audit stream, the ledger writer and the storage port."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from covenant.auth import DataOwner, Principal, authorize
from covenant.auth.directory import Directory
from covenant.db.audit import AuditLog
from covenant.db.engine import Database
from covenant.db.outbox import Outbox
from services.points.ingest import Ingest
from services.points.ledger import LedgerWriter
from services.points.ports import PointsStore
from services.points.storage import SqlPointsStore

SOURCE = "points"
MAX_BATCH = 10_000


class Deps:
    """The dependencies the capabilities share (one outbox, audit stream and ledger writer)."""

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
        """``stores`` opens one unit of work as a ``PointsStore`` (default: a SQL session of ``db``); the
        use cases go through it (``SqlPointsStore`` over the repository functions of
        ``services.points.storage``; an in-memory fake in the unit tests)."""
        self.db = db
        self.rules = rules
        # Org units of the employees written about come from the directory, not the request (None: the
        # request is trusted; only for in-process tools that construct the service directly).
        self.directory = directory
        self.tz = timezone
        self.clock = clock or (lambda: datetime.now(UTC))
        self.outbox = Outbox(SOURCE)
        self.audit = AuditLog("points")
        self.writer = LedgerWriter(self.outbox, timezone)
        self.ingest = Ingest(rules, timezone, self.clock)
        self.stores = stores or self._sql_store

    @contextmanager
    def _sql_store(self) -> Iterator[PointsStore]:
        with self.db.session() as session:
            yield self.store(session)

    def store(self, session: Session) -> SqlPointsStore:
        """The storage port over the caller's session."""
        return SqlPointsStore(session, self.writer, self.outbox, self.audit)

    def unit(self, employee_id: str, claimed: str, caller: Principal | None = None) -> str:
        """The employee's org unit per the directory (a different ``claimed`` one is refused); without a
        directory ``claimed``, or the ``caller``'s own when they write about themselves and claim none."""
        if self.directory is not None:
            return self.directory.resolve(employee_id, org_unit=claimed).org_unit
        if claimed or caller is None or employee_id != caller.employee_id:
            return claimed
        return caller.org_unit


class UseCase:
    """A capability of the points service over the shared ``Deps``."""

    def __init__(self, deps: Deps) -> None:
        self.deps = deps


def readable_account(store: PointsStore, principal: Principal, employee_id: str) -> tuple[str, int] | None:
    """The employee's account (org unit, balance) once the caller may read their ledger (None: no account)."""
    account = store.account(employee_id)
    authorize(principal, "points.ledger.read", DataOwner(employee_id, account[0] if account else ""))
    return account
