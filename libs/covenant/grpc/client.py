"""Client side of the chassis: channels to other Covenant services, tokens, identity key look-ups."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import grpc
from opentelemetry.instrumentation.grpc import client_interceptor
from opentelemetry.instrumentation.grpc.grpcext import intercept_channel as otel_intercept_channel

from covenant.auth.tokens import TokenSource
from covenant.grpc.tls import CertFiles, channel_credentials
from covenant.grpc.wire import WireSettings, channel_options, default_timeout
from covenant.telemetry.instrument import metered_channel


class _CallDetailsInterceptor(
    grpc.UnaryUnaryClientInterceptor,
    grpc.UnaryStreamClientInterceptor,
    grpc.StreamUnaryClientInterceptor,
    grpc.StreamStreamClientInterceptor,
):
    """A client interceptor that only rewrites each call's details (``_details``), for every call kind."""

    def _details(self, details: Any) -> Any:
        raise NotImplementedError

    def intercept_unary_unary(self, continuation, details, request):  # type: ignore[no-untyped-def]
        return continuation(self._details(details), request)

    def intercept_unary_stream(self, continuation, details, request):  # type: ignore[no-untyped-def]
        return continuation(self._details(details), request)

    def intercept_stream_unary(self, continuation, details, request_iterator):  # type: ignore[no-untyped-def]
        return continuation(self._details(details), request_iterator)

    def intercept_stream_stream(self, continuation, details, request_iterator):  # type: ignore[no-untyped-def]
        return continuation(self._details(details), request_iterator)


class _AuthMetadata(_CallDetailsInterceptor):
    """Adds the token source's ``authorization`` metadata to every outgoing call."""

    def __init__(self, tokens: TokenSource) -> None:
        self._tokens = tokens

    def _details(self, details: Any) -> Any:
        metadata = list(details.metadata or [])
        if not any(k == "authorization" for k, _ in metadata):
            metadata += self._tokens.metadata()
        return (
            details._replace(metadata=metadata)
            if hasattr(details, "_replace")
            else _Details(details, metadata)
        )


class _Details(grpc.ClientCallDetails):
    def __init__(self, base: Any, metadata: list[tuple[str, str]]) -> None:
        self.method = base.method
        self.timeout = base.timeout
        self.metadata = metadata
        self.credentials = base.credentials
        self.wait_for_ready = getattr(base, "wait_for_ready", None)
        self.compression = getattr(base, "compression", None)


class _DefaultDeadline(_CallDetailsInterceptor):
    """Gives every call without a deadline the default of its kind (``covenant.grpc.wire``)."""

    def __init__(self, wire: WireSettings) -> None:
        self._wire = wire

    def _details(self, details: Any) -> Any:
        if details.timeout is not None:
            return details
        timeout = default_timeout(self._wire, details.method)
        if hasattr(details, "_replace"):
            return details._replace(timeout=timeout)
        out = _Details(details, list(details.metadata or []))
        out.timeout = timeout
        return out


def plain_channel(
    target: str,
    max_message_bytes: int = 16 * 1024 * 1024,
    wire: WireSettings | None = None,
    files: CertFiles | None = None,
) -> grpc.Channel:
    """A traced channel without auth: TLS/mTLS when ``wire`` says so, round_robin, deadlines, retries."""
    wire = wire or WireSettings()
    options = channel_options(wire, max_message_bytes)
    if wire.tls.enabled:
        creds = channel_credentials(files or CertFiles(wire.tls))
        channel = grpc.secure_channel(target, creds, options=options)
    else:
        channel = grpc.insecure_channel(target, options=options)
    traced = otel_intercept_channel(metered_channel(channel), client_interceptor())
    return grpc.intercept_channel(traced, _DefaultDeadline(wire))


def authed_channel(
    target: str,
    tokens: TokenSource,
    max_message_bytes: int = 16 * 1024 * 1024,
    wire: WireSettings | None = None,
    files: CertFiles | None = None,
) -> grpc.Channel:
    """A traced channel that sends ``tokens``' bearer token on every call."""
    return grpc.intercept_channel(
        plain_channel(target, max_message_bytes, wire, files), _AuthMetadata(tokens)
    )


class ChannelFactory:
    """Caches one authenticated channel per target service. With TLS on, a certificate rotated on disk
    gives new channels (the old ones close after ``retire_seconds``, so their in-flight calls finish)."""

    def __init__(
        self,
        targets: dict[str, str],
        tokens: TokenSource,
        max_message_bytes: int,
        wire: WireSettings | None = None,
        retire_seconds: float = 60.0,
        check_seconds: float = 1.0,
    ) -> None:
        self._targets = targets
        self._tokens = tokens
        self._max = max_message_bytes
        self._wire = wire or WireSettings()
        self._files = CertFiles(self._wire.tls) if self._wire.tls.enabled else None
        self._retire = retire_seconds
        self._check_every = check_seconds
        self._checked = 0.0
        self._channels: dict[str, tuple[str, grpc.Channel]] = {}
        self._timers: list[threading.Timer] = []
        self._lock = threading.Lock()

    def _rotate_if_changed(self) -> None:
        now = time.monotonic()
        if self._files is None or now - self._checked < self._check_every:
            return
        self._checked = now
        if self._files.changed():
            self._files.load()
            old, self._channels = list(self._channels.values()), {}
            timer = threading.Timer(self._retire, lambda: [ch.close() for _, ch in old])
            timer.daemon = True
            timer.start()
            self._timers.append(timer)

    def __call__(self, service_name: str) -> grpc.Channel:
        target = self._targets[service_name]
        with self._lock:
            self._rotate_if_changed()
            cached = self._channels.get(service_name)
            if cached is None or cached[0] != target:
                if cached is not None:
                    cached[1].close()
                channel = authed_channel(target, self._tokens, self._max, self._wire, self._files)
                cached = self._channels[service_name] = (target, channel)
            return cached[1]

    def close(self) -> None:
        with self._lock:
            for _, channel in self._channels.values():
                channel.close()
            self._channels.clear()
            for timer in self._timers:
                timer.cancel()
                timer.function()  # type: ignore[attr-defined]
            self._timers.clear()


def identity_jwks_fetcher(channel: grpc.Channel, timeout: float = 5.0) -> Callable[[], str]:
    """A ``JwksKeySource`` fetch function calling ``IdentityService.GetJwks``."""
    from covenant.identity.v1 import identity_service_pb2_grpc, keys_pb2

    stub = identity_service_pb2_grpc.IdentityServiceStub(channel)

    def fetch() -> str:
        return stub.GetJwks(keys_pb2.GetJwksRequest(), timeout=timeout).jwks_json

    return fetch


def identity_token_issuer(
    channel: grpc.Channel, timeout: float = 5.0
) -> Callable[[str, str], tuple[str, int]]:
    """A ``ClientCredentialsTokenSource`` issue function calling ``IdentityService.IssueServiceToken``."""
    from covenant.identity.v1 import identity_service_pb2_grpc, keys_pb2

    stub = identity_service_pb2_grpc.IdentityServiceStub(channel)

    def issue(client_id: str, client_secret: str) -> tuple[str, int]:
        resp = stub.IssueServiceToken(
            keys_pb2.IssueServiceTokenRequest(client_id=client_id, client_secret=client_secret),
            timeout=timeout,
        )
        return resp.access_token, int(resp.expires_in_seconds)

    return issue
