"""commitments: one standing commitment per promise (business key)

Five identical promises on one loan id were each paid when the loan was disbursed once. ``business_key``
(``Terms.business_key``: template, fulfilling event type, correlation key and value) is unique while a
commitment stands; cancelling one clears it so the promise can be made again. Rows created before this
revision keep NULL (NULLs never collide), so existing data migrates unchanged.

Revision ID: commitments_0003
Revises: commitments_0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "commitments_0003"
down_revision = "commitments_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("commitments", sa.Column("business_key", sa.String(length=80), nullable=True))
    op.create_index("uq_commitments_business_key", "commitments", ["business_key"], unique=True)


def downgrade() -> None:
    raise NotImplementedError("downgrades are not supported; restore from backup")
