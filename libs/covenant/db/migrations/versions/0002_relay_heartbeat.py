"""chassis: relay heartbeats; outbox rows name the relay instance holding their lease

Revision ID: chassis_0002
Revises: chassis_0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "chassis_0002"
down_revision = "chassis_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "relay_heartbeat",
        sa.Column("instance", sa.String(length=64), nullable=False),
        sa.Column("beat_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("instance"),
    )
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("leased_by", sa.String(length=64), nullable=True))


def downgrade() -> None:
    raise NotImplementedError("downgrades are not supported; restore from backup")
