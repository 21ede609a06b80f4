"""Identity and RBAC service: org units, employees, accounts, tokens, roles, audit."""

from __future__ import annotations

from pathlib import Path


def migrations_dir() -> Path:
    """Alembic scripts for identity's own tables."""
    return Path(__file__).resolve().parent / "migrations"
