"""Throwaway PostgreSQL databases for tests and benchmarks: created empty, dropped on exit."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import create_engine, text

from covenant.db.engine import normalise_url

#: Where tests and benchmarks find a PostgreSQL server (``.ci/run`` sets it).
TEST_SERVER_ENV = "COVENANT_TEST_PG_URL"


def test_server_url() -> str:
    """URL of the PostgreSQL server for tests and benchmarks, or "" when none is configured."""
    return os.environ.get("COVENANT_BENCH_PG_URL") or os.environ.get(TEST_SERVER_ENV, "")


@contextmanager
def scratch_database(server_url: str, prefix: str = "covenant_t") -> Iterator[str]:
    """Create an empty database on the server at ``server_url``; yield its URL; drop it afterwards.

    Each call gets a database of its own, so parallel test workers and benchmark runs never collide.
    """
    admin = create_engine(normalise_url(server_url), isolation_level="AUTOCOMMIT")
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    base = normalise_url(server_url).rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
