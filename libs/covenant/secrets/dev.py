"""The dev provider: a 0600 JSON file under the data dir, created on first run.

Holds KV secrets and AES-256-GCM field-encryption keys (versioned, so rotation keeps old ciphertexts
readable). Well-known paths are generated on first read: ``service-accounts/<service>`` (a random
``client_secret``) and ``identity/bootstrap-admin`` (a random ``password`` for the local admin).
Several processes may start at once (``covenant up``): every read-modify-write holds an exclusive
``fcntl`` lock and replaces the file atomically.
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import secrets
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from covenant.secrets.base import DatabaseCredentials, DecryptionFailed, NotSupported, SecretNotFound

FILE_NAME = "dev-secrets.json"
PREFIX = "dev"


def _generated(path: str) -> dict[str, str] | None:
    if path.startswith("service-accounts/"):
        return {"client_secret": secrets.token_urlsafe(32)}
    if path == "console/session":
        return {"key": secrets.token_urlsafe(32)}
    if path == "identity/bootstrap-admin":
        return {"username": "admin", "password": secrets.token_urlsafe(12)}
    return None


class DevSecretsProvider:
    """Local development secrets. Never use in production: keys sit in a file on disk."""

    def __init__(self, data_dir: Path) -> None:
        self.path = Path(data_dir) / FILE_NAME
        # A pre-generated file on a read-only mount (Kubernetes Secret, `covenant secrets init`) is used
        # as it is: reads work, anything that would write raises NotSupported.
        self.read_only = self.path.exists() and not os.access(self.path.parent, os.W_OK)
        if self.read_only:
            self._cache: dict[str, Any] = self._read()
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock_path = self.path.with_suffix(".lock")
        with self._locked() as doc:
            self._cache = doc

    def __repr__(self) -> str:
        return f"DevSecretsProvider(path={str(self.path)!r})"

    # -- file handling -----------------------------------------------------------------------
    @contextmanager
    def _locked(self, mutate: Callable[[dict[str, Any]], bool] | None = None) -> Iterator[dict[str, Any]]:
        fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            doc = self._read()
            changed = not self.path.exists()
            yield doc
            if mutate is not None:
                changed = mutate(doc) or changed
            if changed:
                self._write(doc)
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def _read(self) -> dict[str, Any]:
        if not self.path.exists():
            return {"kv": {}, "keys": {}}
        doc = json.loads(self.path.read_text())
        doc.setdefault("kv", {})
        doc.setdefault("keys", {})
        return doc

    def _write(self, doc: dict[str, Any]) -> None:
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".dev-secrets.")
        try:
            os.fchmod(fd, 0o600)
            with os.fdopen(fd, "w") as f:
                json.dump(doc, f, indent=1, sort_keys=True)
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def _update(self, fn: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
        if self.read_only:
            probe = json.loads(json.dumps(self._cache))
            if fn(probe):
                raise NotSupported(f"{self.path} is read-only; add the secret to the mounted file")
            return self._cache
        with self._locked() as doc:
            if fn(doc):
                self._write(doc)
            self._cache = doc
        return doc

    # -- KV ----------------------------------------------------------------------------------
    def get_secret(self, path: str) -> dict[str, str]:
        value = self._cache["kv"].get(path)
        if value is None:

            def create(doc: dict[str, Any]) -> bool:
                if path in doc["kv"]:
                    return False
                generated = _generated(path)
                if generated is None:
                    return False
                doc["kv"][path] = generated
                return True

            value = self._update(create)["kv"].get(path)
        if value is None:
            raise SecretNotFound(f"no secret at {path!r}")
        return dict(value)

    def put_secret(self, path: str, data: dict[str, str]) -> None:
        def put(doc: dict[str, Any]) -> bool:
            doc["kv"][path] = dict(data)
            return True

        self._update(put)

    # -- field encryption --------------------------------------------------------------------
    def _key_versions(self, key_name: str) -> list[str]:
        versions = self._cache["keys"].get(key_name)
        if not versions:

            def create(doc: dict[str, Any]) -> bool:
                if doc["keys"].get(key_name):
                    return False
                doc["keys"][key_name] = [base64.b64encode(AESGCM.generate_key(256)).decode()]
                return True

            versions = self._update(create)["keys"][key_name]
        return versions

    def encrypt(self, key_name: str, plaintext: bytes, *, context: bytes | None = None) -> str:
        versions = self._key_versions(key_name)
        nonce = os.urandom(12)
        sealed = AESGCM(base64.b64decode(versions[-1])).encrypt(nonce, plaintext, context)
        return f"{PREFIX}:v{len(versions)}:{base64.b64encode(nonce + sealed).decode()}"

    def decrypt(self, key_name: str, ciphertext: str, *, context: bytes | None = None) -> bytes:
        try:
            prefix, version, body = ciphertext.split(":", 2)
            index = int(version.removeprefix("v")) - 1
            if prefix != PREFIX or not version.startswith("v") or index < 0:
                raise ValueError
            raw = base64.b64decode(body, validate=True)
        except ValueError:
            raise DecryptionFailed(f"not a dev-provider ciphertext (key {key_name!r})") from None
        versions = self._cache["keys"].get(key_name) or []
        if index >= len(versions) and not self.read_only:  # rotated by another process since we read
            with self._locked() as doc:
                self._cache = doc
            versions = self._cache["keys"].get(key_name) or []
        if index >= len(versions):
            raise DecryptionFailed(f"key {key_name!r} has no version {index + 1}")
        try:
            return AESGCM(base64.b64decode(versions[index])).decrypt(raw[:12], raw[12:], context)
        except InvalidTag:
            raise DecryptionFailed(
                f"ciphertext does not decrypt with key {key_name!r} (wrong context or tampered)"
            ) from None

    def rotate_key(self, key_name: str) -> None:
        self._key_versions(key_name)

        def rotate(doc: dict[str, Any]) -> bool:
            doc["keys"][key_name].append(base64.b64encode(AESGCM.generate_key(256)).decode())
            return True

        self._update(rotate)

    def database_credentials(self, role: str) -> DatabaseCredentials:
        raise NotSupported("the dev provider has no database engine; set COVENANT_<SVC>_DB_URL instead")

    def close(self) -> None:
        """Nothing to release."""
