"""The chassis server interceptor: authentication, error mapping, structured request logging.

Every RPC passes through ``ChassisInterceptor``:
- authentication: ``authorization: Bearer <jwt>`` verified locally (``TokenVerifier``); the Principal is
  available to handlers through ``covenant.grpc.context.current_principal()``. Health and reflection are
  public; a service may list more public methods (e.g. identity's Login). In ``dev`` auth mode a call
  without a token runs as the local admin (``DEV_PRINCIPAL``); a token that is present is still verified.
- errors: ``covenant.errors.CovenantError`` → its canonical status code and message; anything unexpected →
  INTERNAL with an error id (the traceback goes to the log, never on the wire).
- logging and metrics: every call records ``rpc.server.duration`` (method, status code) and logs one JSON
  line at INFO with method, status, duration, the caller's principal id and the trace id (no request
  data, no tokens). ``log_sample_rate`` (COVENANT_LOG_SAMPLE_RATE) keeps that fraction of the lines of
  successful calls; failures are always logged. Health checks log at DEBUG.
"""

from __future__ import annotations

import logging
import random
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import grpc

from covenant.auth.principal import DEV_PRINCIPAL, Principal
from covenant.auth.tokens import TokenVerifier
from covenant.errors import CovenantError, Unauthenticated
from covenant.grpc.context import reset_principal, set_principal
from covenant.grpc.handlers import rewrap
from covenant.telemetry.metrics import RPC_SERVER_DURATION, rpc_attributes

log = logging.getLogger("covenant.grpc")

ALWAYS_PUBLIC_PREFIXES = ("/grpc.health.v1.Health/", "/grpc.reflection.")


def status_code(error: CovenantError) -> grpc.StatusCode:
    """The gRPC status code for a domain error."""
    return getattr(grpc.StatusCode, error.code, grpc.StatusCode.UNKNOWN)


def _returned_code(context: grpc.ServicerContext) -> grpc.StatusCode:
    """The status of a call whose handler returned: OK unless it set a code itself (``set_code``)."""
    code = context.code() if hasattr(context, "code") else None
    return code if isinstance(code, grpc.StatusCode) else grpc.StatusCode.OK


class ChassisInterceptor(grpc.ServerInterceptor):
    """Authenticates, maps errors and logs every call (see module docstring)."""

    def __init__(
        self,
        verifier: TokenVerifier,
        *,
        auth_mode: str = "jwt",
        public_methods: frozenset[str] = frozenset(),
        log_sample_rate: float = 1.0,
    ) -> None:
        self.verifier = verifier
        self.auth_mode = auth_mode
        self.public_methods = public_methods
        self.log_sample_rate = log_sample_rate

    def _authenticate(self, method: str, metadata: dict[str, str]) -> Principal | None:
        header = metadata.get("authorization", "")
        public = method in self.public_methods or method.startswith(ALWAYS_PUBLIC_PREFIXES)
        if not header:
            if public:
                return None
            if self.auth_mode == "dev":
                return DEV_PRINCIPAL
            raise Unauthenticated("missing authorization metadata (expected 'Bearer <token>')")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise Unauthenticated("authorization metadata must be 'Bearer <token>'")
        return self.verifier.verify(token.strip())

    def intercept_service(
        self, continuation: Callable[[grpc.HandlerCallDetails], Any], details: grpc.HandlerCallDetails
    ) -> Any:
        handler = continuation(details)
        if handler is None:
            return None
        method = details.method
        metadata = {k: v for k, v in (details.invocation_metadata or ()) if isinstance(v, str)}
        return rewrap(
            handler,
            lambda behavior: self._wrap_unary(method, metadata, behavior),
            lambda behavior: self._wrap_stream(method, metadata, behavior),
        )

    def _fail(
        self,
        context: grpc.ServicerContext,
        method: str,
        exc: BaseException,
        started: float,
        principal: Principal | None = None,
    ) -> None:
        if isinstance(exc, CovenantError):
            code, message = status_code(exc), exc.message
            self._log(method, code, started, principal=principal)
        else:
            current = context.code() if hasattr(context, "code") else None
            if current not in (None, grpc.StatusCode.OK):  # the handler aborted itself
                self._log(method, current, started, principal=principal)
                raise exc
            error_id = uuid.uuid4().hex[:12]
            log.error(
                "unexpected error in %s (error id %s)",
                method,
                error_id,
                exc_info=exc,
                extra={"fields": {"error_id": error_id, "method": method}},
            )
            code, message = grpc.StatusCode.INTERNAL, f"internal error (error id: {error_id})"
            self._log(method, code, started, level=logging.ERROR, principal=principal)
        context.abort(code, message)

    def _log(
        self,
        method: str,
        code: grpc.StatusCode,
        started: float,
        level: int = logging.INFO,
        principal: Principal | None = None,
    ) -> None:
        """Record the call's duration metric and write its log line (see module docstring)."""
        elapsed_ms = (time.perf_counter() - started) * 1000
        RPC_SERVER_DURATION.record(elapsed_ms, rpc_attributes(method, code.value[0]))
        if code is grpc.StatusCode.OK:
            if method.startswith(ALWAYS_PUBLIC_PREFIXES):
                level = logging.DEBUG
            elif self.log_sample_rate < 1.0 and random.random() >= self.log_sample_rate:
                return
        if log.isEnabledFor(level):
            log.log(
                level,
                "rpc %s %s",
                method,
                code.name,
                extra={
                    "fields": {
                        "method": method,
                        "code": code.name,
                        "duration_ms": round(elapsed_ms, 2),
                        "principal": principal.subject if principal is not None else "",
                    }
                },
            )

    def _wrap_unary(
        self, method: str, metadata: dict[str, str], behavior: Callable[..., Any]
    ) -> Callable[..., Any]:
        def wrapper(request: Any, context: grpc.ServicerContext) -> Any:
            started = time.perf_counter()
            token = principal = None
            try:
                principal = self._authenticate(method, metadata)
                token = set_principal(principal)
                response = behavior(request, context)
                self._log(method, _returned_code(context), started, principal=principal)
                return response
            except Exception as exc:
                self._fail(context, method, exc, started, principal)
            finally:
                if token is not None:
                    reset_principal(token)

        return wrapper

    def _wrap_stream(
        self, method: str, metadata: dict[str, str], behavior: Callable[..., Any]
    ) -> Callable[..., Any]:
        def wrapper(request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
            started = time.perf_counter()
            token = principal = None
            try:
                principal = self._authenticate(method, metadata)
                token = set_principal(principal)
                yield from behavior(request, context)
                self._log(method, _returned_code(context), started, principal=principal)
            except Exception as exc:
                self._fail(context, method, exc, started, principal)
            finally:
                if token is not None:
                    reset_principal(token)

        return wrapper
