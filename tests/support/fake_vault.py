"""A TEST DOUBLE of Vault's HTTP API, not Vault: a small local HTTP server (127.0.0.1, ephemeral port, one
thread) implementing only the documented endpoints ``covenant.secrets.vault`` calls through hvac. No Vault
(or OpenBao) server binary can be installed on these machines, so the provider is tested against this fake;
request and response shapes follow Vault's API documentation (developer.hashicorp.com/vault/api-docs):

- ``GET  /v1/auth/token/lookup-self`` → ``{"data": {"id", "accessor", "policies", "ttl", "renewable", ...}}``
- ``POST /v1/auth/token/renew-self`` ``{increment?}`` → ``{"auth": {"client_token", "lease_duration",
  "renewable", ...}}``; 400 ``lease is not renewable`` for a non-renewable token or when told to refuse
- ``POST /v1/auth/<approle mount>/login`` ``{role_id, secret_id}`` and
  ``POST /v1/auth/<kubernetes mount>/login`` ``{role, jwt}`` → ``{"auth": {"client_token", "accessor",
  "policies", "lease_duration", "renewable", "metadata"}}``
- ``GET  /v1/<kv mount>/data/<path>`` → ``{"data": {"data": {...}, "metadata": {"created_time",
  "custom_metadata", "deletion_time", "destroyed", "version"}}}``; 404 ``{"errors": []}`` when absent
- ``POST /v1/<kv mount>/data/<path>`` ``{"options", "data"}`` → ``{"data": <metadata of the new version>}``
- ``POST /v1/<transit>/encrypt/<key>`` ``{plaintext: base64, context?: base64}`` →
  ``{"data": {"ciphertext": "vault:vN:...", "key_version": N}}``. Real AES-256-GCM. A missing key is created
  (upsert), as a *derived* key when a context is given; a derived key then needs a context on every call
  and the context selects the key (HKDF here), so a wrong context fails authentication.
- ``POST /v1/<transit>/decrypt/<key>`` ``{ciphertext, context?}`` → ``{"data": {"plaintext": base64}}``;
  400 on a wrong context, a tampered or malformed ciphertext
- ``POST /v1/<transit>/keys/<key>/rotate`` → ``{"data": {"name", "latest_version", "derived", ...}}``
- ``GET  /v1/<db mount>/creds/<role>`` → ``{"lease_id", "lease_duration", "renewable",
  "data": {"username", "password"}}``
- ``PUT  /v1/sys/leases/renew`` ``{lease_id, increment?}`` → ``{"lease_id", "lease_duration", "renewable"}``;
  each call is recorded; 400 ``lease not found`` / ``lease is not renewable`` (``refuse_lease_renewals``)

Everything except login needs a live ``X-Vault-Token`` (403 ``permission denied`` otherwise). Errors use
Vault's shape ``{"errors": [...]}``; successes carry Vault's envelope (``request_id``, ``lease_id``,
``renewable``, ``lease_duration``, ``data``, ``wrap_info``, ``warnings``, ``auth``).
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import secrets
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF


@dataclass
class Token:
    ttl: int  # 0 = never expires (root)
    renewable: bool
    policies: list[str]
    expires_at: float = 0.0
    accessor: str = field(default_factory=lambda: secrets.token_hex(12))

    def alive(self) -> bool:
        return self.ttl == 0 or time.monotonic() < self.expires_at

    def remaining(self) -> int:
        return 0 if self.ttl == 0 else max(0, round(self.expires_at - time.monotonic()))


@dataclass
class TransitKey:
    versions: list[bytes]
    derived: bool


@dataclass
class Lease:
    lease_duration: int
    renewals: int = 0


@dataclass
class Request:
    method: str
    path: str
    namespace: str | None
    token: str | None


@dataclass
class VaultState:
    """What the fake holds; tests arrange it directly and read it back."""

    root_token: str = field(default_factory=lambda: "hvs." + secrets.token_hex(12))
    tokens: dict[str, Token] = field(default_factory=dict)
    auth_mounts: dict[str, str] = field(
        default_factory=lambda: {"approle": "approle", "kubernetes": "kubernetes"}
    )
    approle: dict[str, str] = field(default_factory=dict)  # role_id -> secret_id
    k8s_roles: dict[str, str] = field(default_factory=dict)  # role -> service-account JWT it accepts
    login_ttl: int = 3600
    refuse_token_renewals: bool = False
    token_renewals: int = 0
    kv: dict[str, dict[str, Any]] = field(default_factory=dict)  # "<mount>/<path>" -> data of latest version
    kv_versions: dict[str, int] = field(default_factory=dict)
    kv_reads: int = 0
    transit: dict[str, TransitKey] = field(default_factory=dict)
    db_lease_seconds: int = 60
    leases: dict[str, Lease] = field(default_factory=dict)
    lease_renewals: list[tuple[str, int | None]] = field(default_factory=list)  # (lease_id, increment)
    refuse_lease_renewals: bool = False
    renew_lease_seconds: int = 60  # duration granted by a lease renewal
    requests: list[Request] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.tokens[self.root_token] = Token(ttl=0, renewable=False, policies=["root"])

    def issue_token(self, ttl: int, *, renewable: bool = True, policies: list[str] | None = None) -> str:
        token = "hvs." + secrets.token_hex(12)
        self.tokens[token] = Token(ttl, renewable, policies or ["default"], time.monotonic() + ttl)
        return token

    def calls(self, method: str, path: str) -> int:
        return sum(1 for r in self.requests if r.method == method and r.path == path)


def _now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def _derive(key: bytes, context: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=context).derive(key)


class _Handler(BaseHTTPRequestHandler):
    state: VaultState

    def log_message(self, *_args: Any) -> None:  # keep test output quiet
        pass

    # -- responses ---------------------------------------------------------------------------
    def _send(self, status: int, body: dict[str, Any] | None = None) -> None:
        raw = json.dumps(body).encode() if body is not None else b""
        self.send_response(status)
        if body is not None:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def _ok(self, data: dict[str, Any] | None = None, **top: Any) -> None:
        body = {
            "request_id": str(uuid.uuid4()),
            "lease_id": "",
            "renewable": False,
            "lease_duration": 0,
            "data": data,
            "wrap_info": None,
            "warnings": None,
            "auth": None,
        }
        self._send(200, body | top)

    def _error(self, status: int, *messages: str) -> None:
        self._send(status, {"errors": list(messages)})

    def _body(self) -> dict[str, Any]:
        length = int(self.headers.get("Content-Length") or 0)
        return json.loads(self.rfile.read(length) or b"{}") if length else {}

    def _auth_block(self, token: str) -> dict[str, Any]:
        info = self.state.tokens[token]
        return {
            "client_token": token,
            "accessor": info.accessor,
            "policies": info.policies,
            "token_policies": info.policies,
            "metadata": {},
            "lease_duration": info.remaining(),
            "renewable": info.renewable,
        }

    def _login(self) -> None:
        token = self.state.issue_token(self.state.login_ttl)
        self._ok(None, auth=self._auth_block(token))

    # -- routing -----------------------------------------------------------------------------
    def _route(self, method: str) -> None:
        path = self.path.split("?", 1)[0].removeprefix("/v1/")
        token = self.headers.get("X-Vault-Token")
        self.state.requests.append(Request(method, path, self.headers.get("X-Vault-Namespace"), token))
        body = self._body() if method in ("POST", "PUT") else {}
        parts = path.split("/")
        if len(parts) == 3 and parts[0] == "auth" and parts[2] == "login" and method in ("POST", "PUT"):
            return self._route_login(self.state.auth_mounts.get(parts[1]), body)
        info = self.state.tokens.get(token or "")
        if info is None or not info.alive():
            return self._error(403, "permission denied")
        if path == "auth/token/lookup-self" and method == "GET":
            return self._lookup_self(token or "")
        if path == "auth/token/renew-self" and method in ("POST", "PUT"):
            return self._renew_self(token or "", body)
        if path == "sys/leases/renew" and method in ("POST", "PUT"):
            return self._renew_lease(body)
        if len(parts) >= 3 and parts[1] == "data":
            return self._kv(method, parts[0], "/".join(parts[2:]), body)
        if len(parts) == 3 and parts[1] in ("encrypt", "decrypt") and method in ("POST", "PUT"):
            return self._transit(parts[1], parts[2], body)
        if len(parts) == 4 and parts[1] == "keys" and parts[3] == "rotate" and method in ("POST", "PUT"):
            return self._rotate(parts[2])
        if len(parts) == 3 and parts[1] == "creds" and method == "GET":
            return self._db_creds(parts[0], parts[2])
        return self._error(404, f"no handler for route {path!r}")

    def _route_login(self, kind: str | None, body: dict[str, Any]) -> None:
        if kind == "approle":
            known = self.state.approle.get(body.get("role_id") or "")
            if known is not None and known == body.get("secret_id"):
                return self._login()
            return self._error(400, "invalid role or secret ID")
        if kind == "kubernetes":
            expected = self.state.k8s_roles.get(body.get("role") or "")
            if expected is not None and expected == body.get("jwt"):
                return self._login()
            return self._error(403, "permission denied")
        return self._error(404, "no handler for route")

    def _lookup_self(self, token: str) -> None:
        info = self.state.tokens[token]
        self._ok(
            {
                "accessor": info.accessor,
                "creation_ttl": info.ttl,
                "display_name": "token",
                "entity_id": "",
                "expire_time": None,
                "explicit_max_ttl": 0,
                "id": token,
                "meta": None,
                "num_uses": 0,
                "orphan": True,
                "path": "auth/token/create",
                "policies": info.policies,
                "renewable": info.renewable,
                "ttl": info.remaining(),
                "type": "service",
            }
        )

    def _renew_self(self, token: str, body: dict[str, Any]) -> None:
        info = self.state.tokens[token]
        if not info.renewable or self.state.refuse_token_renewals:
            return self._error(400, "lease is not renewable")
        with self.state.lock:
            self.state.token_renewals += 1
            info.expires_at = time.monotonic() + info.ttl
        self._ok(None, auth=self._auth_block(token))

    def _renew_lease(self, body: dict[str, Any]) -> None:
        lease_id = body.get("lease_id") or ""
        with self.state.lock:
            self.state.lease_renewals.append((lease_id, body.get("increment")))
            lease = self.state.leases.get(lease_id)
            if lease is None:
                return self._error(400, "lease not found")
            if self.state.refuse_lease_renewals:
                return self._error(400, "lease is not renewable")
            lease.renewals += 1
            lease.lease_duration = self.state.renew_lease_seconds
        self._send(
            200,
            {
                "request_id": str(uuid.uuid4()),
                "lease_id": lease_id,
                "renewable": True,
                "lease_duration": lease.lease_duration,
                "data": None,
                "wrap_info": None,
                "warnings": None,
                "auth": None,
            },
        )

    def _kv(self, method: str, mount: str, path: str, body: dict[str, Any]) -> None:
        key = f"{mount}/{path}"
        if method == "GET":
            with self.state.lock:
                self.state.kv_reads += 1
            if key not in self.state.kv:
                return self._error(404)
            version = self.state.kv_versions.get(key, 1)
            return self._ok({"data": self.state.kv[key], "metadata": self._kv_meta(version)})
        if method not in ("POST", "PUT"):
            return self._error(405, "unsupported operation")
        data = body.get("data")
        if not isinstance(data, dict):
            return self._error(400, "no data provided")
        with self.state.lock:
            self.state.kv[key] = dict(data)
            version = self.state.kv_versions[key] = self.state.kv_versions.get(key, 0) + 1
        return self._ok(self._kv_meta(version))

    @staticmethod
    def _kv_meta(version: int) -> dict[str, Any]:
        return {
            "created_time": _now(),
            "custom_metadata": None,
            "deletion_time": "",
            "destroyed": False,
            "version": version,
        }

    def _transit(self, op: str, name: str, body: dict[str, Any]) -> None:
        try:
            context = base64.b64decode(body["context"], validate=True) if body.get("context") else b""
        except binascii.Error:
            return self._error(400, "failed to base64-decode context")
        with self.state.lock:
            key = self.state.transit.get(name)
            if key is None and op == "encrypt":  # upsert, derived when a context is given
                key = self.state.transit[name] = TransitKey([AESGCM.generate_key(256)], derived=bool(context))
        if key is None:
            return self._error(400, "encryption key not found")
        if key.derived and not context:
            return self._error(
                400, "missing 'context' for key derivation; the key was created using a derived key"
            )
        if op == "encrypt":
            try:
                plaintext = base64.b64decode(body.get("plaintext", ""), validate=True)
            except binascii.Error:
                return self._error(400, "failed to base64-decode plaintext")
            version = len(key.versions)
            material = _derive(key.versions[-1], context) if key.derived else key.versions[-1]
            nonce = os.urandom(12)
            sealed = AESGCM(material).encrypt(nonce, plaintext, None)
            text = f"vault:v{version}:" + base64.b64encode(nonce + sealed).decode()
            return self._ok({"ciphertext": text, "key_version": version})
        try:
            prefix, tag, raw = str(body.get("ciphertext", "")).split(":", 2)
            if prefix != "vault" or not tag.startswith("v"):
                raise ValueError
            version = int(tag[1:])
            blob = base64.b64decode(raw, validate=True)
        except (ValueError, binascii.Error):
            return self._error(400, "invalid ciphertext: no prefix")
        if not 1 <= version <= len(key.versions):
            return self._error(400, "invalid ciphertext: version is too new")
        material = _derive(key.versions[version - 1], context) if key.derived else key.versions[version - 1]
        try:
            plain = AESGCM(material).decrypt(blob[:12], blob[12:], None)
        except (InvalidTag, ValueError):
            return self._error(400, "cipher: message authentication failed")
        return self._ok({"plaintext": base64.b64encode(plain).decode()})

    def _rotate(self, name: str) -> None:
        with self.state.lock:
            key = self.state.transit.get(name)
            if key is None:
                return self._error(400, "key not found")
            key.versions.append(AESGCM.generate_key(256))
        self._ok(
            {
                "name": name,
                "type": "aes256-gcm96",
                "derived": key.derived,
                "latest_version": len(key.versions),
                "min_decryption_version": 1,
                "min_encryption_version": 0,
                "keys": {str(i + 1): int(time.time()) for i in range(len(key.versions))},
            }
        )

    def _db_creds(self, mount: str, role: str) -> None:
        lease_id = f"{mount}/creds/{role}/{secrets.token_urlsafe(18)}"
        with self.state.lock:
            self.state.leases[lease_id] = Lease(self.state.db_lease_seconds)
        self._ok(
            {"username": f"v-token-{role}-{secrets.token_hex(8)}", "password": secrets.token_urlsafe(16)},
            lease_id=lease_id,
            lease_duration=self.state.db_lease_seconds,
            renewable=True,
        )

    def do_GET(self) -> None:
        self._route("GET")

    def do_POST(self) -> None:
        self._route("POST")

    def do_PUT(self) -> None:
        self._route("PUT")


class FakeVault:
    """``with FakeVault() as vault:`` serves on ``vault.url``; arrange and inspect ``vault.state``."""

    def __init__(self) -> None:
        self.state = VaultState()
        handler = type("Handler", (_Handler,), {"state": self.state})
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, name="fake-vault", daemon=True)

    def __enter__(self) -> FakeVault:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(5)
