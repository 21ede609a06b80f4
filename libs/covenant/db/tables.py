"""Tables every service database has: the transactional outbox, the consumer inbox, the audit log, and the
record of applied request ids."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    text,
)

metadata = MetaData()

# One row per (event, destination). Written in the producer's transaction; the relay delivers it.
outbox = Table(
    "outbox",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("event_id", String(36), nullable=False),
    Column("event_type", String(128), nullable=False),
    Column("destination", String(32), nullable=False),
    Column("payload", LargeBinary, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    # Due time; while a relay holds a claim this is the lease expiry.
    Column("next_attempt_at", DateTime(timezone=True), nullable=False),
    Column("delivered_at", DateTime(timezone=True)),
    Column("last_error", Text),
    # The relay instance holding the current lease (None when not leased); see relay_heartbeat.
    Column("leased_by", String(64)),
    # what is left to deliver, in claim order: the relay's reads of it read no delivered history. The only
    # secondary index: every other one costs each row's insert, lease and delivery an entry (chassis_0005)
    Index(
        "ix_outbox_undelivered",
        "destination",
        "next_attempt_at",
        "id",
        postgresql_where=text("delivered_at IS NULL"),
        sqlite_where=text("delivered_at IS NULL"),
    ),
)

# One row per running outbox relay instance, refreshed every heartbeat; rows leased by an instance whose
# heartbeat went stale are reclaimed by the others (covenant.db.relay).
relay_heartbeat = Table(
    "relay_heartbeat",
    metadata,
    Column("instance", String(64), primary_key=True),
    Column("beat_at", DateTime(timezone=True), nullable=False),
)

# Events a consumer has applied; the primary key drops duplicates.
inbox = Table(
    "inbox",
    metadata,
    Column("consumer", String(32), primary_key=True),
    Column("event_id", String(36), primary_key=True),
    Column("event_type", String(128), nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
)

# Append-only, hash-chained audit entries, one chain per stream.
audit_log = Table(
    "audit_log",
    metadata,
    Column("stream", String(64), primary_key=True),
    Column("seq", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=False),
    Column("occurred_at", DateTime(timezone=True), nullable=False),
    Column("actor", String(255), nullable=False),
    Column("action", String(128), nullable=False),
    Column("subject", String(255), nullable=False),
    Column("data_json", Text, nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    Index("ix_audit_subject", "stream", "subject"),
)

# Mutations a service has applied under a caller's request id (``covenant.db.idempotency``): a retry with the
# same (service, method, request id) gets the recorded response instead of a second effect.
idempotency = Table(
    "idempotency",
    metadata,
    Column("service", String(32), primary_key=True),
    Column("method", String(64), primary_key=True),
    Column("request_id", String(128), primary_key=True),
    # sha256 of the request's payload when the caller supplied one; a reuse with another payload is refused.
    Column("fingerprint", String(64)),
    Column("response", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index("ix_idempotency_created", "service", "created_at"),
)
