"""SQLAlchemy storage for compliance: scanned texts, watchlists, screening hits, client activity, cases;
``SqlComplianceStore``, the SQL side of the scan and case storage port."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    Column,
    DateTime,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    and_,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.orm import Session

from covenant.db import idempotency
from covenant.db.audit import AuditLog
from covenant.db.outbox import Outbox
from covenant.events.v1.event_pb2 import Event

metadata = MetaData()

scanned_texts = Table(
    "compliance_scanned_texts",
    metadata,
    Column("text_id", String(128), primary_key=True),
    Column("employee_id", String(64), nullable=False),
    Column("result_json", Text, nullable=False),
    Column("scanned_at", DateTime(timezone=True), nullable=False),
)

watchlist = Table(
    "compliance_watchlist",
    metadata,
    Column("id", String(128), primary_key=True),
    Column("list_name", String(64), nullable=False),
    Column("name", String(512), nullable=False),
    # When the entry was loaded: replicas pick up entries loaded elsewhere since their last look.
    Column("loaded_at", DateTime(timezone=True), index=True),
)

client_activity = Table(
    "compliance_client_activity",
    metadata,
    Column("employee_id", String(64), primary_key=True),
    Column("client_id", String(128), primary_key=True),
    Column("org_unit", String(255), nullable=False),
    Column("open", Integer, nullable=False),
    Column("opened_at", DateTime(timezone=True), nullable=False),
    Column("last_follow_up_at", DateTime(timezone=True)),
)

cases = Table(
    "compliance_cases",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("employee_id", String(64), nullable=False),
    Column("org_unit", String(255), nullable=False),
    Column("rule_id", String(128), nullable=False),
    Column("window_key", String(64), nullable=False),
    Column("category", String(64), nullable=False),
    Column("severity", String(16), nullable=False),
    Column("state", String(16), nullable=False),
    Column("owner", String(128), nullable=False),
    Column("opened_at", DateTime(timezone=True), nullable=False),
    Column("sla_due_at", DateTime(timezone=True), nullable=False),
    Column("evidence_json", Text, nullable=False),
    Column("comments_json", Text, nullable=False),
    Column("pack_version", String(64), nullable=False),
    Column("occurrences", Integer, nullable=False),
    Column("updated_at", DateTime(timezone=True)),
    Column("pack_id", String(64), nullable=False, server_default=""),
    UniqueConstraint("employee_id", "rule_id", "window_key", name="uq_compliance_case_window"),
)

# Derived facts for behaviour rules (the rule engine keeps no state of its own).
client_contacts = Table(
    "compliance_client_contacts",
    metadata,
    Column("activity_id", String(128), primary_key=True),
    Column("employee_id", String(64), nullable=False, index=True),
    Column("client_id", String(128), nullable=False),
    Column("org_unit", String(255), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
)

client_risk = Table(
    "compliance_client_risk",
    metadata,
    Column("client_id", String(128), primary_key=True),
    Column("high_risk", Integer, nullable=False),
    Column("reason", Text, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

# A client contact whose client name matched a watchlist entry: one row per (activity, entry), with the
# explanation (the features behind the score: matched by characters, pinyin or traditional form).
screening_hits = Table(
    "compliance_screening_hits",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("activity_id", String(128), nullable=False),
    Column("employee_id", String(64), nullable=False),
    Column("org_unit", String(255), nullable=False),
    Column("client_id", String(128), nullable=False),
    Column("client_name", String(256), nullable=False),
    Column("entry_id", String(128), nullable=False),
    Column("list_name", String(128), nullable=False),
    Column("listed_name", Text, nullable=False),
    Column("score", Float, nullable=False),
    Column("features", Text, nullable=False),
    Column("status", String(16), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("activity_id", "entry_id", name="uq_compliance_screening_hit"),
    Index("ix_compliance_screening_hits_org", "org_unit", "at"),
)

dwell_anomalies = Table(
    "compliance_dwell_anomalies",
    metadata,
    Column("event_id", String(128), primary_key=True),
    Column("employee_id", String(64), nullable=False, index=True),
    Column("day", String(10), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
)


class SqlComplianceStore:
    """``services.compliance.ports.ComplianceStore`` over one SQLAlchemy session (the caller's unit of
    work). Request ids go to the chassis idempotency table (``covenant.db.idempotency``) under ``service``."""

    def __init__(
        self, session: Session, outbox: Outbox, audit: AuditLog, service: str = "compliance"
    ) -> None:
        self.session = session
        self.outbox = outbox
        self.audit_log = audit
        self.service = service

    def scan_result(self, text_id: str) -> str | None:
        return self.session.execute(
            select(scanned_texts.c.result_json).where(scanned_texts.c.text_id == text_id)
        ).scalar()

    def save_scan(self, *, text_id: str, employee_id: str, scanned_at: datetime, result_json: str) -> None:
        self.session.execute(
            insert(scanned_texts).values(
                text_id=text_id, employee_id=employee_id, scanned_at=scanned_at, result_json=result_json
            )
        )

    def last_dwell_anomaly(self, employee_id: str, day: str, at_or_before: datetime) -> datetime | None:
        d = dwell_anomalies.c
        return self.session.execute(
            select(func.max(d.at)).where(
                and_(d.employee_id == employee_id, d.day == day, d.at <= at_or_before)
            )
        ).scalar()

    def case_in_window(self, employee_id: str, rule_id: str, window_key: str) -> Any | None:
        c = cases.c
        return self.session.execute(
            select(cases)
            .where(and_(c.employee_id == employee_id, c.rule_id == rule_id, c.window_key == window_key))
            .with_for_update()
        ).first()

    def case(self, case_id: str, *, lock: bool = False) -> Any | None:
        stmt = select(cases).where(cases.c.id == case_id)
        return self.session.execute(stmt.with_for_update() if lock else stmt).first()

    def add_case(self, values: dict[str, Any]) -> None:
        self.session.execute(insert(cases).values(**values))

    def update_case(self, case_id: str, values: dict[str, Any]) -> None:
        self.session.execute(update(cases).where(cases.c.id == case_id).values(**values))

    def replayed(self, method: str, request_id: str, *, fingerprint: str | None = None) -> str | None:
        return idempotency.replayed(self.session, self.service, method, request_id, fingerprint=fingerprint)

    def remember(
        self, method: str, request_id: str, response: str, now: datetime, *, fingerprint: str | None = None
    ) -> None:
        idempotency.remember(
            self.session, self.service, method, request_id, response, now, fingerprint=fingerprint
        )

    def emit(self, event: Event) -> None:
        self.outbox.add(self.session, event)

    def audit(self, *, actor: str, action: str, subject: str, data: dict[str, Any]) -> None:
        self.audit_log.append(self.session, actor=actor, action=action, subject=subject, data=data)
