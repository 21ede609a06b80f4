"""Database chassis: engine/sessions, migrations, transactional outbox, relay and inbox."""

from covenant.db.engine import Database, normalise_url

__all__ = ["Database", "normalise_url"]
