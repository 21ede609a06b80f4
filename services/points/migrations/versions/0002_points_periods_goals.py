"""points: period totals, cap usage, team and personal goals, nudges; reward eligibility columns

Revision ID: points_0002
Revises: points_0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "points_0002"
down_revision = "points_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "points_period_totals",
        sa.Column("period", sa.String(length=16), nullable=False),
        sa.Column("employee_id", sa.String(length=64), nullable=False),
        sa.Column("org_unit", sa.String(length=255), nullable=False),
        sa.Column("points", sa.BigInteger(), nullable=False),
        sa.Column("reached_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("period", "employee_id"),
    )
    op.create_index(
        "ix_points_period_rank", "points_period_totals", ["period", "points", "reached_at", "employee_id"]
    )
    op.create_index("ix_points_period_unit", "points_period_totals", ["period", "org_unit"])
    op.create_table(
        "points_cap_usage",
        sa.Column("employee_id", sa.String(length=64), nullable=False),
        sa.Column("rule_id", sa.String(length=128), nullable=False),
        sa.Column("period", sa.String(length=24), nullable=False),
        sa.Column("used", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("employee_id", "rule_id", "period"),
    )
    op.create_table(
        "points_team_goals",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("request_id", sa.String(length=128), nullable=True),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("org_unit", sa.String(length=255), nullable=False),
        sa.Column("event_type", sa.String(length=128), nullable=False),
        sa.Column("target", sa.BigInteger(), nullable=False),
        sa.Column("pool_points", sa.BigInteger(), nullable=False),
        sa.Column("start_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("end_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("achieved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_by", sa.String(length=128), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("request_id"),
    )
    op.create_index("ix_points_team_goals_open", "points_team_goals", ["state", "event_type"])
    op.create_table(
        "points_team_goal_progress",
        sa.Column("goal_id", sa.String(length=64), nullable=False),
        sa.Column("employee_id", sa.String(length=64), nullable=False),
        sa.Column("org_unit", sa.String(length=255), nullable=False),
        sa.Column("contribution", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("goal_id", "employee_id"),
    )
    op.create_table(
        "points_personal_goals",
        sa.Column("employee_id", sa.String(length=64), nullable=False),
        sa.Column("period", sa.String(length=16), nullable=False),
        sa.Column("period_kind", sa.String(length=16), nullable=False),
        sa.Column("org_unit", sa.String(length=255), nullable=False),
        sa.Column("target", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("employee_id", "period"),
    )
    op.create_table(
        "points_nudges_sent",
        sa.Column("employee_id", sa.String(length=64), nullable=False),
        sa.Column("week", sa.String(length=16), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("employee_id", "week"),
    )
    with op.batch_alter_table("points_reward_items") as batch:
        batch.add_column(sa.Column("category", sa.String(length=64), nullable=False, server_default=""))
        batch.add_column(sa.Column("eligible_top_percent", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(
            sa.Column("eligible_period", sa.String(length=16), nullable=False, server_default="quarter")
        )
    with op.batch_alter_table("points_redemptions") as batch:
        batch.add_column(sa.Column("reason", sa.Text(), nullable=False, server_default=""))


def downgrade() -> None:
    raise NotImplementedError("downgrades are not supported; restore from backup")
