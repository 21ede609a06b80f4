"""compliance: request ids move to the chassis idempotency table (rows copied, old table dropped)

The old table keyed one column by ``"<kind>:<request id>"`` (activity, transition, comment) next to the
method; the chassis key is (service, method, request id), so the prefix is dropped on the way.

Revision ID: compliance_0005
Revises: compliance_0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "compliance_0005"
down_revision = "compliance_0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The chassis history (chassis_0003: ``idempotency``) runs before the service's own.
    old = sa.table(
        "compliance_requests",
        sa.column("request_id", sa.String),
        sa.column("method", sa.String),
        sa.column("result", sa.Text),
        sa.column("at", sa.DateTime(timezone=True)),
    )
    new = sa.table(
        "idempotency",
        sa.column("service", sa.String),
        sa.column("method", sa.String),
        sa.column("request_id", sa.String),
        sa.column("fingerprint", sa.String),
        sa.column("response", sa.Text),
        sa.column("created_at", sa.DateTime(timezone=True)),
    )
    bind = op.get_bind()
    rows = [
        {
            "service": "compliance",
            "method": r.method,
            "request_id": r.request_id.partition(":")[2] or r.request_id,
            "fingerprint": None,
            "response": r.result,
            "created_at": r.at,
        }
        for r in bind.execute(sa.select(old))
    ]
    if rows:
        bind.execute(sa.insert(new), rows)
    op.drop_table("compliance_requests")


def downgrade() -> None:
    raise NotImplementedError("downgrades are not supported; restore from backup")
