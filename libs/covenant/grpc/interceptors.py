"""The chassis server interceptor: authentication, error mapping, structured request logging.

Every RPC passes through ``ChassisInterceptor``:
- authentication: ``authorization: Bearer <jwt>`` verified locally (``TokenVerifier``); the Principal is
  available to handlers through ``covenant.grpc.context.current_principal()``. Health and reflection are
  public; a service may list more public methods (e.g. identity's Login). In ``dev`` auth mode a call
  without a token from this machine (loopback or a Unix socket) runs as the local admin (``DEV_PRINCIPAL``);
  from anywhere else it is UNAUTHENTICATED; a token that is present is still verified.
- errors: ``covenant.errors.CovenantError`` → its canonical status code and message; a transient database
  error (``covenant.db.transient``: lost connection, serialization failure, deadlock) is first retried for
  unary read methods (the whole handler re-runs: it only reads), else answered UNAVAILABLE or ABORTED with a
  ``google.rpc.RetryInfo`` detail; anything else unexpected → INTERNAL with an error id (the
  traceback goes to the log, never on the wire).
- commit guard: while a handler runs, ``covenant.db.engine.commit_guard`` refuses commits once the call is
  cancelled or ``grace_expired`` is set (the host's drain grace ran out): its transaction rolls back.
- logging and metrics: every call records ``rpc.server.duration`` (method, status code) and logs one JSON
  line at INFO with method, status, duration, the caller's principal id and the trace id (no request
  data, no tokens). ``log_sample_rate`` (COVENANT_LOG_SAMPLE_RATE) keeps that fraction of the lines of
  successful calls; failures are always logged. Health checks log at DEBUG.
"""

from __future__ import annotations

import ipaddress
import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import unquote

import grpc
from google.protobuf import any_pb2, duration_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from covenant.auth.principal import DEV_PRINCIPAL, Principal
from covenant.auth.tokens import TokenVerifier
from covenant.db.engine import commit_guard
from covenant.db.transient import RETRY_DELAY, retry_transient, transient_code
from covenant.errors import CovenantError, Unauthenticated
from covenant.grpc.context import reset_principal, set_principal
from covenant.grpc.handlers import rewrap
from covenant.grpc.wire import method_kind
from covenant.randomness import RANDOM
from covenant.telemetry.metrics import RPC_SERVER_DURATION, rpc_attributes

log = logging.getLogger("covenant.grpc")

ALWAYS_PUBLIC_PREFIXES = ("/grpc.health.v1.Health/", "/grpc.reflection.")


def status_code(error: CovenantError) -> grpc.StatusCode:
    """The gRPC status code for a domain error."""
    return getattr(grpc.StatusCode, error.code, grpc.StatusCode.UNKNOWN)


def retry_status(code: str, message: str, delay: float) -> grpc.Status:
    """A rich status ``code`` (UNAVAILABLE or ABORTED) with a ``google.rpc.RetryInfo`` of ``delay`` s."""
    retry = error_details_pb2.RetryInfo(retry_delay=duration_pb2.Duration(nanos=int(delay * 1e9) % 10**9))
    retry.retry_delay.seconds = int(delay)
    detail = any_pb2.Any()
    detail.Pack(retry)
    status = status_pb2.Status(code=getattr(code_pb2, code), message=message, details=[detail])
    return rpc_status.to_status(status)


def _returned_code(context: grpc.ServicerContext) -> grpc.StatusCode:
    """The status of a call whose handler returned: OK unless it set a code itself (``set_code``)."""
    code = context.code() if hasattr(context, "code") else None
    return code if isinstance(code, grpc.StatusCode) else grpc.StatusCode.OK


