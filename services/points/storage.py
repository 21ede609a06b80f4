"""SQLAlchemy tables of the points service.

``points_ledger`` is the system of record (append-only). ``points_accounts`` (balance) and
``points_period_totals`` (earned per calendar period, for leaderboards and goals) are projections kept in the
same transaction as the entries; ``points_cap_usage`` is the cap state per rule, employee and period.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
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

# Every business event applied, once (the primary key makes concurrent duplicates wait, then skip).
applied_events = Table(
    "points_applied_events",
    metadata,
    Column("event_id", String(128), primary_key=True),
    Column("event_type", String(128), nullable=False),
    Column("employee_id", String(64), nullable=False),
    Column("applied_at", DateTime(timezone=True), nullable=False),
)

ledger = Table(
    "points_ledger",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("employee_id", String(64), nullable=False),
    Column("org_unit", String(255), nullable=False),
    Column("points", BigInteger, nullable=False),
    Column("kind", String(16), nullable=False),
    Column("reason", Text, nullable=False),
    Column("source_event_id", String(128), nullable=False),
    Column("rule_id", String(128), nullable=False),
    Column("pack_id", String(128), nullable=False),
    Column("pack_version", String(64), nullable=False),
    Column("occurred_at", DateTime(timezone=True), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("source_event_id", "rule_id", "employee_id", "kind", name="uq_points_ledger_once"),
    Index("ix_points_ledger_emp", "employee_id", "occurred_at"),
    Index("ix_points_ledger_time", "occurred_at"),
)

# Balance per employee, kept in the same transaction as the ledger; its row lock serialises spending.
accounts = Table(
    "points_accounts",
    metadata,
    Column("employee_id", String(64), primary_key=True),
    Column("org_unit", String(255), nullable=False),
    Column("balance", BigInteger, nullable=False),
)

# Points earned per employee and calendar period ("2026-W45", "2026-11", "2026-Q4", "2026").
period_totals = Table(
    "points_period_totals",
    metadata,
    Column("period", String(16), primary_key=True),
    Column("employee_id", String(64), primary_key=True),
    Column("org_unit", String(255), nullable=False),
    Column("points", BigInteger, nullable=False),
    Column("reached_at", DateTime(timezone=True), nullable=False),
    Index("ix_points_period_rank", "period", "points", "reached_at", "employee_id"),
    Index("ix_points_period_unit", "period", "org_unit"),
)

# Points a capped rule already paid an employee in a cap period ("day:2026-11-02", "week:2026-W45", ...).
cap_usage = Table(
    "points_cap_usage",
    metadata,
    Column("employee_id", String(64), primary_key=True),
    Column("rule_id", String(128), primary_key=True),
    Column("period", String(24), primary_key=True),
    Column("used", BigInteger, nullable=False),
)

reward_items = Table(
    "points_reward_items",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("name", String(255), nullable=False),
    Column("cost", BigInteger, nullable=False),
    Column("stock", Integer, nullable=False),
    Column("per_person_limit", Integer, nullable=False),
    Column("category", String(64), nullable=False, server_default=""),
    Column("eligible_top_percent", Integer, nullable=False, server_default="0"),
    Column("eligible_period", String(16), nullable=False, server_default="quarter"),
)

redemptions = Table(
    "points_redemptions",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("request_id", String(128), unique=True, nullable=True),
    Column("item_id", String(64), nullable=False),
    Column("employee_id", String(64), nullable=False),
    Column("org_unit", String(255), nullable=False),
    Column("cost", BigInteger, nullable=False),
    Column("state", String(16), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("reason", Text, nullable=False, server_default=""),
    Index("ix_points_redemptions_emp", "employee_id", "item_id"),
)

team_goals = Table(
    "points_team_goals",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("request_id", String(128), unique=True, nullable=True),
    Column("name", String(255), nullable=False),
    Column("org_unit", String(255), nullable=False),
    Column("event_type", String(128), nullable=False),
    Column("target", BigInteger, nullable=False),
    Column("pool_points", BigInteger, nullable=False),
    Column("start_time", DateTime(timezone=True), nullable=False),
    Column("end_time", DateTime(timezone=True), nullable=False),
    Column("state", String(16), nullable=False),
    Column("achieved_at", DateTime(timezone=True), nullable=True),
    Column("created_by", String(128), nullable=False),
    Index("ix_points_team_goals_open", "state", "event_type"),
)

team_goal_progress = Table(
    "points_team_goal_progress",
    metadata,
    Column("goal_id", String(64), primary_key=True),
    Column("employee_id", String(64), primary_key=True),
    Column("org_unit", String(255), nullable=False),
    Column("contribution", BigInteger, nullable=False),
)

personal_goals = Table(
    "points_personal_goals",
    metadata,
    Column("employee_id", String(64), primary_key=True),
    Column("period", String(16), primary_key=True),
    Column("period_kind", String(16), nullable=False),
    Column("org_unit", String(255), nullable=False),
    Column("target", BigInteger, nullable=False),
)

# One nudge per employee and week, even when SendNudges runs on several replicas or twice.
nudges_sent = Table(
    "points_nudges_sent",
    metadata,
    Column("employee_id", String(64), primary_key=True),
    Column("week", String(16), primary_key=True),
    Column("sent_at", DateTime(timezone=True), nullable=False),
)
