"""Wiring: ``create_app(ctx)`` builds the identity use cases, bootstraps accounts and serves the servicer."""

from __future__ import annotations

import logging
from typing import Any

from covenant.auth import TokenVerifier
from covenant.auth.tokens import JwksKeySource
from covenant.grpc.app import ServiceApp, ServiceContext
from covenant.identity.v1 import identity_service_pb2_grpc
from covenant.services import SERVICES
from services.identity.audit import IdentityAudit
from services.identity.keys import SigningKeyRing
from services.identity.role_pack import LiveRoleTable, service_account_role
from services.identity.service import IdentityService
from services.identity.servicer import IdentityServicer
from services.identity.tokens import IdentityConfig

log = logging.getLogger("covenant.identity")

GRPC_SERVICE = "covenant.identity.v1.IdentityService"
BOOTSTRAP_ADMIN_PATH = "identity/bootstrap-admin"
BOOTSTRAP_ADMIN_USERNAME = "admin"


class _EitherKeySource:
    """Identity's own keys first, then whatever the chassis verifier trusted (tests' signing keys)."""

    def __init__(self, own: Any, other: Any | None) -> None:
        self._own = own
        self._other = other

    def key_for(self, kid: str) -> Any | None:
        key = self._own.key_for(kid)
        if key is None and self._other is not None:
            key = self._other.key_for(kid)
        return key

    def is_revoked(self, jti: str) -> bool:
        return self._own.is_revoked(jti) or (self._other is not None and self._other.is_revoked(jti))


def config_from_env(env: Any) -> IdentityConfig:
    from services.identity.domain.throttle import ThrottlePolicy

    return IdentityConfig(
        access_ttl_seconds=int(env.get("COVENANT_IDENTITY_ACCESS_TTL_SECONDS", "600")),
        refresh_ttl_seconds=int(env.get("COVENANT_IDENTITY_REFRESH_TTL_SECONDS", str(12 * 3600))),
        throttle=ThrottlePolicy(
            per_source=int(env.get("COVENANT_IDENTITY_LOGIN_FAILURES_PER_SOURCE", "20")),
            per_account_and_source=int(env.get("COVENANT_IDENTITY_LOGIN_FAILURES_PER_ACCOUNT", "5")),
            window_seconds=float(env.get("COVENANT_IDENTITY_LOGIN_WINDOW_SECONDS", "900")),
        ),
        trusted_proxies=tuple(
            p.strip() for p in env.get("COVENANT_IDENTITY_TRUSTED_PROXIES", "").split(",") if p.strip()
        ),
    )


def bootstrap(svc: IdentityService, secrets: Any) -> None:
    """One service account per Covenant service and the platform admin, from the secrets provider."""
    for name in SERVICES:
        try:
            secret = secrets.get_secret(f"service-accounts/{name}")["client_secret"]
        except Exception as exc:
            log.warning("no service-account secret for %s (%s); not bootstrapped", name, type(exc).__name__)
            continue
        svc.accounts.ensure_service_account(name, secret, roles=(service_account_role(name),))
    try:
        password = secrets.get_secret(BOOTSTRAP_ADMIN_PATH)["password"]
    except Exception as exc:
        log.warning("no bootstrap admin password at %s (%s)", BOOTSTRAP_ADMIN_PATH, type(exc).__name__)
        return
    if svc.accounts.ensure_admin(BOOTSTRAP_ADMIN_USERNAME, password):
        log.info("bootstrap admin account %r created", BOOTSTRAP_ADMIN_USERNAME)


def create_app(ctx: ServiceContext) -> ServiceApp:
    """Identity's contribution to its process (see ``covenant.grpc.app``)."""
    from covenant.secrets import FieldCipher

    config = config_from_env(ctx.settings.env)
    keys = SigningKeyRing(ctx.secrets, max_token_ttl_seconds=config.access_ttl_seconds)
    keys.load()
    audit = IdentityAudit(ctx.db)
    svc = IdentityService(
        ctx.db,
        cipher=FieldCipher(ctx.secrets, ctx.settings.env.get("COVENANT_VAULT_TRANSIT_KEY") or "identity"),
        keys=keys,
        roles=LiveRoleTable(ctx.rules),
        audit=audit,
        config=config,
    )
    # Identity verifies its own tokens without calling itself; tokens the chassis already trusted (a
    # test signer) stay valid. A JWKS source pointing at identity would only be a self-call: dropped.
    chassis_keys = getattr(ctx.verifier, "keys", None)
    other = None if isinstance(chassis_keys, JwksKeySource) else chassis_keys
    own = svc.tokens.local_verifier().keys
    ctx.verifier = TokenVerifier(_EitherKeySource(own, other))
    servicer = IdentityServicer(svc, audit)

    return ServiceApp(
        servicers=[(identity_service_pb2_grpc.add_IdentityServiceServicer_to_server, servicer)],
        grpc_service_names=[GRPC_SERVICE],
        public_methods=IdentityServicer.PUBLIC_METHODS,
        on_start=lambda: bootstrap(svc, ctx.secrets),
    )
