"""chassis: partial index over undelivered outbox rows

The relay's reads of what is left to deliver (destinations with undelivered rows, every few seconds; the
backlog gauge, every scrape; rows leased by a dead instance) filter ``delivered_at IS NULL``, which
``ix_outbox_due`` (destination, delivered_at, next_attempt_at) serves only destination by destination: they
read the whole index, delivered history included (4,110 pages at 500,000 rows kept for a week, to find 50
undelivered; 3,151 at 200,000 in the test). The claim itself walked the primary key in id order past every
delivered row during a backlog (300,000 rows, 23 ms a destination a pass). ``ix_outbox_undelivered`` holds
only the undelivered rows, per destination in claim order (longest due first), and shrinks as they are
delivered.

Revision ID: chassis_0004
Revises: chassis_0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "chassis_0004"
down_revision = "chassis_0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_outbox_undelivered",
        "outbox",
        ["destination", "next_attempt_at", "id"],
        unique=False,
        postgresql_where=sa.text("delivered_at IS NULL"),
        sqlite_where=sa.text("delivered_at IS NULL"),
    )


def downgrade() -> None:
    raise NotImplementedError("downgrades are not supported; restore from backup")
