"""Helpers for tests: run a real service on 127.0.0.1:0 with the real chassis, and mint tokens.

tokens = TestTokens()
with running_service("points", db_url=url, data_dir=tmp, tokens=tokens) as svc:
    stub = PointsServiceStub(svc.channel)
    stub.GetBalance(req, metadata=bearer(tokens.user("E1", "/hq/b1/t1", {"points.ledger.read": "self"})))
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc

from covenant.auth.tokens import (
    StaticKeySource,
    StaticTokenSource,
    TokenSigner,
    TokenVerifier,
    generate_signing_key,
)
from covenant.grpc.client import plain_channel
from covenant.grpc.server import ServiceHost
from covenant.settings import Settings


def bearer(token: str) -> list[tuple[str, str]]:
    """Call metadata carrying ``token``."""
    return [("authorization", f"Bearer {token}")]


class TestTokens:
    """A throwaway signing key and helpers to mint tokens for any principal."""

    __test__ = False  # not a pytest test class

    def __init__(self) -> None:
        kid, pem = generate_signing_key()
        self.signer = TokenSigner(pem, kid)

    def jwks(self) -> str:
        return self.signer.jwks()

    def verifier(self) -> TokenVerifier:
        return TokenVerifier(StaticKeySource(self.jwks()))

    def user(
        self,
        employee_id: str,
        org_unit: str = "/hq",
        permissions: Mapping[str, str] | None = None,
        *,
        roles: tuple[str, ...] = (),
        ttl_seconds: int = 600,
    ) -> str:
        return self.signer.issue(
            f"employees/{employee_id}",
            employee_id=employee_id,
            org_unit=org_unit,
            permissions=permissions or {},
            roles=roles,
            ttl_seconds=ttl_seconds,
        )

    def service(self, name: str, permissions: Mapping[str, str] | None = None) -> str:
        return self.signer.issue(
            f"serviceAccounts/{name}",
            kind="service",
            permissions=permissions or {"*": "all"},
            roles=("service",),
        )

    def admin(self) -> str:
        return self.signer.issue("users/admin", permissions={"*": "all"}, roles=("platform_admin",))


@dataclass
class RunningService:
    """A service started by ``running_service``."""

    host: ServiceHost
    target: str
    channel: grpc.Channel
    tokens: TestTokens
    settings: Settings

    def stub(self, stub_class: type) -> Any:
        return stub_class(self.channel)


def service_env(
    name: str, *, db_url: str, data_dir: Path, extra: Mapping[str, str] | None = None
) -> dict[str, str]:
    """Environment for a test instance of ``name`` listening on an ephemeral port."""
    env = {
        "COVENANT_DATA_DIR": str(data_dir),
        f"COVENANT_{name.upper()}_DB_URL": db_url,
        "COVENANT_LISTEN": "127.0.0.1:0",
        "COVENANT_AUTH_MODE": "jwt",
        "COVENANT_RULES_POLL_SECONDS": "0.2",
        "COVENANT_RELAY_INTERVAL_SECONDS": "0.1",
        "COVENANT_GRACE_SECONDS": "2",
        "COVENANT_LOG_FORMAT": "text",
        "COVENANT_LOG_LEVEL": "WARNING",
    }
    env.update(extra or {})
    return env


@contextmanager
def running_service(
    name: str,
    *,
    db_url: str,
    data_dir: Path,
    tokens: TestTokens | None = None,
    env: Mapping[str, str] | None = None,
    create_app: Callable[[Any], Any] | None = None,
    vocabulary: Any = None,
) -> Iterator[RunningService]:
    """Start ``name`` with the real chassis on 127.0.0.1:0; stop it (draining) on exit.

    ``create_app``/``vocabulary`` replace the service's own (chassis tests host small test apps).
    Outgoing calls carry a service token minted by ``tokens``; incoming tokens are verified against it.
    """
    tokens = tokens or TestTokens()
    settings = Settings.from_env(name, service_env(name, db_url=db_url, data_dir=data_dir, extra=env))
    host = ServiceHost(
        settings,
        verifier=tokens.verifier(),
        token_source=StaticTokenSource(tokens.service(name)),
        create_app=create_app,
        vocabulary=vocabulary,
    )
    host.start()
    listen_host = settings.listen.rsplit(":", 1)[0]
    target = f"{'127.0.0.1' if listen_host in ('0.0.0.0', '') else listen_host}:{host.port}"
    channel = (
        plain_channel(target, settings.max_message_bytes, settings.wire)
        if settings.wire.tls.enabled
        else grpc.insecure_channel(target)
    )
    try:
        grpc.channel_ready_future(channel).result(timeout=10)
        yield RunningService(host=host, target=target, channel=channel, tokens=tokens, settings=settings)
    finally:
        channel.close()
        host.stop(grace=2)


@dataclass
class RunningPlatform:
    """Several services started together, sharing one token signer and knowing each other's addresses."""

    services: dict[str, RunningService]
    tokens: TestTokens

    def __getitem__(self, name: str) -> RunningService:
        return self.services[name]


@contextmanager
def running_platform(
    names: list[str],
    *,
    db_urls: Mapping[str, str],
    data_dir: Path,
    env: Mapping[str, str] | None = None,
) -> Iterator[RunningPlatform]:
    """Start ``names`` (each with its own database) on ephemeral ports and point their outbox relays and
    channels at one another. Stops them all (draining) on exit."""
    from contextlib import ExitStack

    tokens = TestTokens()
    with ExitStack() as stack:
        started: dict[str, RunningService] = {}
        for name in names:
            started[name] = stack.enter_context(
                running_service(name, db_url=db_urls[name], data_dir=data_dir, tokens=tokens, env=env)
            )
        for svc in started.values():
            for other, peer in started.items():
                svc.settings.targets[other] = peer.target  # the relay's channel factory reads this dict
        yield RunningPlatform(started, tokens)
