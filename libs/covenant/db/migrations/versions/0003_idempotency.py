"""chassis: one idempotency table (service, method, request id → recorded response)

Revision ID: chassis_0003
Revises: chassis_0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "chassis_0003"
down_revision = "chassis_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "idempotency",
        sa.Column("service", sa.String(length=32), nullable=False),
        sa.Column("method", sa.String(length=64), nullable=False),
        sa.Column("request_id", sa.String(length=128), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=True),
        sa.Column("response", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("service", "method", "request_id"),
    )
    op.create_index("ix_idempotency_created", "idempotency", ["service", "created_at"], unique=False)


def downgrade() -> None:
    raise NotImplementedError("downgrades are not supported; restore from backup")
