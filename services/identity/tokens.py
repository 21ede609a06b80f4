"""Keys and tokens: the published JWKS, password login (throttled by source), refresh-token rotation,
revocation, service-account tokens and signing-key rotation."""

from __future__ import annotations

import math
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from covenant.auth import (
    Principal,
    TokenVerifier,
    authorize,
    jwks_document,
)
from covenant.auth.tokens import StaticKeySource
from covenant.db import Database, idempotency
from covenant.errors import (
    InvalidArgument,
    NotFound,
    ResourceExhausted,
    Unauthenticated,
)
from services.identity import SERVICE, passwords, storage
from services.identity.audit import AuditTrail
from services.identity.domain.accounts import (
    Account,
    after_success,
    counted_failure,
)
from services.identity.domain.rbac import RoleTable, anchor_org_unit
from services.identity.domain.throttle import LoginThrottle, ThrottlePolicy, client_address, source_key
from services.identity.keys import SigningKeyRing

#: The one answer to every refused login (unknown, disabled, locked or wrong password): nothing to tell apart.
LOGIN_FAILED = "invalid username or password"


@dataclass(frozen=True)
class IdentityConfig:
    access_ttl_seconds: int = 600
    refresh_ttl_seconds: int = 12 * 3600
    throttle: ThrottlePolicy = field(default_factory=ThrottlePolicy)
    trusted_proxies: tuple[str, ...] = ()  # addresses/CIDRs whose x-forwarded-for names the client


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    expires_in_seconds: int
    refresh_token: str = ""
    refresh_expires_in_seconds: int = 0


