"""points: index over an employee's ledger entries by id

``ledger_page`` (``WHERE employee_id = ? AND id > ? ORDER BY id LIMIT n``) had only
``ix_points_ledger_emp`` ``(employee_id, occurred_at)``, which does not give the rows in id order, so
PostgreSQL walked the primary key from ``after_id`` and filtered on the employee: the last page of an
employee whose entries are early in the ledger read to the table's end (4,432 pages at 300,000 entries).
``(employee_id, id)`` hands over the employee's entries after ``after_id`` in page order and stops at the
limit. ``ix_points_ledger_emp`` stays: it serves the employee's time-bounded reads.

Revision ID: points_0003
Revises: points_0002
"""

from __future__ import annotations

from alembic import op

revision = "points_0003"
down_revision = "points_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_points_ledger_emp_id", "points_ledger", ["employee_id", "id"], unique=False)


def downgrade() -> None:
    raise NotImplementedError("downgrades are not supported; restore from backup")
