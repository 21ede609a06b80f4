"""SQLAlchemy storage for compliance: scanned texts, watchlists, screening hits, client activity, cases."""

from __future__ import annotations

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
)

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
