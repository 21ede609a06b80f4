"""What the use cases of a service over a storage port share: the database and one unit of work per call
through the port (``stores``), the rule packs, the clock and time zone, the directory and the outbox."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime
from typing import Any, Generic, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from covenant.auth.directory import Directory
from covenant.db.engine import Database
from covenant.db.outbox import Outbox
from covenant.timestamps import utcnow

StoreT = TypeVar("StoreT")


class ServiceUnits(Generic[StoreT]):
    """The shared wiring of a service whose use cases go through a storage port ``StoreT``.

    ``stores`` opens one unit of work as a ``StoreT`` (default: a SQL session of ``db`` handed to
    ``store``, which a service implements with its SQL store; an in-memory fake in the unit tests).
    ``directory``: where the org unit and role of an employee come from (None: the request is trusted; only
    for in-process tools and benchmarks that construct the service directly)."""

    def __init__(
        self,
        db: Database,
        rules: Any,
        *,
        source: str,
        timezone: str = "Asia/Shanghai",
        clock: Callable[[], datetime] | None = None,
        directory: Directory | None = None,
        stores: Callable[[], AbstractContextManager[StoreT]] | None = None,
    ) -> None:
        self.db = db
        self.rules = rules
        self.timezone = timezone
        self.tz = ZoneInfo(timezone)
        self.clock = clock or utcnow
        self.directory = directory
        self.outbox = Outbox(source)
        self.stores = stores or self._sql_store

    def store(self, session: Session) -> StoreT:
        """The storage port over ``session`` (a unit of work the caller opened)."""
        raise NotImplementedError

    @contextmanager
    def _sql_store(self) -> Iterator[StoreT]:
        with self.db.session() as session:
            yield self.store(session)
