"""compliance: stored screening hits (client contacts whose name matched a watchlist), with the explanation

Revision ID: compliance_0004
Revises: compliance_0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "compliance_0004"
down_revision = "compliance_0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "compliance_screening_hits",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("activity_id", sa.String(length=128), nullable=False),
        sa.Column("employee_id", sa.String(length=64), nullable=False),
        sa.Column("org_unit", sa.String(length=255), nullable=False),
        sa.Column("client_id", sa.String(length=128), nullable=False),
        sa.Column("client_name", sa.String(length=256), nullable=False),
        sa.Column("entry_id", sa.String(length=128), nullable=False),
        sa.Column("list_name", sa.String(length=128), nullable=False),
        sa.Column("listed_name", sa.Text(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("features", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("activity_id", "entry_id", name="uq_compliance_screening_hit"),
    )
    op.create_index("ix_compliance_screening_hits_org", "compliance_screening_hits", ["org_unit", "at"])


def downgrade() -> None:
    op.drop_index("ix_compliance_screening_hits_org", table_name="compliance_screening_hits")
    op.drop_table("compliance_screening_hits")
