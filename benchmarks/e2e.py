"""Benchmark: events through the whole chain, the six services as six processes on this machine (as
``covenant up`` runs them; dev auth) with PostgreSQL (SQLite when no COVENANT_TEST_PG_URL): verified
check-ins at attendance → outbox → relays → points (award) and scoring (metric). Prints sustained events/s,
p50/p99 latency from the check-in to its last effect, lost or duplicated effects (target: zero), and the
CPU milliseconds each service process spent per check-in. Before the platform starts it measures a peer on
the same machine in the same run (a bare gRPC unary echo: one server process, 4 calling threads, no
interceptors, no database), so a figure can be compared across machines: check-ins/s against echo calls/s.

    COVENANT_TEST_PG_URL=postgresql://postgres@127.0.0.1:5432/test \
        .venv/bin/python benchmarks/e2e.py [N] [RATE] [unary|batch] [BATCH]

With COVENANT_BENCH_PROFILE=DIR, py-spy (not a project dependency: ``.venv/bin/pip install py-spy``)
records collapsed stacks (flame-graph input) of each service process while the check-ins flow.

N check-ins (600) are sent by 4 client threads, at most RATE per second in all (0 = as fast as they go):
one CheckIn call each (unary, the default) or BatchCheckIns calls of BATCH check-ins (200) each (batch).
Targets (issue #22): >= 1,000/s end to end through the batch path, >= 400/s unary; p99 < 1 s at half the
saturation rate.
"""

from __future__ import annotations

import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import grpc
from google.protobuf.timestamp_pb2 import Timestamp
from sqlalchemy import Engine, create_engine, text

from benchmarks import tls as echo_bench
from covenant.attendance.v1 import attendance_pb2 as apb
from covenant.attendance.v1 import attendance_pb2_grpc
from covenant.cli import check_health
from covenant.common.v1.common_pb2 import GeoPoint
from covenant.db.engine import normalise_url
from covenant.db.scratch import scratch_database, test_server_url
from covenant.events.v1.event_pb2 import Event
from covenant.identity.v1 import identity_service_pb2_grpc, org_pb2
from covenant.services import SERVICES
from tests.support.ports import free_port

SENDERS = 4
PG_URL = test_server_url()


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def postgres_cpu() -> dict[int, float]:
    """CPU seconds so far of every PostgreSQL server process on this machine, by pid."""
    out = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if stat.read_text().split(" (", 1)[1].startswith("postgres)"):
                out[int(stat.parent.name)] = cpu_seconds(int(stat.parent.name))
        except (OSError, IndexError):
            continue
    return out


def machine_busy() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine so far (/proc/stat)."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]
    return (sum(fields) - idle) / os.sysconf("SC_CLK_TCK"), sum(fields) / os.sysconf("SC_CLK_TCK")


@contextmanager
def platform(data_dir: Path, urls: dict[str, str]) -> Iterator[tuple[dict[str, str], dict[str, int]]]:
    """Start every service as its own ``covenant serve`` process; yields (name -> target, name -> pid)."""
    targets = {name: f"127.0.0.1:{free_port()}" for name in SERVICES}
    env = dict(
        os.environ,
        COVENANT_DATA_DIR=str(data_dir),
        COVENANT_AUTH_MODE="dev",
        COVENANT_LOG_LEVEL="ERROR",
        **{f"COVENANT_{n.upper()}_TARGET": t for n, t in targets.items()},
        **{f"COVENANT_{n.upper()}_DB_URL": u for n, u in urls.items()},
    )
    procs = []
    try:
        for name in SERVICES:
            log = open(data_dir / f"{name}.log", "ab")  # noqa: SIM115 - owned by the child
            procs.append(
                subprocess.Popen(
                    [sys.executable, "-m", "covenant.cli", "serve", name],
                    env={**env, "COVENANT_LISTEN": targets[name]},
                    stdout=log,
                    stderr=log,
                )
            )
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if all(s == "SERVING" for s in check_health(targets, timeout=1).values()):
                break
            if any(p.poll() is not None for p in procs):
                raise SystemExit(f"a service exited at start; see the logs in {data_dir}")
            time.sleep(0.3)
        else:
            raise SystemExit(f"the platform did not start; see the logs in {data_dir}")
        yield targets, {name: p.pid for name, p in zip(SERVICES, procs, strict=True)}
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(20)
            except subprocess.TimeoutExpired:
                p.kill()


