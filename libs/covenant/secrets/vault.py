"""The Vault provider, through hvac: token, AppRole or Kubernetes auth (the token renewed in the background);
KV v2 with a read cache; transit for field encryption; the database engine for short-lived credentials whose
lease a ``LeaseRenewer`` keeps alive.

Settings come from the environment (the table is in ``covenant.secrets``). Secret values never reach logs,
reprs or exception messages: errors name the operation, the path or key and Vault's HTTP status only, and
hvac's own exception (which carries the response body) is not chained.
"""

from __future__ import annotations

import base64
import logging
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TypeVar

import hvac
import requests
from hvac import exceptions as hvac_errors

from covenant.periodic import PeriodicWorker
from covenant.secrets.base import DatabaseCredentials, DecryptionFailed, SecretNotFound, SecretsError

log = logging.getLogger(__name__)
K8S_TOKEN = "/var/run/secrets/kubernetes.io/serviceaccount/token"
T = TypeVar("T")

_STATUS = {
    hvac_errors.InvalidRequest: 400,
    hvac_errors.Unauthorized: 401,
    hvac_errors.Forbidden: 403,
    hvac_errors.InvalidPath: 404,
    hvac_errors.PreconditionFailed: 412,
    hvac_errors.RateLimitExceeded: 429,
    hvac_errors.InternalServerError: 500,
    hvac_errors.VaultNotInitialized: 501,
    hvac_errors.BadGateway: 502,
    hvac_errors.VaultDown: 503,
}


def _read_file(path: str, what: str) -> str:
    try:
        return Path(path).read_text().strip()
    except OSError as exc:
        raise SecretsError(f"cannot read {what} file {path!r}: {exc.strerror}") from None


def _from_env_or_file(env: Mapping[str, str], name: str) -> str:
    """``NAME`` if set, else the content of the file ``NAME_FILE`` names, else ""."""
    if env.get(name):
        return env[name]
    if env.get(f"{name}_FILE"):
        return _read_file(env[f"{name}_FILE"], name)
    return ""


def _translate(exc: Exception, what: str) -> SecretsError:
    """A ``SecretsError`` for a failed Vault call: operation and status, nothing from the request body."""
    if isinstance(exc, requests.RequestException):
        return SecretsError(f"Vault {what}: unreachable ({type(exc).__name__})", retryable=True)
    status = next((code for cls, code in _STATUS.items() if isinstance(exc, cls)), None)
    retryable = status is None or status == 429 or status >= 500
    text = f"Vault {what}: {type(exc).__name__}" + (f" (HTTP {status})" if status else "")
    return SecretsError(text, status=status, retryable=retryable)


class LeaseRenewer(PeriodicWorker):
    """Keeps one Vault lease (a database lease, or the client token) alive from a background thread.

    ``renew()`` asks Vault for more time and returns the new lease duration in seconds. It runs when
    ``fraction`` of the current duration has passed. A refusal (Vault answers 4xx: lease revoked, max TTL
    reached, token no longer valid), a zero duration, or retryable failures until the lease would have
    expired mark the lease lost: ``lost`` (an Event) is set, ``lost_reason`` says why and ``on_lost(reason)``
    is called once. Reasons never contain secret values.
    """

    def __init__(
        self,
        name: str,
        renew: Callable[[], int],
        lease_duration: int,
        *,
        on_lost: Callable[[str], None] | None = None,
        fraction: float = 2 / 3,
        min_interval: float = 0.05,
    ) -> None:
        super().__init__(min_interval)
        self.name = name
        self.thread_name = f"vault-renew-{name}"
        self._renew = renew
        self.lease_duration = int(lease_duration)
        self.expires_at = time.monotonic() + self.lease_duration
        self.on_lost = on_lost
        self.fraction = fraction
        self.min_interval = min_interval
        self.renewals = 0
        self.lost = threading.Event()
        self.lost_reason: str | None = None

    def __repr__(self) -> str:
        return f"LeaseRenewer({self.name!r}, lease_duration={self.lease_duration}, renewals={self.renewals})"

    def _mark_lost(self, reason: str) -> None:
        self.lost_reason = reason
        log.error("Vault lease %s lost: %s", self.name, reason)
        try:
            if self.on_lost is not None:
                self.on_lost(reason)
        finally:
            # Set last, so whoever waits on ``lost`` sees the callback's effects too.
            self.lost.set()

    def renew_once(self) -> bool:
        """Renew now. False when the lease is lost (or, for a retryable failure, not renewed this time)."""
        try:
            duration = int(self._renew())
        except SecretsError as exc:
            if exc.retryable and time.monotonic() < self.expires_at:
                log.warning("Vault lease %s not renewed, will retry: %s", self.name, exc)
                return False
            self._mark_lost(f"lease renewal refused: {exc}")
            return False
        if duration <= 0:
            self._mark_lost("lease renewal granted no more time (maximum TTL reached)")
            return False
        self.lease_duration = duration
        self.expires_at = time.monotonic() + duration
        self.renewals += 1
        return True

    def next_wait(self) -> float:
        remaining = self.expires_at - time.monotonic()
        return max(self.min_interval, min(self.lease_duration * self.fraction, remaining * self.fraction))

    def tick(self) -> None:
        self.renew_once()
        if self.lost.is_set():
            self._stop.set()  # a lost lease is not renewed again

    def stop(self, timeout: float | None = 5) -> None:
        super().stop(timeout)


