"""Client side of the chassis: channels to other Covenant services, tokens, identity key look-ups."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import grpc
from opentelemetry.instrumentation.grpc import client_interceptor
from opentelemetry.instrumentation.grpc.grpcext import intercept_channel as otel_intercept_channel

from covenant.auth.tokens import TokenSource
from covenant.telemetry.instrument import metered_channel

KEEPALIVE_OPTIONS = [
    ("grpc.keepalive_time_ms", 30_000),
    ("grpc.keepalive_timeout_ms", 10_000),
    ("grpc.keepalive_permit_without_calls", 1),
    ("grpc.http2.max_pings_without_data", 0),
]


def message_size_options(max_bytes: int) -> list[tuple[str, int]]:
    return [("grpc.max_send_message_length", max_bytes), ("grpc.max_receive_message_length", max_bytes)]


class _AuthMetadata(
    grpc.UnaryUnaryClientInterceptor,
    grpc.StreamUnaryClientInterceptor,
    grpc.UnaryStreamClientInterceptor,
    grpc.StreamStreamClientInterceptor,
):
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

    def intercept_unary_unary(self, continuation, details, request):  # type: ignore[no-untyped-def]
        return continuation(self._details(details), request)

    def intercept_unary_stream(self, continuation, details, request):  # type: ignore[no-untyped-def]
        return continuation(self._details(details), request)

    def intercept_stream_unary(self, continuation, details, request_iterator):  # type: ignore[no-untyped-def]
        return continuation(self._details(details), request_iterator)

    def intercept_stream_stream(self, continuation, details, request_iterator):  # type: ignore[no-untyped-def]
        return continuation(self._details(details), request_iterator)


class _Details(grpc.ClientCallDetails):
    def __init__(self, base: Any, metadata: list[tuple[str, str]]) -> None:
        self.method = base.method
        self.timeout = base.timeout
        self.metadata = metadata
        self.credentials = base.credentials
        self.wait_for_ready = getattr(base, "wait_for_ready", None)
        self.compression = getattr(base, "compression", None)


def plain_channel(target: str, max_message_bytes: int = 16 * 1024 * 1024) -> grpc.Channel:
    """An insecure channel with keepalive and message limits, traced, without auth."""
    channel = grpc.insecure_channel(
        target, options=KEEPALIVE_OPTIONS + message_size_options(max_message_bytes)
    )
    return otel_intercept_channel(metered_channel(channel), client_interceptor())


def authed_channel(
    target: str, tokens: TokenSource, max_message_bytes: int = 16 * 1024 * 1024
) -> grpc.Channel:
    """A traced channel that sends ``tokens``' bearer token on every call."""
    return grpc.intercept_channel(plain_channel(target, max_message_bytes), _AuthMetadata(tokens))


class ChannelFactory:
    """Caches one authenticated channel per target service."""

    def __init__(self, targets: dict[str, str], tokens: TokenSource, max_message_bytes: int) -> None:
        self._targets = targets
        self._tokens = tokens
        self._max = max_message_bytes
        self._channels: dict[str, grpc.Channel] = {}
        self._lock = threading.Lock()

    def __call__(self, service_name: str) -> grpc.Channel:
        with self._lock:
            channel = self._channels.get(service_name)
            if channel is None:
                channel = authed_channel(self._targets[service_name], self._tokens, self._max)
                self._channels[service_name] = channel
            return channel

    def close(self) -> None:
        with self._lock:
            for channel in self._channels.values():
                channel.close()
            self._channels.clear()


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
