"""A consumer process for recovery tests: the real inbox servicer on a fixed port, with gRPC health.

python -m tests.support.sink_process <port> <database url> <JWKS json>   (prints "ready" once SERVING)

Each applied event adds one to ``effects.n`` (the table is created if missing).
"""

from __future__ import annotations

import sys
import threading
from concurrent import futures

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from sqlalchemy import text

from covenant.auth.tokens import StaticKeySource, TokenVerifier
from covenant.db.engine import Database
from covenant.db.inbox import EventSinkServicer
from covenant.db.migrations import migrate
from covenant.events.v1 import event_pb2_grpc
from covenant.grpc.interceptors import ChassisInterceptor

EVENTS_SERVICE = "covenant.events.v1.EventSinkService"


def main(port: int, url: str, jwks: str) -> None:
    migrate(url, "points", None)
    db = Database(url)
    with db.session() as s:
        s.execute(text("CREATE TABLE IF NOT EXISTS effects (id INTEGER PRIMARY KEY, n INTEGER NOT NULL)"))
        if s.execute(text("SELECT count(*) FROM effects")).scalar_one() == 0:
            s.execute(text("INSERT INTO effects (id, n) VALUES (1, 0)"))

    def handle(session, _event) -> None:  # type: ignore[no-untyped-def]
        session.execute(text("UPDATE effects SET n = n + 1 WHERE id = 1"))

    server = grpc.server(
        futures.ThreadPoolExecutor(4),
        interceptors=[ChassisInterceptor(TokenVerifier(StaticKeySource(jwks)), auth_mode="jwt")],
    )
    event_pb2_grpc.add_EventSinkServiceServicer_to_server(EventSinkServicer(db, "points", handle), server)
    checker = health.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(checker, server)
    if server.add_insecure_port(f"127.0.0.1:{port}") == 0:
        raise SystemExit(f"could not bind port {port}")
    server.start()
    checker.set(EVENTS_SERVICE, health_pb2.HealthCheckResponse.SERVING)
    print("ready", flush=True)
    threading.Event().wait()


if __name__ == "__main__":
    main(int(sys.argv[1]), sys.argv[2], sys.argv[3])
