"""What every points capability shares: the database, the rule packs, the clock and time zone, the
directory, the outbox, the audit stream, the ledger writer and the storage port."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy.orm import Session

from covenant.auth import DataOwner, Principal, authorize
from covenant.db.audit import AuditLog
from covenant.db.engine import Database
from covenant.errors import FailedPrecondition
from covenant.units import ServiceUnits
from services.points.ingest import Ingest
from services.points.ledger import LedgerWriter
from services.points.ports import PointsStore
from services.points.storage import SqlPointsStore

SOURCE = "points"
MAX_BATCH = 10_000


class Deps(ServiceUnits[PointsStore]):
    """The dependencies the capabilities share (``ServiceUnits``: one outbox; here also one audit stream,
    ledger writer and ingest). Org units of the employees written about come from the directory, not the
    request."""

    def __init__(self, db: Database, rules: Any, **wiring: Any) -> None:
        """``wiring``: the keyword arguments of ``ServiceUnits`` but ``source``; ``stores`` gives a unit of
        work as a ``PointsStore`` (default: ``SqlPointsStore`` over the repository functions of
        ``services.points.storage`` in a SQL session of ``db``)."""
        super().__init__(db, rules, source=SOURCE, **wiring)
        self.audit = AuditLog("points")
        self.writer = LedgerWriter(self.outbox, self.timezone)
        self.ingest = Ingest(rules, self.timezone, self.clock, self._units_of if self.directory else None)

    def _units_of(self, employee_ids: Iterable[str], payable_only: bool = False) -> dict[str, str]:
        """Award recipients' org units, the directory's (never the event's, which is its own employee's),
        the unknown ones looked up concurrently. One who has left or is unknown raises FailedPrecondition,
        or with ``payable_only`` is left out."""
        assert self.directory is not None
        ids = list(employee_ids)
        self.directory.prefetch(ids)
        units: dict[str, str] = {}
        for e in ids:
            try:
                units[e] = self.directory.resolve(e).org_unit
            except FailedPrecondition:
                if not payable_only:
                    raise
        return units

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
