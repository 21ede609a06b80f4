"""Transport security for every server and channel: modes ``off`` / ``tls`` / ``mtls``.

Settings (environment, read by ``TlsConfig.from_env``):

- ``COVENANT_TLS_MODE``: ``off`` (default), ``tls`` (server certificate only) or ``mtls`` (both sides).
- ``COVENANT_TLS_CERT_FILE`` / ``COVENANT_TLS_KEY_FILE``: this process's certificate chain / private key
  (PEM; default ``<tls dir>/<name>.pem`` / ``<name>-key.pem``, the local dev CA's).
- ``COVENANT_TLS_CA_FILE``: the CA bundle peers' certificates chain to (``<tls dir>/ca.pem``).
- ``COVENANT_TLS_DIR``: where the local dev CA lives (``<data dir>/tls``; ``covenant up`` creates it).
- ``COVENANT_TLS_ALLOWED_PEERS``: comma-separated ``fnmatch`` patterns; in mtls a client certificate's URI
  or DNS SAN must match one (default ``spiffe://<trust domain>/*``).
- ``COVENANT_TLS_TRUST_DOMAIN``: SPIFFE trust domain of the dev CA and the default peers (``covenant.local``).
- ``COVENANT_TLS_SERVER_NAME``: the name to verify in servers' certificates instead of the target's host.

The files are re-read when they change on disk (cert-manager and Vault Agent rotate them in place): the
server picks up the new pair at the next TLS handshake (existing connections and their in-flight calls are
untouched), and ``ChannelFactory`` builds new channels with the new client certificate. A half-rotated pair
(certificate and key that do not match) is ignored until both files are written.
"""

from __future__ import annotations

import contextvars
import fnmatch
import logging
import os
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import grpc
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from covenant.grpc.handlers import around

log = logging.getLogger("covenant.tls")

MODES = ("off", "tls", "mtls")


def _env(env: Mapping[str, str], name: str, default: str = "") -> str:
    value = env.get(name)
    return value if value not in (None, "") else default


@dataclass(frozen=True)
class TlsConfig:
    """Transport security of one process (a service, the CLI, a test client)."""

    mode: str = "off"
    cert_file: Path | None = None
    key_file: Path | None = None
    ca_file: Path | None = None
    allowed_peers: tuple[str, ...] = ()
    trust_domain: str = "covenant.local"
    server_name: str = ""

    @property
    def enabled(self) -> bool:
        return self.mode != "off"

    @property
    def mutual(self) -> bool:
        return self.mode == "mtls"

    @classmethod
    def from_env(cls, env: Mapping[str, str], name: str, data_dir: Path) -> TlsConfig:
        """TLS settings for process ``name`` (a service name or ``cli``); see module docstring."""
        mode = _env(env, "COVENANT_TLS_MODE", "off").lower()
        if mode not in MODES:
            raise ValueError(f"COVENANT_TLS_MODE must be one of {', '.join(MODES)}, not {mode!r}")
        if mode == "off":
            return cls()
        pki = Path(_env(env, "COVENANT_TLS_DIR", str(data_dir / "tls")))
        domain = _env(env, "COVENANT_TLS_TRUST_DOMAIN", "covenant.local")
        peers = _env(env, "COVENANT_TLS_ALLOWED_PEERS", f"spiffe://{domain}/*")
        return cls(
            mode=mode,
            cert_file=Path(_env(env, "COVENANT_TLS_CERT_FILE", str(pki / f"{name}.pem"))),
            key_file=Path(_env(env, "COVENANT_TLS_KEY_FILE", str(pki / f"{name}-key.pem"))),
            ca_file=Path(_env(env, "COVENANT_TLS_CA_FILE", str(pki / "ca.pem"))),
            allowed_peers=tuple(p.strip() for p in peers.split(",") if p.strip()),
            trust_domain=domain,
            server_name=_env(env, "COVENANT_TLS_SERVER_NAME"),
        )


# -- files on disk -------------------------------------------------------------------------------


@dataclass(frozen=True)
class KeyMaterial:
    """One consistent read of the certificate, key and CA files."""

    cert: bytes
    key: bytes
    ca: bytes


