"""JWT access tokens: signing (identity only), local verification (every service), token sources.

Tokens are RS256 JWTs with a ``kid`` header. Claims: ``iss``, ``aud``, ``sub``, ``iat``, ``exp``, ``jti``,
``kind`` (user|service), ``emp`` (employee id), ``ou`` (org unit path), ``roles`` and ``perms``
(``{permission: scope}``). Services verify locally against the JWKS that identity publishes
(``IdentityService.GetJwks``), refreshed in the background and on an unknown ``kid``. The JWKS document may
carry a non-standard ``revoked`` member (``[{"jti": ..., "exp": ...}]``, allowed by RFC 7517 §5) listing
revoked token ids, so revocation reaches every verifier within one refresh interval.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from covenant.auth.principal import Principal, Scope
from covenant.errors import Unauthenticated

ISSUER = "covenant-identity"
AUDIENCE = "covenant"
ALGORITHM = "RS256"


def generate_signing_key(bits: int = 2048) -> tuple[str, str]:
    """A new RSA signing key: ``(kid, private_key_pem)``."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    return uuid.uuid4().hex[:16], pem


def public_jwk(private_key_pem: str, kid: str) -> dict[str, Any]:
    """The public JWK (RFC 7517) for a private key PEM."""
    key = serialization.load_pem_private_key(private_key_pem.encode(), password=None)
    jwk = json.loads(RSAAlgorithm.to_jwk(key.public_key()))  # type: ignore[arg-type]
    jwk.update({"kid": kid, "use": "sig", "alg": ALGORITHM})
    return jwk


def jwks_document(keys: Sequence[tuple[str, str]], revoked: Sequence[Mapping[str, Any]] = ()) -> str:
    """A JWKS JSON document for ``[(kid, private_pem), ...]`` plus the revoked-token list."""
    return json.dumps({"keys": [public_jwk(pem, kid) for kid, pem in keys], "revoked": list(revoked)})


class TokenSigner:
    """Issues access tokens. Only the identity service (and tests) hold a signer."""

    def __init__(
        self, private_key_pem: str, kid: str, *, issuer: str = ISSUER, audience: str = AUDIENCE
    ) -> None:
        self._key = serialization.load_pem_private_key(private_key_pem.encode(), password=None)
        self.kid = kid
        self.issuer = issuer
        self.audience = audience
        self.private_key_pem = private_key_pem

    def issue(
        self,
        subject: str,
        *,
        kind: str = "user",
        employee_id: str = "",
        org_unit: str = "",
        permissions: Mapping[str, str | Scope] | None = None,
        roles: Sequence[str] = (),
        ttl_seconds: int = 600,
        jti: str | None = None,
        now: float | None = None,
    ) -> str:
        """A signed JWT for the given principal facts."""
        iat = int(now if now is not None else time.time())
        claims = {
            "iss": self.issuer,
            "aud": self.audience,
            "sub": subject,
            "iat": iat,
            "exp": iat + ttl_seconds,
            "jti": jti or uuid.uuid4().hex,
            "kind": kind,
            "emp": employee_id,
            "ou": org_unit,
            "roles": list(roles),
            "perms": {k: str(Scope.parse(v)) for k, v in (permissions or {}).items()},
        }
        return jwt.encode(claims, self._key, algorithm=ALGORITHM, headers={"kid": self.kid})  # type: ignore[arg-type]

    def jwks(self) -> str:
        """A JWKS document with this signer's public key."""
        return jwks_document([(self.kid, self.private_key_pem)])


class KeySource(Protocol):
    """Where a verifier finds public keys and the revocation list."""

    def key_for(self, kid: str) -> Any | None: ...

    def is_revoked(self, jti: str) -> bool: ...


class StaticKeySource:
    """Keys from a fixed JWKS document (tests, or a mounted file)."""

    def __init__(self, jwks_json: str) -> None:
        self._keys, self._revoked = _parse_jwks(jwks_json)

    def key_for(self, kid: str) -> Any | None:
        return self._keys.get(kid)

    def is_revoked(self, jti: str) -> bool:
        return jti in self._revoked


def _parse_jwks(jwks_json: str) -> tuple[dict[str, Any], frozenset[str]]:
    doc = json.loads(jwks_json)
    keys = {
        k["kid"]: RSAAlgorithm.from_jwk(json.dumps(k)) for k in doc.get("keys", []) if k.get("kty") == "RSA"
    }
    revoked = frozenset(r["jti"] for r in doc.get("revoked", []) if "jti" in r)
    return keys, revoked


