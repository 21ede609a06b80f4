"""Hot-path reads of compliance cost what their answer costs, not what the table's history costs
(PostgreSQL, real statements under EXPLAIN ANALYZE, ``tests/support/plans.py``): each test fills a table with
a long history the read must not wade through, then bounds the pages the read touches. Without the index
each one names (compliance_0006), the same read touched hundreds to thousands of pages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from covenant.auth import ScopeFilter
from covenant.db.audit import AuditLog
from covenant.db.outbox import Outbox
from services.compliance.ports import CaseFilter
from services.compliance.storage import SqlComplianceStore
from tests.support.plans import fill, migrated, reads_of


def _store(s: object) -> SqlComplianceStore:
    return SqlComplianceStore(s, Outbox("compliance"), AuditLog("compliance"))  # type: ignore[arg-type]


def test_a_pairs_contacts_in_a_window_are_read_without_the_employees_other_contacts(pg_url: str) -> None:
    """Every consumed visit_verified batch and every RecordClientActivity contact looks up the pair's
    contacts within the pack's window (``contacts_between``): ``ix_compliance_client_contacts_pair_at``
    (employee, client, at). 100 employees x 365 days x 8 clients a day, in time order (292,000 contacts):
    2,413 pages through ``(employee_id)`` for a pair's ±7-day window, whether it holds 14 contacts or none
    (all 2,920 of the employee's contacts read); 18 and 3 pages with it."""
    with migrated(pg_url, "compliance") as db:
        fill(
            db,
            """INSERT INTO compliance_client_contacts (activity_id, employee_id, client_id, org_unit, at)
               SELECT 'a' || d || '-' || e || '-' || k, 'E' || e, 'C' || e || '-' || k, '/hq/t' || (e % 10),
                      TIMESTAMPTZ '2025-01-01 09:00+08' + d * INTERVAL '1 day' + k * INTERVAL '45 minutes'
               FROM generate_series(0, 364) d, generate_series(1, 100) e, generate_series(0, 7) k""",
        )
        noon = datetime(2025, 7, 1, 4, tzinfo=UTC)  # day 181
        week = timedelta(days=7)
        with reads_of(db) as reads, db.session() as s:
            known = _store(s).contacts_between({("E7", "C7-3")}, noon - week, noon + week)
            first = _store(s).contacts_between({("E7", "C-new")}, noon - week, noon + week)
    assert len(known[("E7", "C7-3")]) == 14 and first == {}
    assert reads[0].pages <= 60, reads[0].plan
    assert reads[1].pages <= 10, reads[1].plan


def test_an_employee_days_last_dwell_anomaly_is_read_without_the_employees_other_days(pg_url: str) -> None:
    """Every visit-note scan asks for the employee's latest dwell anomaly that day (``last_dwell_anomaly``):
    ``ix_compliance_dwell_anomalies_day`` (employee, day, at). 100 employees x 365 days x 2 anomalies
    (73,000): 602 pages through ``(employee_id)`` (all 730 of the employee's read to find 2), 4 with it."""
    with migrated(pg_url, "compliance") as db:
        fill(
            db,
            """INSERT INTO compliance_dwell_anomalies (event_id, employee_id, day, at)
               SELECT 'ev' || d || '-' || e || '-' || k, 'E' || e,
                      to_char(DATE '2025-01-01' + d, 'YYYY-MM-DD'),
                      TIMESTAMPTZ '2025-01-01 10:00+08' + d * INTERVAL '1 day' + k * INTERVAL '3 hours'
               FROM generate_series(0, 364) d, generate_series(1, 100) e, generate_series(0, 1) k""",
        )
        with reads_of(db) as reads, db.session() as s:
            last = _store(s).last_dwell_anomaly("E7", "2025-07-01", datetime(2025, 7, 1, 9, tzinfo=UTC))
    assert last == datetime(2025, 7, 1, 5, tzinfo=UTC)  # 13:00 +08, the second of the day
    assert reads[0].pages <= 10, reads[0].plan


def test_a_case_list_page_is_read_without_sorting_every_case(pg_url: str) -> None:
    """The case list pages by (opened_at, id), optionally of one state (``list_cases``):
    ``ix_compliance_cases_opened`` and ``ix_compliance_cases_state_opened``. 100,000 cases, the newest
    4,000 open: 2,265, 2,260 and 2,215 pages (Seq Scan and top-N sort) for the first page of 50, the next
    one and the first page of open cases without them; 5, 6 and 5 with them (the open page through
    ``(opened_at, id)`` alone walked past the 96,000 closed cases: 2,605 pages)."""
    with migrated(pg_url, "compliance") as db:
        fill(
            db,
            """INSERT INTO compliance_cases (id, employee_id, org_unit, rule_id, window_key, category,
                   severity, state, owner, opened_at, sla_due_at, evidence_json, comments_json,
                   pack_version, occurrences, updated_at, pack_id)
               SELECT 'case-' || g, 'E' || (g % 500), '/hq/t' || (g % 20), 'rule-' || (g % 12), 'w' || g,
                      'conduct', 'HIGH', CASE WHEN g > 96000 THEN 'OPEN' ELSE 'CLOSED' END, 'reviewer',
                      at, at + INTERVAL '3 days', '{"phrase": "guaranteed returns"}', '[]', 'v1', 1, at,
                      'pack'
               FROM generate_series(1, 100000) g,
                    LATERAL (SELECT TIMESTAMPTZ '2024-01-01' + g * INTERVAL '7 minutes' AS at) t""",
        )
        everyone = ScopeFilter(all=True)
        with reads_of(db) as reads, db.session() as s:
            page = _store(s).list_cases(everyone, CaseFilter(), 50)
            after = (page[-1].opened_at, page[-1].id)
            nxt = _store(s).list_cases(everyone, CaseFilter(after=after), 50)
            open_ = _store(s).list_cases(everyone, CaseFilter(state="OPEN"), 50)
    assert [r.id for r in page][:2] == ["case-1", "case-2"] and nxt[0].id == "case-51"
    assert len(open_) == 50 and {r.state for r in open_} == {"OPEN"}
    assert all(r.pages <= 60 for r in reads), [r.plan for r in reads]
