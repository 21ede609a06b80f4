"""scoring: RecordMetrics request ids move to the chassis idempotency table (rows copied, old table dropped)

Revision ID: scoring_0004_idempotency
Revises: scoring_0003_drivers
"""

from __future__ import annotations

from alembic import op

revision = "scoring_0004_idempotency"
down_revision = "scoring_0003_drivers"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The chassis history (chassis_0003: ``idempotency``) runs before the service's own. The old table kept
    # no time; the copy is stamped with the migration's.
    op.execute(
        "INSERT INTO idempotency (service, method, request_id, fingerprint, response, created_at) "
        "SELECT 'scoring', 'RecordMetrics', request_id, NULL, CAST(recorded AS VARCHAR(20)), "
        "CURRENT_TIMESTAMP FROM metric_requests"
    )
    op.drop_table("metric_requests")


def downgrade() -> None:
    raise NotImplementedError("downgrades are not supported; restore from backup")