class JwksKeySource:
    """Keys fetched from identity's published JWKS, refreshed every ``refresh_seconds`` and on unknown kid.

    ``fetch`` returns the JWKS JSON text (see ``covenant.grpc.client.identity_jwks_fetcher``). A failed
    refresh keeps the last good keys (verification keeps working while identity restarts).
    """

    def __init__(
        self, fetch: Callable[[], str], *, refresh_seconds: float = 30.0, min_refetch_seconds: float = 0.5
    ) -> None:
        self._fetch = fetch
        self._refresh = refresh_seconds
        self._min_refetch = min_refetch_seconds
        self._keys: dict[str, Any] = {}
        self._revoked: frozenset[str] = frozenset()
        self._fetched_at = 0.0
        self._attempted_at = 0.0
        self._lock = threading.Lock()

    def _maybe_refresh(self, force: bool) -> None:
        now = time.monotonic()
        stale = now - self._fetched_at > self._refresh
        if not (stale or force) or now - self._attempted_at < self._min_refetch:
            return
        with self._lock:
            if time.monotonic() - self._attempted_at < self._min_refetch:
                return
            self._attempted_at = time.monotonic()
            try:
                keys, revoked = _parse_jwks(self._fetch())
            except Exception:  # identity unreachable: keep serving with the last good keys
                return
            self._keys, self._revoked, self._fetched_at = keys, revoked, time.monotonic()

    def refresh(self) -> None:
        """Fetch now (ignores the minimum refetch interval)."""
        self._attempted_at = 0.0
        self._maybe_refresh(force=True)

    def key_for(self, kid: str) -> Any | None:
        self._maybe_refresh(force=False)
        key = self._keys.get(kid)
        if key is None:
            # A new kid right after a rotation: wait out the refetch rate limit (bounded, so random kids
            # cannot flood identity) and look again.
            wait = self._min_refetch - (time.monotonic() - self._attempted_at)
            if wait > 0:
                time.sleep(wait)
            self._maybe_refresh(force=True)
            key = self._keys.get(kid)
        return key

    def is_revoked(self, jti: str) -> bool:
        self._maybe_refresh(force=False)  # cached tokens skip key_for: keep the revocation list fresh
        return jti in self._revoked


class TokenVerifier:
    """Verifies access tokens locally and turns them into Principals. Thread-safe.

    Verified tokens are cached (by token text, until expiry) so repeated calls with the same token cost a
    dictionary lookup; revocation is still checked on every call.
    """

    def __init__(
        self,
        keys: KeySource,
        *,
        issuer: str = ISSUER,
        audience: str = AUDIENCE,
        leeway_seconds: int = 30,
        cache_size: int = 10_000,
    ) -> None:
        self.keys = keys
        self._issuer = issuer
        self._audience = audience
        self._leeway = leeway_seconds
        self._cache: OrderedDict[str, tuple[Principal, float]] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()

    def verify(self, token: str) -> Principal:
        """The Principal for ``token``; raises Unauthenticated with the reason."""
        now = time.time()
        cached = self._cache.get(token)
        if cached is not None:
            principal, exp = cached
            if now > exp + self._leeway:
                raise Unauthenticated("token expired")
            if self.keys.is_revoked(principal.token_id):
                raise Unauthenticated("token revoked")
            return principal
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise Unauthenticated("malformed token") from None
        if header.get("alg") != ALGORITHM:
            raise Unauthenticated("unsupported token algorithm")
        key = self.keys.key_for(str(header.get("kid", "")))
        if key is None:
            raise Unauthenticated("unknown signing key")
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=[ALGORITHM],
                audience=self._audience,
                issuer=self._issuer,
                leeway=self._leeway,
                options={"require": ["exp", "iat", "sub", "jti"]},
            )
        except jwt.ExpiredSignatureError:
            raise Unauthenticated("token expired") from None
        except jwt.InvalidSignatureError:
            raise Unauthenticated("bad token signature") from None
        except jwt.PyJWTError as exc:
            raise Unauthenticated(f"invalid token: {type(exc).__name__}") from None
        if self.keys.is_revoked(claims["jti"]):
            raise Unauthenticated("token revoked")
        principal = principal_from_claims(claims)
        with self._lock:
            self._cache[token] = (principal, float(claims["exp"]))
            if len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return principal


def principal_from_claims(claims: Mapping[str, Any]) -> Principal:
    """Map verified JWT claims onto a Principal."""
    return Principal(
        subject=str(claims["sub"]),
        kind=str(claims.get("kind", "user")),
        employee_id=str(claims.get("emp", "")),
        org_unit=str(claims.get("ou", "")),
        permissions={k: Scope.parse(v) for k, v in dict(claims.get("perms", {})).items()},
        roles=tuple(claims.get("roles", ())),
        token_id=str(claims["jti"]),
        expires_at=datetime.fromtimestamp(int(claims["exp"]), UTC),
    )


class TokenSource(Protocol):
    """Supplies call metadata (``authorization``) for outgoing service-to-service calls."""

    def metadata(self) -> list[tuple[str, str]]: ...


class StaticTokenSource:
    """A fixed bearer token (tests, CLI)."""

    def __init__(self, token: str | None) -> None:
        self._token = token

    def metadata(self) -> list[tuple[str, str]]:
        return [("authorization", f"Bearer {self._token}")] if self._token else []


@dataclass
class _CachedToken:
    token: str
    renew_at: float


class ClientCredentialsTokenSource:
    """Service-account tokens from identity's ``IssueServiceToken``, cached until shortly before expiry."""

    def __init__(
        self, issue: Callable[[str, str], tuple[str, int]], client_id: str, client_secret: str
    ) -> None:
        self._issue = issue
        self._client_id = client_id
        self._client_secret = client_secret
        self._cached: _CachedToken | None = None
        self._lock = threading.Lock()

    def token(self) -> str:
        with self._lock:
            now = time.monotonic()
            if self._cached is None or now >= self._cached.renew_at:
                token, expires_in = self._issue(self._client_id, self._client_secret)
                self._cached = _CachedToken(token, now + max(1.0, expires_in * 0.8))
            return self._cached.token

    def metadata(self) -> list[tuple[str, str]]:
        return [("authorization", f"Bearer {self.token()}")]

    def __repr__(self) -> str:
        return f"ClientCredentialsTokenSource(client_id={self._client_id!r})"
