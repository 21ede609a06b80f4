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

from typing import Any

from sqlalchemy.orm import Session

from covenant.auth import Principal, authorize
from covenant.db.audit import AuditLog
from covenant.db.engine import Database
from covenant.rules.lifecycle import AUDIT_STREAM as RULES_AUDIT_STREAM
from covenant.units import ServiceUnits
from services.compliance.behaviour import Behaviour
from services.compliance.cases import Cases
from services.compliance.context import SOURCE, Context
from services.compliance.ports import ComplianceStore
from services.compliance.scanning import Scanning
from services.compliance.screening import Screening
from services.compliance.storage import SqlComplianceStore

AUDIT_STREAMS = ("compliance", RULES_AUDIT_STREAM)


class ComplianceService(ServiceUnits[ComplianceStore]):
    """The capabilities over one context: ``scanning``, ``screening``, ``behaviour``, ``cases``."""

    def __init__(self, db: Database, rules: Any, **wiring: Any) -> None:
        """``wiring``: the keyword arguments of ``ServiceUnits`` but ``source``; ``stores`` opens one unit of
        work as a ``ComplianceStore`` (default: a SQL session of ``db``); every use case goes through it
        (event consumers through ``store`` over the inbox's session)."""
        super().__init__(db, rules, source=SOURCE, **wiring)
        self.audit = AuditLog("compliance")
        self.ctx = Context(
            rules,
            clock=self.clock,
            timezone=self.timezone,
            directory=self.directory,
            stores=self.stores,
            store=self.store,
        )
        self.cases = Cases(self.ctx)
        self.scanning = Scanning(self.ctx, self.cases)
        self.screening = Screening(self.ctx)
        self.behaviour = Behaviour(self.ctx, self.cases, self.screening)

    def store(self, session: Session) -> SqlComplianceStore:
        """The storage port over the caller's session."""
        return SqlComplianceStore(session, self.outbox, self.audit, SOURCE)

    def verify_audit(self, principal: Principal) -> list[tuple[str, Any]]:
        """(stream, VerifyResult) for the compliance stream and the rule-pack lifecycle stream."""
        authorize(principal, "compliance.audit.read")
        with self.ctx.stores() as store:
            return [(stream, store.verify_audit(stream)) for stream in AUDIT_STREAMS]
