"""Identity's audit trail: the chassis hash-chained log (``covenant.db.audit.AuditLog``, stream
``identity``) plus the read side of the ListAuditEntries / VerifyAuditChain RPCs."""

from __future__ import annotations

import json
from typing import Any, Protocol

from sqlalchemy.orm import Session

from covenant import paging
from covenant.auth import Principal, authorize
from covenant.db import Database
from covenant.db.audit import AuditLog
from covenant.identity.v1 import audit_pb2

STREAM = "identity"


class AuditTrail(Protocol):
    """The hash-chained audit log (``covenant.db.audit``), appended in the caller's transaction."""

    def append(
        self, session: Session, *, actor: str, action: str, subject: str, detail: dict[str, Any]
    ) -> Any: ...


class IdentityAudit:
    """Appends in the caller's transaction; lists and verifies for callers with identity.audit.read."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.log = AuditLog(STREAM)

    def append(
        self, session: Session, *, actor: str, action: str, subject: str, detail: dict[str, Any]
    ) -> Any:
        return self.log.append(session, actor=actor, action=action, subject=subject, data=detail)

    def list(
        self, principal: Principal, subject: str, page_size: int, page_token: str
    ) -> tuple[list[audit_pb2.AuditEntry], str]:
        from covenant.timestamps import ts

        authorize(principal, "identity.audit.read")

        def fetch(after: int, limit: int) -> list[Any]:
            with self.db.session() as s:
                return self.log.entries(s, subject=subject or None, after_seq=after, limit=limit)

        bound = ("audit-entries", subject)
        rows, nxt = paging.page(page_size, page_token, bound, fetch, key=lambda r: r.seq, kind=int, first=0)
        out = [
            audit_pb2.AuditEntry(
                seq=r.seq,
                occur_time=ts(r.occurred_at),
                actor=r.actor,
                action=r.action,
                subject=r.subject,
                detail_json=json.dumps(r.data, sort_keys=True, ensure_ascii=False),
                prev_hash=r.prev_hash,
                hash=r.hash,
            )
            for r in rows
        ]
        return out, nxt

    def verify(self, principal: Principal) -> audit_pb2.VerifyAuditChainResponse:
        authorize(principal, "identity.audit.read")
        with self.db.session() as s:
            result = self.log.verify(s)
        return audit_pb2.VerifyAuditChainResponse(
            intact=result.ok,
            entries_checked=result.checked,
            first_broken_seq=result.first_broken_seq or 0,
            reason=result.reason or "",
        )
