"""Shared test fixtures: SQLite and PostgreSQL databases, data dirs.

PostgreSQL tests run when COVENANT_TEST_PG_URL is set (``.ci/run`` sets it); each test that asks
for ``pg_url`` gets a fresh database of its own, dropped afterwards, so parallel runs never collide.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from covenant.db.scratch import scratch_database

PG_URL = os.environ.get("COVENANT_TEST_PG_URL", "")


def _fresh_pg_database() -> Iterator[str]:
    if not PG_URL:
        pytest.skip("COVENANT_TEST_PG_URL not set: PostgreSQL variant not run (CI sets it)")
    with scratch_database(PG_URL) as url:
        yield url


@pytest.fixture
def pg_url() -> Iterator[str]:
    """URL of a fresh, empty PostgreSQL database (skips when no server is configured)."""
    yield from _fresh_pg_database()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """URL of a fresh SQLite file."""
    return f"sqlite:///{tmp_path / 'test.db'}"


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh database URL, once for SQLite and once for PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'test.db'}"
    else:
        yield from _fresh_pg_database()


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh COVENANT_DATA_DIR for this test."""
    d = tmp_path / "data"
    d.mkdir()
    monkeypatch.setenv("COVENANT_DATA_DIR", str(d))
    return d
