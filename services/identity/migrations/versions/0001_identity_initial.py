"""identity: org units, employees, accounts, roles, service accounts, tokens, idempotency

Revision ID: identity_0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "identity_0001"
down_revision = None
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "identity_org_units",
        sa.Column("path", sa.String(1024), primary_key=True),
        sa.Column("display_name", sa.String(200), nullable=False),
        sa.Column("parent_path", sa.String(1024), nullable=False, index=True),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_table(
        "identity_employees",
        sa.Column("employee_id", sa.String(32), primary_key=True),
        sa.Column("display_name", sa.String(200), nullable=False),
        sa.Column("org_unit", sa.String(1024), nullable=False, index=True),
        sa.Column("role_titles", sa.JSON, nullable=False),
        sa.Column("manager_id", sa.String(32), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("hire_date", sa.Date, nullable=True),
        sa.Column("national_id_enc", sa.Text, nullable=False),
        sa.Column("phone_enc", sa.Text, nullable=False),
        sa.Column("bank_card_enc", sa.Text, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
    )
    op.create_table(
        "identity_accounts",
        sa.Column("username", sa.String(64), primary_key=True),
        sa.Column("employee_id", sa.String(32), nullable=False, index=True),
        sa.Column("password_hash", sa.String(256), nullable=False),
        sa.Column("failed_attempts", sa.Integer, nullable=False),
        sa.Column("locked_until", TS, nullable=True),
        sa.Column("disabled", sa.Boolean, nullable=False),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_table(
        "identity_role_assignments",
        sa.Column("username", sa.String(64), primary_key=True),
        sa.Column("role", sa.String(64), primary_key=True),
        sa.Column("org_unit", sa.String(1024), primary_key=True),
    )
    op.create_table(
        "identity_service_accounts",
        sa.Column("client_id", sa.String(64), primary_key=True),
        sa.Column("secret_hash", sa.String(256), nullable=False),
        sa.Column("roles", sa.JSON, nullable=False),
        sa.Column("disabled", sa.Boolean, nullable=False),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_table(
        "identity_refresh_tokens",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column("family_id", sa.String(32), nullable=False, index=True),
        sa.Column("username", sa.String(64), nullable=False, index=True),
        sa.Column("expires_at", TS, nullable=False),
        sa.Column("used_at", TS, nullable=True),
        sa.Column("revoked_at", TS, nullable=True),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_table(
        "identity_revoked_tokens",
        sa.Column("jti", sa.String(64), primary_key=True),
        sa.Column("expires_at", TS, nullable=False, index=True),
    )
    op.create_table(
        "identity_idempotency",
        sa.Column("request_id", sa.String(128), primary_key=True),
        sa.Column("method", sa.String(64), primary_key=True),
        sa.Column("result", sa.String(1024), nullable=False),
        sa.Column("created_at", TS, nullable=False),
    )


def downgrade() -> None:
    for name in (
        "identity_idempotency",
        "identity_revoked_tokens",
        "identity_refresh_tokens",
        "identity_service_accounts",
        "identity_role_assignments",
        "identity_accounts",
        "identity_employees",
        "identity_org_units",
    ):
        op.drop_table(name)
