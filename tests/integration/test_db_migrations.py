"""Programmatic Alembic migrations: three histories in order, idempotent, safe when run concurrently,
``new_revision`` renders working revisions, and every service's migrations match its storage metadata."""

from __future__ import annotations

import fcntl
import importlib
import os
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import BigInteger, Column, Integer, MetaData, String, Table, inspect, select, text

from covenant.db import engine as engine_module
from covenant.db.engine import Database
from covenant.db.migrations import CHASSIS_DIR, RULES_DIR, head_revision, migrate, new_revision, schema_diff

REPO = Path(__file__).resolve().parents[2]
SERVICES = ["identity", "attendance", "scoring", "points", "compliance", "commitments"]


def _versions(url: str) -> dict[str, list[str]]:
    db = Database(url)
    try:
        tables = set(inspect(db.engine).get_table_names())
        out = {}
        with db.session() as s:
            for t in sorted(tables):
                if t.startswith("alembic_version"):
                    out[t] = list(s.execute(text(f"SELECT version_num FROM {t}")).scalars())
        return out
    finally:
        db.dispose()


def _demo_metadata(with_extra: bool) -> MetaData:
    m = MetaData()
    cols = [
        Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
        Column("name", String(50), nullable=False, unique=True),
    ]
    if with_extra:
        cols.append(Column("extra", String(10)))
    Table("things", m, *cols)
    return m


def test_chassis_rules_and_service_histories_each_have_their_version_table(
    db_url: str, tmp_path: Path
) -> None:
    service_dir = tmp_path / "demo_migrations"
    new_revision(service_dir, "demo", _demo_metadata(False), "initial")
    migrate(db_url, "demo", service_dir)
    migrate(db_url, "demo", service_dir)  # idempotent: a second run changes nothing and does not fail
    versions = _versions(db_url)
    chassis_head = head_revision(CHASSIS_DIR)
    assert chassis_head is not None and versions["alembic_version_chassis"] == [chassis_head]
    assert versions["alembic_version"] == ["demo_0001"]
    if (RULES_DIR / "versions").is_dir():
        assert len(versions["alembic_version_rules"]) == 1
    db = Database(db_url)
    try:
        names = set(inspect(db.engine).get_table_names())
        assert {"outbox", "inbox", "audit_log", "things"} <= names
    finally:
        db.dispose()


def test_concurrent_migrations_all_succeed_and_apply_once(db_url: str) -> None:
    errors: list[BaseException] = []

    def run() -> None:
        try:
            migrate(db_url, "points", REPO / "services" / "points" / "migrations")
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert errors == []
    versions = _versions(db_url)
    assert len(versions["alembic_version_chassis"]) == 1 and len(versions["alembic_version"]) == 1


def test_a_sqlite_migration_waits_for_the_file_lock_before_it_opens_the_database(tmp_path: Path) -> None:
    # Cold opens of one SQLite file switch it to WAL; racing another run's DDL they failed as "database is
    # locked" (seen in CI). A run holds <file>.migrate-lock from before its first connection.
    path = tmp_path / "test.db"
    fd = os.open(tmp_path / "test.db.migrate-lock", os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX)
    runner = threading.Thread(
        target=migrate, args=(f"sqlite:///{path}", "points", REPO / "services" / "points" / "migrations")
    )
    try:
        runner.start()
        runner.join(0.5)
        assert runner.is_alive() and not path.exists()
    finally:
        os.close(fd)
    runner.join(60)
    assert not runner.is_alive()
    assert len(_versions(f"sqlite:///{path}")["alembic_version"]) == 1


def test_a_sqlite_companion_file_that_vanishes_while_it_is_tightened_is_skipped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Another connection's transaction may end (deleting test.db-journal) between seeing the file and
    # changing its mode; opening the database failed with FileNotFoundError (seen under concurrent opens).
    path = tmp_path / "test.db"
    journal = tmp_path / "test.db-journal"
    journal.write_bytes(b"")
    real_chmod = os.chmod

    def chmod_after_the_journal_went(target, mode):  # type: ignore[no-untyped-def]
        if str(target).endswith("-journal"):
            journal.unlink(missing_ok=True)
        return real_chmod(target, mode)

    monkeypatch.setattr(engine_module.os, "chmod", chmod_after_the_journal_went)
    engine_module.private_sqlite_file(str(path))
    assert path.exists() and (path.stat().st_mode & 0o777) == 0o600


