"""Compliance use cases, split by capability: scanning (``scanning.py``), screening (``screening.py``),
behaviour rules (``behaviour.py``) and cases (``cases.py``), over one shared ``Context``.

Phrase lists, categories, severities, negation cues, homophones, safe phrases, screening thresholds and
retention are parameters of the active compliance pack; whether and how a finding becomes a case is a
rule decision (``open_case``). Every alert joins the case of its employee + rule + window or opens one;
behaviour rules see derived facts kept in the database (client activity, contacts, dwell anomalies),
evaluated on events and by the scheduler. Every scan decision and case transition is written to the
hash-chained audit log; case events (case_opened, case_updated, alert_raised) go out through the outbox
in the same transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from covenant.auth import Principal, authorize
from covenant.auth.directory import Directory
from covenant.db.audit import AuditLog
from covenant.db.engine import Database
from covenant.db.outbox import Outbox
from covenant.rules.lifecycle import AUDIT_STREAM as RULES_AUDIT_STREAM
from services.compliance.behaviour import Behaviour
from services.compliance.cases import Cases
from services.compliance.context import SOURCE, Context
from services.compliance.ports import ComplianceStore
from services.compliance.scanning import Scanning
from services.compliance.screening import Screening
from services.compliance.storage import SqlComplianceStore

AUDIT_STREAMS = ("compliance", RULES_AUDIT_STREAM)


class ComplianceService:
    """The capabilities over one context: ``scanning``, ``screening``, ``behaviour``, ``cases``."""

    def __init__(
        self,
        db: Database,
        rules: Any,
        *,
        clock: Callable[[], datetime] | None = None,
        timezone: str = "Asia/Shanghai",
        directory: Directory | None = None,
        stores: Callable[[], AbstractContextManager[ComplianceStore]] | None = None,
    ) -> None:
        """``stores`` opens one unit of work as a ``ComplianceStore`` (default: a SQL session of ``db``);
        every use case goes through it (event consumers through ``store`` over the inbox's session)."""
        self.db = db
        self.outbox = Outbox(SOURCE)
        self.audit = AuditLog("compliance")
        self.ctx = Context(
            rules,
            clock=clock or (lambda: datetime.now(UTC)),
            timezone=timezone,
            directory=directory,
            stores=stores or self._sql_store,
            store=self.store,
        )
        self.clock = self.ctx.clock
        self.cases = Cases(self.ctx)
        self.scanning = Scanning(self.ctx, self.cases)
        self.screening = Screening(self.ctx)
        self.behaviour = Behaviour(self.ctx, self.cases, self.screening)

    @contextmanager
    def _sql_store(self) -> Iterator[ComplianceStore]:
        with self.db.session() as session:
            yield self.store(session)

    def store(self, session: Session) -> SqlComplianceStore:
        """The storage port over the caller's session."""
        return SqlComplianceStore(session, self.outbox, self.audit, SOURCE)

    def verify_audit(self, principal: Principal) -> list[tuple[str, Any]]:
        """(stream, VerifyResult) for the compliance stream and the rule-pack lifecycle stream."""
        authorize(principal, "compliance.audit.read")
        with self.ctx.stores() as store:
            return [(stream, store.verify_audit(stream)) for stream in AUDIT_STREAMS]
