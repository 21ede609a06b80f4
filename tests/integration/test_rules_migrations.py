"""The rule-pack tables: created by their own Alembic history (version table alembic_version_rules)."""

from __future__ import annotations

from sqlalchemy import inspect, text

from covenant.db.engine import Database
from covenant.db.migrations import migrate, schema_diff
from covenant.rules import store


def test_migrations_create_the_tables_the_store_uses_and_rerun_safely(db_url: str) -> None:
    migrate(db_url, "scoring", None)
    migrate(db_url, "scoring", None)  # idempotent
    assert schema_diff(db_url, store.metadata) == []
    db = Database(db_url)
    try:
        assert {
            "rule_pack_versions",
            "rule_pack_active",
            "rule_pack_approvals",
            "rule_pack_activations",
            "rule_pack_schedule",
            "alembic_version_rules",
        } <= set(inspect(db.engine).get_table_names())
        with db.session() as s:
            assert (
                s.execute(text("SELECT version_num FROM alembic_version_rules")).scalar_one() == "rules_0003"
            )
    finally:
        db.dispose()


def test_versions_active_before_the_governance_tables_count_as_approved(db_url: str) -> None:
    from datetime import UTC, datetime

    from sqlalchemy import Column, MetaData, String, Table, insert

    db = Database(db_url)
    try:
        with db.engine.begin() as conn:  # the schema and data of revision rules_0001
            store.versions.create(conn)
            store.active.create(conn)
            version_table = Table("alembic_version_rules", MetaData(), Column("version_num", String(32)))
            version_table.create(conn)
            conn.execute(insert(version_table).values(version_num="rules_0001"))
            conn.execute(
                insert(store.active).values(
                    pack_id="p", version="7", activated_by="u", activated_at=datetime.now(UTC), generation=3
                )
            )
        migrate(db_url, "scoring", None)
        with db.session() as s:
            assert [(a.generation, a.version, a.approved) for a in store.activation_history(s, "p")] == [
                (3, "7", True)
            ]
    finally:
        db.dispose()
