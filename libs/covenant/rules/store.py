"""Published rule-pack versions and the active version per pack, in the service's own database.

Versions are immutable. Publishing identical content under an existing version is a no-op; different
content under an existing version is refused. ``rule_pack_active`` is what every replica's watcher
polls: its ``generation`` grows on every activation or rollback.

Governance (maker-checker): ``rule_pack_approvals`` holds approvals of a version by people other than its
author; an activation consumes them. ``rule_pack_activations`` is the activation history (what became
active, how, and whether it was approved). ``rule_pack_schedule`` holds at most one scheduled activation
per pack, applied at its instant. ``rule_pack_rejections`` holds the versions an approver turned down (with
the reason): a rejected version is never approved or activated.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    and_,
    delete,
    insert,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from covenant.errors import Aborted
from covenant.timestamps import as_utc as _utc

metadata = MetaData()

versions = Table(
    "rule_pack_versions",
    metadata,
    Column("pack_id", String(128), primary_key=True),
    Column("version", String(64), primary_key=True),
    Column("content_hash", String(80), nullable=False),
    Column("source", Text, nullable=False),
    Column("author", String(255), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

active = Table(
    "rule_pack_active",
    metadata,
    Column("pack_id", String(128), primary_key=True),
    Column("version", String(64), nullable=False),
    Column("activated_by", String(255), nullable=False),
    Column("activated_at", DateTime(timezone=True), nullable=False),
    Column("generation", Integer, nullable=False),
)

approvals = Table(
    "rule_pack_approvals",
    metadata,
    Column("pack_id", String(128), primary_key=True),
    Column("version", String(64), primary_key=True),
    Column("approver", String(255), primary_key=True),
    Column("approved_at", DateTime(timezone=True), nullable=False),
    Column("comment", Text, nullable=False),
    Column("consumed_generation", Integer, nullable=True),
)

activations = Table(
    "rule_pack_activations",
    metadata,
    Column("pack_id", String(128), primary_key=True),
    Column("generation", Integer, primary_key=True),
    Column("version", String(64), nullable=False),
    Column("actor", String(255), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("approved", Boolean, nullable=False),
    Column("activated_at", DateTime(timezone=True), nullable=False),
)

schedule = Table(
    "rule_pack_schedule",
    metadata,
    Column("pack_id", String(128), primary_key=True),
    Column("version", String(64), nullable=False),
    Column("effective_at", DateTime(timezone=True), nullable=False),
    Column("actor", String(255), nullable=False),
    Column("approved", Boolean, nullable=False),
)

rejections = Table(
    "rule_pack_rejections",
    metadata,
    Column("pack_id", String(128), primary_key=True),
    Column("version", String(64), primary_key=True),
    Column("rejected_by", String(255), nullable=False),
    Column("rejected_at", DateTime(timezone=True), nullable=False),
    Column("reason", Text, nullable=False),
)


@dataclass(frozen=True)
class StoredVersion:
    pack_id: str
    version: str
    content_hash: str
    source: str
    author: str
    created_at: datetime


def _stored(r) -> StoredVersion:  # type: ignore[no-untyped-def]
    return StoredVersion(r.pack_id, r.version, r.content_hash, r.source, r.author, _utc(r.created_at))


def get_version(session: Session, pack_id: str, version: str) -> StoredVersion | None:
    r = session.execute(
        select(versions).where(and_(versions.c.pack_id == pack_id, versions.c.version == version))
    ).first()
    return _stored(r) if r else None


def _insert_once(session: Session, table: Table, what: str, **values: Any) -> None:
    """Inserts one row; when a concurrent writer inserted the same key first: ABORTED ("``what``
    concurrently; retry")."""
    try:
        session.execute(insert(table).values(**values))
    except IntegrityError:
        raise Aborted(f"{what} concurrently; retry") from None


def insert_version(session: Session, v: StoredVersion) -> None:
    _insert_once(session, versions, f"packs/{v.pack_id}/versions/{v.version} was published", **v.__dict__)


def list_versions(session: Session, pack_id: str) -> list[StoredVersion]:
    rows = session.execute(
        select(versions)
        .where(versions.c.pack_id == pack_id)
        .order_by(versions.c.created_at.desc(), versions.c.version.desc())
    )
    return [_stored(r) for r in rows]


def has_any(session: Session, pack_id: str) -> bool:
    return (
        session.execute(select(versions.c.version).where(versions.c.pack_id == pack_id).limit(1)).first()
        is not None
    )


def active_state(session: Session) -> dict[str, tuple[str, int]]:
    """pack id → (active version, generation)."""
    return {r.pack_id: (r.version, r.generation) for r in session.execute(select(active))}


def set_active(session: Session, pack_id: str, version: str, actor: str) -> int:
    now = datetime.now(UTC)
    current = session.execute(select(active).where(active.c.pack_id == pack_id).with_for_update()).first()
    if current is None:
        _insert_once(
            session,
            active,
            f"pack {pack_id} was activated",
            pack_id=pack_id,
            version=version,
            activated_by=actor,
            activated_at=now,
            generation=1,
        )
        return 1
    generation = current.generation + 1
    session.execute(
        update(active)
        .where(active.c.pack_id == pack_id)
        .values(version=version, activated_by=actor, activated_at=now, generation=generation)
    )
    return generation


# -- governance --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Approval:
    approver: str
    approved_at: datetime
    comment: str


@dataclass(frozen=True)
class Activation:
    generation: int
    version: str
    actor: str
    kind: str
    approved: bool
    activated_at: datetime


@dataclass(frozen=True)
class Scheduled:
    pack_id: str
    version: str
    effective_at: datetime
    actor: str
    approved: bool


def _approvals_of(pack_id: str, version: str, *more: Any) -> Any:
    """Where-clause: the approvals of one version (and ``more``)."""
    return and_(approvals.c.pack_id == pack_id, approvals.c.version == version, *more)


def _scheduled(r: Any) -> Scheduled:
    return Scheduled(r.pack_id, r.version, _utc(r.effective_at), r.actor, bool(r.approved))


def open_approvals(session: Session, pack_id: str, version: str) -> list[Approval]:
    """Approvals of a version not yet used by an activation, oldest first."""
    rows = session.execute(
        select(approvals)
        .where(_approvals_of(pack_id, version, approvals.c.consumed_generation.is_(None)))
        .order_by(approvals.c.approved_at, approvals.c.approver)
    )
    return [Approval(r.approver, _utc(r.approved_at), r.comment) for r in rows]


def add_approval(session: Session, pack_id: str, version: str, approver: str, comment: str) -> bool:
    """Record an open approval; False when this approver already has one open for the version."""
    existing = session.execute(
        select(approvals).where(_approvals_of(pack_id, version, approvals.c.approver == approver))
    ).first()
    now = datetime.now(UTC)
    if existing is not None:
        if existing.consumed_generation is None:
            return False
        session.execute(
            update(approvals)
            .where(_approvals_of(pack_id, version, approvals.c.approver == approver))
            .values(approved_at=now, comment=comment, consumed_generation=None)
        )
        return True
    _insert_once(
        session,
        approvals,
        f"packs/{pack_id}/versions/{version} was approved",
        pack_id=pack_id,
        version=version,
        approver=approver,
        approved_at=now,
        comment=comment,
    )
    return True


def consume_approvals(session: Session, pack_id: str, version: str, generation: int) -> None:
    session.execute(
        update(approvals)
        .where(_approvals_of(pack_id, version, approvals.c.consumed_generation.is_(None)))
        .values(consumed_generation=generation)
    )


def record_activation(
    session: Session, pack_id: str, generation: int, version: str, actor: str, kind: str, approved: bool
) -> None:
    session.execute(
        insert(activations).values(
            pack_id=pack_id,
            generation=generation,
            version=version,
            actor=actor,
            kind=kind,
            approved=approved,
            activated_at=datetime.now(UTC),
        )
    )


def activation_history(session: Session, pack_id: str) -> list[Activation]:
    """Activations of a pack, newest first."""
    rows = session.execute(
        select(activations).where(activations.c.pack_id == pack_id).order_by(activations.c.generation.desc())
    )
    return [
        Activation(r.generation, r.version, r.actor, r.kind, bool(r.approved), _utc(r.activated_at))
        for r in rows
    ]


def get_schedule(session: Session, pack_id: str | None = None) -> list[Scheduled]:
    q = select(schedule)
    if pack_id is not None:
        q = q.where(schedule.c.pack_id == pack_id)
    return [_scheduled(r) for r in session.execute(q.order_by(schedule.c.pack_id))]


def set_schedule(session: Session, item: Scheduled) -> None:
    session.execute(delete(schedule).where(schedule.c.pack_id == item.pack_id))
    session.execute(insert(schedule).values(**item.__dict__))


def take_schedule(session: Session, pack_id: str, version: str) -> Scheduled | None:
    """Remove and return the pack's scheduled activation of ``version`` (locked; None if another replica
    applied it first)."""
    r = session.execute(
        select(schedule)
        .where(and_(schedule.c.pack_id == pack_id, schedule.c.version == version))
        .with_for_update()
    ).first()
    if r is None:
        return None
    session.execute(delete(schedule).where(schedule.c.pack_id == pack_id))
    return _scheduled(r)


@dataclass(frozen=True)
class Rejection:
    rejected_by: str
    rejected_at: datetime
    reason: str


def get_rejection(session: Session, pack_id: str, version: str) -> Rejection | None:
    r = session.execute(
        select(rejections).where(and_(rejections.c.pack_id == pack_id, rejections.c.version == version))
    ).first()
    return Rejection(r.rejected_by, _utc(r.rejected_at), r.reason) if r else None


def rejected_versions(session: Session, pack_id: str) -> dict[str, Rejection]:
    rows = session.execute(select(rejections).where(rejections.c.pack_id == pack_id))
    return {r.version: Rejection(r.rejected_by, _utc(r.rejected_at), r.reason) for r in rows}


def add_rejection(session: Session, pack_id: str, version: str, rejected_by: str, reason: str) -> Rejection:
    """Record the rejection (the first one stands; a concurrent second one is ABORTED)."""
    now = datetime.now(UTC)
    _insert_once(
        session,
        rejections,
        f"packs/{pack_id}/versions/{version} was rejected",
        pack_id=pack_id,
        version=version,
        rejected_by=rejected_by,
        rejected_at=now,
        reason=reason,
    )
    return Rejection(rejected_by, now, reason)
