"""Hot-path reads of commitments, points and scoring cost what their answer costs, not what the table's
history costs (PostgreSQL, real statements under EXPLAIN ANALYZE, ``tests/support/plans.py``): each test
fills a table with a long history the read must not wade through, then bounds the pages the read touches.
Without the index each one names, the same read touched hundreds to thousands of pages."""

from __future__ import annotations

from services.commitments import storage as commitments
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