def _stamp(path: Path | None) -> tuple[int, int, int] | None:
    if path is None:
        return None
    try:
        st = os.stat(path)  # follows symlinks: Kubernetes Secret volumes swap a ..data link
    except FileNotFoundError:
        return None
    return (st.st_ino, st.st_size, st.st_mtime_ns)


def _pair_matches(cert_pem: bytes, key_pem: bytes) -> bool:
    try:
        cert = x509.load_pem_x509_certificate(cert_pem)
        key = serialization.load_pem_private_key(key_pem, password=None)
    except ValueError:
        return False
    pub = serialization.PublicFormat.SubjectPublicKeyInfo
    enc = serialization.Encoding.DER
    return cert.public_key().public_bytes(enc, pub) == key.public_key().public_bytes(enc, pub)


class CertFiles:
    """The TLS files of a ``TlsConfig``, re-read when any of them changes on disk."""

    def __init__(self, config: TlsConfig) -> None:
        self.config = config
        self._lock = threading.Lock()
        self._stamps: tuple[Any, ...] | None = None
        self._material: KeyMaterial | None = None
        self.generation = 0

    def _current_stamps(self) -> tuple[Any, ...]:
        c = self.config
        return (_stamp(c.cert_file), _stamp(c.key_file), _stamp(c.ca_file))

    def changed(self) -> bool:
        """True when the files differ from the last material loaded."""
        return self._current_stamps() != self._stamps

    def load(self) -> KeyMaterial:
        """The current material; re-reads the files when they changed (keeps the last good pair when the
        new one is incomplete). Raises FileNotFoundError when there never was a good pair."""
        with self._lock:
            stamps = self._current_stamps()
            if stamps == self._stamps and self._material is not None:
                return self._material
            c = self.config
            try:
                material = KeyMaterial(
                    cert=Path(c.cert_file).read_bytes() if c.cert_file else b"",
                    key=Path(c.key_file).read_bytes() if c.key_file else b"",
                    ca=Path(c.ca_file).read_bytes() if c.ca_file else b"",
                )
            except FileNotFoundError:
                if self._material is None:
                    raise
                return self._material
            if not _pair_matches(material.cert, material.key):
                if self._material is None:
                    raise ValueError(f"{c.cert_file} and {c.key_file} are not a certificate and its key")
                log.warning("TLS certificate and key on disk do not match (mid-rotation?); keeping the old")
                return self._material
            if self._material is not None:
                log.info("TLS certificate reloaded from %s", c.cert_file)
            self._stamps, self._material = stamps, material
            self.generation += 1
            return material


# -- credentials ---------------------------------------------------------------------------------


def server_credentials(files: CertFiles) -> grpc.ServerCredentials:
    """Server credentials that re-read the files at each new handshake when they changed on disk."""
    config = files.config
    first = files.load()

    def configuration(material: KeyMaterial) -> Any:
        return grpc.ssl_server_certificate_configuration(
            [(material.key, material.cert)], root_certificates=material.ca if config.mutual else None
        )

    seen = [files.generation]

    def fetch() -> Any:
        try:
            material = files.load()
        except (OSError, ValueError):
            log.exception("could not reload TLS files; serving the previous certificate")
            return None
        if files.generation == seen[0]:
            return None  # unchanged: keep serving the current configuration
        seen[0] = files.generation
        return configuration(material)

    return grpc.dynamic_ssl_server_credentials(
        configuration(first), fetch, require_client_authentication=config.mutual
    )


def channel_credentials(files: CertFiles) -> grpc.ChannelCredentials:
    """Channel credentials from the current files (client certificate only in mtls mode)."""
    material = files.load()
    if files.config.mutual:
        return grpc.ssl_channel_credentials(
            root_certificates=material.ca, private_key=material.key, certificate_chain=material.cert
        )
    return grpc.ssl_channel_credentials(root_certificates=material.ca)


# -- peer identity -------------------------------------------------------------------------------