def test_new_revision_renders_an_alter_that_keeps_data_and_closes_the_diff(
    db_url: str, tmp_path: Path
) -> None:
    service_dir = tmp_path / "demo_migrations"
    first = new_revision(service_dir, "demo", _demo_metadata(False), "initial tables")
    migrate(db_url, "demo", service_dir)
    db = Database(db_url)
    try:
        with db.session() as s:
            s.execute(text("INSERT INTO things (name) VALUES ('kept')"))
    finally:
        db.dispose()
    grown = _demo_metadata(True)
    assert schema_diff(db_url, grown) != []  # the new column is not there yet
    second = new_revision(service_dir, "demo", grown, "add extra column")
    assert first.name == "0001_initial_tables.py" and second.name == "0002_add_extra_column.py"
    assert 'down_revision = "demo_0001"' in second.read_text()
    migrate(db_url, "demo", service_dir)
    assert schema_diff(db_url, grown) == []
    db = Database(db_url)
    try:
        with db.session() as s:
            assert list(s.execute(select(grown.tables["things"].c.name, grown.tables["things"].c.extra))) == [
                ("kept", None)
            ]
    finally:
        db.dispose()
    with pytest.raises(ValueError, match="already match"):
        new_revision(service_dir, "demo", grown, "nothing")


@pytest.mark.parametrize("service", SERVICES)
def test_service_migrations_match_storage_metadata(db_url: str, service: str) -> None:
    """Guards every service: a table or column added in storage.py without a migration fails here."""
    migrations_dir = REPO / "services" / service / "migrations"
    if not (migrations_dir / "versions").is_dir():
        pytest.skip(f"{service} has no migrations yet")
    metadata = importlib.import_module(f"services.{service}.storage").metadata
    migrate(db_url, service, migrations_dir)
    assert schema_diff(db_url, metadata) == []


NEW_IDEMPOTENCY_REVISIONS = {
    "identity": (
        "0002_identity_idempotency_to_chassis.py",
        "INSERT INTO identity_idempotency (request_id, method, result, created_at) "
        "VALUES ('r1', 'CreateEmployee', 'E1', :at)",
        [("identity", "CreateEmployee", "r1", "E1")],
    ),
    "compliance": (
        "0005_compliance_requests_to_chassis.py",
        "INSERT INTO compliance_requests (request_id, method, result, at) VALUES "
        "('transition:r1', 'TransitionCase', '{\"case\": \"cases/1\"}', :at), "
        "('activity:a:1', 'RecordClientActivity', '{}', :at)",
        [
            ("compliance", "RecordClientActivity", "a:1", "{}"),
            ("compliance", "TransitionCase", "r1", '{"case": "cases/1"}'),
        ],
    ),
    "scoring": (
        "0004_scoring_metric_requests_to_chassis.py",
        "INSERT INTO metric_requests (request_id, recorded) VALUES ('r1', 3)",
        [("scoring", "RecordMetrics", "r1", "3")],
    ),
}


@pytest.mark.parametrize("service", sorted(NEW_IDEMPOTENCY_REVISIONS))
def test_request_id_tables_move_into_the_chassis_idempotency_table(
    db_url: str, service: str, tmp_path: Path
) -> None:
    """A database at the revision before the move keeps its recorded request ids after upgrading."""
    new_file, seed_sql, expected = NEW_IDEMPOTENCY_REVISIONS[service]
    real = REPO / "services" / service / "migrations"
    before = tmp_path / "before"
    (before / "versions").mkdir(parents=True)
    for f in sorted((real / "versions").glob("[0-9]*.py")):
        if f.name >= new_file:
            break
        (before / "versions" / f.name).write_text(f.read_text())
    migrate(db_url, service, before)
    db = Database(db_url)
    try:
        with db.session() as s:
            s.execute(text(seed_sql), {"at": datetime(2026, 3, 2, 9, 0, tzinfo=UTC)})
    finally:
        db.dispose()
    migrate(db_url, service, real)
    db = Database(db_url)
    try:
        with db.session() as s:
            rows = s.execute(
                text("SELECT service, method, request_id, response FROM idempotency ORDER BY method")
            ).all()
            assert [tuple(r) for r in rows] == expected
        assert not {"identity_idempotency", "compliance_requests", "metric_requests"} & set(
            inspect(db.engine).get_table_names()
        )
    finally:
        db.dispose()
