"""A tiny service app hosted by the real chassis, for chassis tests (auth, errors, drain).

Method ``/covenant.test.v1.Probe/<Name>`` with raw bytes in and out:
- ``Echo`` returns the request and the caller's subject;
- ``Slow`` sleeps for the number of seconds in the request, then answers ``done``;
- ``Invalid`` raises InvalidArgument on field ``probe.value``;
- ``Denied`` requires permission ``probe.things.read``;
- ``Boom`` raises an unexpected error;
- ``SlowWrite`` inserts a row into ``probe_writes``, sleeps the request's seconds, then commits;
- ``DbSleep`` sleeps the request's seconds inside the database (PostgreSQL ``pg_sleep``);
- ``Count`` answers the number of rows in ``probe_writes``.
"""

from __future__ import annotations

import time
from typing import Any

import grpc
from sqlalchemy import text

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


def _db_methods(ctx: ServiceContext) -> dict[str, Any]:
    def slow_write(request: bytes, _ctx: Any) -> bytes:
        with ctx.db.session() as s:
            s.execute(text("INSERT INTO probe_writes (note) VALUES ('written')"))
            time.sleep(float(request.decode() or "1"))
        return b"done"

    def db_sleep(request: bytes, _ctx: Any) -> bytes:
        with ctx.db.session() as s:
            s.execute(text("SELECT pg_sleep(:s)"), {"s": float(request.decode() or "1")})
        return b"done"

    def count(_request: bytes, _ctx: Any) -> bytes:
        with ctx.db.session() as s:
            return str(s.execute(text("SELECT count(*) FROM probe_writes")).scalar_one()).encode()

    return {"SlowWrite": slow_write, "DbSleep": db_sleep, "Count": count}


def handler(extra: dict[str, Any] | None = None) -> grpc.GenericRpcHandler:
    methods = {"Echo": _echo, "Slow": _slow, "Invalid": _invalid, "Denied": _denied, "Boom": _boom}
    methods.update(extra or {})
    return grpc.method_handlers_generic_handler(
        SERVICE, {name: grpc.unary_unary_rpc_method_handler(fn) for name, fn in methods.items()}
    )


def create_app(ctx: ServiceContext) -> ServiceApp:
    with ctx.db.session() as s:
        s.execute(text("CREATE TABLE IF NOT EXISTS probe_writes (note VARCHAR(32))"))
    return ServiceApp(
        servicers=[(lambda h, server: server.add_generic_rpc_handlers((h,)), handler(_db_methods(ctx)))],
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
