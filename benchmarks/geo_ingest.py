"""Attendance geo benchmark: 100,000 client places, ping ingest with stop detection through the batch RPC,
and nearest-place look-ups.

Runs the real attendance service (real chassis, real gRPC on 127.0.0.1, SQLite by default or --db-url).
Simulated field staff ping every 30 s, staying 15-40 minutes at a client (or, now and then, somewhere
that is no client) and driving between stops; each phone uploads every 5 minutes and a gateway sends the
uploads of ``--phones-per-batch`` phones in one IngestPings call; ``--concurrency`` gateways send at
the same time (each its own phones, in time order). Every batch is stored, de-duplicated and
re-evaluated (stop detection matched to the 100k places, dwell and integrity rules) before it returns.

Targets: >= 5,000 pings/s ingested; nearest-place look-up p99 < 1 ms.

    .venv/bin/python benchmarks/geo_ingest.py [--places 100000] [--employees 300] [--hours 2]
"""

from __future__ import annotations

import argparse
import gc
import math
import random
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from google.protobuf.timestamp_pb2 import Timestamp

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from covenant.attendance.v1 import attendance_pb2 as pb
from covenant.attendance.v1 import attendance_pb2_grpc
from covenant.common.v1.common_pb2 import GeoPoint
from covenant.grpc.testing import bearer, running_service
from services.attendance.domain.geo import Place, PlaceIndex
from tests.support.directory import employee, publish_employees

SH = ZoneInfo("Asia/Shanghai")
LAT0, LON0, SPAN_LAT, SPAN_LON = 22.2, 113.5, 1.0, 1.2  # the Pearl River delta (~110 x 120 km)
M_PER_DEG = 111_195.0


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def make_places(n: int, rng: random.Random) -> list[tuple[float, float]]:
    return [(LAT0 + rng.random() * SPAN_LAT, LON0 + rng.random() * SPAN_LON) for _ in range(n)]


def ts(value: datetime) -> Timestamp:
    t = Timestamp()
    t.FromDatetime(value)
    return t


