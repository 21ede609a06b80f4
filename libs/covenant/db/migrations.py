"""Alembic migrations, run programmatically: chassis tables, rule-pack tables, then the service's own.

Each script directory holds only ``versions/`` (no env.py, no alembic.ini): ``migrate`` drives Alembic's
``EnvironmentContext`` itself, with a version table per directory so the three histories never mix:

- ``libs/covenant/db/migrations`` → ``alembic_version_chassis`` (outbox, inbox, audit log)
- ``libs/covenant/rules/migrations`` → ``alembic_version_rules`` (rule-pack versions and activations)
- ``services/<name>/migrations`` → ``alembic_version`` (the service's tables)

Safe when several replicas start at once: PostgreSQL takes an advisory lock for the run; on SQLite the run
holds an exclusive ``flock`` on ``<file>.migrate-lock`` from before its first connection (a cold file's
first opens switch it to WAL, which must not race another run's DDL), then ``BEGIN IMMEDIATE``. The whole
run is one transaction (PostgreSQL DDL is transactional), so a failing migration leaves the schema as it was.

A service needs no ``env.py`` and no ``alembic.ini``: its migrations directory holds only ``versions/``, one
file per revision with ``revision``/``down_revision`` and an ``upgrade()`` using ``alembic.op``. To write one
from the service's SQLAlchemy ``MetaData`` (then review it)::

    from covenant.db.migrations import new_revision
    from services.points.storage import metadata
    new_revision(Path("services/points/migrations"), "points", metadata, "add goals")

and to prove migrations and code agree (in a test): ``assert schema_diff(url, metadata) == []`` after
``migrate(url, ...)``. Use portable types (``String``, ``Text``, ``Integer``,
``BigInteger().with_variant(Integer, "sqlite")`` for autoincrement keys, ``DateTime(timezone=True)``,
``LargeBinary``, ``Boolean``, ``JSON``); batch operations (``render_as_batch``) keep ALTERs working on SQLite.
"""

from __future__ import annotations

import fcntl
import os
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic.autogenerate import compare_metadata, produce_migrations, render_python_code
from alembic.config import Config
from alembic.runtime.environment import EnvironmentContext
from alembic.runtime.migration import MigrationContext, MigrationStep
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, MetaData, text

from covenant.db.engine import Database, sqlite_file

CHASSIS_DIR = Path(__file__).resolve().parent / "migrations"
RULES_DIR = Path(__file__).resolve().parents[1] / "rules" / "migrations"
_ADVISORY_KEY = 0x0C0FE7A7  # any constant shared by every Covenant process


def _script(directory: Path) -> tuple[Config, ScriptDirectory]:
    cfg = Config()
    cfg.set_main_option("script_location", str(directory))
    return cfg, ScriptDirectory.from_config(cfg)


def head_revision(directory: Path) -> str | None:
    """The newest revision of the migration scripts in ``directory`` (None: no scripts yet)."""
    return _script(directory)[1].get_current_head() if any((directory / "versions").glob("*.py")) else None


def _upgrade(conn: Connection, directory: Path, version_table: str) -> None:
    cfg, script = _script(directory)

    def upgrade(rev, _context):  # type: ignore[no-untyped-def]
        scripts = script.iterate_revisions("heads", rev, implicit_base=True)
        return [MigrationStep.upgrade_from_script(script.revision_map, s) for s in reversed(list(scripts))]

    with EnvironmentContext(cfg, script, fn=upgrade, destination_rev="heads") as env:
        env.configure(connection=conn, version_table=version_table, transactional_ddl=True)
        env.run_migrations()


def script_dirs(service_migrations_dir: Path | None) -> list[tuple[Path, str]]:
    """The (directory, version table) pairs ``migrate`` runs, in order."""
    dirs = [(CHASSIS_DIR, "alembic_version_chassis")]
    if (RULES_DIR / "versions").is_dir():
        dirs.append((RULES_DIR, "alembic_version_rules"))
    if service_migrations_dir is not None and (service_migrations_dir / "versions").is_dir():
        dirs.append((service_migrations_dir, "alembic_version"))
    return dirs


