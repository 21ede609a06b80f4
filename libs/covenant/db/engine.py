"""SQLAlchemy engine and transactional sessions for one service's database (SQLite or PostgreSQL).

Hardening (docs/security.md): SQL parameters never reach logs or error messages (``hide_parameters``: a
failed statement names its SQL, not the phone number it carried), and a SQLite file is created (or
tightened) to 0600 in a 0700 directory before the first connection, so its WAL and shared-memory files,
which SQLite creates with the database file's mode, are private too. PostgreSQL's error DETAIL, which
quotes row values, is withheld the same way.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from contextvars import ContextVar
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import ExceptionContext
from sqlalchemy.exc import DBAPIError, DisconnectionError
from sqlalchemy.orm import Session, sessionmaker

from covenant.errors import Unavailable

#: How long a unit of work waits for SQLite's write lock (the Python queue, then SQLite's busy timeout).
SQLITE_BUSY_SECONDS = 30

#: A pooled PostgreSQL connection idle longer than this is pinged before it is handed out (one round trip);
#: one checked in more recently is used as is (a connection lost in between fails its first statement,
#: which invalidates it; ``covenant.db.transient`` retries or answers UNAVAILABLE).
PING_IDLE_SECONDS = 1.0


def _ping_idle_connections(engine: Engine) -> None:
    """Pessimistic disconnect handling for idle connections only. ``pool_pre_ping`` pings on every
    checkout: a round trip per unit of work."""

    @event.listens_for(engine, "checkin")
    def _checked_in(_dbapi_conn, record) -> None:  # type: ignore[no-untyped-def]
        record.info["covenant_idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_conn, record, _proxy) -> None:  # type: ignore[no-untyped-def]
        since = record.info.get("covenant_idle_since")
        if since is None or time.monotonic() - since < PING_IDLE_SECONDS:
            return
        try:
            engine.dialect.do_ping(dbapi_conn)
        except Exception as exc:  # the pool discards it and checks out another (up to three times)
            raise DisconnectionError(f"pooled connection failed its ping: {exc}") from exc


def _transactions_back_on_checkin(engine: Engine) -> None:
    """A connection whose unit of work sent its own BEGIN (``covenant.db.bulk.pipeline``) is in psycopg's
    autocommit mode until the unit ends: put it back before anyone else checks it out (the pool's reset
    rolled back whatever the unit left open)."""

    @event.listens_for(engine, "checkin")
    def _checked_in(dbapi_conn, record) -> None:  # type: ignore[no-untyped-def]
        if dbapi_conn is None or not dbapi_conn.autocommit:
            return
        try:
            dbapi_conn.autocommit = False
        except Exception:  # not idle or not usable: never hand it out again
            record.invalidate()


def _sqlite_pragmas(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
    # Disable pysqlite's own deferred BEGIN; the "begin" listener below emits BEGIN IMMEDIATE.
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_SECONDS * 1000}")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


def private_sqlite_file(path: str) -> None:
    """Create ``path`` as an empty file with mode 0600 (its directory 0700 when created here), or tighten
    an existing file to 0600; its ``-wal``/``-shm``/``-journal`` companions too when present."""
    target = Path(path)
    target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(target, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        os.fchmod(fd, 0o600)
    finally:
        os.close(fd)
    for suffix in ("-wal", "-shm", "-journal"):
        with suppress(FileNotFoundError):  # another connection may delete a companion at any moment
            os.chmod(target.with_name(target.name + suffix), 0o600)


def _withhold_row_values(ctx: ExceptionContext) -> BaseException | None:
    """PostgreSQL's DETAIL quotes row values ("Key (phone)=(138...) already exists"): drop it from the error
    (the primary message names the constraint; the SQLSTATE is kept) and rebuild SQLAlchemy's exception,
    whose message is fixed when it is made."""
    orig = ctx.original_exception
    diag = getattr(orig, "diag", None)
    if ctx.sqlalchemy_exception is None or diag is None or not getattr(diag, "message_detail", None):
        return None
    orig.args = (f"{diag.message_primary} (detail withheld: it may quote row values)",)
    return DBAPIError.instance(
        ctx.statement,
        ctx.parameters,
        orig,  # type: ignore[arg-type]
        ctx.dialect.loaded_dbapi.Error,
        hide_parameters=True,
        connection_invalidated=ctx.is_disconnect,
        dialect=ctx.dialect,
    )


def normalise_url(url: str) -> str:
    """Accept plain ``postgresql://`` URLs and use the psycopg 3 driver for them."""
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