class VaultSecretsProvider:
    """``SecretsProvider`` backed by Vault (see the module docstring)."""

    def __init__(
        self,
        client: hvac.Client,
        *,
        kv_mount: str = "secret",
        kv_prefix: str = "covenant",
        transit_mount: str = "transit",
        db_mount: str = "database",
        cache_seconds: float = 60.0,
        login: Callable[[hvac.Client], None] | None = None,
        renew_token: bool = True,
        on_token_lost: Callable[[str], None] | None = None,
    ) -> None:
        """``login`` sets ``client.token`` (an auth-method login, or reading a token file); it runs now and
        again when Vault answers 403, i.e. when the token has expired or been revoked."""
        self.client = client
        self.kv_mount = kv_mount.strip("/")
        self.kv_prefix = kv_prefix.strip("/")
        self.transit_mount = transit_mount.strip("/")
        self.db_mount = db_mount.strip("/")
        self.cache_seconds = cache_seconds
        self._login = login
        self._cache: dict[str, tuple[float, dict[str, str]]] = {}
        self._lock = threading.Lock()
        self._renewers: list[LeaseRenewer] = []
        self.token_renewer: LeaseRenewer | None = None
        if login is not None:
            self._guard("login", lambda: login(client))
        if renew_token:
            self._start_token_renewer(on_token_lost)

    def __repr__(self) -> str:
        return f"VaultSecretsProvider(url={self.client.url!r}, kv_mount={self.kv_mount!r})"

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> VaultSecretsProvider:
        """Build from the VAULT_* / COVENANT_VAULT_* variables (see ``covenant.secrets``) and log in."""
        method = env.get("COVENANT_VAULT_AUTH") or "token"
        mount = env.get("COVENANT_VAULT_AUTH_MOUNT") or method
        login: Callable[[hvac.Client], None]
        if method == "token":
            if not env.get("VAULT_TOKEN") and not env.get("VAULT_TOKEN_FILE"):
                raise SecretsError("COVENANT_VAULT_AUTH=token needs VAULT_TOKEN or VAULT_TOKEN_FILE")

            def login(c: hvac.Client) -> None:  # re-read: Vault Agent rewrites the file on re-auth
                c.token = _from_env_or_file(env, "VAULT_TOKEN")

        elif method == "approle":
            role_id = _from_env_or_file(env, "COVENANT_VAULT_ROLE_ID")
            if not role_id:
                raise SecretsError("COVENANT_VAULT_AUTH=approle needs COVENANT_VAULT_ROLE_ID (or _FILE)")

            def login(c: hvac.Client) -> None:
                secret_id = _from_env_or_file(env, "COVENANT_VAULT_SECRET_ID")
                c.auth.approle.login(role_id=role_id, secret_id=secret_id, mount_point=mount)

        elif method == "kubernetes":
            role = env.get("COVENANT_VAULT_ROLE", "")
            if not role:
                raise SecretsError("COVENANT_VAULT_AUTH=kubernetes needs COVENANT_VAULT_ROLE")
            jwt_file = env.get("COVENANT_VAULT_K8S_TOKEN_FILE") or K8S_TOKEN

            def login(c: hvac.Client) -> None:  # re-read: the kubelet rotates projected tokens
                jwt = _read_file(jwt_file, "service-account token")
                c.auth.kubernetes.login(role=role, jwt=jwt, mount_point=mount)

        else:
            raise SecretsError(f"COVENANT_VAULT_AUTH must be token, approle or kubernetes, not {method!r}")
        verify: bool | str = True
        if env.get("VAULT_SKIP_VERIFY", "").lower() in ("1", "true", "yes"):
            verify = False
        elif env.get("VAULT_CACERT"):
            verify = env["VAULT_CACERT"]
        client = hvac.Client(
            url=env.get("VAULT_ADDR") or "http://127.0.0.1:8200",
            token="",  # never picked up from the process environment behind the settings' back
            namespace=env.get("VAULT_NAMESPACE") or None,
            verify=verify,
            timeout=int(float(env.get("COVENANT_VAULT_TIMEOUT_SECONDS") or 10)),
        )
        return cls(
            client,
            kv_mount=env.get("COVENANT_VAULT_KV_MOUNT") or "secret",
            kv_prefix=env.get("COVENANT_VAULT_KV_PREFIX", "covenant"),
            transit_mount=env.get("COVENANT_VAULT_TRANSIT_MOUNT") or "transit",
            db_mount=env.get("COVENANT_VAULT_DB_MOUNT") or "database",
            cache_seconds=float(env.get("COVENANT_VAULT_CACHE_SECONDS") or 60),
            login=login,
        )

    # -- plumbing ----------------------------------------------------------------------------
    def _guard(self, what: str, fn: Callable[[], T]) -> T:
        try:
            return fn()
        except (hvac_errors.VaultError, requests.RequestException) as exc:
            raise _translate(exc, what) from None

    def _call(self, what: str, fn: Callable[[], T]) -> T:
        """Run a Vault call; on 403 log in again once (expired or revoked token) and retry."""
        try:
            return self._guard(what, fn)
        except SecretsError as exc:
            if exc.status != 403 or self._login is None:
                raise
        login = self._login
        self._guard("login", lambda: login(self.client))
        return self._guard(what, fn)

    def _path(self, path: str) -> str:
        return f"{self.kv_prefix}/{path.strip('/')}" if self.kv_prefix else path.strip("/")

    # -- token -------------------------------------------------------------------------------
    def renew_token(self) -> int:
        """Renew the client token (``auth/token/renew-self``); when Vault refuses and an auth method is
        configured, log in again instead. Returns the token's new TTL in seconds."""
        try:
            resp = self._guard("token renewal", lambda: self.client.auth.token.renew_self())
            return int(resp["auth"]["lease_duration"])
        except SecretsError as exc:
            if exc.retryable or self._login is None:
                raise
        login = self._login
        self._guard("login", lambda: login(self.client))
        return self._token_ttl()[0]

    def _token_ttl(self) -> tuple[int, bool]:
        info = self._call("token lookup", lambda: self.client.auth.token.lookup_self())["data"]
        return int(info.get("ttl") or 0), bool(info.get("renewable"))

    def _start_token_renewer(self, on_lost: Callable[[str], None] | None) -> None:
        ttl, renewable = self._token_ttl()
        if ttl > 0 and renewable:  # root and periodic-less non-expiring tokens need nothing
            self.token_renewer = LeaseRenewer("token", self.renew_token, ttl, on_lost=on_lost).start()

    # -- KV v2 -------------------------------------------------------------------------------
    def get_secret(self, path: str) -> dict[str, str]:
        now = time.monotonic()
        with self._lock:
            hit = self._cache.get(path)
            if hit is not None and now - hit[0] < self.cache_seconds:
                return dict(hit[1])
        try:
            resp = self._call(
                f"read of {path!r}",
                lambda: self.client.secrets.kv.v2.read_secret_version(
                    path=self._path(path), mount_point=self.kv_mount, raise_on_deleted_version=True
                ),
            )
        except SecretsError as exc:
            if exc.status == 404:
                raise SecretNotFound(f"no secret at {path!r}", status=404) from None
            raise
        data = {k: str(v) for k, v in (resp["data"]["data"] or {}).items()}
        if self.cache_seconds > 0:
            with self._lock:
                self._cache[path] = (now, data)
        return dict(data)

    def put_secret(self, path: str, data: dict[str, str]) -> None:
        self._call(
            f"write of {path!r}",
            lambda: self.client.secrets.kv.v2.create_or_update_secret(
                path=self._path(path), secret=dict(data), mount_point=self.kv_mount
            ),
        )
        with self._lock:
            self._cache.pop(path, None)

    # -- transit -----------------------------------------------------------------------------
    @staticmethod
    def _b64(value: bytes | None) -> str | None:
        return base64.b64encode(value).decode() if value else None

    def encrypt(self, key_name: str, plaintext: bytes, *, context: bytes | None = None) -> str:
        resp = self._call(
            f"transit encrypt with key {key_name!r}",
            lambda: self.client.secrets.transit.encrypt_data(
                name=key_name,
                plaintext=base64.b64encode(plaintext).decode(),
                context=self._b64(context),
                mount_point=self.transit_mount,
            ),
        )
        return str(resp["data"]["ciphertext"])

    def decrypt(self, key_name: str, ciphertext: str, *, context: bytes | None = None) -> bytes:
        try:
            resp = self._call(
                f"transit decrypt with key {key_name!r}",
                lambda: self.client.secrets.transit.decrypt_data(
                    name=key_name,
                    ciphertext=ciphertext,
                    context=self._b64(context),
                    mount_point=self.transit_mount,
                ),
            )
        except SecretsError as exc:
            if exc.status == 400:  # Vault's answer to a wrong context, a tampered or foreign ciphertext
                raise DecryptionFailed(
                    f"ciphertext does not decrypt with key {key_name!r}", status=400
                ) from None
            raise
        return base64.b64decode(resp["data"]["plaintext"])

    def rotate_key(self, key_name: str) -> None:
        self._call(
            f"transit rotation of key {key_name!r}",
            lambda: self.client.secrets.transit.rotate_key(name=key_name, mount_point=self.transit_mount),
        )

    # -- database engine ---------------------------------------------------------------------
    def database_credentials(self, role: str) -> DatabaseCredentials:
        resp = self._call(
            f"database credentials for role {role!r}",
            lambda: self.client.secrets.database.generate_credentials(name=role, mount_point=self.db_mount),
        )
        return DatabaseCredentials(
            username=resp["data"]["username"],
            password=resp["data"]["password"],
            lease_id=resp.get("lease_id", ""),
            lease_duration=int(resp.get("lease_duration", 0)),
            renewable=bool(resp.get("renewable", False)),
        )

    def renew_lease(self, lease_id: str, increment: int | None = None) -> int:
        """Renew a lease (``sys/leases/renew``); returns the new lease duration in seconds."""
        resp = self._call(
            "lease renewal", lambda: self.client.sys.renew_lease(lease_id=lease_id, increment=increment)
        )
        return int(resp.get("lease_duration", 0))

    def start_renewer(
        self,
        creds: DatabaseCredentials,
        on_lost: Callable[[str], None] | None = None,
        *,
        fraction: float = 2 / 3,
    ) -> LeaseRenewer:
        """Keep ``creds``' lease alive in the background until ``close()``; see ``LeaseRenewer``."""
        lease_id = creds.lease_id
        renewer = LeaseRenewer(
            f"lease …{lease_id[-6:]}",
            lambda: self.renew_lease(lease_id),
            creds.lease_duration,
            on_lost=on_lost,
            fraction=fraction,
        )
        self._renewers.append(renewer.start())
        return renewer

    def close(self) -> None:
        for renewer in [*self._renewers, *([self.token_renewer] if self.token_renewer else [])]:
            renewer.stop()
        self._renewers.clear()
        self.client.adapter.close()
