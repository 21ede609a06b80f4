"""identity: request ids move to the chassis idempotency table (rows copied, old table dropped)

Revision ID: identity_0002
Revises: identity_0001
"""

from __future__ import annotations

from alembic import op

revision = "identity_0002"
down_revision = "identity_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The chassis history (chassis_0003: ``idempotency``) runs before the service's own.
    op.execute(
        "INSERT INTO idempotency (service, method, request_id, fingerprint, response, created_at) "
        "SELECT 'identity', method, request_id, NULL, result, created_at FROM identity_idempotency"
    )
    op.drop_table("identity_idempotency")


def downgrade() -> None:
    raise NotImplementedError("downgrades are not supported; restore from backup")
