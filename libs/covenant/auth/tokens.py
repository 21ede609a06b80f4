"""JWT access tokens: signing (identity only), local verification (every service), token sources.

Tokens are RS256 JWTs with a ``kid`` header. Claims: ``iss``, ``aud``, ``sub``, ``iat``, ``exp``, ``jti``,
``kind`` (user|service), ``emp`` (employee id), ``ou`` (org unit path), ``roles`` and ``perms``
(``{permission: scope}``). Services verify locally against the JWKS that identity publishes
(``IdentityService.GetJwks``), refreshed in the background every ``JWKS_REFRESH_SECONDS`` and on an unknown
``kid``. The JWKS document may carry a non-standard ``revoked`` member (``[{"jti": ..., "exp": ...}]``,
allowed by RFC 7517 §5) listing revoked token ids, so revocation reaches every verifier within one refresh
interval; a verifier that cannot refresh for ``JWKS_GRACE_SECONDS`` fails closed.
"""

from __future__ import annotations

import json
import math
import threading
import time
import uuid
import weakref
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, Protocol

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from covenant.auth.principal import Principal, Scope
from covenant.errors import Unauthenticated, Unavailable

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


def _signing_key(private_key_pem: str) -> Any:
    """A signing key from identity's own store (or one it just made). cryptography's RSA consistency check
    costs ~50 ms a key and guards against keys from untrusted sources, so it is skipped for these."""
    return serialization.load_pem_private_key(
        private_key_pem.encode(), password=None, unsafe_skip_rsa_key_validation=True
    )


@lru_cache(maxsize=64)
def _public_jwk_text(private_key_pem: str, kid: str) -> str:
    jwk = json.loads(RSAAlgorithm.to_jwk(_signing_key(private_key_pem).public_key()))
    jwk.update({"kid": kid, "use": "sig", "alg": ALGORITHM})
    return json.dumps(jwk)


def public_jwk(private_key_pem: str, kid: str) -> dict[str, Any]:
    """The public JWK (RFC 7517) for a private key PEM (derived once per key: every JWKS request used to
    parse every key again)."""
    return json.loads(_public_jwk_text(private_key_pem, kid))  # type: ignore[no-any-return]


def jwks_document(keys: Sequence[tuple[str, str]], revoked: Sequence[Mapping[str, Any]] = ()) -> str:
    """A JWKS JSON document for ``[(kid, private_pem), ...]`` plus the revoked-token list."""
    return json.dumps({"keys": [public_jwk(pem, kid) for kid, pem in keys], "revoked": list(revoked)})


class TokenSigner:
    """Issues access tokens. Only the identity service (and tests) hold a signer."""

    def __init__(
        self, private_key_pem: str, kid: str, *, issuer: str = ISSUER, audience: str = AUDIENCE
    ) -> None:
        self._key = _signing_key(private_key_pem)
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


#: How often every service re-reads identity's JWKS (keys and revoked token ids). A revocation reaches every
#: verifier within this interval plus one fetch (identity drops its own JWKS cache when it revokes).
JWKS_REFRESH_SECONDS = 2.0
#: How long a verifier keeps trusting its last good JWKS when identity cannot be reached. Past it, every
#: call fails closed (UNAVAILABLE): a revocation could be missing, so no token is accepted.
JWKS_GRACE_SECONDS = 30.0


