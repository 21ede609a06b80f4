"""Published rule-pack versions and the active version per pack, in the service's own database.

Versions are immutable. Publishing identical content under an existing version is a no-op; different
content under an existing version is refused. ``rule_pack_active`` is what every replica's watcher
polls: its ``generation`` grows on every activation or rollback.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Column, DateTime, Integer, MetaData, String, Table, Text, and_, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from covenant.errors import Aborted

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


@dataclass(frozen=True)
class StoredVersion:
    pack_id: str
    version: str
    content_hash: str
    source: str
    author: str
    created_at: datetime


def _utc(v: datetime) -> datetime:
    return v.replace(tzinfo=UTC) if v.tzinfo is None else v


def _stored(r) -> StoredVersion:  # type: ignore[no-untyped-def]
    return StoredVersion(r.pack_id, r.version, r.content_hash, r.source, r.author, _utc(r.created_at))


def get_version(session: Session, pack_id: str, version: str) -> StoredVersion | None:
    r = session.execute(
        select(versions).where(and_(versions.c.pack_id == pack_id, versions.c.version == version))
    ).first()
    return _stored(r) if r else None


def insert_version(session: Session, v: StoredVersion) -> None:
    try:
        session.execute(insert(versions).values(**v.__dict__))
    except IntegrityError:
        raise Aborted(f"packs/{v.pack_id}/versions/{v.version} was published concurrently; retry") from None


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
        try:
            session.execute(
                insert(active).values(
                    pack_id=pack_id, version=version, activated_by=actor, activated_at=now, generation=1
                )
            )
        except IntegrityError:
            raise Aborted(f"pack {pack_id} was activated concurrently; retry") from None
        return 1
    generation = current.generation + 1
    session.execute(
        update(active)
        .where(active.c.pack_id == pack_id)
        .values(version=version, activated_by=actor, activated_at=now, generation=generation)
    )
    return generation