@dataclass(frozen=True)
class PeerIdentity:
    """What a client certificate says about its holder."""

    uris: tuple[str, ...] = ()
    dns_names: tuple[str, ...] = ()
    services: tuple[str, ...] = field(default=())

    @property
    def names(self) -> tuple[str, ...]:
        return self.uris + self.dns_names

    def matches(self, patterns: tuple[str, ...]) -> bool:
        return any(fnmatch.fnmatchcase(n, p) for n in self.names for p in patterns)

    def __str__(self) -> str:
        return ", ".join(self.names) or "(no URI or DNS SAN)"


def service_of(name: str) -> str | None:
    """The Covenant service a SPIFFE ID (``spiffe://td/ns/x/sa/<release>-covenant-points``) or DNS SAN
    (``<release>-covenant-points.ns.svc``) names, if any: the account/host ends in ``<service>``."""
    from covenant.services import SERVICES

    if name.startswith("spiffe://"):
        path = name.split("://", 1)[1].split("/")
        account = path[path.index("sa") + 1] if "sa" in path[:-1] else path[-1]
    else:
        account = name.split(".", 1)[0]
    for svc in SERVICES:
        if account == svc or account.endswith(f"-{svc}") or account.endswith(f"-{svc}-headless"):
            return svc
    return None


@lru_cache(maxsize=256)
def parse_peer_certificate(pem: bytes) -> PeerIdentity:
    """URI and DNS SANs of a PEM certificate, and the services they name."""
    cert = x509.load_pem_x509_certificate(pem)
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return PeerIdentity()
    uris = tuple(san.get_values_for_type(x509.UniformResourceIdentifier))
    dns = tuple(san.get_values_for_type(x509.DNSName))
    services = tuple(dict.fromkeys(s for s in map(service_of, uris + dns) if s))
    return PeerIdentity(uris=uris, dns_names=dns, services=services)


def peer_identity(context: grpc.ServicerContext) -> PeerIdentity | None:
    """The verified client certificate's identity of the current call (None without a client cert)."""
    pems = (context.auth_context() or {}).get("x509_pem_cert")
    return parse_peer_certificate(pems[0]) if pems else None


_peer: contextvars.ContextVar[PeerIdentity | None] = contextvars.ContextVar("covenant_peer", default=None)


def current_peer() -> PeerIdentity | None:
    """The client certificate identity of the RPC being handled (None when not mTLS)."""
    return _peer.get()


class PeerIdentityInterceptor(grpc.ServerInterceptor):
    """mTLS only: refuses callers whose certificate names no allowed identity, exposes the identity to
    handlers (``current_peer``) and requires a service-account token to come over a connection whose
    certificate names that same service. Runs inside ``ChassisInterceptor`` (after authentication)."""

    def __init__(self, config: TlsConfig, principal: Callable[[], Any]) -> None:
        self.config = config
        self._principal = principal

    def _check(self, context: grpc.ServicerContext) -> PeerIdentity:
        from covenant.errors import PermissionDenied, Unauthenticated

        peer = peer_identity(context)
        if peer is None:
            raise Unauthenticated("a client certificate is required (mTLS)")
        if not peer.matches(self.config.allowed_peers):
            raise PermissionDenied(
                "tls.peer", f"certificate identity {peer} is not an allowed peer (COVENANT_TLS_ALLOWED_PEERS)"
            )
        try:
            principal = self._principal()
        except Exception:  # public method: no principal
            principal = None
        if principal is not None and getattr(principal, "kind", "") == "service":
            account = str(principal.subject).rsplit("/", 1)[-1]
            if account not in peer.services:
                raise PermissionDenied(
                    "tls.peer", f"token of service {account!r} sent with a certificate for {peer}"
                )
        return peer

    def intercept_service(self, continuation: Any, details: grpc.HandlerCallDetails) -> Any:
        handler = continuation(details)
        if handler is None or not self.config.mutual:
            return handler
        return _wrap_handler(handler, self._check)


def _wrap_handler(handler: Any, check: Callable[[grpc.ServicerContext], PeerIdentity]) -> Any:
    return around(handler, lambda context: _peer.set(check(context)), _peer.reset)
