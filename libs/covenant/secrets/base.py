"""The secrets interface every service uses, whichever provider backs it, and its errors.

Errors name the operation, the path or key and the backend's status; never a secret value.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable


class SecretsError(RuntimeError):
    """A secrets backend failed. ``status`` is the backend's HTTP status when there is one; ``retryable``
    says whether trying again later can help (backend down or unreachable, as opposed to refused)."""

    def __init__(self, message: str, *, status: int | None = None, retryable: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.retryable = retryable

    def __str__(self) -> str:
        return self.message


class SecretNotFound(SecretsError, KeyError):
    """No secret at the requested path (the message names the path, never a value)."""


class NotSupported(SecretsError):
    """The provider cannot do this (e.g. dynamic database credentials in dev, writes to a read-only file)."""


class DecryptionFailed(SecretsError, ValueError):
    """A ciphertext did not decrypt: wrong key, wrong context, tampered or not a ciphertext at all."""


@dataclass(frozen=True)
class DatabaseCredentials:
    """Short-lived database credentials from Vault's database engine (the password never shows in repr)."""

    username: str
    password: str = field(repr=False)
    lease_id: str = ""
    lease_duration: int = 0
    renewable: bool = True


@runtime_checkable
class SecretsProvider(Protocol):
    """KV secrets, field encryption and database credentials."""

    def get_secret(self, path: str) -> dict[str, str]:
        """The key/value map stored at ``path`` (e.g. ``service-accounts/points``); ``SecretNotFound``."""
        ...

    def put_secret(self, path: str, data: dict[str, str]) -> None:
        """Write a new version of ``path`` (replaces the whole map)."""
        ...

    def encrypt(self, key_name: str, plaintext: bytes, *, context: bytes | None = None) -> str:
        """A versioned ciphertext string (``vault:v1:...`` / ``dev:v1:...``); ``context`` is bound to it."""
        ...

    def decrypt(self, key_name: str, ciphertext: str, *, context: bytes | None = None) -> bytes:
        """The plaintext; ``DecryptionFailed`` when key, context or ciphertext do not match."""
        ...

    def rotate_key(self, key_name: str) -> None:
        """Start encrypting with a new key version; older ciphertexts keep decrypting."""
        ...

    def database_credentials(self, role: str) -> DatabaseCredentials:
        """Fresh credentials for a database role; ``NotSupported`` where there is no database engine."""
        ...

    def close(self) -> None:
        """Stop background renewals and release connections."""
        ...
