"""A tiny service app hosted by the real chassis, for chassis tests (auth, errors, drain).

Method ``/covenant.test.v1.Probe/<Name>`` with raw bytes in and out:
- ``Echo`` returns the request and the caller's subject;
- ``Slow`` sleeps for the number of seconds in the request, then answers ``done``;
- ``Invalid`` raises InvalidArgument on field ``probe.value``;
- ``Denied`` requires permission ``probe.things.read``;
- ``Boom`` raises an unexpected error.
"""

from __future__ import annotations

import time
from typing import Any

import grpc

from covenant.auth import authorize
from covenant.errors import InvalidArgument
from covenant.grpc.app import ServiceApp, ServiceContext
from covenant.grpc.context import current_principal
from covenant.rules import ActionSpec, ActionVocabulary

SERVICE = "covenant.test.v1.Probe"
VOCABULARY = ActionVocabulary("probe", [ActionSpec("note", {"type": "object"}, "test action")])


def _echo(request: bytes, _ctx: Any) -> bytes:
    return request + b"|" + current_principal().subject.encode()


def _slow(request: bytes, _ctx: Any) -> bytes:
    time.sleep(float(request.decode() or "1"))
    return b"done"


def _invalid(_request: bytes, _ctx: Any) -> bytes:
    raise InvalidArgument("must be positive", field="probe.value")


def _denied(_request: bytes, _ctx: Any) -> bytes:
    authorize(current_principal(), "probe.things.read")
    return b"ok"


def _boom(_request: bytes, _ctx: Any) -> bytes:
    raise RuntimeError("secret internal detail")


def handler() -> grpc.GenericRpcHandler:
    methods = {"Echo": _echo, "Slow": _slow, "Invalid": _invalid, "Denied": _denied, "Boom": _boom}
    return grpc.method_handlers_generic_handler(
        SERVICE, {name: grpc.unary_unary_rpc_method_handler(fn) for name, fn in methods.items()}
    )


def create_app(_ctx: ServiceContext) -> ServiceApp:
    return ServiceApp(
        servicers=[(lambda h, server: server.add_generic_rpc_handlers((h,)), handler())],
        grpc_service_names=[SERVICE],
    )


if __name__ == "__main__":  # run as a process: python -m tests.support.probe_app (env configures it)
    import sys

    from covenant.grpc.server import ServiceHost
    from covenant.settings import Settings

    host = ServiceHost(Settings.from_env("scoring"), create_app=create_app, vocabulary=VOCABULARY)
    host.start()
    print(host.port, flush=True)
    sys.stdout.close()
    host.serve_forever()
