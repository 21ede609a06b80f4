"""Servers stop work whose deadline has passed.

``DeadlineInterceptor`` refuses, with DEADLINE_EXCEEDED and without running the handler, a call whose
deadline passed while it waited for a worker thread (a queue behind a slow call, a client that gave up),
and exposes the call's deadline to the handler: long loops call ``check_deadline()`` between steps and
stop with DEADLINE_EXCEEDED instead of finishing work nobody waits for.
"""

from __future__ import annotations

import contextvars
import time
from collections.abc import Callable
from typing import Any

import grpc

from covenant.errors import DeadlineExceeded
from covenant.grpc.handlers import around

_deadline: contextvars.ContextVar[float | None] = contextvars.ContextVar("covenant_deadline", default=None)


def time_left() -> float | None:
    """Seconds left before the current call's deadline (None: no deadline or not in a call)."""
    deadline = _deadline.get()
    return None if deadline is None else deadline - time.monotonic()


def check_deadline(what: str = "call") -> None:
    """Raise DEADLINE_EXCEEDED when the current call's deadline has passed."""
    left = time_left()
    if left is not None and left <= 0:
        raise DeadlineExceeded(f"deadline passed {-left:.3f}s ago; {what} stopped")


def _start(context: grpc.ServicerContext) -> contextvars.Token[float | None]:
    remaining = context.time_remaining()
    if remaining is not None and remaining <= 0:
        raise DeadlineExceeded("deadline passed before the server started the call")
    # gRPC reports "no deadline" as a huge number of seconds
    deadline = time.monotonic() + remaining if remaining is not None and remaining < 1e8 else None
    return _deadline.set(deadline)


class DeadlineInterceptor(grpc.ServerInterceptor):
    """See module docstring. Runs inside ``ChassisInterceptor`` so its errors are mapped and logged."""

    def intercept_service(self, continuation: Callable[..., Any], details: grpc.HandlerCallDetails) -> Any:
        handler = continuation(details)
        if handler is None:
            return None

        return around(handler, _start, _deadline.reset)