#: Set by the gRPC chassis for the duration of a call: returns why the call's units of work must not commit
#: (the client cancelled, or the server's drain grace ran out), or None. See ``Database.session``.
commit_guard: ContextVar[Callable[[], str | None] | None] = ContextVar("covenant_commit_guard", default=None)


def check_commit_guard() -> None:
    """``Unavailable`` when the running call's units of work may no longer commit (``commit_guard``)."""
    guard = commit_guard.get()
    reason = guard() if guard is not None else None
    if reason:
        raise Unavailable(f"{reason}; the transaction was rolled back, nothing was committed")


# One lock per SQLite file, shared by every Database on it in this process (see ``Database.session``).
_sqlite_writers: dict[str, threading.RLock] = {}
_sqlite_writers_guard = threading.Lock()


def _sqlite_writer(path: str) -> threading.RLock:
    key = str(Path(path).resolve()) if path and path != ":memory:" else path
    with _sqlite_writers_guard:
        return _sqlite_writers.setdefault(key, threading.RLock())


def sqlite_file(url: str) -> str | None:
    """The file a ``sqlite:///`` URL names, or None (PostgreSQL, ``:memory:``, ``file:`` URIs)."""
    url = normalise_url(url)
    if not url.startswith("sqlite") or "sqlite:///" not in url:
        return None
    path = url.split("sqlite:///", 1)[1].split("?", 1)[0]
    return path if path and path != ":memory:" and not path.startswith("file:") else None


class Database:
    """One service's database: an engine plus ``session()`` units of work."""

    def __init__(self, url: str, *, echo: bool = False, pool_size: int = 10) -> None:
        self.url = normalise_url(url)
        if self.url.startswith("sqlite"):
            path = self.url.split("sqlite:///", 1)[1].split("?", 1)[0] if "sqlite:///" in self.url else ""
            if sqlite_file(self.url) is not None:
                private_sqlite_file(path)
            self.engine: Engine = create_engine(
                self.url,
                echo=echo,
                hide_parameters=True,
                connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_SECONDS},
            )
            event.listen(self.engine, "connect", _sqlite_pragmas)
            # pysqlite's own transaction handling defers BEGIN; emit it ourselves so a unit of
            # work takes the write lock up front (BEGIN IMMEDIATE) and never deadlocks on upgrade.
            event.listen(self.engine, "begin", lambda conn: conn.exec_driver_sql("BEGIN IMMEDIATE"))
            self._writer: threading.RLock | None = _sqlite_writer(path)
        else:
            self._writer = None
            self.engine = create_engine(
                self.url,
                echo=echo,
                hide_parameters=True,
                pool_size=pool_size,
                max_overflow=pool_size,
            )
            _ping_idle_connections(self.engine)
            _transactions_back_on_checkin(self.engine)
            event.listen(self.engine, "handle_error", _withhold_row_values)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self.engine.dialect.name

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A unit of work: commits on success, rolls back on any exception.

        On SQLite every unit of work holds the file's write lock (BEGIN IMMEDIATE), and SQLite hands a
        released lock to whichever waiter polls first: under a steady stream of transactions (ingest
        batches, relay passes) one waiter could starve past the busy timeout. Threads of this process
        therefore queue on a Python lock first and take SQLite's lock in turn; other processes on the same
        file still wait on the busy timeout.

        Commit guard: inside a gRPC call the chassis sets ``commit_guard``; a unit of work ending after the
        call was cancelled or the server's drain grace expired rolls back and raises ``Unavailable`` instead
        of committing, so nothing commits after the client was told the call failed."""
        if self._writer is None:
            with self._sessions() as session, session.begin():
                yield session
                check_commit_guard()
            return
        if not self._writer.acquire(timeout=SQLITE_BUSY_SECONDS):
            raise TimeoutError(f"database is locked: no turn to write within {SQLITE_BUSY_SECONDS} s")
        try:
            with self._sessions() as session, session.begin():
                yield session
                check_commit_guard()
        finally:
            self._writer.release()

    def dispose(self) -> None:
        self.engine.dispose()
