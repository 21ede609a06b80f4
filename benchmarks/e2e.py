"""Benchmark: events through the whole chain, all services on this machine with PostgreSQL (SQLite when no
COVENANT_TEST_PG_URL): verified check-ins at attendance → outbox → relays → points (award) and scoring
(metric). Prints sustained events/s, p50/p99 latency from the check-in to its last effect, and lost or
duplicated effects (target: zero).

    COVENANT_TEST_PG_URL=postgresql://postgres@127.0.0.1:5432/test .venv/bin/python benchmarks/e2e.py [N]
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from google.protobuf.timestamp_pb2 import Timestamp
from sqlalchemy import text

from covenant.attendance.v1 import attendance_pb2 as apb
from covenant.attendance.v1 import attendance_pb2_grpc
from covenant.common.v1.common_pb2 import GeoPoint
from covenant.grpc.testing import bearer, running_platform
from tests.conftest import PG_URL, _fresh_pg_database

NAMES = ["attendance", "points", "scoring", "compliance"]  # every subscriber of attendance


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 600
    tmp = Path(tempfile.mkdtemp())
    gens, urls = [], {}
    for name in NAMES:
        if PG_URL:
            g = _fresh_pg_database()
            urls[name] = next(g)
            gens.append(g)
        else:
            urls[name] = f"sqlite:///{tmp / (name + '.db')}"
    env = {"COVENANT_RELAY_INTERVAL_SECONDS": "0.05", "COVENANT_LOG_LEVEL": "ERROR"}
    with running_platform(NAMES, db_urls=urls, data_dir=tmp, env=env) as p:
        md = bearer(p.tokens.admin())
        att = attendance_pb2_grpc.AttendanceServiceStub(p["attendance"].channel)
        att.ImportClientPlaces(
            apb.ImportClientPlacesRequest(
                places=[
                    apb.ClientPlace(
                        client_id="A",
                        location=GeoPoint(latitude=22.5431, longitude=114.0579),
                        visit_radius_m=150,
                    )
                ]
            ),
            metadata=md,
        )
        sent: dict[str, float] = {}

        def send(start: int, step: int) -> None:
            for i in range(start, n, step):
                ts = Timestamp()
                ts.FromDatetime(datetime.now(UTC))
                r = att.CheckIn(
                    apb.CheckInRequest(
                        client_id="A",
                        request_id=f"v{i}",
                        ping=apb.Ping(
                            employee_id=f"E{i}",
                            org_unit="/hq/t1",
                            accuracy_m=8,
                            time=ts,
                            location=GeoPoint(latitude=22.5431, longitude=114.0579),
                        ),
                    ),
                    metadata=md,
                )
                sent[r.visit_id] = time.monotonic()

        began = time.monotonic()
        threads = [threading.Thread(target=send, args=(k, 4)) for k in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        print(f"sent {n} check-ins in {time.monotonic() - began:.1f}s")
        seen: dict[str, float] = {}
        deadline = time.monotonic() + 120
        points_db, scoring_db = p["points"].host.ctx.db, p["scoring"].host.ctx.db  # type: ignore[union-attr]
        att_db = p["attendance"].host.ctx.db  # type: ignore[union-attr]
        with att_db.session() as s:
            event_of = {}
            from covenant.events.v1.event_pb2 import Event

            for (payload,) in s.execute(
                text(
                    "SELECT payload FROM outbox "
                    "WHERE event_type = 'attendance.visit_verified' AND destination = 'points'"
                )
            ):
                e = Event.FromString(payload)
                event_of[e.id] = e.data["visit_id"]
        while time.monotonic() < deadline and len(seen) < n:
            with points_db.session() as s:
                pts = dict(
                    s.execute(
                        text("SELECT source_event_id, COUNT(*) FROM points_ledger GROUP BY source_event_id")
                    ).all()
                )
            with scoring_db.session() as s:
                met = dict(
                    s.execute(
                        text("SELECT source_ref, COUNT(*) FROM metric_values GROUP BY source_ref")
                    ).all()
                )
            now = time.monotonic()
            for event_id, visit in event_of.items():
                if event_id in pts and event_id in met and visit not in seen:
                    seen[visit] = now
            time.sleep(0.05)
        elapsed = max(seen.values(), default=time.monotonic()) - began
        latencies = sorted((seen[v] - sent[v]) * 1000 for v in seen if v in sent)
        lost = n - len(seen)
        dup = sum(1 for c in pts.values() if c > 1) + sum(1 for c in met.values() if c > 1)
        print(
            f"{n} verified check-ins through attendance -> points + scoring in {elapsed:.1f}s: "
            f"{len(seen) / elapsed:,.0f} events/s end to end ({'PostgreSQL' if PG_URL else 'SQLite'})"
        )
        if latencies:
            print(
                f"latency check-in -> last effect: p50 {statistics.median(latencies):.0f} ms, "
                f"p99 {latencies[int(len(latencies) * 0.99) - 1]:.0f} ms"
            )
        print(
            f"lost effects: {lost}; duplicated effects: {dup}  target 0 / 0 -> "
            f"{'PASS' if lost == 0 and dup == 0 else 'FAIL'}"
        )
    for g in gens:
        g.close()


if __name__ == "__main__":
    main()
