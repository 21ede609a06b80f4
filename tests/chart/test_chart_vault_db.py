"""vault.databaseRoles reaches the connection: the chart passes the role (COVENANT_VAULT_DB_ROLE) next to the
service's database URL, and the chassis connects with the database engine's short-lived credentials in
place of the URL's own, renewing the lease (covenant.secrets.database).

No Vault server runs in the tests, so a small in-process stand-in plays the provider's database-engine
part; the database is the real test PostgreSQL when COVENANT_TEST_PG_URL is set.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable

import pytest
from chart_render import PROD, by_name, env_of, render
from sqlalchemy import text
from sqlalchemy.engine import make_url

from covenant.db import Database
from covenant.secrets.base import DatabaseCredentials
from covenant.secrets.database import database_url
from covenant.settings import Settings


class DatabaseEngineStandIn:
    """What ``database_url`` needs from the Vault provider: credentials per role and a lease renewer."""

    def __init__(self, creds: DatabaseCredentials) -> None:
        self.creds = creds
        self.roles: list[str] = []
        self.renewed: list[tuple[str, Callable[[str], None] | None]] = []

    def database_credentials(self, role: str) -> DatabaseCredentials:
        self.roles.append(role)
        return self.creds

    def start_renewer(self, creds: DatabaseCredentials, on_lost: Callable[[str], None] | None = None) -> None:
        self.renewed.append((creds.lease_id, on_lost))


def rendered_env(helm: str, svc: str, secret_url: str, *args: str) -> dict[str, str]:
    """The service container's environment, the database Secret's key resolved to ``secret_url``."""
    docs = render(helm, *args)
    (c,) = by_name(docs, "Deployment")[f"rel-covenant-{svc}"]["spec"]["template"]["spec"]["containers"]
    env = {}
    for name, e in env_of(c).items():
        if "value" in e:
            env[name] = e["value"]
        elif e.get("valueFrom", {}).get("secretKeyRef", {}).get("key") == f"{svc}-db-url":
            env[name] = secret_url
    return env


def test_the_rendered_role_swaps_in_the_engine_credentials_and_renews_the_lease(helm: str) -> None:
    owner_url = "postgresql+psycopg://owner:owner-pw@pg.db.svc:5432/points"
    env = rendered_env(helm, "points", owner_url, "-f", str(PROD))
    assert env["COVENANT_VAULT_DB_ROLE"] == "covenant-points-rw"
    creds = DatabaseCredentials(
        "v-k8s-points-rw-x1", "p@ss:w/rd?#", "database/creds/covenant-points-rw/abc", 3600
    )
    provider = DatabaseEngineStandIn(creds)
    lost: list[str] = []
    url = make_url(database_url(Settings.from_env("points", env), provider, on_lost=lost.append))
    assert provider.roles == ["covenant-points-rw"]
    assert (url.username, url.password) == ("v-k8s-points-rw-x1", "p@ss:w/rd?#")
    assert (url.drivername, url.host, url.port, url.database) == (
        "postgresql+psycopg",
        "pg.db.svc",
        5432,
        "points",
    )
    ((lease, on_lost),) = provider.renewed
    assert lease == creds.lease_id and on_lost == lost.append


def test_without_a_role_the_url_is_used_as_given(helm: str) -> None:
    owner_url = "postgresql+psycopg://owner:owner-pw@pg.db.svc:5432/points"
    provider = DatabaseEngineStandIn(DatabaseCredentials("unused", "unused"))
    env = rendered_env(helm, "points", owner_url, "-f", str(PROD), "--set", "vault.databaseRoles.points=")
    assert "COVENANT_VAULT_DB_ROLE" not in env
    assert database_url(Settings.from_env("points", env), provider) == owner_url
    assert provider.roles == [] and provider.renewed == []


def test_a_role_without_a_database_url_is_refused_at_render_time(helm: str) -> None:
    with pytest.raises(Exception) as err:
        render(helm, "--set", "vault.enabled=true", "--set", "vault.databaseRoles.points=covenant-points-rw")
    assert "vault.databaseRoles.points" in str(getattr(err.value, "stderr", err.value))


@pytest.mark.pg
def test_postgresql_sees_the_engine_user(pg_url: str) -> None:
    admin = Database(pg_url, pool_size=1)
    user = f"v_points_{secrets.token_hex(4)}"
    with admin.engine.begin() as conn:
        conn.execute(text(f"CREATE ROLE \"{user}\" LOGIN PASSWORD 'p@ss:w/rd?#'"))
    try:
        env = {"COVENANT_POINTS_DB_URL": pg_url, "COVENANT_VAULT_DB_ROLE": "covenant-points-rw"}
        creds = DatabaseCredentials(user, "p@ss:w/rd?#", "database/creds/covenant-points-rw/l1", 60)
        db = Database(
            database_url(Settings.from_env("points", env), DatabaseEngineStandIn(creds)), pool_size=1
        )
        with db.engine.connect() as conn:
            assert conn.execute(text("SELECT current_user")).scalar() == user
        db.engine.dispose()
    finally:
        with admin.engine.begin() as conn:
            conn.execute(text(f'DROP ROLE "{user}"'))
        admin.engine.dispose()
