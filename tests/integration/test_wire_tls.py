"""mTLS through real sockets: the event chain works, wrong clients are refused, certificates rotate live.

Certificates come from ``covenant.grpc.pki`` (the dev CA ``covenant up`` uses) plus test-made ones: another
CA, an expired certificate, a certificate naming an identity outside the allowed peers.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from covenant.grpc import pki
from covenant.grpc.testing import bearer, running_platform, running_service
from tests.support import probe_app
from tests.support.rules import breach_grace

MTLS = {"COVENANT_TLS_MODE": "mtls"}
LOCAL = [("grpc.use_local_subchannel_pool", 1)]


def channel(target: str, ca: bytes, cert: bytes | None = None, key: bytes | None = None) -> grpc.Channel:
    """A raw client channel with its own connection (no subchannel sharing between test channels)."""
    creds = grpc.ssl_channel_credentials(root_certificates=ca, private_key=key, certificate_chain=cert)
    return grpc.secure_channel(target, creds, options=LOCAL)


def echo(ch: grpc.Channel, metadata: list[tuple[str, str]] | None = None) -> bytes:
    return ch.unary_unary(f"/{probe_app.SERVICE}/Echo")(b"hi", timeout=5, metadata=metadata)


@pytest.fixture
def probe(tmp_path: Path) -> Iterator[tuple[str, pki.Authority, Path]]:
    """A probe service in mTLS mode (dev auth: no token = local admin): (target, CA, tls dir)."""
    (tmp_path / "rules").mkdir()
    tls_dir = pki.ensure_dev_pki(tmp_path, ["scoring", "points"])
    ca = pki.load_authority(tls_dir)
    assert ca is not None
    env = MTLS | {"COVENANT_AUTH_MODE": "dev", "COVENANT_RULES_DIR": str(tmp_path / "rules")}
    with running_service(
        "scoring",
        db_url=f"sqlite:///{tmp_path / 'p.db'}",
        data_dir=tmp_path,
        env=env,
        create_app=probe_app.create_app,
        vocabulary=probe_app.VOCABULARY,
    ) as svc:
        yield svc.target, ca, tls_dir


def test_client_with_a_valid_certificate_is_served(probe: tuple[str, pki.Authority, Path]) -> None:
    target, ca, _ = probe
    cert, key = pki.issue(ca, uris=["spiffe://covenant.local/sa/cli"])
    assert echo(channel(target, ca.cert_pem, cert, key)).startswith(b"hi|")


@pytest.mark.parametrize("case", ["no certificate", "other CA", "expired"])
def test_client_without_a_good_certificate_fails_the_handshake(
    probe: tuple[str, pki.Authority, Path], case: str
) -> None:
    target, ca, _ = probe
    uri = ["spiffe://covenant.local/sa/cli"]
    if case == "no certificate":
        ch = channel(target, ca.cert_pem)
    elif case == "other CA":
        cert, key = pki.issue(pki.new_authority("Intruder CA"), uris=uri)
        ch = channel(target, ca.cert_pem, cert, key)
    else:
        past = dt.datetime.now(dt.UTC) - dt.timedelta(days=2)
        cert, key = pki.issue(ca, uris=uri, not_before=past, not_after=past + dt.timedelta(days=1))
        ch = channel(target, ca.cert_pem, cert, key)
    with pytest.raises(grpc.RpcError) as refused:
        echo(ch)
    assert refused.value.code() == grpc.StatusCode.UNAVAILABLE


def test_certificate_naming_a_foreign_identity_is_refused(probe: tuple[str, pki.Authority, Path]) -> None:
    target, ca, _ = probe
    cert, key = pki.issue(ca, uris=["spiffe://elsewhere.example/sa/points"], dns_names=["intruder"])
    with pytest.raises(grpc.RpcError) as refused:
        echo(channel(target, ca.cert_pem, cert, key))
    assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert "tls.peer" in refused.value.details()
    assert "spiffe://elsewhere.example/sa/points" in refused.value.details()


def test_service_token_must_match_the_certificate_service(tmp_path: Path) -> None:
    """Service-to-service authorization relies on the certificate as well as the token: a points token
    sent with attendance's certificate is refused; with points' own certificate it is accepted."""
    (tmp_path / "rules").mkdir()
    tls_dir = pki.ensure_dev_pki(tmp_path, ["scoring", "points", "attendance"])
    ca = (tls_dir / "ca.pem").read_bytes()
    env = MTLS | {"COVENANT_RULES_DIR": str(tmp_path / "rules")}
    with running_service(
        "scoring",
        db_url=f"sqlite:///{tmp_path / 'p.db'}",
        data_dir=tmp_path,
        env=env,
        create_app=probe_app.create_app,
        vocabulary=probe_app.VOCABULARY,
    ) as svc:
        token = bearer(svc.tokens.service("points"))

        def as_(name: str) -> grpc.Channel:
            cert, key = (tls_dir / f"{name}.pem").read_bytes(), (tls_dir / f"{name}-key.pem").read_bytes()
            return channel(svc.target, ca, cert, key)

        assert echo(as_("points"), token) == b"hi|serviceAccounts/points"
        with pytest.raises(grpc.RpcError) as refused:
            echo(as_("attendance"), token)
        assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED
        assert "tls.peer" in refused.value.details()
        # a user token over a service's certificate is fine (the console calls on behalf of users)
        user = bearer(svc.tokens.user("E1", "/hq", {"*": "all"}))
        assert echo(as_("attendance"), user) == b"hi|employees/E1"


def test_rotated_certificate_reaches_new_connections_and_in_flight_calls_finish(
    probe: tuple[str, pki.Authority, Path],
) -> None:
    target, old_ca, tls_dir = probe
    client_cert, client_key = pki.issue(old_ca, uris=["spiffe://covenant.local/sa/cli"])
    old_client = channel(target, old_ca.cert_pem, client_cert, client_key)
    assert echo(old_client)
    result: dict[str, object] = {}

    def slow() -> None:
        try:
            result["value"] = old_client.unary_unary(f"/{probe_app.SERVICE}/Slow")(b"2", timeout=10)
        except grpc.RpcError as exc:
            result["error"] = exc.code()

    caller = threading.Thread(target=slow)
    caller.start()
    time.sleep(0.3)  # the slow call is in flight on the old connection
    # Rotate in place, as cert-manager does: a new CA (the bundle trusts both) and a server pair from it.
    new_ca = pki.new_authority("Covenant dev CA 2")
    (tls_dir / "ca.pem").write_bytes(old_ca.cert_pem + new_ca.cert_pem)
    cert, key = pki.issue(new_ca, uris=["spiffe://covenant.local/sa/scoring"])
    pki.write_pair(tls_dir, "scoring", cert, key)
    new_cert, new_key = pki.issue(new_ca, uris=["spiffe://covenant.local/sa/cli"])
    # A client trusting only the new CA connects: the server now presents the new certificate.
    assert echo(channel(target, new_ca.cert_pem, new_cert, new_key)).startswith(b"hi|")
    # A new connection trusting only the old CA no longer verifies the server.
    with pytest.raises(grpc.RpcError) as refused:
        echo(channel(target, old_ca.cert_pem, client_cert, client_key))
    assert refused.value.code() == grpc.StatusCode.UNAVAILABLE
    caller.join(10)
    assert result == {"value": b"done"}
    assert echo(old_client)  # the old connection keeps working until it ages out


def test_event_chain_runs_over_mtls(tmp_path: Path) -> None:
    """The cross-service flow (attendance → points/scoring, compliance, commitments) with mTLS everywhere:
    every server requires a client certificate, every relay and test client presents one."""
    from tests.e2e import test_cross_service_flows as flows

    pki.ensure_dev_pki(tmp_path, flows.NAMES)
    urls = {n: f"sqlite:///{tmp_path / (n + '.db')}" for n in flows.NAMES}
    env = MTLS | {"COVENANT_SCHEDULER_INTERVAL_SECONDS": "0.2"}
    with running_platform(flows.NAMES, db_urls=urls, data_dir=tmp_path, env=env) as p:
        for name in flows.NAMES:
            assert p[name].settings.wire.tls.mutual
        plaintext = grpc.insecure_channel(p["points"].target, options=LOCAL)
        with pytest.raises(grpc.RpcError):
            plaintext.unary_unary("/grpc.health.v1.Health/Check")(b"", timeout=2)
        flows.seed_directory(p)  # the flow's fixture does this; here identity is reached over mTLS
        breach_grace(p["commitments"], 1)  # as the flow's fixture: a breach is final 1 s after the deadline
        flows.test_visit_banned_promise_and_commitments_flow_through_every_service_exactly_once(p)


def test_channel_factory_presents_a_rotated_client_certificate(
    probe: tuple[str, pki.Authority, Path],
) -> None:
    """A service's outgoing channels pick up its rotated certificate: the server sees the new identity."""
    target, ca, tls_dir = probe
    from covenant.auth.tokens import StaticTokenSource
    from covenant.grpc.client import ChannelFactory
    from covenant.grpc.wire import WireSettings

    wire = WireSettings.from_env(MTLS, "points", tls_dir.parent)
    factory = ChannelFactory({"scoring": target}, StaticTokenSource(None), 1 << 24, wire, check_seconds=0)
    try:
        first = factory("scoring")
        assert echo(first)
        assert factory("scoring") is first  # unchanged files: the cached channel
        # rotate to a certificate naming an identity the server does not admit: if the new channel presents
        # it, the server refuses it, which proves the rotated file is in use
        cert, key = pki.issue(ca, uris=["spiffe://elsewhere.example/sa/points"])
        pki.write_pair(tls_dir, "points", cert, key)
        second = factory("scoring")
        assert second is not first
        with pytest.raises(grpc.RpcError) as refused:
            echo(second)
        assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED
        assert "spiffe://elsewhere.example/sa/points" in refused.value.details()
        assert echo(first)  # the old channel (old certificate) keeps serving until it is retired
    finally:
        factory.close()
