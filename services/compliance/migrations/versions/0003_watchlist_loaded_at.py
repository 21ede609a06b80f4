"""compliance: watchlist loaded_at

Revision ID: compliance_0003
Revises: compliance_0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "compliance_0003"
down_revision = "compliance_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("compliance_watchlist", schema=None) as batch_op:
        batch_op.add_column(sa.Column("loaded_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f("ix_compliance_watchlist_loaded_at"), ["loaded_at"], unique=False)


def downgrade() -> None:
    raise NotImplementedError("downgrades are not supported; restore from backup")
