"""SQLAlchemy storage for scorecards, metric values, computed scores, calibrations and signals."""

from __future__ import annotations

from sqlalchemy import (
    Column,
    Date,
    DateTime,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData()

scorecards = Table(
    "scorecards",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("role", String(64), nullable=False, index=True),
    Column("org_unit_prefix", String(255), nullable=False, default=""),
    Column("effective_from", Date, nullable=False),
    Column("body_json", Text, nullable=False),
    Column("created_by", String(128), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

# Who is scored with which scorecard and compared with whom: kept from metric writes and events.
profiles = Table(
    "employee_profiles",
    metadata,
    Column("employee_id", String(64), primary_key=True),
    Column("org_unit", String(255), nullable=False, index=True),
    Column("role", String(64), nullable=False),
)

metric_values = Table(
    "metric_values",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("employee_id", String(64), nullable=False),
    Column("period", String(7), nullable=False),
    Column("metric", String(64), nullable=False),
    Column("value", String(40), nullable=False),  # decimal text: exact across SQLite and PostgreSQL
    Column("mode", String(8), nullable=False),  # "set" | "add"
    Column("source", String(128), nullable=False),
    Column("source_ref", String(128), nullable=False, default=""),  # event id or request id
    Column("rule_id", String(128), nullable=False, default=""),
    Column("pack_version", String(64), nullable=False, default=""),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
    Index("ix_metric_values_period_emp", "period", "employee_id"),
)

scores = Table(
    "scores",
    metadata,
    Column("employee_id", String(64), primary_key=True),
    Column("period", String(7), primary_key=True),
    Column("org_unit", String(255), nullable=False),
    Column("role", String(64), nullable=False),
    Column("scorecard_id", String(64), nullable=False),
    Column("scorecard_version", Integer, nullable=False),
    Column("score", String(16), nullable=False),
    Column("contributions_json", Text, nullable=False),
    Column("rank_in_team", Integer, nullable=False),
    Column("rank_in_org_unit", Integer, nullable=False),
    Column("team_size", Integer, nullable=False),
    Column("change", String(16), nullable=False, default=""),
    Column("computed_at", DateTime(timezone=True), nullable=False),
    Index("ix_scores_period_org", "period", "org_unit"),
)

calibrations = Table(
    "calibrations",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("employee_id", String(64), nullable=False),
    Column("period", String(7), nullable=False),
    Column("adjustment", String(16), nullable=False),
    Column("reason", Text, nullable=False),
    Column("calibrated_by", String(128), nullable=False),
    Column("calibrated_at", DateTime(timezone=True), nullable=False),
    Column("request_id", String(128), nullable=True, unique=True),
    Index("ix_calibrations_emp_period", "employee_id", "period"),
)

signals = Table(
    "signals",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("employee_id", String(64), nullable=False),
    Column("org_unit", String(255), nullable=False),
    Column("period", String(7), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("audience", String(32), nullable=False),
    Column("detail", Text, nullable=False),
    Column("rule_id", String(128), nullable=False),
    Column("pack_id", String(128), nullable=False),
    Column("pack_version", String(64), nullable=False),
    Column("raised_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("employee_id", "period", "kind", name="uq_signals_once"),
)

# Driver analyses (docs/analytics.md): the fit of an outcome KPI on process KPIs, with its data window.
driver_analyses = Table(
    "driver_analyses",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("role", String(64), nullable=False),
    Column("outcome", String(64), nullable=False),
    Column("period_from", String(7), nullable=False),
    Column("period_to", String(7), nullable=False),
    Column("org_unit", String(255), nullable=False, default=""),
    Column("model", String(16), nullable=False),
    Column("model_version", String(64), nullable=False),
    Column("observations", Integer, nullable=False),
    Column("people", Integer, nullable=False),
    Column("fit", String(32), nullable=False),
    Column("result_json", Text, nullable=False),  # kpis, coefficients, warnings, condition number
    Column("created_by", String(128), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

# Draft scorecard versions: not in force until a second person approves and someone activates them, which
# inserts them into ``scorecards``.
scorecard_drafts = Table(
    "scorecard_drafts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("scorecard_id", String(64), nullable=False),
    Column("base_version", Integer, nullable=False),
    Column("role", String(64), nullable=False),
    Column("analysis_id", Integer, nullable=False),
    Column("effective_from", Date, nullable=False),
    Column("body_json", Text, nullable=False),
    Column("diff_period", String(7), nullable=False),
    Column("diff_json", Text, nullable=False),  # the dry run: who would rank differently
    Column("state", String(16), nullable=False),  # draft | approved | activated
    Column("drafted_by", String(128), nullable=False),
    Column("drafted_at", DateTime(timezone=True), nullable=False),
    Column("approved_by", String(128), nullable=False, default=""),
    Column("activated_version", Integer, nullable=True),
)

# High-performer profiles (docs/analytics.md): one per role, period, outcome KPI and org-unit subtree.
performer_profiles = Table(
    "performer_profiles",
    metadata,
    Column("role", String(64), primary_key=True),
    Column("period", String(7), primary_key=True),
    Column("outcome_kpi", String(64), primary_key=True),
    Column("org_unit", String(255), primary_key=True),
    Column("threshold", String(40), nullable=False),
    Column("top_count", Integer, nullable=False),
    Column("rest_count", Integer, nullable=False),
    Column("kpis_json", Text, nullable=False),
    Column("computed_by", String(128), nullable=False),
    Column("computed_at", DateTime(timezone=True), nullable=False),
)
