"""scoring: index over signals by period

``signals_of`` (``WHERE period = ? ... ORDER BY id``) had no index leading with ``period`` (only
``uq_signals_once`` on ``(employee_id, period, kind)``), so PostgreSQL scanned every period's signals and
sorted: 990 pages to return 200 of 96,000 signals over 24 periods, growing with each period kept. An index on
``(period, id)`` reads one period's signals in raising order, no sort.

Revision ID: scoring_0005
Revises: scoring_0004_idempotency
"""

from __future__ import annotations

from alembic import op

revision = "scoring_0005"
down_revision = "scoring_0004_idempotency"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_signals_period", "signals", ["period", "id"], unique=False)


def downgrade() -> None:
    raise NotImplementedError("downgrades are not supported; restore from backup")
