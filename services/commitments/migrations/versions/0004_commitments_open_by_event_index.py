"""commitments: partial index over open commitments by fulfilling event

The consumer asks, for every delivered event, which correlation keys open commitments of that event type
wait on (``waiting_correlation_keys``: ``SELECT DISTINCT correlation_key ... WHERE fulfilling_event_type = ?
AND state IN ('ACTIVE', 'BREACHED')``). Only ``(fulfilling_event_type, correlation_value)`` was indexed, and
not by state, so PostgreSQL scanned the whole table: at 300,000 commitments with 6,100 open, a Seq Scan of
6,119 pages (21.6 ms) per event, growing with every settled commitment. A partial index on
``(fulfilling_event_type, correlation_key, correlation_value) WHERE state IN ('ACTIVE', 'BREACHED')`` holds
the open rows only: the read becomes an Index Only Scan of a few pages, and ``find_open_by_correlation``
(same event type, key and value, open states) reads through it too. It shrinks as commitments settle.

Revision ID: commitments_0004
Revises: commitments_0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "commitments_0004"
down_revision = "commitments_0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_commitments_open_by_event",
        "commitments",
        ["fulfilling_event_type", "correlation_key", "correlation_value"],
        unique=False,
        postgresql_where=sa.text("state IN ('ACTIVE', 'BREACHED')"),
        sqlite_where=sa.text("state IN ('ACTIVE', 'BREACHED')"),
    )


def downgrade() -> None:
    raise NotImplementedError("downgrades are not supported; restore from backup")
