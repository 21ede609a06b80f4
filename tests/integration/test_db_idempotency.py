"""The chassis idempotency helper on SQLite and PostgreSQL: replay, payload mismatch, per-method keys,
the record rolls back with the effects, retention purge; the chassis tables match their migrations."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from covenant.db import idempotency
from covenant.db.engine import Database
from covenant.db.migrations import migrate, schema_diff
from covenant.db.tables import idempotency as table
from covenant.db.tables import metadata as chassis_metadata
from covenant.errors import InvalidArgument

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def db(db_url: str):  # type: ignore[no-untyped-def]
    migrate(db_url, "demo", None)
    database = Database(db_url, pool_size=1)
    yield database
    database.dispose()


def test_chassis_migrations_match_chassis_tables(db_url: str) -> None:
    migrate(db_url, "demo", None)
    assert schema_diff(db_url, chassis_metadata) == []


def test_replay_returns_the_recorded_response_per_service_and_method(db: Database) -> None:
    fp = idempotency.fingerprint({"points": 5}, "e1")
    with db.session() as s:
        assert idempotency.replayed(s, "points", "Adjust", "r1", fingerprint=fp) is None
        idempotency.remember(s, "points", "Adjust", "r1", '{"id": 7}', NOW, fingerprint=fp)
    with db.session() as s:
        assert idempotency.replayed(s, "points", "Adjust", "r1", fingerprint=fp) == '{"id": 7}'
        assert idempotency.replayed(s, "points", "Adjust", "r1") == '{"id": 7}'  # no fingerprint: no check
        assert idempotency.replayed(s, "points", "Other", "r1") is None  # the key includes the method
        assert idempotency.replayed(s, "scoring", "Adjust", "r1") is None  # ... and the service
        assert idempotency.replayed(s, "points", "Adjust", "") is None
        idempotency.remember(s, "points", "Adjust", "", "ignored", NOW)  # no request id: nothing recorded
        assert s.execute(select(func.count()).select_from(table)).scalar() == 1


def test_reused_request_id_with_another_payload_is_invalid_argument(db: Database) -> None:
    with db.session() as s:
        idempotency.remember(s, "points", "Adjust", "r1", "{}", NOW, fingerprint=idempotency.fingerprint(5))
    with db.session() as s, pytest.raises(InvalidArgument) as err:
        idempotency.replayed(s, "points", "Adjust", "r1", fingerprint=idempotency.fingerprint(6))
    assert err.value.field == "request_id" and "different Adjust request" in err.value.message


def test_the_record_rolls_back_with_the_effects(db: Database) -> None:
    with pytest.raises(RuntimeError), db.session() as s:
        idempotency.remember(s, "points", "Adjust", "r1", "{}", NOW)
        raise RuntimeError("the effects failed")
    with db.session() as s:
        assert idempotency.replayed(s, "points", "Adjust", "r1") is None


def test_purge_forgets_only_old_ids_of_one_service(db: Database) -> None:
    with db.session() as s:
        idempotency.remember(s, "compliance", "M", "old", "{}", NOW - timedelta(days=10))
        idempotency.remember(s, "compliance", "M", "new", "{}", NOW)
        idempotency.remember(s, "points", "M", "old", "{}", NOW - timedelta(days=10))
    with db.session() as s:
        assert idempotency.purge(s, "compliance", NOW - timedelta(days=1)) == 1
    with db.session() as s:
        assert idempotency.replayed(s, "compliance", "M", "old") is None
        assert idempotency.replayed(s, "compliance", "M", "new") == "{}"
        assert idempotency.replayed(s, "points", "M", "old") == "{}"


def test_fingerprint_is_stable_and_order_insensitive_for_mappings() -> None:
    assert idempotency.fingerprint({"a": 1, "b": 2}) == idempotency.fingerprint({"b": 2, "a": 1})
    assert idempotency.fingerprint({"a": 1}) != idempotency.fingerprint({"a": 2})
    assert len(idempotency.fingerprint(NOW)) == 64
