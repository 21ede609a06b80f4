"""Benchmark: business events through PointsService.RecordEvents into PostgreSQL with the points rule pack
applied (caps, ledger, balances, period totals, outbox), then a top-100 quarter leaderboard over 100,000
employees, all through real gRPC.

    COVENANT_TEST_PG_URL=postgresql://postgres@127.0.0.1:5432/test \
        .venv/bin/python benchmarks/points_ingest.py

Targets: >= 5,000 events/s; top-100 leaderboard (with the caller's own rank) < 50 ms.
Env: COVENANT_BENCH_POINTS_EMPLOYEES (100000), COVENANT_BENCH_POINTS_EVENTS (200000),
COVENANT_BENCH_POINTS_BATCH (2000). A fresh database is created for the run and dropped afterwards.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import create_engine, text

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from covenant.db.scratch import scratch_database, test_server_url
from covenant.grpc.testing import bearer, running_service
from covenant.points.v1 import points_pb2 as pb
from covenant.points.v1 import points_pb2_grpc
from tests.support.directory import employee, publish_employees

EMPLOYEES = int(os.environ.get("COVENANT_BENCH_POINTS_EMPLOYEES", "100000"))
EVENTS = int(os.environ.get("COVENANT_BENCH_POINTS_EVENTS", "200000"))
BATCH = int(os.environ.get("COVENANT_BENCH_POINTS_BATCH", "2000"))
SERVER = test_server_url() or "postgresql://postgres@127.0.0.1:5432/test"
TYPES = [
    ("loan_completed", {}),
    ("wealth_product_sold", {}),
    ("follow_up_visit", {"feedback": "good"}),
    ("follow_up_visit", {"feedback": "good"}),
    ("renewal", {}),
    ("client_signed", {"segment": "high_net_worth"}),
    ("loan_completed", {"amount": 1_500_000}),
    ("page_viewed", {}),  # not in the pack: applied (marked), pays nothing
]


def team(i: int) -> str:
    return f"/hq/branch-{i % 50:02d}/team-{i % 1000:03d}"


def build_batches(start: datetime) -> list[pb.RecordEventsRequest]:
    batches = []
    for b in range(0, EVENTS, BATCH):
        events = []
        for n in range(b, min(b + BATCH, EVENTS)):
            emp = n % EMPLOYEES
            etype, data = TYPES[n % len(TYPES)]
            e = pb.BusinessEvent(id=f"ev-{n}", type=etype, employee_id=f"E{emp:06d}")  # unit: the directory
            e.occurred_at.FromDatetime(start + timedelta(milliseconds=n))
            if data:
                e.data.update(data)
            events.append(e)
        batches.append(pb.RecordEventsRequest(events=events))
    return batches


def main() -> None:
    with scratch_database(SERVER, "covenant_bench_points") as url:
        run(url)


def run(url: str) -> None:
    env = {"COVENANT_RELAY_INTERVAL_SECONDS": "3600", "COVENANT_SCORING_TARGET": "127.0.0.1:9"}
    with (
        tempfile.TemporaryDirectory() as tmp,
        running_service("points", db_url=url, data_dir=Path(tmp), env=env) as svc,
    ):
        stub = points_pb2_grpc.PointsServiceStub(svc.channel)
        system = bearer(svc.tokens.service("crm", {"points.events.write": "all"}))
        t_dir = time.perf_counter()
        people = [employee(f"E{i:06d}", team(i), "wealth_adviser") for i in range(EMPLOYEES)]
        for i in range(0, EMPLOYEES, 1000):  # the directory, fed the way identity's events feed it
            publish_employees(svc, people[i : i + 1000])
        print(f"directory: {EMPLOYEES:,} employees fed in {time.perf_counter() - t_dir:.1f} s")
        start = datetime.now(UTC) - timedelta(hours=1)
        batches = build_batches(start)
        t0, cpu0 = time.perf_counter(), time.process_time()
        applied = awarded = 0
        for req in batches:
            resp = stub.RecordEvents(req, metadata=system, timeout=120)
            applied += resp.applied
            awarded += resp.points_awarded
        elapsed, cpu = time.perf_counter() - t0, time.process_time() - cpu0
        print(
            f"ingest: {applied:,} events in {elapsed:.1f} s = {applied / elapsed:,.0f} events/s "
            f"(batches of {BATCH}, {EMPLOYEES:,} employees, {awarded:,} points awarded; "
            f"process CPU {cpu:.1f} s client+server, PostgreSQL not included; "
            f"load {os.getloadavg()[0]:.1f})"
        )
        t1 = time.perf_counter()
        dup = stub.RecordEvents(batches[0], metadata=system, timeout=120)
        print(
            f"replay of one batch: {dup.duplicates} duplicates, {dup.applied} applied, "
            f"{(time.perf_counter() - t1) * 1000:.0f} ms"
        )

        # steady state: autovacuum would have run; the rank count is an index-only scan after it
        with create_engine(url, isolation_level="AUTOCOMMIT").connect() as conn:
            conn.execute(text("VACUUM ANALYZE points_period_totals"))
        reader = bearer(svc.tokens.user("E050000", team(50000), {"points.leaderboards.read": "all"}))
        req = pb.GetLeaderboardRequest(period=pb.QUARTER, scope=pb.ALL, top=100)
        board = stub.GetLeaderboard(req, metadata=reader)
        times = []
        for _ in range(50):
            t2 = time.perf_counter()
            board = stub.GetLeaderboard(req, metadata=reader)
            times.append((time.perf_counter() - t2) * 1000)
        times.sort()
        print(
            f"leaderboard top-100 of {EMPLOYEES:,} ({board.period_key}): "
            f"median {statistics.median(times):.1f} ms, "
            f"p95 {times[int(len(times) * 0.95) - 1]:.1f} ms, max {times[-1]:.1f} ms; "
            f"caller rank {board.my_rank:,}, gap to next {board.gap_to_next}"
        )
        print(
            f"targets: ingest >= 5,000/s {'OK' if applied / elapsed >= 5000 else 'MISSED'}; "
            f"leaderboard < 50 ms {'OK' if statistics.median(times) < 50 else 'MISSED'}"
        )


if __name__ == "__main__":
    main()
