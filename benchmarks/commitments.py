"""Benchmark: 100,000 open commitments whose deadlines fall in the same minute, all settled within 60 s,
each exactly once, by two scheduler replicas (two processes) on PostgreSQL.

    COVENANT_BENCH_PG_URL=postgresql://postgres@127.0.0.1:5432/test .venv/bin/python benchmarks/commitments.py

Prints: commitments created, settle time, settled count, breach events (must equal the count), duplicates.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select, text

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from covenant.db.engine import Database
from covenant.db.migrations import migrate
from covenant.db.scratch import scratch_database, test_server_url
from covenant.events.v1.event_pb2 import Event
from covenant.rules.component import build_rules_component
from covenant.settings import REPO_ROOT
from services.commitments import storage
from services.commitments.actions import VOCABULARY
from services.commitments.domain.commitment import Commitment
from services.commitments.domain.terms import Terms
from services.commitments.scheduler import DeadlineScheduler
from services.commitments.service import CommitmentsService

N = int(os.environ.get("COVENANT_BENCH_COMMITMENTS", "100000"))
REPLICAS = 2
DEFAULT_SERVER = "postgresql://postgres@127.0.0.1:5432/test"


def main() -> None:
    with scratch_database(test_server_url() or DEFAULT_SERVER, "covenant_bench_commitments") as url:
        run(url)


def run(url: str) -> None:
    migrate(url, "commitments", REPO_ROOT / "services" / "commitments" / "migrations")
    db = Database(url, pool_size=4)
    rules = build_rules_component(db, "commitments", VOCABULARY, REPO_ROOT / "rules", 3600)
    rules.load_default_packs()
    deadline = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(seconds=1)
    created = deadline - timedelta(days=3)
    t0 = time.perf_counter()
    batch: list[Commitment] = []
    with db.session() as s:
        for i in range(N):
            terms = Terms(
                "loan_disbursal_3d",
                "commitments-templates",
                "bench",
                "loan disbursed",
                f"E{i % 5000}",
                "/hq/b1/t1",
                f"C{i}",
                "loan.disbursed",
                "loan_id",
                f"L{i}",
                created,
                deadline,
                "bench",
            )
            batch.append(Commitment(uuid.uuid4().hex, terms, terms.content_hash()))
            if len(batch) == 5000:
                _bulk_insert(s, batch)
                batch = []
        _bulk_insert(s, batch)
    print(f"created {N} commitments due at {deadline.isoformat()} in {time.perf_counter() - t0:.1f}s")
    # Two replicas: each a process of its own with its own pool, as two pods would be.
    ctx = multiprocessing.get_context("spawn")
    ready, go = ctx.Barrier(REPLICAS + 1), ctx.Event()
    procs = [ctx.Process(target=_replica, args=(url, ready, go)) for _ in range(REPLICAS)]
    for proc in procs:
        proc.start()
    ready.wait(120)  # both have loaded their rule packs and connected
    t1 = time.perf_counter()
    go.set()
    for proc in procs:
        proc.join()
        assert proc.exitcode == 0, f"scheduler replica failed ({proc.exitcode})"
    elapsed = time.perf_counter() - t1
    with db.session() as s:
        settled = s.execute(
            select(func.count())
            .select_from(storage.commitments)
            .where(storage.commitments.c.state == "BREACHED")
        ).scalar()
        payloads = s.execute(
            text(
                "SELECT payload FROM outbox "
                "WHERE event_type = 'commitments.breached' AND destination = 'points'"
            )
        ).scalars()
        per_commitment = Counter(Event.FromString(p).data["commitment"] for p in payloads)
    duplicates = sum(n - 1 for n in per_commitment.values())
    ok = settled == N and len(per_commitment) == N and duplicates == 0 and elapsed < 60
    print(f"settled {settled}/{N} in {elapsed:.1f}s ({settled / elapsed:,.0f}/s)")
    events = sum(per_commitment.values())
    print(f"breach events: {events} for {len(per_commitment)} commitments; duplicates {duplicates}")
    print(f"target: all settled exactly once within 60 s -> {'PASS' if ok else 'FAIL'}")
    db.dispose()


def _replica(url: str, ready: Any, go: Any) -> None:
    """One scheduler replica: settle everything due, then exit."""
    db = Database(url, pool_size=2)
    rules = build_rules_component(db, "commitments", VOCABULARY, REPO_ROOT / "rules", 3600)
    rules.load_default_packs()
    scheduler = DeadlineScheduler(CommitmentsService(db, rules.runtime), batch=1000)
    ready.wait(120)
    go.wait(120)
    while scheduler.run_once():  # a pass ends early when the other replica holds the next rows
        pass
    db.dispose()


def _bulk_insert(session, batch: list[Commitment]) -> None:  # type: ignore[no-untyped-def]
    if not batch:
        return
    session.execute(
        insert(storage.commitments),
        [
            {
                "id": c.id,
                "request_id": None,
                "employee_id": c.terms.employee_id,
                "org_unit": c.terms.org_unit,
                "client_id": c.terms.client_id,
                "template_id": c.terms.template_id,
                "fulfilling_event_type": c.terms.fulfilling_event_type,
                "correlation_key": c.terms.correlation_key,
                "correlation_value": c.terms.correlation_value,
                "terms_json": c.terms.canonical(),
                "terms_hash": c.terms_hash,
                "state": "ACTIVE",
                "created_at": c.terms.created_at,
                "deadline": c.terms.deadline,
                "delay_seconds": 0,
                "fulfilment_event_id": "",
            }
            for c in batch
        ],
    )
    session.execute(
        insert(storage.timers),
        # Deadlines whose provisional breach was already taken: this pass makes them final (the breach
        # grace of rules/commitments/templates.yaml has passed).
        [{"commitment_id": c.id, "kind": "breach", "due_at": c.terms.deadline} for c in batch],
    )


if __name__ == "__main__":
    main()