class JwksKeySource:
    """Keys and revocations from identity's published JWKS, kept fresh by a background thread.

    ``fetch`` returns the JWKS JSON text (see ``covenant.grpc.client.identity_jwks_fetcher``). A daemon thread
    refetches every ``refresh_seconds``; request threads never fetch on that path. A failed refresh keeps the
    last good keys for ``grace_seconds`` (identity restarting), then ``is_revoked`` raises Unavailable, so
    verification fails closed.

    An unknown ``kid`` (a key rotated in a moment ago, or a forgery) triggers at most one fetch at a time
    (single flight: concurrent misses wait for that fetch, at most ``miss_wait_seconds``) and at most one per
    ``min_refetch_seconds``; a kid still unknown afterwards is remembered for ``negative_ttl_seconds``
    (negative cache). So a flood of random kids costs a few fetches and parks no worker thread.

    Only an answer from identity proves a kid unknown. Before the first JWKS has arrived (a service that
    just started, identity slow to answer) a caller waits for that first fetch, at most
    ``first_fetch_wait_seconds``, and then gets Unavailable, which clients retry; once a fetch has failed,
    callers get Unavailable at once (one of them retries the fetch, at most one per ``min_refetch_seconds``).
    A fetch that failed never puts a kid into the negative cache (otherwise a genuine token would be refused
    as forged for the negative cache's lifetime), and a kid it could not look up is Unavailable, not
    unknown: a token signed by a key rotated in while identity is unreachable is retried, not refused.
    """

    def __init__(
        self,
        fetch: Callable[[], str],
        *,
        refresh_seconds: float = JWKS_REFRESH_SECONDS,
        grace_seconds: float = JWKS_GRACE_SECONDS,
        min_refetch_seconds: float = 0.5,
        miss_wait_seconds: float = 0.25,
        negative_ttl_seconds: float = 30.0,
        negative_cache_size: int = 10_000,
        first_fetch_wait_seconds: float = 5.0,
    ) -> None:
        self._fetch = fetch
        self._refresh = refresh_seconds
        self._grace = grace_seconds
        self._min_refetch = min_refetch_seconds
        self._miss_wait = miss_wait_seconds
        self._negative_ttl = negative_ttl_seconds
        self._negative_size = negative_cache_size
        self._first_wait = first_fetch_wait_seconds
        self._last_ok = False  # did identity answer the most recent fetch
        self._keys: dict[str, Any] = {}
        self._revoked: frozenset[str] = frozenset()
        self._fetched_at: float | None = None  # monotonic time of the last successful fetch
        self._generation = 0  # completed fetch attempts
        self._fetching = False
        self._miss_fetch_at = -math.inf
        self._negative: OrderedDict[str, float] = OrderedDict()
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    # -- fetching -------------------------------------------------------------------------------------
    def _fetch_now(self) -> bool:
        """One fetch; the caller holds the flight (``_fetching``). True when identity answered."""
        try:
            keys, revoked = _parse_jwks(self._fetch())
        except Exception:  # identity unreachable: keep the last good keys (within the grace)
            ok = False
        else:
            self._keys, self._revoked, self._fetched_at = keys, revoked, time.monotonic()
            ok = True
        with self._cond:
            self._last_ok = ok
            self._fetching = False
            self._generation += 1
            self._cond.notify_all()
        return ok

    def _fly(self, *, wait: bool) -> bool | None:
        """Fetch unless one is in flight (then, with ``wait``, wait for that one, at most ``miss_wait`` or,
        before the first JWKS, ``first_fetch_wait``, and return None); True/False: this call fetched,
        successfully or not."""
        with self._cond:
            if self._fetching:
                if wait:
                    seen = self._generation
                    limit = self._miss_wait if self._fetched_at is not None else self._first_wait
                    self._cond.wait_for(lambda: self._generation != seen, timeout=limit)
                return None
            self._fetching = True
        return self._fetch_now()

    def refresh(self) -> bool:
        """Fetch now, in the calling thread (or wait for the fetch in flight); True when this call fetched
        successfully."""
        return bool(self._fly(wait=True))

    def _ensure_started(self) -> None:
        if self._thread is not None:
            return
        with self._cond:
            if self._thread is not None:
                return
            self._thread = threading.Thread(
                target=_refresh_loop,
                args=(weakref.ref(self), self._stop, max(0.05, self._refresh)),
                name="jwks-refresh",
                daemon=True,
            )
            self._thread.start()

    def close(self) -> None:
        """Stop the background refresh."""
        self._stop.set()

    # -- KeySource ------------------------------------------------------------------------------------
    def key_for(self, kid: str) -> Any | None:
        self._ensure_started()
        key = self._keys.get(kid)
        if key is not None or not kid:
            return key
        for _ in range(2):  # a shared fetch may have started before this kid was published: one more
            now = time.monotonic()
            with self._cond:
                if self._negative.get(kid, -math.inf) > now:
                    return None
                cold = self._fetched_at is None  # nothing loaded yet: that fetch is no miss
                if cold and self._generation > 0:  # identity failed to answer since start: no waiting on it
                    if self._fetching or now - self._miss_fetch_at < self._min_refetch:
                        raise Unavailable("identity's signing keys are not loaded yet; retry")
                    self._miss_fetch_at = now  # this caller tries once, at most one per min_refetch
                if not self._fetching and not cold and now - self._miss_fetch_at < self._min_refetch:
                    break  # rate limit: misses answer from what is known
                if not self._fetching and not cold:
                    self._miss_fetch_at = now
            # single flight: start the fetch, or share the one in progress (briefly)
            if self._fly(wait=True) is not None or kid in self._keys or cold:
                break
        key = self._keys.get(kid)
        if key is None:
            with self._cond:
                if self._fetched_at is None:
                    raise Unavailable("identity's signing keys are not loaded yet; retry")
                if not self._last_ok:  # the kid is not known to be unknown: a rotated key's token is genuine
                    raise Unavailable(f"identity did not answer for signing key {kid[:64]!r}; retry")
                self._negative[kid] = time.monotonic() + self._negative_ttl
                self._negative.move_to_end(kid)
                while len(self._negative) > self._negative_size:
                    self._negative.popitem(last=False)
        return key

    def is_revoked(self, jti: str) -> bool:
        self._ensure_started()
        fetched = self._fetched_at
        if fetched is not None and time.monotonic() - fetched > self._grace:
            raise Unavailable(
                f"cannot confirm the token is not revoked: no JWKS from identity for "
                f"{time.monotonic() - fetched:.0f} s (grace {self._grace:.0f} s)"
            )
        return jti in self._revoked


def _refresh_loop(ref: Callable[[], JwksKeySource | None], stop: threading.Event, every: float) -> None:
    """The background refresh; ends when the key source is closed or garbage-collected."""
    while not stop.is_set():
        source = ref()
        if source is None:
            return
        source._fly(wait=False)
        del source
        stop.wait(every)


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
