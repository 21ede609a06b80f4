"""scoring: high-performer profiles

Revision ID: scoring_0002_profiles
Revises: scoring_0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "scoring_0002_profiles"
down_revision = "scoring_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "performer_profiles",
        sa.Column("role", sa.String(length=64), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("outcome_kpi", sa.String(length=64), nullable=False),
        sa.Column("org_unit", sa.String(length=255), nullable=False),
        sa.Column("threshold", sa.String(length=40), nullable=False),
        sa.Column("top_count", sa.Integer(), nullable=False),
        sa.Column("rest_count", sa.Integer(), nullable=False),
        sa.Column("kpis_json", sa.Text(), nullable=False),
        sa.Column("computed_by", sa.String(length=128), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("role", "period", "outcome_kpi", "org_unit"),
    )


def downgrade() -> None:
    raise NotImplementedError("downgrades are not supported; restore from backup")
