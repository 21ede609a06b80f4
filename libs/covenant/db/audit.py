"""A tamper-evident audit log: append-only entries, hash-chained per stream.

``hash = sha256(prev_hash + canonical JSON of (stream, seq, occurred_at, actor, action, subject, data))``.
Editing, deleting or reordering any stored entry breaks the chain from that entry on, and ``verify``
reports the first broken link. Appends are serialised per stream (PostgreSQL: a transaction-scoped
advisory lock; SQLite: the unit of work already holds the write lock), so the chain stays linear.
"""

from __future__ import annotations

import hashlib
import json
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import and_, func, insert, select, text
from sqlalchemy.orm import Session

from covenant.db.tables import audit_log

GENESIS = "0" * 64


@dataclass(frozen=True)
class AuditEntry:
    stream: str
    seq: int
    occurred_at: datetime
    actor: str
    action: str
    subject: str
    data: dict[str, Any]
    prev_hash: str
    hash: str


@dataclass(frozen=True)
class VerifyResult:
    """Outcome of ``AuditLog.verify``: ``first_broken_seq`` is the first entry that is missing or altered."""

    ok: bool
    checked: int
    first_broken_seq: int | None = None
    reason: str | None = None

    @property
    def entries_checked(self) -> int:
        return self.checked


@dataclass(frozen=True)
class AuditPage:
    """One page of entries; pass ``next_after_seq`` back as ``after_seq`` (``None``: no more pages)."""

    entries: list[AuditEntry]
    next_after_seq: int | None


def _iso(value: datetime) -> str:
    value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def entry_hash(
    prev_hash: str,
    stream: str,
    seq: int,
    occurred_at: datetime,
    actor: str,
    action: str,
    subject: str,
    data_json: str,
) -> str:
    body = json.dumps(
        [stream, seq, _iso(occurred_at), actor, action, subject, data_json],
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256((prev_hash + body).encode()).hexdigest()


class AuditLog:
    """One audit stream (e.g. ``identity``, ``compliance``, ``rules``) in the service's database."""

    def __init__(self, stream: str = "default") -> None:
        self.stream = stream

    def append(
        self, session: Session, *, actor: str, action: str, subject: str, data: dict[str, Any] | None = None
    ) -> AuditEntry:
        """Add an entry in the caller's transaction; it commits (or not) with the change it records."""
        if session.get_bind().dialect.name == "postgresql":
            session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": zlib.crc32(self.stream.encode())})
        last = session.execute(
            select(audit_log.c.seq, audit_log.c.hash)
            .where(audit_log.c.stream == self.stream)
            .order_by(audit_log.c.seq.desc())
            .limit(1)
        ).first()
        seq = (last.seq if last else 0) + 1
        prev = last.hash if last else GENESIS
        now = datetime.now(UTC)
        data_json = json.dumps(
            data or {}, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str
        )
        digest = entry_hash(prev, self.stream, seq, now, actor, action, subject, data_json)
        session.execute(
            insert(audit_log).values(
                stream=self.stream,
                seq=seq,
                occurred_at=now,
                actor=actor,
                action=action,
                subject=subject,
                data_json=data_json,
                prev_hash=prev,
                hash=digest,
            )
        )
        return AuditEntry(self.stream, seq, now, actor, action, subject, json.loads(data_json), prev, digest)

    def entries(
        self, session: Session, *, subject: str | None = None, after_seq: int = 0, limit: int = 100
    ) -> list[AuditEntry]:
        """Up to ``limit`` entries after ``after_seq``, in sequence order, optionally for one subject."""
        stmt = (
            select(audit_log)
            .where(and_(audit_log.c.stream == self.stream, audit_log.c.seq > after_seq))
            .order_by(audit_log.c.seq)
            .limit(limit)
        )
        if subject:
            stmt = stmt.where(audit_log.c.subject == subject)
        return [self._entry(r) for r in session.execute(stmt)]

    def list(
        self, session: Session, page_size: int = 100, after_seq: int = 0, resource: str | None = None
    ) -> AuditPage:
        """Entries after ``after_seq`` in order, optionally only those about ``resource`` (the subject)."""
        page_size = max(1, min(page_size, 1000))
        rows = self.entries(session, subject=resource, after_seq=after_seq, limit=page_size + 1)
        more = len(rows) > page_size
        return AuditPage(rows[:page_size], rows[page_size - 1].seq if more else None)

    @staticmethod
    def _entry(r: Any) -> AuditEntry:
        occurred = r.occurred_at.replace(tzinfo=UTC) if r.occurred_at.tzinfo is None else r.occurred_at
        return AuditEntry(
            r.stream,
            r.seq,
            occurred,
            r.actor,
            r.action,
            r.subject,
            json.loads(r.data_json),
            r.prev_hash,
            r.hash,
        )

    def verify(self, session: Session, batch: int = 5000) -> VerifyResult:
        """Recompute the chain; report the first entry whose link or content does not check out."""
        prev, expected_seq, checked = GENESIS, 1, 0
        while True:
            rows = session.execute(
                select(audit_log)
                .where(and_(audit_log.c.stream == self.stream, audit_log.c.seq >= expected_seq))
                .order_by(audit_log.c.seq)
                .limit(batch)
            ).all()
            if not rows:
                return VerifyResult(True, checked)
            for r in rows:
                if r.seq != expected_seq:
                    return VerifyResult(False, checked, expected_seq, f"entry {expected_seq} is missing")
                if r.prev_hash != prev:
                    return VerifyResult(False, checked, r.seq, "link to the previous entry does not match")
                digest = entry_hash(
                    prev, r.stream, r.seq, r.occurred_at, r.actor, r.action, r.subject, r.data_json
                )
                if digest != r.hash:
                    return VerifyResult(False, checked, r.seq, "entry content does not match its hash")
                prev, expected_seq, checked = r.hash, r.seq + 1, checked + 1

    def count(self, session: Session) -> int:
        """Number of entries in this stream."""
        return int(
            session.execute(
                select(func.count()).select_from(audit_log).where(audit_log.c.stream == self.stream)
            ).scalar()
        )