def is_local_peer(peer: str) -> bool:
    """Whether a gRPC peer (``ipv4:127.0.0.1:5000``, ``ipv6:[::1]:5000``, URL-quoted or not, ``unix:...``)
    is this machine: a loopback address or a Unix socket."""
    kind, _, rest = unquote(peer).partition(":")
    if kind in ("unix", "unix-abstract"):
        return True
    try:
        address = ipaddress.ip_address(rest.rsplit(":", 1)[0].strip("[]"))
    except ValueError:
        return False
    mapped = getattr(address, "ipv4_mapped", None)  # a dual-stack listener sees 127.0.0.1 as ::ffff:127.0.0.1
    return (mapped or address).is_loopback


class ChassisInterceptor(grpc.ServerInterceptor):
    """Authenticates, maps errors and logs every call (see module docstring)."""

    def __init__(
        self,
        verifier: TokenVerifier,
        *,
        auth_mode: str = "jwt",
        public_methods: frozenset[str] = frozenset(),
        log_sample_rate: float = 1.0,
        grace_expired: threading.Event | None = None,
    ) -> None:
        self.verifier = verifier
        self.grace_expired = grace_expired or threading.Event()
        self.auth_mode = auth_mode
        self.public_methods = public_methods
        self.log_sample_rate = log_sample_rate

    def _authenticate(
        self, method: str, metadata: dict[str, str], context: grpc.ServicerContext
    ) -> Principal | None:
        header = metadata.get("authorization", "")
        public = method in self.public_methods or method.startswith(ALWAYS_PUBLIC_PREFIXES)
        if not header:
            if public:
                return None
            if self.auth_mode == "dev" and is_local_peer(context.peer()):
                return DEV_PRINCIPAL
            if self.auth_mode == "dev":
                raise Unauthenticated(
                    "dev auth takes a call without a token as the local admin only from this machine; "
                    "send 'Bearer <token>'"
                )
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
            transient = transient_code(exc)
            if transient is not None:
                log.warning("transient database error in %s: %s", method, exc)
                self._log(method, getattr(grpc.StatusCode, transient), started, principal=principal)
                delay = RETRY_DELAY[transient]
                context.abort_with_status(
                    retry_status(transient, f"transient database error, retry after {delay} s", delay)
                )
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
            elif self.log_sample_rate < 1.0 and RANDOM.random() >= self.log_sample_rate:
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

    def _guard(self, context: grpc.ServicerContext) -> Any:
        """Install the commit guard for this call (see module docstring); returns the reset token."""

        def refuse() -> str | None:
            if self.grace_expired.is_set():
                return "the server is stopping (drain grace expired)"
            if hasattr(context, "is_active") and not context.is_active():
                return "the call was cancelled"
            return None

        return commit_guard.set(refuse)

    def _wrap_unary(
        self, method: str, metadata: dict[str, str], behavior: Callable[..., Any]
    ) -> Callable[..., Any]:
        info = method_kind(method)
        rerun = info is not None and info.kind == "read"  # unary reads only: safe to run again

        def wrapper(request: Any, context: grpc.ServicerContext) -> Any:
            with self._serving(method, metadata, context):
                if rerun:
                    return retry_transient(lambda: behavior(request, context), what=method)
                return behavior(request, context)

        return wrapper

    def _wrap_stream(
        self, method: str, metadata: dict[str, str], behavior: Callable[..., Any]
    ) -> Callable[..., Any]:
        def wrapper(request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
            with self._serving(method, metadata, context):
                yield from behavior(request, context)

        return wrapper

    @contextmanager
    def _serving(
        self, method: str, metadata: dict[str, str], context: grpc.ServicerContext
    ) -> Iterator[None]:
        """One call (the body of the ``with``: the behaviour, to its last response): the commit guard, the
        authenticated principal in context, the call logged when it returns, failures mapped by ``_fail``."""
        started = time.perf_counter()
        token = principal = None
        guard = self._guard(context)
        try:
            principal = self._authenticate(method, metadata, context)
            token = set_principal(principal)
            yield
            self._log(method, _returned_code(context), started, principal=principal)
        except Exception as exc:
            self._fail(context, method, exc, started, principal)
        finally:
            commit_guard.reset(guard)
            if token is not None:
                reset_principal(token)
