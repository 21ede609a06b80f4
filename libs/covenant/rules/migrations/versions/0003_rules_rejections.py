"""rules: rejected versions (an approver's "no", with the reason)

Revision ID: rules_0003
Revises: rules_0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "rules_0003"
down_revision = "rules_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rule_pack_rejections",
        sa.Column("pack_id", sa.String(length=128), nullable=False),
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.Column("rejected_by", sa.String(length=255), nullable=False),
        sa.Column("rejected_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("pack_id", "version"),
    )


def downgrade() -> None:
    op.drop_table("rule_pack_rejections")
