"""compliance: behaviour facts and idempotency

Revision ID: compliance_0002
Revises: compliance_0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "compliance_0002"
down_revision = "compliance_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "compliance_client_contacts",
        sa.Column("activity_id", sa.String(length=128), nullable=False),
        sa.Column("employee_id", sa.String(length=64), nullable=False),
        sa.Column("client_id", sa.String(length=128), nullable=False),
        sa.Column("org_unit", sa.String(length=255), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("activity_id"),
    )
    with op.batch_alter_table("compliance_client_contacts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_compliance_client_contacts_employee_id"), ["employee_id"], unique=False
        )

    op.create_table(
        "compliance_client_risk",
        sa.Column("client_id", sa.String(length=128), nullable=False),
        sa.Column("high_risk", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("client_id"),
    )
    op.create_table(
        "compliance_dwell_anomalies",
        sa.Column("event_id", sa.String(length=128), nullable=False),
        sa.Column("employee_id", sa.String(length=64), nullable=False),
        sa.Column("day", sa.String(length=10), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("event_id"),
    )
    with op.batch_alter_table("compliance_dwell_anomalies", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_compliance_dwell_anomalies_employee_id"), ["employee_id"], unique=False
        )

    op.create_table(
        "compliance_requests",
        sa.Column("request_id", sa.String(length=128), nullable=False),
        sa.Column("method", sa.String(length=64), nullable=False),
        sa.Column("result", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("request_id"),
    )
    with op.batch_alter_table("compliance_cases", schema=None) as batch_op:
        batch_op.add_column(sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("pack_id", sa.String(length=64), server_default="", nullable=False))


def downgrade() -> None:
    raise NotImplementedError("downgrades are not supported; restore from backup")
