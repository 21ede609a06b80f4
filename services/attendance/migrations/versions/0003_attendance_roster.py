"""attendance: the directory's field roster (status, role, org unit) for silence of reps who never sent

Revision ID: attendance_0003
Revises: attendance_0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "attendance_0003"
down_revision = "attendance_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "attendance_roster",
        sa.Column("employee_id", sa.String(length=64), nullable=False),
        sa.Column("org_unit", sa.String(length=255), nullable=False),
        sa.Column("role", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("joined", sa.String(length=10), nullable=False),
        sa.Column("status_since", sa.String(length=10), nullable=False),
        sa.Column("away_from", sa.String(length=10), nullable=False),
        sa.Column("away_until", sa.String(length=10), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("employee_id"),
    )


def downgrade() -> None:
    op.drop_table("attendance_roster")