@dataclass
class Tokens:
    db: Database
    keys: SigningKeyRing
    roles: Callable[[], RoleTable]
    audit: AuditTrail
    config: IdentityConfig
    clock: Callable[[], datetime]

    def __post_init__(self) -> None:
        self._jwks_cache: tuple[float, str] | None = None
        self._jwks_lock = threading.Lock()
        self.throttle = LoginThrottle(self.config.throttle)

    # -- keys and tokens -------------------------------------------------------------------------------
    def jwks_json(self, max_age_seconds: float = 1.0) -> str:
        """Current + previous public keys and the live revocation list, as JWKS JSON."""
        with self._jwks_lock:
            cached = self._jwks_cache
            if cached is not None and time.monotonic() - cached[0] < max_age_seconds:
                return cached[1]
            with self.db.session() as s:
                revoked = storage.live_revoked_tokens(s, self.clock())
            doc = jwks_document(
                self.keys.published(), [{"jti": j, "exp": int(exp.timestamp())} for j, exp in revoked]
            )
            self._jwks_cache = (time.monotonic(), doc)
            return doc

    def invalidate_jwks(self) -> None:
        with self._jwks_lock:
            self._jwks_cache = None

    def local_verifier(self) -> TokenVerifier:
        """A verifier for identity's own endpoints, reading keys and revocations without a network hop."""
        return TokenVerifier(_OwnKeySource(self))

    def _issue_access(
        self, subject: str, *, kind: str, employee_id: str, org_unit: str, roles: Sequence[str]
    ) -> str:
        grants = self.roles().grants_for(roles)
        return self.keys.signer.issue(
            subject,
            kind=kind,
            employee_id=employee_id,
            org_unit=org_unit,
            permissions={p: str(s) for p, s in grants.items()},
            roles=tuple(roles),
            ttl_seconds=self.config.access_ttl_seconds,
        )

    def _user_pair(self, s: Session, account: Account, family_id: str, now: datetime) -> TokenPair:
        home = ""
        if account.employee_id:
            # only the org unit: no sensitive field decrypted (a Vault transit call each) on every login
            home = storage.org_units_of(s, [account.employee_id]).get(account.employee_id, "")
        roles = sorted({a.role for a in account.role_assignments})
        anchor = anchor_org_unit(home, (a.org_unit for a in account.role_assignments)) or "/"
        access = self._issue_access(
            f"accounts/{account.username}",
            kind="user",
            employee_id=account.employee_id,
            org_unit=anchor,
            roles=roles,
        )
        refresh = passwords.new_opaque_token()
        ttl = self.config.refresh_ttl_seconds
        storage.add_refresh_token(
            s, passwords.token_digest(refresh), family_id, account.username, now + timedelta(seconds=ttl), now
        )
        return TokenPair(access, self.config.access_ttl_seconds, refresh, ttl)

    def login(self, username: str, password: str, peer: str = "", forwarded_for: str = "") -> TokenPair:
        """Password login from gRPC ``peer`` (``x-forwarded-for`` counts only from a trusted proxy).

        Every refusal reads the same (unknown, disabled, administratively locked or wrong password) and
        costs one password verification. Failures are throttled by source (``LoginThrottle``), never by
        locking the account, so nobody can lock another person out."""
        now = self.clock()
        username = username.strip().lower()
        origin = source_key(client_address(peer, forwarded_for, self.config.trusted_proxies))
        wait = self.throttle.retry_after(origin, username, time.monotonic())
        if wait > 0:
            raise ResourceExhausted(f"too many failed logins from this address; retry in {math.ceil(wait)} s")
        pair: TokenPair | None = None
        with self.db.session() as s:
            account = storage.get_account(s, username, for_update=True) if username else None
            matches = passwords.verify_password(account.password_hash if account else None, password)
            if account is None or account.disabled or account.is_locked(now):
                pass
            elif not matches:
                storage.save_login_state(s, counted_failure(account))
            else:
                ok = after_success(account)
                if passwords.needs_rehash(account.password_hash):
                    ok = replace(ok, password_hash=passwords.hash_password(password))
                if ok != account:
                    storage.save_login_state(s, ok)
                pair = self._user_pair(s, ok, uuid.uuid4().hex, now)
        if pair is None:
            self.throttle.failed(origin, username, time.monotonic())
            raise Unauthenticated(LOGIN_FAILED)
        self.throttle.succeeded(origin, username)
        return pair

    def refresh(self, refresh_token: str) -> TokenPair:
        """Rotate a refresh token. Re-use of a spent one revokes its family (committed), then fails."""
        now = self.clock()
        digest = passwords.token_digest(refresh_token)
        failure: str | None = None
        pair: TokenPair | None = None
        with self.db.session() as s:
            row = storage.get_refresh_token(s, digest)
            if row is None:
                failure = "unknown refresh token"
            elif row.revoked_at is not None:
                failure = "refresh token revoked"
            elif row.used_at is not None:
                storage.revoke_refresh_family(s, row.family_id, now)
                self.audit.append(
                    s,
                    actor=f"accounts/{row.username}",
                    action="token.refresh_reuse_detected",
                    subject=f"accounts/{row.username}",
                    detail={"family": row.family_id},
                )
                failure = "refresh token already used; its session has been revoked"
            elif storage.utc(row.expires_at) <= now:  # type: ignore[operator]
                failure = "refresh token expired"
            else:
                account = storage.get_account(s, row.username)
                if account is None or account.disabled or account.is_locked(now):
                    failure = "account unavailable"
                else:
                    storage.mark_refresh_used(s, digest, now)
                    pair = self._user_pair(s, account, row.family_id, now)
        if pair is None:
            raise Unauthenticated(failure or "refresh failed")
        return pair

    def revoke(self, principal: Principal, token: str) -> str:
        """Revoke an access token (jti published) or a refresh token's family; returns the kind."""
        now = self.clock()
        if token.count(".") == 2:
            try:
                claims = self.local_verifier().verify(token)
            except Unauthenticated as exc:
                if "expired" in exc.message:
                    return "access"  # already unusable everywhere
                raise InvalidArgument(f"not a valid access token: {exc.message}", field="token") from None
            if claims.subject != principal.subject:
                authorize(principal, "identity.tokens.revoke")
            with self.db.session() as s:
                storage.revoke_access_token(s, claims.token_id, claims.expires_at or now)
                self.audit.append(
                    s,
                    actor=principal.subject,
                    action="token.revoked",
                    subject=claims.subject,
                    detail={"jti": claims.token_id},
                )
            self.invalidate_jwks()
            return "access"
        with self.db.session() as s:
            row = storage.get_refresh_token(s, passwords.token_digest(token))
            if row is None:
                raise NotFound("no such refresh token")
            if f"accounts/{row.username}" != principal.subject:
                authorize(principal, "identity.tokens.revoke")
            storage.revoke_refresh_family(s, row.family_id, now)
            self.audit.append(
                s,
                actor=principal.subject,
                action="refresh_token.revoked",
                subject=f"accounts/{row.username}",
                detail={"family": row.family_id},
            )
        return "refresh"

    def list_revoked(self, principal: Principal) -> list[tuple[str, datetime]]:
        authorize(principal, "identity.tokens.read")
        with self.db.session() as s:
            return storage.live_revoked_tokens(s, self.clock())

    def issue_service_token(self, client_id: str, client_secret: str) -> TokenPair:
        with self.db.session() as s:
            row = storage.get_service_account(s, client_id)
        # verified with no database connection held (an argon2 check takes ~0.1 s)
        secret_hash = row.secret_hash if row is not None else None
        if not passwords.verify_client_secret(secret_hash, client_secret) or row is None or row.disabled:
            raise Unauthenticated("invalid client credentials")
        if passwords.client_secret_needs_rehash(row.secret_hash, client_secret):
            hashed = passwords.hash_client_secret(client_secret)
            with self.db.session() as s:
                storage.upsert_service_account(s, client_id, hashed, row.roles, self.clock())
        token = self._issue_access(
            f"serviceAccounts/{client_id}",
            kind="service",
            employee_id="",
            org_unit="/",
            roles=list(row.roles),
        )
        return TokenPair(token, self.config.access_ttl_seconds)

    def rotate_signing_key(self, principal: Principal, request_id: str = "") -> tuple[str, list[str]]:
        authorize(principal, "identity.keys.rotate")
        with self.db.session() as s:
            done = idempotency.replayed(s, SERVICE, "RotateSigningKey", request_id)
        if done is not None:
            return done, [k for k, _ in self.keys.published() if k != done]
        kid, previous = self.keys.rotate()
        with self.db.session() as s:
            idempotency.remember(s, SERVICE, "RotateSigningKey", request_id, kid, self.clock())
            self.audit.append(
                s,
                actor=principal.subject,
                action="key.rotated",
                subject=f"keys/{kid}",
                detail={"previous": previous},
            )
        self.invalidate_jwks()
        return kid, previous


class _OwnKeySource:
    """Identity's own key source: the published JWKS without a network hop (refreshed each second)."""

    def __init__(self, service: Tokens) -> None:
        self._service = service
        self._doc = ""
        self._static: StaticKeySource | None = None

    def _current(self) -> StaticKeySource:
        doc = self._service.jwks_json()
        if doc != self._doc or self._static is None:
            self._static, self._doc = StaticKeySource(doc), doc
        return self._static

    def key_for(self, kid: str) -> Any | None:
        return self._current().key_for(kid)

    def is_revoked(self, jti: str) -> bool:
        return self._current().is_revoked(jti)
