"""The caller of the current RPC, set by the chassis interceptor."""

from __future__ import annotations

import contextvars

from covenant.auth.principal import Principal
from covenant.errors import Unauthenticated

_principal: contextvars.ContextVar[Principal | None] = contextvars.ContextVar(
    "covenant_principal", default=None
)


def current_principal() -> Principal:
    """The verified caller of the RPC being handled; raises Unauthenticated outside an authenticated call."""
    p = _principal.get()
    if p is None:
        raise Unauthenticated("no authenticated caller")
    return p


def set_principal(principal: Principal | None) -> contextvars.Token[Principal | None]:
    return _principal.set(principal)


def reset_principal(token: contextvars.Token[Principal | None]) -> None:
    _principal.reset(token)
