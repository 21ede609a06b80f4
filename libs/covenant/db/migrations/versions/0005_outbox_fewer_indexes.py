"""chassis: drop the outbox indexes no query uses

Every outbox row is written three times (inserted, leased, marked delivered), and none of those updates can
be HOT (each changes an indexed column), so each writes an entry into every index of the table.
``ix_outbox_due`` (destination, delivered_at, next_attempt_at) served the relay's reads until
``ix_outbox_undelivered`` (chassis_0004) took them all, and ``ix_outbox_event`` (event_id) served no query.
Without them a row costs five index entries instead of twelve (docs/operations.md, "Throughput").

Revision ID: chassis_0005
Revises: chassis_0004
"""

from __future__ import annotations

from alembic import op

revision = "chassis_0005"
down_revision = "chassis_0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_outbox_due", table_name="outbox")
    op.drop_index("ix_outbox_event", table_name="outbox")


def downgrade() -> None:
    raise NotImplementedError("downgrades are not supported; restore from backup")
