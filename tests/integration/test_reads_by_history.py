"""Reads on hot paths cost what their answer costs, not what the table's history costs (PostgreSQL, real
statements under EXPLAIN ANALYZE, ``tests/support/plans.py``): each test fills a table with a long history
that the read must not wade through, then bounds the pages the read touches. Without the index or bound
each one names, the same read touched hundreds to thousands of pages."""

from __future__ import annotations

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
            page = Reports(None).reports(s, team, day)  # type: ignore[arg-type]  # no wiring needed
    assert all(len([i for i in r.items if i.kind == "stop"]) == 12 for r in page)
    one, whole_page = reads[0], costliest(reads[1:])
    assert one.pages <= 30, one.plan
    assert whole_page.pages <= 1500, whole_page.plan  # 1,200 stops, each on its own page at worst