_ECHO_SERVER = """
import sys
from concurrent import futures
import grpc
echo = grpc.unary_unary_rpc_method_handler(lambda request, context: request)
server = grpc.server(futures.ThreadPoolExecutor(max_workers=10))
server.add_generic_rpc_handlers([grpc.method_handlers_generic_handler(sys.argv[2], {"Echo": echo})])
server.add_insecure_port(sys.argv[1])
server.start()
print("ready", flush=True)
server.wait_for_termination()
"""


def echo_peer(seconds: float = 3.0) -> float:
    """Calls/s of a bare gRPC unary echo (bytes in, the same bytes out) served by its own process and called
    by ``SENDERS`` threads over one channel (``benchmarks/tls.py``'s ``measure``): the machine's ceiling for
    the cheapest call, the peer of the check-in figures."""
    target = f"127.0.0.1:{free_port()}"
    server = subprocess.Popen(
        [sys.executable, "-c", _ECHO_SERVER, target, echo_bench.SERVICE],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    try:
        if server.stdout is None or server.stdout.readline().strip() != b"ready":
            raise SystemExit("the echo peer did not start")
        with grpc.insecure_channel(target) as channel:
            return echo_bench.measure(channel, seconds, SENDERS)[0]
    finally:
        server.kill()
        server.wait()


def register_staff(identity_target: str, identity_db: Engine, n: int) -> None:
    """The reps who check in exist in identity, as in a deployment: the directory's employee events reach
    attendance, points and scoring before the run, so no check-in pays for a directory lookup."""
    stub = identity_service_pb2_grpc.IdentityServiceStub(grpc.insecure_channel(identity_target))

    def records(first: int, last: int) -> Iterator[org_pb2.ImportRecord]:
        if first == 0:
            for unit, parent in (("/hq", ""), ("/hq/t1", "/hq")):
                unit_pb = org_pb2.OrgUnit(path=unit, display_name=unit, parent_path=parent)
                yield org_pb2.ImportRecord(org_unit=unit_pb)
        for i in range(first, last):
            yield org_pb2.ImportRecord(
                employee=org_pb2.Employee(
                    employee_id=f"E{i}", display_name=f"E{i}", role_titles=["sales_rep"], org_unit="/hq/t1"
                )
            )

    # In calls of 500: one long stream outlives the server's max connection age under load (UNAVAILABLE).
    for first in range(0, max(n, 1), 500):
        for attempt in range(5):  # an import is idempotent: a resent chunk changes nothing twice
            try:
                stub.ImportDirectory(records(first, min(n, first + 500)), timeout=600)
                break
            except grpc.RpcError as e:
                if e.code() != grpc.StatusCode.UNAVAILABLE or attempt == 4:
                    raise
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:  # every employee event delivered to its consumers
        with identity_db.connect() as c:
            pending = c.execute(text("SELECT COUNT(*) FROM outbox WHERE delivered_at IS NULL")).scalar_one()
        if not pending:
            break
        time.sleep(0.2)
    else:
        raise SystemExit("identity's employee events were not delivered within 600 s")
    identity_db.dispose()


@contextmanager
def profiled(pids: dict[str, int]) -> Iterator[ExitStack]:
    """With COVENANT_BENCH_PROFILE=DIR, py-spy samples every service process while the check-ins flow
    (collapsed stacks, the flame-graph input: DIR/<service>.folded, written when the returned stack is
    closed); otherwise nothing."""
    out = os.environ.get("COVENANT_BENCH_PROFILE")
    with ExitStack() as stack:
        if out:
            Path(out).mkdir(parents=True, exist_ok=True)
            spy = Path(sys.executable).with_name("py-spy")
            if not spy.exists():
                raise SystemExit("COVENANT_BENCH_PROFILE needs py-spy: .venv/bin/pip install py-spy")
            for name, pid in pids.items():
                cmd = [
                    str(spy),
                    "record",
                    "-r",
                    "400",
                    "-f",
                    "raw",
                    "-o",
                    f"{out}/{name}.folded",
                    "-p",
                    str(pid),
                    "--nonblocking",
                    "--gil",
                ]
                proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                stack.callback(proc.wait, 30)
                stack.callback(proc.send_signal, signal.SIGINT)
        yield stack


def _epoch(value: datetime | str) -> float:
    """A consumer's timestamp column as epoch seconds (SQLite hands back naive UTC text or datetimes)."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).timestamp()


def effect_times(engines: dict[str, Engine]) -> tuple[dict[str, float], int]:
    """Visit id -> when its last effect (points award, scoring metric) was written; and how many effects
    were written more than once."""
    with engines["attendance"].connect() as c:
        event_of = {
            event_id: Event.FromString(payload).data["visit_id"]
            for event_id, payload in c.execute(
                text(
                    "SELECT event_id, payload FROM outbox "
                    "WHERE event_type = 'attendance.visit_verified' AND destination = 'points'"
                )
            )
        }
    queries = {
        "points": "SELECT source_event_id, MIN(created_at), COUNT(*) FROM points_ledger GROUP BY 1",
        "scoring": "SELECT source_ref, MIN(recorded_at), COUNT(*) FROM metric_values GROUP BY 1",
    }
    written: dict[str, dict[str, float]] = {}
    dup = 0
    for consumer, sql in queries.items():
        with engines[consumer].connect() as c:
            rows = c.execute(text(sql)).all()
        written[consumer] = {ref: _epoch(at) for ref, at, _ in rows}
        dup += sum(1 for *_, count in rows if count > 1)
    seen = {
        visit: max(w[event_id] for w in written.values())
        for event_id, visit in event_of.items()
        if all(event_id in w for w in written.values())
    }
    return seen, dup


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 600
    rate = float(sys.argv[2]) if len(sys.argv) > 2 else 0.0
    mode = sys.argv[3] if len(sys.argv) > 3 else "unary"
    size = int(sys.argv[4]) if len(sys.argv) > 4 else 200
    if mode not in ("unary", "batch"):
        raise SystemExit("mode must be unary or batch")
    tmp = Path(tempfile.mkdtemp())
    peer = echo_peer()
    with ExitStack() as stack:
        urls = {
            name: stack.enter_context(scratch_database(PG_URL, "covenant_bench_e2e"))
            if PG_URL
            else f"sqlite:///{tmp / (name + '.db')}"
            for name in SERVICES
        }
        targets, pids = stack.enter_context(platform(tmp, urls))
        engines = {
            name: create_engine(normalise_url(urls[name])) for name in ("attendance", "points", "scoring")
        }
        register_staff(targets["identity"], create_engine(normalise_url(urls["identity"])), n)
        att = attendance_pb2_grpc.AttendanceServiceStub(grpc.insecure_channel(targets["attendance"]))
        att.ImportClientPlaces(
            apb.ImportClientPlacesRequest(
                places=[
                    apb.ClientPlace(
                        client_id="A",
                        location=GeoPoint(latitude=22.5431, longitude=114.0579),
                        visit_radius_m=150,
                    )
                ]
            )
        )
        sent: dict[
            str, float
        ] = {}  # visit id -> when its call was made (wall clock, as the consumers' columns)
        began = time.monotonic()
        began_wall = time.time()

        def request(i: int) -> apb.CheckInRequest:
            ts = Timestamp()
            ts.FromDatetime(datetime.now(UTC))
            return apb.CheckInRequest(
                client_id="A",
                request_id=f"v{i}",
                ping=apb.Ping(
                    employee_id=f"E{i}",
                    org_unit="/hq/t1",
                    accuracy_m=8,
                    time=ts,
                    location=GeoPoint(latitude=22.5431, longitude=114.0579),
                ),
            )

        def send(start: int) -> None:
            if mode == "unary":
                for i in range(start, n, SENDERS):
                    if rate:
                        time.sleep(max(0.0, began + i / rate - time.monotonic()))
                    t0 = time.time()
                    r = att.CheckIn(request(i))
                    sent[r.visit_id] = t0
                return
            for first in range(start * size, n, SENDERS * size):  # callers take turns, `size` at a time
                if rate:
                    time.sleep(max(0.0, began + first / rate - time.monotonic()))
                t0 = time.time()
                items = [request(i) for i in range(first, min(n, first + size))]
                for attempt in range(5):  # idempotent per check-in id: a resent batch records nothing twice
                    try:
                        answer = att.BatchCheckIns(apb.BatchCheckInsRequest(check_ins=items))
                        break
                    except grpc.RpcError as e:
                        if e.code() != grpc.StatusCode.UNAVAILABLE or attempt == 4:
                            raise
                for result in answer.results:
                    sent[result.check_in.visit_id] = t0

        # The watcher only counts (one cheap query a consumer every 50 ms, so the measurement takes little of
        # the machine from the services); when each effect was written is read once at the end from the
        # consumers' own columns (points_ledger.created_at, metric_values.recorded_at: the consumer's clock
        # when it applied the event, on this same host).
        done_at: dict[str, float] = {}  # consumer -> when it had applied every event (monotonic, from began)
        counts_sql = {  # distinct check-in events each consumer has applied
            "points": "SELECT COUNT(DISTINCT source_event_id) FROM points_ledger",
            "scoring": "SELECT COUNT(DISTINCT source_ref) FROM metric_values WHERE source = 'attendance'",
        }

        def watch() -> None:
            deadline = time.monotonic() + 180 + n / 10
            while time.monotonic() < deadline and len(done_at) < len(counts_sql):
                for consumer, sql in counts_sql.items():
                    if consumer in done_at:
                        continue
                    with engines[consumer].connect() as c:
                        if c.execute(text(sql)).scalar_one() >= n:
                            done_at[consumer] = time.monotonic() - began
                time.sleep(0.25)  # a COUNT over a growing table: PostgreSQL CPU the platform is charged

        profilers = stack.enter_context(profiled(pids))
        cpu_before = {name: cpu_seconds(pid) for name, pid in pids.items()}
        pg_before, busy_before, own_before = postgres_cpu(), machine_busy(), time.process_time()
        watcher = threading.Thread(target=watch)
        watcher.start()
        threads = [threading.Thread(target=send, args=(k,)) for k in range(SENDERS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        send_s = time.monotonic() - began
        print(f"sent {n} check-ins in {send_s:.1f}s ({n / send_s:,.0f}/s offered)")
        watcher.join()
        profilers.close()
        cpu_ms = {name: (cpu_seconds(pid) - cpu_before[name]) * 1000 / n for name, pid in pids.items()}
        pg_after, busy_after = postgres_cpu(), machine_busy()
        cpu_ms["postgresql"] = sum(v - pg_before.get(pid, 0.0) for pid, v in pg_after.items()) * 1000 / n
        cpu_ms["benchmark client"] = (time.process_time() - own_before) * 1000 / n
        busy = (busy_after[0] - busy_before[0]) / max(busy_after[1] - busy_before[1], 1e-9)
        seen, dup = effect_times(engines)
        for e in engines.values():
            e.dispose()
    elapsed = max(seen.values(), default=time.time()) - began_wall
    latencies = sorted((seen[v] - sent[v]) * 1000 for v in seen if v in sent)
    lost = n - len(seen)
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    how = f"{mode}, {size} a call" if mode == "batch" else mode
    print(
        f"{n} verified check-ins ({how}, {SENDERS} callers) through attendance -> points + scoring "
        f"in {elapsed:.1f}s: "
        f"{len(seen) / elapsed:,.0f} events/s end to end ({'PostgreSQL' if PG_URL else 'SQLite'}, "
        f"{len(SERVICES)} service processes)"
    )
    cost = (  # paced: the run took as long as the pacing, whatever a check-in costs
        f"; one check-in end to end took the time of {peer * elapsed / max(len(seen), 1):.1f} echo calls"
        if rate == 0
        else ""
    )
    print(
        f"peer (same machine, same run): bare gRPC unary echo, {SENDERS} callers, one server process: "
        f"{peer:,.0f} calls/s{cost}"
    )
    print("each consumer done after: " + ", ".join(f"{c} {t:.1f}s" for c, t in sorted(done_at.items())))
    if latencies:
        print(
            f"latency check-in -> last effect written: p50 {statistics.median(latencies):.0f} ms, "
            f"p99 {latencies[max(0, int(len(latencies) * 0.99) - 1)]:.0f} ms"
        )
    print(
        "CPU-ms per check-in: "
        + ", ".join(f"{name} {ms:.2f}" for name, ms in cpu_ms.items())
        + f" (machine {busy:.0%} busy over the run; load average {load})"
    )
    if rate == 0:
        target = 1000 if mode == "batch" else 400
        got = len(seen) / elapsed
        verdict = "PASS" if got >= target else "FAIL"
        print(f"saturation {got:,.0f}/s  target >= {target}/s ({mode}) -> {verdict}")
    elif latencies:
        p99 = latencies[max(0, int(len(latencies) * 0.99) - 1)]
        verdict = "PASS" if p99 < 1000 else "FAIL"
        print(f"p99 at {rate:,.0f}/s offered {p99:.0f} ms  target < 1000 ms -> {verdict}")
    print(
        f"lost effects: {lost}; duplicated effects: {dup}  target 0 / 0 -> "
        f"{'PASS' if lost == 0 and dup == 0 else 'FAIL'}"
    )


if __name__ == "__main__":
    main()