def simulate_day(
    emp: str,
    places: list[tuple[float, float]],
    start: datetime,
    hours: float,
    rng: random.Random,
    index: PlaceIndex,
) -> list[pb.Ping]:
    """One employee's fixes every 30 s: stops (at clients, sometimes elsewhere) and drives between them."""
    out: list[pb.Ping] = []
    t, end = start, start + timedelta(hours=hours)
    here = places[rng.randrange(len(places))]
    while t < end:
        stay = rng.randint(15, 40)
        for _ in range(stay * 2):
            jitter = (rng.gauss(0, 4) / M_PER_DEG, rng.gauss(0, 4) / M_PER_DEG)
            out.append(
                pb.Ping(
                    employee_id=emp,
                    org_unit=f"/hq/bench/team-{int(emp[1:]) % 20:02d}",
                    device_id="phone",
                    location=GeoPoint(latitude=here[0] + jitter[0], longitude=here[1] + jitter[1]),
                    accuracy_m=8.0,
                    time=ts(t),
                    role="credit_officer",
                )
            )
            t += timedelta(seconds=30)
        if rng.random() < 0.2:  # somewhere that is no client (a mall, a tea house)
            there = (here[0] + rng.uniform(-0.03, 0.03), here[1] + rng.uniform(-0.03, 0.03))
            for _ in range(50):
                if not index.within(there[0], there[1], 300, limit=1):
                    break
                there = (here[0] + rng.uniform(-0.03, 0.03), here[1] + rng.uniform(-0.03, 0.03))
        else:
            there = places[rng.randrange(len(places))]
            while math.dist(there, here) > 0.08:  # the next client is in the same district
                there = places[rng.randrange(len(places))]
        legs = 20  # ten minutes of driving
        for k in range(1, legs + 1):
            f = k / legs
            out.append(
                pb.Ping(
                    employee_id=emp,
                    org_unit=f"/hq/bench/team-{int(emp[1:]) % 20:02d}",
                    device_id="phone",
                    location=GeoPoint(
                        latitude=here[0] + (there[0] - here[0]) * f,
                        longitude=here[1] + (there[1] - here[1]) * f,
                    ),
                    accuracy_m=10.0,
                    time=ts(t),
                    role="credit_officer",
                )
            )
            t += timedelta(seconds=30)
        here = there
    return [p for p in out if p.time.ToDatetime(tzinfo=SH) < end]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--places", type=int, default=100_000)
    ap.add_argument("--employees", type=int, default=300)
    ap.add_argument("--hours", type=float, default=2.0)
    ap.add_argument("--upload-minutes", type=int, default=5)
    ap.add_argument("--phones-per-batch", type=int, default=100)
    ap.add_argument("--concurrency", type=int, default=2, help="gateways sending batches at the same time")
    ap.add_argument("--lookups", type=int, default=20_000)
    ap.add_argument("--db-url", default="")
    args = ap.parse_args()
    rng = random.Random(42)

    with tempfile.TemporaryDirectory() as tmp:
        db_url = args.db_url or f"sqlite:///{Path(tmp) / 'attendance.db'}"
        env = {"COVENANT_ATTENDANCE_CLOSE_INTERVAL_SECONDS": "3600", "COVENANT_LOG_LEVEL": "ERROR"}
        with running_service("attendance", db_url=db_url, data_dir=Path(tmp), env=env) as svc:
            stub = attendance_pb2_grpc.AttendanceServiceStub(svc.channel)
            md = bearer(svc.tokens.service("bench"))
            # Who each employee is comes from identity's events, as in production.
            publish_employees(
                svc,
                [
                    employee(f"E{e:04d}", f"/hq/bench/team-{e % 20:02d}", "credit_officer")
                    for e in range(args.employees)
                ],
            )
            print(f"database            {db_url.split('://')[0]}")

            # 1. 100k client places through the streaming import.
            places = make_places(args.places, rng)
            t0 = time.perf_counter()
            stub.StreamClientPlaces(
                (
                    pb.ClientPlace(
                        client_id=f"C{i:06d}",
                        name=f"client {i}",
                        location=GeoPoint(latitude=la, longitude=lo),
                        visit_radius_m=rng.choice([0, 100, 150, 200]),
                    )
                    for i, (la, lo) in enumerate(places)
                ),
                metadata=md,
            )
            print(f"places imported     {args.places:,} in {time.perf_counter() - t0:.1f} s (streaming RPC)")

            # 2. Ping ingest: uploads every few minutes per phone, grouped into gateway batches.
            day = datetime.now(SH).date() - timedelta(days=1)
            while day.isoweekday() > 5:  # a working day, so dwell rules apply
                day -= timedelta(days=1)
            start = datetime(day.year, day.month, day.day, 9, 0, tzinfo=SH)
            mine = PlaceIndex(Place(f"C{i:06d}", "", la, lo) for i, (la, lo) in enumerate(places))
            days = {
                f"E{e:04d}": simulate_day(f"E{e:04d}", places, start, args.hours, rng, mine)
                for e in range(args.employees)
            }
            window = timedelta(minutes=args.upload_minutes)
            # lane = gateway: phone groups are spread over lanes, each lane sends its batches in order
            lanes: list[list[pb.IngestPingsRequest]] = [[] for _ in range(args.concurrency)]
            t = start
            while t < start + timedelta(hours=args.hours):
                uploads = [
                    [p for p in fixes if t <= p.time.ToDatetime(tzinfo=SH) < t + window]
                    for fixes in days.values()
                ]
                for g, k in enumerate(range(0, len(uploads), args.phones_per_batch)):
                    group = [p for u in uploads[k : k + args.phones_per_batch] for p in u]
                    if group:
                        lanes[g % args.concurrency].append(pb.IngestPingsRequest(pings=group))
                t += window
            batches = [b for lane in lanes for b in lane]
            total = sum(len(b.pings) for b in batches)
            latencies: list[float] = []
            results: list[pb.IngestPingsResponse] = []

            def send(lane: list[pb.IngestPingsRequest]) -> None:
                for b in lane:
                    b0 = time.perf_counter()
                    r = stub.IngestPings(b, metadata=md)
                    latencies.append(time.perf_counter() - b0)
                    results.append(r)

            t0 = time.perf_counter()
            with ThreadPoolExecutor(args.concurrency) as pool:
                list(pool.map(send, lanes))
            elapsed = time.perf_counter() - t0
            stops = sum(r.stops_detected for r in results)
            anomalies = sum(r.anomalies for r in results)
            accepted = sum(r.accepted for r in results)
            rate = total / elapsed
            print(
                f"pings ingested      {accepted:,} of {total:,} in {len(batches)} batches of "
                f"~{total // len(batches)} ({args.employees} employees, {args.hours} h, "
                f"upload every {args.upload_minutes} min, {args.concurrency} gateways sending concurrently)"
            )
            verdict = "OK" if rate >= 5000 else "MISSED"
            print(f"ingest throughput   {rate:,.0f} pings/s  (target >= 5,000)  {verdict}")
            print(
                f"batch latency       p50 {statistics.median(latencies) * 1000:.0f} ms, "
                f"p99 {pct(latencies, 0.99) * 1000:.0f} ms"
            )
            print(f"stops (re)detected  {stops:,}; anomalies raised {anomalies:,}")
            resend = stub.IngestPings(batches[len(batches) // 2], metadata=md)
            print(f"resent batch        accepted {resend.accepted}, duplicates {resend.duplicates}")

            # 3. Nearest-place look-ups over gRPC (a unary round trip, for reference).
            queries = [
                (LAT0 + rng.random() * SPAN_LAT, LON0 + rng.random() * SPAN_LON) for _ in range(args.lookups)
            ]
            grpc_lat: list[float] = []
            for la, lo in queries[:2000]:
                g0 = time.perf_counter()
                stub.FindNearbyPlaces(
                    pb.FindNearbyPlacesRequest(
                        location=GeoPoint(latitude=la, longitude=lo), radius_m=500, limit=5
                    ),
                    metadata=md,
                )
                grpc_lat.append(time.perf_counter() - g0)
            print(
                f"FindNearbyPlaces    over gRPC p50 {statistics.median(grpc_lat) * 1000:.2f} ms, "
                f"p99 {pct(grpc_lat, 0.99) * 1000:.2f} ms (unary round trip, for reference)"
            )
            index = svc.host.app.servicers[0][1].service.index()  # type: ignore[union-attr]

    # 4. The service's place index on its own (server stopped: no other thread competes for the GIL).
    gc.collect()
    gc.freeze()  # the 100k places are long-lived; keep them out of the collector's way, as a server would
    for radius in (150, 500, 1000):
        wall: list[float] = []
        cpu: list[float] = []
        found = 0
        for la, lo in queries:
            w0, c0 = time.perf_counter_ns(), time.thread_time_ns()
            hit = index.within(la, lo, radius, limit=1)
            cpu.append((time.thread_time_ns() - c0) / 1e6)
            wall.append((time.perf_counter_ns() - w0) / 1e6)
            found += bool(hit)
        p99 = pct(wall, 0.99)
        print(
            f"nearest within {radius:>4} m  p50 {statistics.median(wall) * 1000:.0f} us, "
            f"p99 {p99 * 1000:.0f} us (cpu p99 {pct(cpu, 0.99) * 1000:.0f} us; "
            f"{found / len(queries):.0%} found)  (target p99 < 1 ms)  {'OK' if p99 < 1 else 'MISSED'}"
        )


if __name__ == "__main__":
    main()
