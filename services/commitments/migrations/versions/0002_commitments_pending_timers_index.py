"""commitments: partial index over pending timers

The scheduler's claim (``fired_at IS NULL AND due_at <= now ORDER BY due_at, id LIMIT n``) read every
pending row through ``(fired_at, due_at)`` and sorted them for each batch (50 ms per claim at 100,000 due
timers, growing with the backlog). A partial index on ``(due_at, id) WHERE fired_at IS NULL`` hands the rows
over in claim order and shrinks as timers fire.

Revision ID: commitments_0002
Revises: commitments_0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "commitments_0002"
down_revision = "commitments_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_commitment_timers_due", table_name="commitment_timers")
    op.create_index(
        "ix_commitment_timers_pending",
        "commitment_timers",
        ["due_at", "id"],
        unique=False,
        postgresql_where=sa.text("fired_at IS NULL"),
        sqlite_where=sa.text("fired_at IS NULL"),
    )


def downgrade() -> None:
    raise NotImplementedError("downgrades are not supported; restore from backup")
