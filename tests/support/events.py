"""Test helpers for event delivery: a channel that calls as a service account (as a relay does)."""

from __future__ import annotations

from typing import Any

import grpc

from covenant.grpc.testing import TestTokens, bearer

DELIVER = {"events.deliveries.write": "all"}


class _Bearer(grpc.UnaryUnaryClientInterceptor):
    def __init__(self, token: str) -> None:
        self._metadata = bearer(token)

    def intercept_unary_unary(self, continuation: Any, details: Any, request: Any) -> Any:
        details = details._replace(metadata=[*(details.metadata or ()), *self._metadata])
        return continuation(details, request)


def as_service(channel: grpc.Channel, tokens: TestTokens, name: str = "attendance") -> grpc.Channel:
    """``channel`` with every call carrying ``name``'s service-account token (delivery permission only)."""
    return grpc.intercept_channel(channel, _Bearer(tokens.service(name, DELIVER)))
