"""Token freshness across services: a running identity and another service (the chassis probe app on the
real ServiceHost) verifying locally with the default JWKS key source, over real gRPC.

Observed on main: revocation took ~30 s to reach other services, and a service that could not reach
identity kept accepting tokens forever (fail open); 200 calls with random unknown key ids parked workers.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent import futures
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest

from covenant.auth import JwksKeySource, TokenSigner, TokenVerifier, generate_signing_key
from covenant.grpc.client import identity_jwks_fetcher, plain_channel
from covenant.grpc.server import ServiceHost
from covenant.grpc.testing import RunningService, bearer, running_service, service_env
from covenant.identity.v1 import accounts_pb2, identity_service_pb2_grpc
from covenant.settings import Settings
from tests.support import probe_app

GRACE = 3.0  # a short grace for the test; the default is covenant.auth.tokens.JWKS_GRACE_SECONDS


class CountingFetch:
    """identity's real JWKS fetcher, counting calls."""

    def __init__(self, fetch: Callable[[], str]) -> None:
        self._fetch = fetch
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        return self._fetch()


@dataclass
class Pair:
    identity: RunningService
    probe: ServiceHost
    channel: grpc.Channel
    fetch: CountingFetch

    def login(self) -> str:
        stub = identity_service_pb2_grpc.IdentityServiceStub(self.identity.channel)
        password = self.identity.host.ctx.secrets.get_secret("identity/bootstrap-admin")["password"]  # type: ignore[union-attr]
        req = accounts_pb2.LoginRequest(username="admin", password=password)
        return stub.Login(req, timeout=30).access_token

    def echo(self, token: str) -> bytes:
        call = self.channel.unary_unary(f"/{probe_app.SERVICE}/Echo")
        return call(b"hi", metadata=bearer(token), timeout=30)

    def refused(self, token: str) -> grpc.RpcError | None:
        try:
            self.echo(token)
        except grpc.RpcError as err:
            return err
        return None


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[Pair]:
    with running_service(
        "identity", db_url=f"sqlite:///{tmp_path / 'identity.db'}", data_dir=tmp_path
    ) as ident:
        (tmp_path / "rules").mkdir()
        env = service_env(
            "scoring",
            db_url=f"sqlite:///{tmp_path / 'probe.db'}",
            data_dir=tmp_path,
            extra={"COVENANT_IDENTITY_TARGET": ident.target, "COVENANT_RULES_DIR": str(tmp_path / "rules")},
        )
        fetch = CountingFetch(identity_jwks_fetcher(plain_channel(ident.target)))
        source = JwksKeySource(fetch, grace_seconds=GRACE)  # the default refresh interval
        probe = ServiceHost(
            Settings.from_env("scoring", env),
            verifier=TokenVerifier(source),
            create_app=probe_app.create_app,
            vocabulary=probe_app.VOCABULARY,
        )
        probe.start()
        channel = grpc.insecure_channel(f"127.0.0.1:{probe.port}")
        try:
            yield Pair(ident, probe, channel, fetch)
        finally:
            channel.close()
            probe.stop(grace=1)
            source.close()


def test_revocation_reaches_the_other_service_within_five_seconds(pair: Pair) -> None:
    token = pair.login()
    assert pair.echo(token) == b"hi|accounts/admin"  # verified and cached by the probe
    stub = identity_service_pb2_grpc.IdentityServiceStub(pair.identity.channel)
    stub.RevokeToken(accounts_pb2.RevokeTokenRequest(token=token), metadata=bearer(token), timeout=30)
    revoked_at = time.monotonic()
    while (err := pair.refused(token)) is None and time.monotonic() - revoked_at < 10:
        time.sleep(0.05)
    elapsed = time.monotonic() - revoked_at
    assert (
        err is not None
        and err.code() == grpc.StatusCode.UNAUTHENTICATED
        and "revoked" in (err.details() or "")
    )
    assert elapsed < 5.0, f"revocation took {elapsed:.1f} s to reach the other service"


def test_a_service_that_cannot_reach_identity_fails_closed_after_the_grace(pair: Pair) -> None:
    token = pair.login()
    assert pair.echo(token)
    pair.identity.host.stop(grace=0)
    stopped = time.monotonic()
    assert pair.echo(token)  # within the grace the last good keys still serve
    while (err := pair.refused(token)) is None and time.monotonic() - stopped < GRACE + 10:
        time.sleep(0.1)
    assert err is not None and err.code() == grpc.StatusCode.UNAVAILABLE, err
    assert "grace" in (err.details() or "")
    assert time.monotonic() - stopped >= GRACE - 2.5  # not before the grace (less one refresh interval)


def test_random_unknown_key_ids_do_not_hold_back_a_valid_call(pair: Pair) -> None:
    token = pair.login()
    assert pair.echo(token)
    _, pem = generate_signing_key()
    forged = [TokenSigner(pem, uuid.uuid4().hex[:16]).issue("users/x") for _ in range(200)]
    before = pair.fetch.calls
    started = time.monotonic()
    codes: list[grpc.StatusCode] = []
    lock = threading.Lock()

    def attempt(t: str) -> None:
        err = pair.refused(t)
        with lock:
            codes.append(err.code() if err else grpc.StatusCode.OK)

    with futures.ThreadPoolExecutor(40) as pool:
        flood = [pool.submit(attempt, t) for t in forged]
        valid = pair.echo(token)  # in the middle of the flood
        for f in flood:
            f.result(timeout=60)
    elapsed = time.monotonic() - started
    assert valid == b"hi|accounts/admin"
    assert codes == [grpc.StatusCode.UNAUTHENTICATED] * 200
    # one fetch per 0.5 s at most for misses, plus the background refresh every 2 s
    assert pair.fetch.calls - before <= 3 + int(elapsed / 0.5) + int(elapsed / 2)
