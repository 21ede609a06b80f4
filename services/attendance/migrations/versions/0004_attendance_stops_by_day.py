"""attendance: stops indexed by employee-day

Every read of one employee-day's stops (the route report, a team summary page, the day closer, and the
re-detection that replaces a day's stops on ingest) filters ``employee_id`` and ``day``; the primary key
``(employee_id, start_at)`` served the employee only, so each read went through every stop the employee ever
made (3,600 rows for 12 after 300 days). ``(employee_id, day, start_at)`` reads the day's rows in order.

Revision ID: attendance_0004
Revises: attendance_0003
"""

from __future__ import annotations

from alembic import op

revision = "attendance_0004"
down_revision = "attendance_0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_attendance_stops_day", "attendance_stops", ["employee_id", "day", "start_at"])


def downgrade() -> None:
    raise NotImplementedError("downgrades are not supported; restore from backup")
