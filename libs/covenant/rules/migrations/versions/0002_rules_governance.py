"""rules: approvals (maker-checker), activation history, scheduled activations

Revision ID: rules_0002
Revises: rules_0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "rules_0002"
down_revision = "rules_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rule_pack_approvals",
        sa.Column("pack_id", sa.String(length=128), nullable=False),
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.Column("approver", sa.String(length=255), nullable=False),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("consumed_generation", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("pack_id", "version", "approver"),
    )
    op.create_table(
        "rule_pack_activations",
        sa.Column("pack_id", sa.String(length=128), nullable=False),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.Column("actor", sa.String(length=255), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("approved", sa.Boolean(), nullable=False),
        sa.Column("activated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("pack_id", "generation"),
    )
    op.create_table(
        "rule_pack_schedule",
        sa.Column("pack_id", sa.String(length=128), nullable=False),
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.Column("effective_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=255), nullable=False),
        sa.Column("approved", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("pack_id"),
    )
    # The versions active before this revision count as approved: an emergency rollback can return to them.
    op.execute(
        "INSERT INTO rule_pack_activations"
        " (pack_id, generation, version, actor, kind, approved, activated_at)"
        " SELECT pack_id, generation, version, activated_by, 'activated', TRUE, activated_at"
        " FROM rule_pack_active"
    )


def downgrade() -> None:
    raise NotImplementedError("downgrades are not supported; restore from backup")
