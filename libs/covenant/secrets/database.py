"""The database URL a service connects with: ``settings.db_url``, or, when COVENANT_VAULT_DB_ROLE names a
Vault database-engine role, that URL with the engine's short-lived username and password.

The lease is renewed in the background; when Vault refuses a renewal (the role's max TTL reached, the lease
revoked) the process asks itself to stop (SIGTERM: drain, exit), so its supervisor restarts it with fresh
credentials instead of letting it fail on the next connection.
"""

from __future__ import annotations

import logging
import os
import signal
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import make_url

if TYPE_CHECKING:
    from covenant.settings import Settings

log = logging.getLogger(__name__)


def _stop_process(reason: str) -> None:
    log.error("database credentials lost (%s); stopping so the pod restarts with new ones", reason)
    os.kill(os.getpid(), signal.SIGTERM)


def database_url(settings: Settings, provider: Any, *, on_lost: Callable[[str], None] = _stop_process) -> str:
    """The URL to connect with (see module docstring). The result holds a password: never log it."""
    role = settings.env.get("COVENANT_VAULT_DB_ROLE", "")
    if not role:
        return settings.db_url
    creds = provider.database_credentials(role)
    if creds.lease_id and creds.renewable:
        provider.start_renewer(creds, on_lost=on_lost)
    url = make_url(settings.db_url).set(username=creds.username, password=creds.password)
    return url.render_as_string(hide_password=False)
