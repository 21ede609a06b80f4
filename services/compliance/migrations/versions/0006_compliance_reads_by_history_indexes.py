"""compliance: indexes for contact windows, an employee-day's dwell anomalies and the case list

Three hot-path reads cost what the table's history costs, not what their answer costs:

* ``contacts_between`` (every consumed ``attendance.visit_verified`` batch and every RecordClientActivity
  contact: ``employee_id = ANY(..) AND client_id = ANY(..) AND at > .. AND at <= .. ORDER BY at``) had only
  ``(employee_id)``: one pair's ±7-day window read all of the employee's contacts (2,920 rows, 2,435
  buffers at 292,000 contacts) to return none. ``(employee_id, client_id, at)`` replaces it and goes
  straight to the pair's window; employee-only lookups use its leading column.
* ``last_dwell_anomaly`` (every visit-note scan: ``max(at) WHERE employee_id = .. AND day = .. AND
  at <= ..``) had only ``(employee_id)``: it read all of the employee's anomalies (730 rows, 602 buffers)
  to find two. ``(employee_id, day, at)`` replaces it and reads the answer from the index's end.
* ``list_cases`` (``ORDER BY opened_at, id LIMIT n``, optionally ``WHERE state = ..``) had no index to
  page by: a sequential scan and top-N sort over every case (1,539 buffers at 100,000 cases).
  ``(opened_at, id)`` hands the page over in order and the LIMIT stops early; ``(state, opened_at, id)``
  does the same for one state (the open cases are the newest: through ``(opened_at, id)`` alone a page of
  them walked past every closed case).

Revision ID: compliance_0006
Revises: compliance_0005
"""

from __future__ import annotations

from alembic import op

revision = "compliance_0006"
down_revision = "compliance_0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_compliance_client_contacts_employee_id", table_name="compliance_client_contacts")
    op.create_index(
        "ix_compliance_client_contacts_pair_at",
        "compliance_client_contacts",
        ["employee_id", "client_id", "at"],
        unique=False,
    )
    op.drop_index("ix_compliance_dwell_anomalies_employee_id", table_name="compliance_dwell_anomalies")
    op.create_index(
        "ix_compliance_dwell_anomalies_day",
        "compliance_dwell_anomalies",
        ["employee_id", "day", "at"],
        unique=False,
    )
    op.create_index("ix_compliance_cases_opened", "compliance_cases", ["opened_at", "id"], unique=False)
    op.create_index(
        "ix_compliance_cases_state_opened", "compliance_cases", ["state", "opened_at", "id"], unique=False
    )


def downgrade() -> None:
    raise NotImplementedError("downgrades are not supported; restore from backup")
