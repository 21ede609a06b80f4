"""Database hardening: SQLite files are private (0600), and SQL parameters never reach errors or logs.

Observed on main: SQLite files were created 0644 (readable by every local user), and on PostgreSQL the
ERROR log of a failed statement carried its full parameters, a phone number among them.
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

import pytest
from sqlalchemy import Column, MetaData, String, Table, insert, text
from sqlalchemy.exc import DBAPIError

from covenant.db.engine import Database
from covenant.grpc.testing import running_service

PHONE = "13800138000"


def mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_sqlite_files_and_their_wal_are_created_0600(tmp_path: Path) -> None:
    old = os.umask(0o022)  # the usual umask, which gave 0644 files before
    try:
        path = tmp_path / "data" / "points.db"
        db = Database(f"sqlite:///{path}")
        with db.session() as s:
            s.execute(text("CREATE TABLE t (x TEXT)"))
            s.execute(text("INSERT INTO t VALUES ('a')"))
        wal = path.with_name("points.db-wal")
        assert mode(path) == 0o600
        assert wal.exists() and mode(wal) == 0o600
        assert mode(path.parent) == 0o700  # created here, so private too
        db.dispose()
    finally:
        os.umask(old)


def test_an_existing_world_readable_sqlite_file_is_tightened(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    path.touch(mode=0o644)
    os.chmod(path, 0o644)
    Database(f"sqlite:///{path}").dispose()
    assert mode(path) == 0o600


def test_every_service_database_is_private(tmp_path: Path) -> None:
    path = tmp_path / "commitments.db"
    with running_service("commitments", db_url=f"sqlite:///{path}", data_dir=tmp_path):
        assert mode(path) == 0o600


def test_a_failed_statement_never_carries_its_parameters(
    db_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    db = Database(db_url)
    contacts = Table("contacts", MetaData(), Column("phone", String(16), primary_key=True))
    contacts.create(db.engine)
    with db.session() as s:
        s.execute(insert(contacts).values(phone=PHONE))
    caplog.set_level(logging.DEBUG)
    failing = [{"phone": PHONE}]  # a unique violation, on both databases
    if db.dialect == "postgresql":
        failing.append({"phone": PHONE * 2})  # too long for the column
    for row in failing:
        with pytest.raises(DBAPIError) as err, db.session() as s:
            s.execute(text("INSERT INTO contacts (phone) VALUES (:phone)"), row)
        message = str(err.value)
        assert "INSERT INTO contacts" in message and "parameters hidden" in message
        assert PHONE not in message
        logging.getLogger("covenant.test").error("statement failed", exc_info=err.value)
    assert "statement failed" in caplog.text and PHONE not in caplog.text
    db.dispose()
