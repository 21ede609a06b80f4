"""attendance: employee-day state (resumable stop detection, summaries), pack ids on decisions, place
revisions for multi-replica index refresh, stop ids and anomaly intervals

Revision ID: attendance_0002
Revises: attendance_0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "attendance_0002"
down_revision = "attendance_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("attendance_places") as b:
        b.add_column(sa.Column("revision", sa.BigInteger(), nullable=False, server_default="0"))
    op.create_index("ix_attendance_places_revision", "attendance_places", ["revision"])
    op.create_table(
        "attendance_place_revision",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("revision", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("attendance_visits") as b:
        b.add_column(sa.Column("pack_id", sa.String(length=128), nullable=False, server_default=""))
    with op.batch_alter_table("attendance_stops") as b:
        b.add_column(sa.Column("stop_id", sa.String(length=64), nullable=False, server_default=""))
        b.add_column(sa.Column("closed", sa.Boolean(), nullable=False, server_default=sa.true()))
    with op.batch_alter_table("attendance_anomalies") as b:
        b.add_column(sa.Column("pack_id", sa.String(length=128), nullable=False, server_default=""))
        b.add_column(sa.Column("ref_id", sa.String(length=128), nullable=False, server_default=""))
        b.add_column(sa.Column("start_at", sa.DateTime(timezone=True), nullable=True))
        b.add_column(sa.Column("end_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "attendance_days",
        sa.Column("employee_id", sa.String(length=64), nullable=False),
        sa.Column("day", sa.String(length=10), nullable=False),
        sa.Column("org_unit", sa.String(length=255), nullable=False),
        sa.Column("role", sa.String(length=64), nullable=False),
        sa.Column("pings", sa.Integer(), nullable=False),
        sa.Column("first_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resume_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("dirty", sa.Boolean(), nullable=False),
        sa.Column("summary_revision", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("employee_id", "day"),
    )
    op.create_index("ix_attendance_days_dirty", "attendance_days", ["dirty", "day"])
    op.create_index("ix_attendance_days_org", "attendance_days", ["day", "org_unit", "employee_id"])


def downgrade() -> None:
    op.drop_index("ix_attendance_days_org", table_name="attendance_days")
    op.drop_index("ix_attendance_days_dirty", table_name="attendance_days")
    op.drop_table("attendance_days")
    with op.batch_alter_table("attendance_anomalies") as b:
        for c in ("end_at", "start_at", "ref_id", "pack_id"):
            b.drop_column(c)
    with op.batch_alter_table("attendance_stops") as b:
        b.drop_column("closed")
        b.drop_column("stop_id")
    with op.batch_alter_table("attendance_visits") as b:
        b.drop_column("pack_id")
    op.drop_table("attendance_place_revision")
    op.drop_index("ix_attendance_places_revision", table_name="attendance_places")
    with op.batch_alter_table("attendance_places") as b:
        b.drop_column("revision")
