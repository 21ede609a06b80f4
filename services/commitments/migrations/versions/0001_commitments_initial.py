"""commitments: initial tables

Revision ID: commitments_0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "commitments_0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "commitments",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("request_id", sa.String(length=128), nullable=True),
        sa.Column("employee_id", sa.String(length=64), nullable=False),
        sa.Column("org_unit", sa.String(length=255), nullable=False),
        sa.Column("client_id", sa.String(length=128), nullable=False),
        sa.Column("template_id", sa.String(length=128), nullable=False),
        sa.Column("fulfilling_event_type", sa.String(length=128), nullable=False),
        sa.Column("correlation_key", sa.String(length=64), nullable=False),
        sa.Column("correlation_value", sa.String(length=255), nullable=False),
        sa.Column("terms_json", sa.Text(), nullable=False),
        sa.Column("terms_hash", sa.String(length=80), nullable=False),
        sa.Column("state", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deadline", sa.DateTime(timezone=True), nullable=False),
        sa.Column("settled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("fulfilled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("delay_seconds", sa.BigInteger(), nullable=False),
        sa.Column("fulfilment_event_id", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("request_id"),
    )
    op.create_index(
        "ix_commitments_correlation",
        "commitments",
        ["fulfilling_event_type", "correlation_value"],
        unique=False,
    )
    op.create_index("ix_commitments_employee_state", "commitments", ["employee_id", "state"], unique=False)
    op.create_index("ix_commitments_org_unit", "commitments", ["org_unit"], unique=False)
    op.create_table(
        "commitment_extensions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("commitment_id", sa.String(length=64), nullable=False),
        sa.Column("previous_deadline", sa.DateTime(timezone=True), nullable=False),
        sa.Column("new_deadline", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("approver", sa.String(length=128), nullable=False),
        sa.Column("extended_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["commitment_id"],
            ["commitments.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        op.f("ix_commitment_extensions_commitment_id"),
        "commitment_extensions",
        ["commitment_id"],
        unique=False,
    )
    op.create_table(
        "commitment_timers",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("commitment_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("fired_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["commitment_id"],
            ["commitments.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_commitment_timers_commitment", "commitment_timers", ["commitment_id", "kind"], unique=False
    )
    op.create_index("ix_commitment_timers_due", "commitment_timers", ["fired_at", "due_at"], unique=False)


def downgrade() -> None:
    raise NotImplementedError("downgrades are not supported; restore from backup")
