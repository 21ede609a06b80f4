"""Hot-path reads of commitments, points and scoring cost what their answer costs, not what the table's
history costs (PostgreSQL, real statements under EXPLAIN ANALYZE, ``tests/support/plans.py``): each test
fills a table with a long history the read must not wade through, then bounds the pages the read touches.
Without the index each one names, the same read touched hundreds to thousands of pages."""

from __future__ import annotations

from covenant.auth import ScopeFilter
from services.commitments import storage as commitments
from services.points import storage as points
from services.scoring import storage as scoring
from tests.support.plans import fill, migrated, reads_of


def test_the_keys_open_commitments_wait_on_are_read_without_the_settled_ones(pg_url: str) -> None:
    """The commitments consumer asks, for every delivered event, which correlation keys open commitments
    of its type wait on (``waiting_correlation_keys``): ``ix_commitments_open_by_event`` (commitments_0004),
    partial over the open states. 200,000 commitments of 4 event types, the newest 4,000 open: without it
    887 pages (every ev.type2 entry of ``ix_commitments_correlation`` ANDed with all of
    ``ix_commitments_employee_state``; with other statistics a Seq Scan of 6,053 pages), with it 127
    (the pages holding the type's 1,000 open rows)."""
    with migrated(pg_url, "commitments") as db:
        fill(
            db,
            """INSERT INTO commitments (id, employee_id, org_unit, client_id, template_id,
                   fulfilling_event_type, correlation_key, correlation_value, terms_json, terms_hash, state,
                   created_at, deadline, settled_at, fulfilled_at, delay_seconds, fulfilment_event_id)
               SELECT 'c' || g, 'E' || (g % 500), '/hq/t' || (g % 20), 'client-' || (g % 3000),
                      'tpl-' || (g % 4), 'ev.type' || (g % 4), CASE WHEN g % 2 = 0 THEN 'loan_id'
                      ELSE 'case_id' END, 'v' || g, '{"promise": "call the client back within two days"}',
                      md5(g::text),
                      CASE WHEN g > 196000 THEN (CASE WHEN g % 7 = 0 THEN 'BREACHED' ELSE 'ACTIVE' END)
                           WHEN g % 9 = 0 THEN 'CANCELLED' ELSE 'FULFILLED' END,
                      at, at + INTERVAL '2 days', settled, settled, 0, ''
               FROM generate_series(1, 200000) g,
                    LATERAL (SELECT TIMESTAMPTZ '2025-01-01' + g * INTERVAL '1 minute' AS at) t,
                    LATERAL (SELECT CASE WHEN g > 196000 THEN NULL ELSE at + INTERVAL '1 day' END
                             AS settled) d""",
        )
        with reads_of(db) as reads, db.session() as s:
            keys = commitments.waiting_correlation_keys(s, "ev.type2")
    assert sorted(keys) == ["loan_id"]
    assert reads[0].pages <= 400, reads[0].plan  # the 4,000 open rows lie on about 115 pages


def test_the_last_page_of_an_early_employees_ledger_stops_at_the_employees_last_entry(pg_url: str) -> None:
    """``ledger_page`` (``employee_id = ? AND id > ? ORDER BY id LIMIT n``): ``ix_points_ledger_emp_id``
    (points_0003). 300,000 entries; E7's 3,000 are among the first 30,000, and the last page of 50 starts
    at E7's 2,950th entry: without the index PostgreSQL walked the primary key from there to the ledger's
    end, 4,905 pages; with it, 11."""
    with migrated(pg_url, "points") as db:
        fill(
            db,
            """INSERT INTO points_ledger (employee_id, org_unit, points, kind, reason, source_event_id,
                   rule_id, pack_id, pack_version, occurred_at, created_at)
               SELECT CASE WHEN g <= 30000 AND g % 10 = 0 THEN 'E7' ELSE 'E' || (100 + g % 900) END,
                      '/hq/t1', 5, 'award', 'visit logged', 'ev-' || g, 'visit', 'pack', '1', at, at
               FROM generate_series(1, 300000) g,
                    LATERAL (SELECT TIMESTAMPTZ '2025-01-01' + g * INTERVAL '1 minute' AS at) t""",
        )
        after = 29500  # E7's 2,950th entry
        with reads_of(db) as reads, db.session() as s:
            page = points.ledger_page(s, "E7", after, 100)
    assert [r["id"] for r in page] == list(range(29510, 30001, 10))
    assert reads[0].pages <= 60, reads[0].plan


def test_a_periods_signals_are_read_without_the_other_periods(pg_url: str) -> None:
    """``signals_of`` (``period = ? ... ORDER BY id``): ``ix_signals_period`` (scoring_0005). 24 periods x
    4,000 signals; one team's 200 of the last period: 1,372 pages (Seq Scan and sort) without it, 76 with
    it (the period's own rows)."""
    with migrated(pg_url, "scoring") as db:
        fill(
            db,
            """INSERT INTO signals (employee_id, org_unit, period, kind, audience, detail, rule_id, pack_id,
                   pack_version, raised_at)
               SELECT 'E' || e, '/hq/t' || (e % 20), to_char(DATE '2024-01-01' + p * INTERVAL '1 month',
                      'YYYY-MM'), 'low_score', 'lead', 'score below the team median', 'r1', 'pack', '1',
                      TIMESTAMPTZ '2024-02-01' + p * INTERVAL '1 month'
               FROM generate_series(0, 23) p, generate_series(1, 4000) e""",
        )
        with reads_of(db) as reads, db.session() as s:
            rows = scoring.signals_of(s, "2025-12", "/hq/t3", ScopeFilter(all=True))
    assert len(rows) == 200 and [r.id for r in rows] == sorted(r.id for r in rows)
    assert reads[0].pages <= 200, reads[0].plan
