"""The outbox relay: delivers queued events to subscriber services over gRPC, at least once.

Claiming uses a lease so no database transaction stays open across the network call:
1. in one short transaction, pick the oldest due rows of every destination, up to ``batch_size`` each
   (PostgreSQL: one statement, ``FOR UPDATE SKIP LOCKED``, so concurrent relays on several replicas take
   disjoint rows) and push their ``next_attempt_at`` forward by the lease; commit;
2. call ``EventSinkService/DeliverEvents`` with each destination's batch, destinations in parallel;
3. success: mark the rows delivered (one statement for every batch of the pass); failure: count the
   attempt and back off exponentially (with jitter).
A pass costs two short transactions however many destinations it serves; the claim and the mark are
hand-written statements on PostgreSQL (``covenant.db.bulk.pg_execute``), which take a fraction of
SQLAlchemy's per-statement cost (docs/operations.md, "Throughput").
A relay that dies after sending but before marking leaves rows whose lease expires; they are sent again and
the consumer's inbox drops the duplicates, so every event takes effect once.

Why a lease rather than holding the row locks across the call: on SQLite an open write transaction blocks
every other writer of the service (the producer's own requests), and on PostgreSQL a long-held lock pins a
pool connection per relay and turns a slow consumer into long transactions. The lease (``lease_seconds``,
which must exceed ``call_timeout``) gives the same "never sent by two relays at once" property: a claimed row
is not due again until its lease runs out, and by then the claiming relay's call has timed out. Delivery
order is by outbox id within a destination; a failing batch is retried whole (events already applied by the
consumer are dropped by its inbox).

Recovery in seconds (docs/operations.md, "Recovery"):
- per-destination health: a batch failing UNAVAILABLE or DEADLINE_EXCEEDED marks its destination down; passes
  probe a down destination (gRPC health, one short call, at most every ``max(interval, 0.5)`` s) and, once
  it answers, make the rows that failed to reach it due again (rows failing with a consumer error keep their
  own backoff). A successful batch does the same for its destination, so row backoff never outlives the
  outage;
- heartbeats: each relay instance records ``relay_heartbeat`` every ``heartbeat_seconds`` and names itself in
  the rows it leases (``outbox.leased_by``); rows leased by an instance silent for ``3 * heartbeat_seconds``
  (killed mid-send) are reclaimed by the next pass of any instance, instead of waiting out the lease.

Observability: each batch runs in an ``outbox deliver`` span and counts ``covenant.outbox.delivered``,
``failed`` and ``retried``; while started, the relay reports per destination the backlog, the age of the
oldest undelivered row and the rows past ``poison_attempts`` failed attempts (docs/operations.md).
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from opentelemetry.trace import Link, Status, StatusCode, get_current_span
from sqlalchemy import and_, case, delete, func, insert, or_, select, update

from covenant.db.bulk import among_parts, is_pg, pg_execute
from covenant.db.engine import Database
from covenant.db.outbox import on_commit, routed_destinations
from covenant.db.tables import outbox, relay_heartbeat
from covenant.db.transient import retry_transient
from covenant.events.v1 import event_pb2, event_pb2_grpc
from covenant.periodic import PeriodicWorker
from covenant.randomness import RANDOM
from covenant.services import SUBSCRIBERS
from covenant.telemetry import context_from_event, tracer
from covenant.telemetry import metrics as m

MAX_LINKS = 32
EVENTS_SERVICE = "covenant.events.v1.EventSinkService"
#: Failures meaning "the destination did not answer" (rather than "it refused this batch").
UNREACHABLE = (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED)

log = logging.getLogger(__name__)

# PostgreSQL: one statement leases the oldest due rows of every destination ({2}, a text array), at most {4}
# each; the lateral scans read ix_outbox_undelivered (destination, next_attempt_at, id: undelivered rows).
_PG_CLAIM = """
UPDATE outbox AS o SET next_attempt_at = {0}, leased_by = {1}
FROM (
    SELECT picked.id FROM unnest({2}::text[]) AS d(name)
    CROSS JOIN LATERAL (
        SELECT id FROM outbox
        WHERE destination = d.name AND delivered_at IS NULL AND next_attempt_at <= {3}
        ORDER BY next_attempt_at, id LIMIT {4} FOR UPDATE SKIP LOCKED
    ) AS picked
) AS due
WHERE o.id = due.id
RETURNING o.id, o.destination, o.payload, o.attempts
"""
_PG_MARK = "UPDATE outbox SET delivered_at = {0}, leased_by = NULL WHERE id = ANY({1})"


def backoff_seconds(attempts: int, max_backoff: float, base: float = 0.2) -> float:
    """Delay before retry ``attempts`` (1-based): ``base * 2**attempts``, capped, with 50-100% jitter."""
    return min(max_backoff, base * 2 ** min(attempts, 32)) * RANDOM.uniform(0.5, 1.0)


def event_links(events: list[event_pb2.Event], limit: int = MAX_LINKS) -> list[Link]:
    """Span links to the traces the events carry (the first ``limit`` distinct ones), so a batch's delivery
    span is reachable from the trace of every request that produced one of its events."""
    links: dict[int, Link] = {}
    for event in events:
        ctx = get_current_span(context_from_event(event)).get_span_context()
        if ctx.is_valid and ctx.trace_id not in links:
            links[ctx.trace_id] = Link(ctx)
            if len(links) >= limit:
                break
    return list(links.values())


class OutboxRelay:
    """Background worker delivering one service's outbox. ``run_once`` does one pass (for tests)."""

    def __init__(
        self,
        db: Database,
        channel_for: Callable[[str], grpc.Channel],
        *,
        batch_size: int = 200,
        interval: float = 0.5,
        max_backoff: float = 30.0,
        lease_seconds: float = 30.0,
        call_timeout: float = 10.0,
        metadata_for: Callable[[], list[tuple[str, str]]] | None = None,
        retention: timedelta = timedelta(days=7),
        max_parallel: int = 8,
        source: str = "",
        poison_attempts: int = 10,
        heartbeat_seconds: float = 1.0,
        probe_timeout: float = 1.0,
        linger: float = 0.0,
    ) -> None:
        self.db = db
        self.channel_for = channel_for
        self.batch_size = batch_size
        self.interval = interval
        self.max_backoff = max_backoff
        self.lease = timedelta(seconds=lease_seconds)
        self.call_timeout = call_timeout
        self.metadata_for = metadata_for
        if lease_seconds <= call_timeout:
            raise ValueError("lease_seconds must exceed call_timeout (a claim must outlive the call)")
        self._stop = threading.Event()  # also ends a drain mid-way
        self._passes: PeriodicWorker | None = None
        self.retention = retention
        self._next_purge = 0.0
        self.max_parallel = max_parallel
        self._pool: ThreadPoolExecutor | None = None
        self.source = source
        self.poison_attempts = poison_attempts
        self._unobserve: list[Callable[[], None]] = []
        self._backlog_cache: tuple[float, dict[str, tuple[int, float, int]]] = (0.0, {})
        self._backlog_lock = threading.Lock()
        self.instance = f"{source or 'relay'}-{uuid.uuid4().hex[:16]}"
        self.heartbeat_seconds = heartbeat_seconds
        self.stale_after = timedelta(seconds=3 * heartbeat_seconds)
        self.probe_timeout = probe_timeout
        self.linger = linger
        self._next_reclaim = 0.0
        self._beat: PeriodicWorker | None = None
        # destinations that last failed unreachable; all subscribers at first (rows may be backed off from
        # before a restart)
        self._down: set[str] = set(SUBSCRIBERS.get(source, ()))
        self._down_lock = threading.Lock()
        self.probe_every = max(interval, 0.5)  # seconds between probes of one down destination
        self._next_probe: dict[str, float] = {}
        self.rescan_seconds = 5.0  # how often the destinations named by undelivered rows are read again
        self._next_scan = 0.0
        self._known: set[str] = set(SUBSCRIBERS.get(source, ()))

    # -- heartbeats and reclaiming ---------------------------------------------------------------
    def heartbeat(self) -> None:
        """Record that this instance is alive (the rows it leases are not to be reclaimed)."""
        now = datetime.now(UTC)

        def beat() -> None:
            with self.db.session() as s:
                done = s.execute(
                    update(relay_heartbeat)
                    .where(relay_heartbeat.c.instance == self.instance)
                    .values(beat_at=now)
                )
                if not done.rowcount:  # type: ignore[attr-defined]
                    s.execute(insert(relay_heartbeat).values(instance=self.instance, beat_at=now))

        retry_transient(beat, what="relay heartbeat")

    def reclaim_stale(self, now: datetime | None = None) -> int:
        """Make rows leased by instances whose heartbeat is stale due now, and forget those instances;
        returns the rows reclaimed."""
        now = now or datetime.now(UTC)
        cutoff = now - self.stale_after
        with self.db.session() as s:
            stale = list(
                s.execute(
                    select(relay_heartbeat.c.instance).where(
                        and_(relay_heartbeat.c.beat_at < cutoff, relay_heartbeat.c.instance != self.instance)
                    )
                ).scalars()
            )
            if not stale:
                return 0
            result = s.execute(
                update(outbox)
                .where(and_(outbox.c.delivered_at.is_(None), outbox.c.leased_by.in_(stale)))
                .values(next_attempt_at=now, leased_by=None)
            )
            s.execute(delete(relay_heartbeat).where(relay_heartbeat.c.instance.in_(stale)))
            reclaimed = int(result.rowcount or 0)  # type: ignore[attr-defined]
        if reclaimed:
            log.warning("reclaimed %d outbox rows leased by stopped relays %s", reclaimed, ", ".join(stale))
        return reclaimed

    # -- destination health ----------------------------------------------------------------------
    def _mark_down(self, destination: str) -> None:
        with self._down_lock:
            self._down.add(destination)

    def probe(self, destination: str) -> bool:
        """True when ``destination`` answers (its EventSink is SERVING, or it has no health service)."""
        stub = health_pb2_grpc.HealthStub(self.channel_for(destination))
        try:
            reply = stub.Check(
                health_pb2.HealthCheckRequest(service=EVENTS_SERVICE), timeout=self.probe_timeout
            )
        except grpc.RpcError as exc:
            return exc.code() in (grpc.StatusCode.UNIMPLEMENTED, grpc.StatusCode.NOT_FOUND)  # type: ignore[attr-defined]
        except Exception:  # no channel (unknown target) and the like
            return False
        return reply.status == health_pb2.HealthCheckResponse.SERVING

    def recovered(self, destination: str) -> int:
        """``destination`` answers again: rows that failed to reach it (and are not leased) are due now;
        returns how many."""
        with self._down_lock:
            self._down.discard(destination)
        now = datetime.now(UTC)
        with self.db.session() as s:
            result = s.execute(
                update(outbox)
                .where(
                    and_(
                        outbox.c.destination == destination,
                        outbox.c.delivered_at.is_(None),
                        outbox.c.leased_by.is_(None),
                        outbox.c.next_attempt_at > now,
                        or_(*(outbox.c.last_error.like(f"{code.name}:%") for code in UNREACHABLE)),
                    )
                )
                .values(next_attempt_at=now)
            )
            return int(result.rowcount or 0)  # type: ignore[attr-defined]

    def _probe_down(self) -> None:
        with self._down_lock:
            down = sorted(self._down)
        for destination in down:
            if self._stop.is_set():
                return
            if time.monotonic() < self._next_probe.get(destination, 0.0):
                continue
            self._next_probe[destination] = time.monotonic() + self.probe_every
            if self.probe(destination):
                n = self.recovered(destination)
                if n:
                    log.info("%s answers again: %d outbox rows due now", destination, n)

    # -- one pass ----------------------------------------------------------------------------
    def _targets(self) -> list[str]:
        """Destinations to claim for: the source's subscribers, those this process queued events for, and
        (read again every ``rescan_seconds``) those undelivered rows in the table name (other replicas',
        an earlier run's)."""
        if time.monotonic() >= self._next_scan:
            self._next_scan = time.monotonic() + self.rescan_seconds
            with self.db.session() as s:
                self._known.update(
                    s.execute(select(outbox.c.destination).where(outbox.c.delivered_at.is_(None)).distinct())
                    .scalars()
                    .all()
                )
        self._known.update(routed_destinations(self.source))
        return sorted(self._known)

    def _claim(self, destinations: list[str], now: datetime) -> dict[str, list[tuple[int, bytes, int]]]:
        """Lease up to ``batch_size`` due rows of each destination (longest due first, as
        ``ix_outbox_undelivered`` holds them) in one short transaction; per destination its rows as (id,
        payload, attempts), in id order."""
        lease_until = now + self.lease
        with self.db.session() as s:
            if is_pg(s):  # one statement for every destination; SKIP LOCKED: replicas take disjoint rows
                got = pg_execute(
                    s, _PG_CLAIM, [lease_until, self.instance, destinations, now, self.batch_size], fetch=True
                )
            else:  # SQLite: one writer at a time anyway; a statement per destination in one transaction
                got = []
                for destination in destinations:
                    due = (
                        select(outbox.c.id)
                        .where(
                            outbox.c.destination == destination,
                            outbox.c.delivered_at.is_(None),
                            outbox.c.next_attempt_at <= now,
                        )
                        .order_by(outbox.c.next_attempt_at, outbox.c.id)
                        .limit(self.batch_size)
                    )
                    got.extend(
                        s.execute(
                            update(outbox)
                            .where(outbox.c.id.in_(due.scalar_subquery()))
                            .values(next_attempt_at=lease_until, leased_by=self.instance)
                            .returning(outbox.c.id, outbox.c.destination, outbox.c.payload, outbox.c.attempts)
                        ).all()
                    )
        claimed: dict[str, list[tuple[int, bytes, int]]] = {}
        for row_id, destination, payload, attempts in sorted(got):
            claimed.setdefault(destination, []).append((row_id, bytes(payload), attempts))
        return claimed

    def _send(self, destination: str, events: list[event_pb2.Event]) -> None:
        stub = event_pb2_grpc.EventSinkServiceStub(self.channel_for(destination))
        request = event_pb2.DeliverEventsRequest(events=events)
        metadata = self.metadata_for() if self.metadata_for else None
        stub.DeliverEvents(request, timeout=self.call_timeout, metadata=metadata)

    def after_send(self, destination: str, ids: list[int]) -> None:
        """Hook between a successful send and marking the rows (tests simulate a crash here)."""

    def deliver(self, destination: str, now: datetime | None = None) -> int:
        """Claim and deliver one batch for ``destination`` alone; returns rows delivered."""
        now = now or datetime.now(UTC)
        rows = self._claim([destination], now).get(destination)
        if not rows:
            return 0
        return self._finish({destination: rows}, {destination: self._send_batch(destination, rows)})

    def _send_batch(self, destination: str, rows: list[tuple[int, bytes, int]]) -> bool:
        """Send one claimed batch; False when it failed (its rows then count an attempt and back off)."""
        labels = {"source": self.source, "destination": destination}
        events = [event_pb2.Event.FromString(r[1]) for r in rows]
        with tracer.start_as_current_span(
            "outbox deliver",
            attributes={**labels, "messaging.batch.message_count": len(rows)},
            links=event_links(events),
        ) as span:
            failure = self._try_send(destination, rows, events)
            sent = failure is None
            span.set_attribute("covenant.outbox.delivered", len(rows) if sent else 0)
            if failure is not None:
                span.set_status(Status(StatusCode.ERROR, failure[:200]))
        retried = sum(1 for r in rows if r[2] > 0)
        if retried:
            m.OUTBOX_RETRIED.add(retried, labels)
        (m.OUTBOX_DELIVERED if sent else m.OUTBOX_FAILED).add(len(rows), labels)
        return sent

    def _try_send(
        self, destination: str, rows: list[tuple[int, bytes, int]], events: list[event_pb2.Event]
    ) -> str | None:
        """Send the batch: None, or why it failed (its rows then count an attempt and back off)."""
        ids = [r[0] for r in rows]
        try:
            self._send(destination, events)
        except Exception as exc:  # network, consumer down, consumer error: retry later
            attempts = max(r[2] for r in rows) + 1
            delay = backoff_seconds(attempts, self.max_backoff)
            if isinstance(exc, grpc.Call):  # the RpcErrors grpc raises are also Calls
                detail = f"{exc.code().name}: {exc.details()}"
                if exc.code() in UNREACHABLE:
                    self._mark_down(destination)
            else:
                detail = f"{type(exc).__name__}: {exc}"
            with self.db.session() as s:
                for part in among_parts(s, outbox.c.id, ids):
                    s.execute(
                        update(outbox)
                        .where(part)
                        .values(
                            attempts=outbox.c.attempts + 1,
                            next_attempt_at=datetime.now(UTC) + timedelta(seconds=delay),
                            last_error=detail[:2000],
                            leased_by=None,
                        )
                    )
            log.warning(
                "delivery of %d events to %s failed (attempt %d): %s", len(ids), destination, attempts, detail
            )
            return detail
        self.after_send(destination, ids)
        return None

    def _finish(self, claimed: dict[str, list[tuple[int, bytes, int]]], sent: dict[str, bool]) -> int:
        """Mark the rows of every batch that was sent delivered (one transaction); destinations that answered
        after failing get their backed-off rows due now. Returns rows delivered."""
        ids = [r[0] for d, rows in claimed.items() if sent.get(d) for r in rows]
        if ids:
            delivered_at = datetime.now(UTC)

            def mark() -> None:
                with self.db.session() as s:
                    if is_pg(s):
                        pg_execute(s, _PG_MARK, [delivered_at, ids])
                    else:
                        for part in among_parts(s, outbox.c.id, ids):
                            s.execute(
                                update(outbox).where(part).values(delivered_at=delivered_at, leased_by=None)
                            )

            retry_transient(mark, what="outbox mark delivered")
        for destination, rows in claimed.items():
            if not sent.get(destination):
                continue
            with self._down_lock:
                was_down = destination in self._down
            if was_down or any(r[2] > 0 for r in rows):  # it answers: rows backed off meanwhile are due
                self.recovered(destination)
        return len(ids)

    def purge_delivered(self, older_than: timedelta | None = None) -> int:
        """Delete rows delivered before ``now - older_than`` (default ``retention``); returns the count."""
        cutoff = datetime.now(UTC) - (self.retention if older_than is None else older_than)
        with self.db.session() as s:
            result = s.execute(
                delete(outbox).where(and_(outbox.c.delivered_at.is_not(None), outbox.c.delivered_at < cutoff))
            )
            return int(result.rowcount or 0)  # type: ignore[attr-defined]

    def run_once(self) -> int:
        """Deliver everything due now: each pass claims a batch of every destination in one statement and
        sends the batches in parallel, so a slow consumer delays only its own rows (and the next pass);
        destinations whose batch was full are claimed again at once."""
        if time.monotonic() >= self._next_reclaim:
            self._next_reclaim = time.monotonic() + self.heartbeat_seconds
            self.reclaim_stale()
        if self._down:
            self._probe_down()
        now = datetime.now(UTC)
        targets = self._targets()
        total = 0
        while targets and not self._stop.is_set():
            claimed = self._claim(targets, now)  # only destinations that had due rows
            if not claimed:
                break
            if len(claimed) == 1:
                sent = {d: self._send_batch(d, rows) for d, rows in claimed.items()}
            else:
                if self._pool is None:
                    self._pool = ThreadPoolExecutor(
                        max_workers=self.max_parallel, thread_name_prefix="outbox-relay"
                    )
                futures = {d: self._pool.submit(self._send_batch, d, rows) for d, rows in claimed.items()}
                sent = {d: f.result() for d, f in futures.items()}
            total += self._finish(claimed, sent)
            targets = [d for d, rows in claimed.items() if sent[d] and len(rows) >= self.batch_size]
        return total

    # -- gauges ------------------------------------------------------------------------------
    def backlog(self, max_age: float = 1.0) -> dict[str, tuple[int, float, int]]:
        """Per destination: (undelivered rows, age in seconds of the oldest, rows past ``poison_attempts``);
        every subscriber of ``source`` appears (zeros when drained). One query, reused for ``max_age`` s."""
        with self._backlog_lock:
            at, cached = self._backlog_cache
            if time.monotonic() - at < max_age:
                return cached
            stmt = (
                select(
                    outbox.c.destination,
                    func.count(),
                    func.min(outbox.c.created_at),
                    func.sum(case((outbox.c.attempts >= self.poison_attempts, 1), else_=0)),
                )
                .where(outbox.c.delivered_at.is_(None))
                .group_by(outbox.c.destination)
            )
            now = datetime.now(UTC)
            out = {d: (0, 0.0, 0) for d in SUBSCRIBERS.get(self.source, ())}
            with self.db.session() as s:
                for destination, count, oldest, poison in s.execute(stmt):
                    if oldest is not None and oldest.tzinfo is None:  # SQLite returns naive UTC
                        oldest = oldest.replace(tzinfo=UTC)
                    age = max(0.0, (now - oldest).total_seconds()) if oldest is not None else 0.0
                    out[destination] = (int(count), age, int(poison or 0))
            self._backlog_cache = (time.monotonic(), out)
            return out

    def _observe(self) -> None:
        def gauge(i: int) -> Callable[[], list[tuple[float, dict[str, str]]]]:
            return lambda: [
                (v[i], {"source": self.source, "destination": d}) for d, v in sorted(self.backlog().items())
            ]

        self._unobserve = [
            m.observe("covenant.outbox.backlog", gauge(0)),
            m.observe("covenant.outbox.oldest_age", gauge(1)),
            m.observe("covenant.outbox.poison", gauge(2)),
        ]

    # -- background loop ---------------------------------------------------------------------
    def pass_once(self) -> int:
        """One pass of the background loop: deliver what is due, and purge old delivered rows every 10 min."""
        delivered = self.run_once()
        if time.monotonic() >= self._next_purge:
            self._next_purge = time.monotonic() + 600
            self.purge_delivered()
        return delivered

    def start(self) -> None:
        """Run passes on a periodic worker until ``stop``: at once, again at once while a pass delivered
        something or a transaction of this process queued events of ``source``, else every ``interval``
        (what other replicas queued, retries). A second worker records the heartbeat."""
        if self._passes is not None and self._passes.running:
            return
        self._stop.clear()
        try:
            self.heartbeat()
        except Exception:
            log.exception("outbox relay heartbeat failed")
        self._beat = PeriodicWorker.every(self.heartbeat_seconds, self.heartbeat, "outbox-relay-beat").start()
        if not self._unobserve:
            self._observe()
        self._passes = PeriodicWorker.every(
            self.interval, lambda: self.pass_once() > 0, "outbox-relay", immediate=True, linger=self.linger
        ).start()
        self._unobserve.append(on_commit(self.source, self._passes.wake))  # events committed here: at once

    def stop(self, timeout: float | None = None) -> None:
        """Stop after the current pass (an in-flight call completes or times out); unsent rows stay queued."""
        self._stop.set()
        while self._unobserve:
            self._unobserve.pop()()
        for worker in (self._passes, self._beat):
            if worker is not None:
                worker.stop(timeout)
        if self._passes is None or not self._passes.running:  # stopped cleanly: no lease of ours is left
            try:
                with self.db.session() as s:
                    s.execute(delete(relay_heartbeat).where(relay_heartbeat.c.instance == self.instance))
            except Exception:
                log.warning("could not remove the relay heartbeat of %s", self.instance)
        if self._pool is not None:
            self._pool.shutdown(wait=False)
            self._pool = None
