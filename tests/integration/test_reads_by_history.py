"""Reads on hot paths cost what their answer costs, not what the table's history costs (PostgreSQL, real
statements under EXPLAIN ANALYZE, ``tests/support/plans.py``): each test fills a table with a long history
that the read must not wade through, then bounds the pages the read touches. Without the index or bound
each one names, the same read touched hundreds to thousands of pages."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from services.attendance import storage as attendance
from services.attendance.reports import Reports
from tests.support.plans import costliest, fill, migrated, reads_of


def test_an_employee_days_stops_are_read_without_the_employees_other_days(pg_url: str) -> None:
    """The route report, a team page, the day closer and ingest's re-detection read one employee-day's
    stops: ``ix_attendance_stops_day``. 100 employees x 300 days x 12 stops (3,628 pages for one
    employee-day without it)."""
    with migrated(pg_url, "attendance") as db:
        fill(
            db,
            """INSERT INTO attendance_stops (employee_id, start_at, org_unit, day, end_at, latitude,
                   longitude, client_id, minutes, stop_id)
               SELECT 'E' || e, t.at, '/hq/t1', to_char(DATE '2026-01-01' + d, 'YYYY-MM-DD'),
                      t.at + INTERVAL '20 minutes', 22.5, 114.0, '', 20, 's' || e || '-' || d || '-' || k
               FROM generate_series(1, 100) e, generate_series(0, 299) d, generate_series(0, 11) k,
                    LATERAL (SELECT TIMESTAMPTZ '2026-01-01' + d * INTERVAL '1 day'
                                    + k * INTERVAL '40 minutes' AS at) t""",
        )
        day = "2026-10-27"  # the 300th
        team = [(f"E{e}", "/hq/t1") for e in range(1, 101)]
        with reads_of(db) as reads, db.session() as s:
            assert len(attendance.day_stops(s, "E7", day)) == 12
            page = Reports.reports(s, team, day)
    assert all(len([i for i in r.items if i.kind == "stop"]) == 12 for r in page)
    one, whole_page = reads[0], costliest(reads[1:])
    assert one.pages <= 30, one.plan
    assert whole_page.pages <= 1500, whole_page.plan  # 1,200 stops, each on its own page at worst


def test_the_relays_reads_of_what_is_left_read_no_delivered_history(pg_url: str) -> None:
    """Which destinations have undelivered rows (every few seconds), the backlog gauge (every scrape), the
    rows a dead relay leased, and the claim of each pass: ``ix_outbox_undelivered``. 200,000 rows delivered
    over a week and a backlog of 20,000 after an outage: the reads of what is left touched about 3,000
    pages without it, and the claim walked the primary key past every delivered row (7,339 pages to pick
    400 rows; now about one a row)."""
    from covenant.db.relay import _PG_CLAIM, OutboxRelay

    with migrated(pg_url, "points") as db:
        fill(
            db,
            """INSERT INTO outbox (event_id, event_type, destination, payload, created_at, attempts,
                   next_attempt_at, delivered_at, leased_by)
               SELECT 'e' || n, 'attendance.visit_verified', (ARRAY['points', 'scoring'])[1 + n % 2],
                      '\\x00'::bytea, now() - (200000 - n) * INTERVAL '3 seconds', 1, now(),
                      CASE WHEN n <= 180000 THEN now() - (200000 - n) * INTERVAL '3 seconds' END,
                      CASE WHEN n > 199990 THEN 'gone' END
               FROM generate_series(1, 200000) n""",
            "INSERT INTO relay_heartbeat (instance, beat_at) VALUES ('gone', now() - INTERVAL '1 hour')",
        )
        relay = OutboxRelay(db, lambda _: None, source="attendance")  # type: ignore[arg-type,return-value]
        with reads_of(db) as reads:
            assert {"points", "scoring"} <= set(relay._targets())
            assert relay.backlog()["points"][0] == 10_000
            assert relay.reclaim_stale() == 10
        with db.session() as s:  # the claim, as a pass sends it (psycopg, not SQLAlchemy): rolled back
            now = datetime.now(UTC)
            (plan,) = (
                s.connection()
                .connection.driver_connection.execute(
                    "EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + _PG_CLAIM.format(*["%s"] * 5),
                    [now, "me", ["points", "scoring"], now, 200],
                )
                .fetchone()
            )
            s.rollback()
    assert len(reads) >= 3
    worst = costliest(reads)
    assert worst.pages <= 1200, (worst.sql, worst.plan)  # the backlog's own rows: about 400 pages
    picked = _node(plan[0]["Plan"], "LockRows")  # choosing the rows, before writing their leases
    pages = picked["Shared Hit Blocks"] + picked["Shared Read Blocks"]
    assert plan[0]["Plan"]["Actual Rows"] == 400 and pages <= 1000, (pages, plan)


def _node(plan: dict[str, Any], kind: str) -> dict[str, Any]:
    """The first node of type ``kind`` in an EXPLAIN (FORMAT JSON) plan tree."""
    if plan["Node Type"] == kind:
        return plan
    for child in plan.get("Plans", []):
        try:
            return _node(child, kind)
        except LookupError:
            continue
    raise LookupError(kind)
