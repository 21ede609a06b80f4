"""Identity use cases: login and tokens, org units and employees, accounts, roles, audit, import.

The application layer between the gRPC adapter and storage: each method authorizes the caller (a
``Principal``), runs one unit of work, records an audit entry in the same transaction and returns
domain objects. No gRPC here. ``IdentityService`` holds the wiring they share and one object per
capability: ``tokens`` (keys, login, tokens), ``directory`` (org units, employees, import), ``accounts``
(user and service accounts, bootstrap) and ``rbac`` (the role table, permission checks).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from covenant.db import Database
from covenant.db.outbox import Outbox
from covenant.timestamps import utcnow
from services.identity import storage
from services.identity.accounts import Accounts, Roles
from services.identity.audit import AuditTrail
from services.identity.directory import OrgDirectory
from services.identity.domain.rbac import RoleTable
from services.identity.keys import SigningKeyRing
from services.identity.tokens import IdentityConfig, Tokens


class IdentityService:
    def __init__(
        self,
        db: Database,
        *,
        cipher: storage.FieldCipher,
        keys: SigningKeyRing,
        roles: Callable[[], RoleTable],
        audit: AuditTrail,
        config: IdentityConfig = IdentityConfig(),
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.keys = keys
        self.tokens = Tokens(db, keys, roles, audit, config, clock)
        self.directory = OrgDirectory(db, cipher, audit, clock, Outbox("identity"))
        self.accounts = Accounts(db, roles, audit, clock)
        self.rbac = Roles(db, roles)
