"""Connections for command-line clients (``covenant health``, ``covenant rules``, the demo).

They follow the services' own settings: ``COVENANT_<SVC>_TARGET`` for where a service is, the
``COVENANT_TLS_*`` variables for transport security (as process ``cli``: the local dev CA issues a ``cli``
certificate), and the per-kind default deadlines, which ``--timeout`` replaces. ``describe_rpc_error``
renders a failed call with its status code, message and structured details (``google.rpc.Status``
details such as BadRequest field violations).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path

import grpc
from google.protobuf import symbol_database, text_format

from covenant.grpc.client import plain_channel
from covenant.grpc.wire import CALL_KINDS, WireSettings
from covenant.services import SERVICES, service

CLIENT_NAME = "cli"


def _env(env: Mapping[str, str] | None) -> Mapping[str, str]:
    return os.environ if env is None else env


def data_dir(env: Mapping[str, str] | None = None) -> Path:
    return Path(_env(env).get("COVENANT_DATA_DIR") or Path.cwd() / ".covenant")


def cli_wire(env: Mapping[str, str] | None = None, timeout: float | None = None) -> WireSettings:
    """Wire settings of a command-line client; ``timeout`` replaces every per-kind default deadline."""
    wire = WireSettings.from_env(_env(env), CLIENT_NAME, data_dir(env))
    if timeout is not None:
        if timeout <= 0:
            raise ValueError(f"--timeout must be > 0, not {timeout}")
        wire = replace(wire, timeouts=dict.fromkeys(CALL_KINDS, timeout))
    return wire


def target_for(name: str, env: Mapping[str, str] | None = None) -> str:
    """Where ``name`` is: ``COVENANT_<NAME>_TARGET`` or its default local address."""
    return _env(env).get(f"COVENANT_{name.upper()}_TARGET") or service(name).default_target


def cli_targets(env: Mapping[str, str] | None = None) -> dict[str, str]:
    return {name: target_for(name, env) for name in SERVICES}


def cli_channel(
    name: str,
    target: str | None = None,
    *,
    timeout: float | None = None,
    env: Mapping[str, str] | None = None,
    wire: WireSettings | None = None,
) -> grpc.Channel:
    """A channel to service ``name`` (at ``target``, default ``target_for(name)``) with the CLI's settings."""
    return plain_channel(target or target_for(name, env), wire=wire or cli_wire(env, timeout))


def _detail_text(any_msg: object) -> str:
    type_name = any_msg.type_url.rsplit("/", 1)[-1]  # type: ignore[attr-defined]
    try:
        cls = symbol_database.Default().GetSymbol(type_name)
    except KeyError:
        return f"{type_name} ({len(any_msg.value)} bytes)"  # type: ignore[attr-defined]
    msg = cls()
    any_msg.Unpack(msg)  # type: ignore[attr-defined]
    if type_name == "google.rpc.BadRequest":
        return "; ".join(f"{v.field}: {v.description}" for v in msg.field_violations)
    return f"{type_name} {text_format.MessageToString(msg, as_one_line=True, as_utf8=True)}"


def describe_rpc_error(exc: grpc.RpcError) -> str:
    """``CODE: message`` plus one indented line per structured detail of the status."""
    import google.rpc.error_details_pb2  # noqa: F401 - registers the standard detail types
    from google.rpc import status_pb2

    code = exc.code() if hasattr(exc, "code") else None
    lines = [f"{code.name if code else 'UNKNOWN'}: {exc.details() if hasattr(exc, 'details') else exc}"]
    trailers = exc.trailing_metadata() if hasattr(exc, "trailing_metadata") else None
    for key, value in trailers or ():
        if key == "grpc-status-details-bin" and isinstance(value, bytes):
            status = status_pb2.Status.FromString(value)
            lines += [f"  {_detail_text(d)}" for d in status.details]
    return "\n".join(lines)
