"""Rebuilding a gRPC method handler around its behaviour: one place for the four handler kinds, used by
the chassis interceptors (covenant.grpc.interceptors, .deadlines, .tls)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import grpc

Wrap = Callable[[Callable[..., Any]], Callable[..., Any]]


def rewrap(handler: Any, unary: Wrap, stream: Wrap) -> Any:
    """``handler`` with its behaviour wrapped: ``unary`` for the kinds that return one response,
    ``stream`` for those that yield responses."""
    kw = {
        "request_deserializer": handler.request_deserializer,
        "response_serializer": handler.response_serializer,
    }
    if handler.unary_unary:
        return grpc.unary_unary_rpc_method_handler(unary(handler.unary_unary), **kw)
    if handler.unary_stream:
        return grpc.unary_stream_rpc_method_handler(stream(handler.unary_stream), **kw)
    if handler.stream_unary:
        return grpc.stream_unary_rpc_method_handler(unary(handler.stream_unary), **kw)
    return grpc.stream_stream_rpc_method_handler(stream(handler.stream_stream), **kw)


def around(handler: Any, enter: Callable[[grpc.ServicerContext], Any], leave: Callable[[Any], None]) -> Any:
    """``handler`` calling ``enter(context)`` before the behaviour and ``leave(<what enter returned>)`` after
    it (after the last response of a stream), e.g. to set and reset a context variable."""

    def unary(behavior: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(request: Any, context: grpc.ServicerContext) -> Any:
            token = enter(context)
            try:
                return behavior(request, context)
            finally:
                leave(token)

        return wrapper

    def stream(behavior: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(request: Any, context: grpc.ServicerContext) -> Any:
            token = enter(context)
            try:
                yield from behavior(request, context)
            finally:
                leave(token)

        return wrapper

    return rewrap(handler, unary, stream)
