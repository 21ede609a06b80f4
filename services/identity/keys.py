"""Token-signing keys kept in the secrets provider (KV path ``identity/signing-keys``), with rotation.

The secret holds one member, ``keys``: JSON ``[{"kid", "pem", "created_at", "retired_at"}]``; the entry
without ``retired_at`` is current. Retired keys stay published in the JWKS until every token they signed
has expired (``retired_at + max_token_ttl``), so rotation never invalidates a live token. Replicas
re-read the secret every ``reload_seconds``, so a rotation on one replica reaches the others.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import asdict, dataclass
from typing import Any

from covenant.auth import TokenSigner, generate_signing_key

SECRET_PATH = "identity/signing-keys"


@dataclass(frozen=True)
class SigningKey:
    kid: str
    pem: str
    created_at: float
    retired_at: float | None = None

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


class SigningKeyRing:
    """The current signer and the still-published previous keys."""

    def __init__(self, secrets: Any, *, max_token_ttl_seconds: int, reload_seconds: float = 10.0) -> None:
        self._secrets = secrets
        self._max_ttl = max_token_ttl_seconds
        self._reload = reload_seconds
        self._lock = threading.RLock()
        self._keys: list[SigningKey] = []
        self._signer: TokenSigner | None = None
        self._loaded_at = 0.0

    # -- persistence --------------------------------------------------------------------------------
    def _read(self) -> list[SigningKey]:
        try:
            raw = self._secrets.get_secret(SECRET_PATH)
        except KeyError:
            return []
        except Exception as exc:  # provider-specific "not found" errors
            if type(exc).__name__ in ("SecretNotFound", "NotFound", "InvalidPath"):
                return []
            raise
        return [SigningKey(**k) for k in json.loads((raw or {}).get("keys", "[]"))]

    def _write(self, keys: list[SigningKey]) -> None:
        self._secrets.put_secret(SECRET_PATH, {"keys": json.dumps([k.as_json() for k in keys])})

    def _install(self, keys: list[SigningKey]) -> None:
        current = next(k for k in keys if k.retired_at is None)
        if self._signer is None or self._signer.kid != current.kid:
            self._signer = TokenSigner(current.pem, current.kid)
        self._keys = keys
        self._loaded_at = time.monotonic()

    def load(self) -> None:
        """Read the keys; create the first one when the secret is empty."""
        with self._lock:
            keys = self._read()
            if not any(k.retired_at is None for k in keys):
                kid, pem = generate_signing_key()
                keys = [*keys, SigningKey(kid, pem, time.time())]
                self._write(keys)
            self._install(keys)

    def _fresh(self) -> None:
        if time.monotonic() - self._loaded_at > self._reload:
            try:
                self.load()
            except Exception:  # secrets backend briefly unavailable: keep signing with what we have
                if self._signer is None:
                    raise

    # -- use ----------------------------------------------------------------------------------------
    @property
    def signer(self) -> TokenSigner:
        with self._lock:
            self._fresh()
            assert self._signer is not None
            return self._signer

    def published(self, now: float | None = None) -> list[tuple[str, str]]:
        """``[(kid, pem)]`` of the current key and the retired keys whose tokens may still be live."""
        now = time.time() if now is None else now
        with self._lock:
            self._fresh()
            return [
                (k.kid, k.pem)
                for k in self._keys
                if k.retired_at is None or k.retired_at + self._max_ttl + 60 > now
            ]

    def rotate(self, now: float | None = None) -> tuple[str, list[str]]:
        """Make a new current key; returns ``(new kid, still-published previous kids)``."""
        now = time.time() if now is None else now
        with self._lock:
            keys = self._read() or list(self._keys)
            kid, pem = generate_signing_key()
            kept = [
                SigningKey(k.kid, k.pem, k.created_at, k.retired_at if k.retired_at is not None else now)
                for k in keys
                if k.retired_at is None or k.retired_at + self._max_ttl + 60 > now
            ]
            keys = [*kept, SigningKey(kid, pem, now)]
            self._write(keys)
            self._install(keys)
            return kid, [k.kid for k in kept]