@contextmanager
def _one_run_per_sqlite_file(url: str) -> Iterator[None]:
    """Hold an exclusive OS lock beside ``url``'s SQLite file (threads and processes alike wait for it);
    nothing for PostgreSQL, whose advisory lock is taken inside the run's transaction."""
    path = sqlite_file(url)
    if path is None:
        yield
        return
    lock = Path(path).with_name(Path(path).name + ".migrate-lock")
    lock.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


def migrate(url: str, service_name: str, service_migrations_dir: Path | None) -> None:
    """Bring ``url``'s schema up to date for ``service_name`` (idempotent)."""
    with _one_run_per_sqlite_file(url):
        db = Database(url, pool_size=1)
        try:
            with db.engine.begin() as conn:
                if db.dialect == "postgresql":
                    conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _ADVISORY_KEY})
                for directory, table in script_dirs(service_migrations_dir):
                    _upgrade(conn, directory, table)
        finally:
            db.dispose()


def _owned_by(metadata: MetaData) -> Any:
    """Autogenerate filter: only the tables ``metadata`` declares (not chassis, rules or version tables)."""

    def include(obj: Any, name: str | None, type_: str, _reflected: bool, _compare_to: Any) -> bool:
        if type_ == "table":
            return name in metadata.tables
        table = getattr(obj, "table", None)
        return table is None or table.name in metadata.tables

    return include


def _diff_context(conn: Connection, metadata: MetaData) -> MigrationContext:
    return MigrationContext.configure(
        conn, opts={"include_object": _owned_by(metadata), "compare_type": False}
    )


def schema_diff(url: str, metadata: MetaData) -> list[Any]:
    """Alembic's differences between the database at ``url`` and ``metadata`` (``[]`` when they agree).

    Only the tables ``metadata`` declares are compared; column types are not (SQLite reflects them loosely).
    """
    db = Database(url, pool_size=1)
    try:
        with db.engine.connect() as conn:
            return list(compare_metadata(_diff_context(conn, metadata), metadata))
    finally:
        db.dispose()


def new_revision(service_migrations_dir: Path, service_name: str, metadata: MetaData, message: str) -> Path:
    """Write ``versions/NNNN_<slug>.py``: the ``upgrade()`` taking the current head to ``metadata``.

    The current head is applied to a scratch SQLite database and compared with ``metadata``; the operations
    are rendered in batch mode (portable to SQLite ALTERs). Review the file before committing it. Raises
    ``ValueError`` when there is nothing to migrate.
    """
    versions = service_migrations_dir / "versions"
    versions.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'scratch.db'}"
        migrate(url, service_name, service_migrations_dir)
        db = Database(url, pool_size=1)
        try:
            with db.engine.connect() as conn:
                ops = produce_migrations(_diff_context(conn, metadata), metadata).upgrade_ops
        finally:
            db.dispose()
    if ops is None or ops.is_empty():
        raise ValueError(f"{service_name}: migrations already match the metadata")
    head = head_revision(service_migrations_dir)
    number = len(list(versions.glob("[0-9]*.py"))) + 1
    revision = f"{service_name}_{number:04d}"
    slug = re.sub(r"[^a-z0-9]+", "_", message.lower()).strip("_")[:40] or "change"
    rendered = render_python_code(
        ops, render_as_batch=True, alembic_module_prefix="op.", sqlalchemy_module_prefix="sa."
    )
    body = "\n".join(line for line in rendered.splitlines() if not line.strip().startswith("# ###")).rstrip()
    down = f'"{head}"' if head else "None"
    path = versions / f"{number:04d}_{slug}.py"
    path.write_text(
        f'''"""{service_name}: {message}

Revision ID: {revision}
Revises:{" " + head if head else ""}
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "{revision}"
down_revision = {down}
branch_labels = None
depends_on = None


def upgrade() -> None:
{body}


def downgrade() -> None:
    raise NotImplementedError("downgrades are not supported; restore from backup")
'''
    )
    return path
