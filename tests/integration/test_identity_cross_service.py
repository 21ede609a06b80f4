"""Tokens issued by a running identity service, verified LOCALLY by another running service.

The second service is the chassis probe app (tests/support/probe_app.py) hosted by the real ServiceHost;
its verifier pulls the JWKS (keys + revocation list) from identity over gRPC, as every service does.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest

from covenant.auth import JwksKeySource, TokenVerifier
from covenant.grpc.client import identity_jwks_fetcher, plain_channel
from covenant.grpc.server import ServiceHost
from covenant.grpc.testing import RunningService, bearer, running_service, service_env
from covenant.identity.v1 import accounts_pb2, identity_service_pb2_grpc, keys_pb2
from covenant.settings import Settings
from tests.support import probe_app


@dataclass
class Pair:
    identity: RunningService
    stub: identity_service_pb2_grpc.IdentityServiceStub
    probe: ServiceHost
    probe_channel: grpc.Channel
    admin: list[tuple[str, str]]

    def echo(self, token: str) -> bytes:
        return self.probe_channel.unary_unary(f"/{probe_app.SERVICE}/Echo")(
            b"hi", metadata=bearer(token), timeout=10
        )

    def rejected(self, token: str) -> str:
        with pytest.raises(grpc.RpcError) as err:
            self.echo(token)
        assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED
        return err.value.details() or ""


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[Pair]:
    with running_service(
        "identity", db_url=f"sqlite:///{tmp_path / 'identity.db'}", data_dir=tmp_path
    ) as ident:
        stub = identity_service_pb2_grpc.IdentityServiceStub(ident.channel)
        password = ident.host.ctx.secrets.get_secret("identity/bootstrap-admin")["password"]
        admin = bearer(
            stub.Login(
                accounts_pb2.LoginRequest(username="admin", password=password), timeout=10
            ).access_token
        )
        (tmp_path / "rules").mkdir()
        env = service_env(
            "scoring",
            db_url=f"sqlite:///{tmp_path / 'probe.db'}",
            data_dir=tmp_path,  # same dev secrets file: the probe's service-account secret
            extra={"COVENANT_IDENTITY_TARGET": ident.target, "COVENANT_RULES_DIR": str(tmp_path / "rules")},
        )
        verifier = TokenVerifier(
            JwksKeySource(identity_jwks_fetcher(plain_channel(ident.target)), refresh_seconds=0.3)
        )
        probe = ServiceHost(
            Settings.from_env("scoring", env),
            verifier=verifier,
            create_app=probe_app.create_app,
            vocabulary=probe_app.VOCABULARY,
        )
        probe.start()
        channel = grpc.insecure_channel(f"127.0.0.1:{probe.port}")
        try:
            yield Pair(ident, stub, probe, channel, admin)
        finally:
            channel.close()
            probe.stop(grace=1)


def _login(p: Pair) -> accounts_pb2.TokenPair:
    password = p.identity.host.ctx.secrets.get_secret("identity/bootstrap-admin")["password"]
    return p.stub.Login(accounts_pb2.LoginRequest(username="admin", password=password), timeout=10)


def _signer(p: Pair):  # type: ignore[no-untyped-def]
    servicer = p.identity.host.app.servicers[0][1]
    return servicer.svc.keys.signer


def test_identity_token_accepted_and_expired_or_tampered_rejected(pair: Pair) -> None:
    token = _login(pair).access_token
    assert pair.echo(token) == b"hi|accounts/admin"
    expired = _signer(pair).issue("accounts/admin", ttl_seconds=60, now=time.time() - 3600)
    assert "expired" in pair.rejected(expired)
    header, payload, sig = token.split(".")
    tampered_sig = f"{header}.{payload}.{sig[:-4]}{'AAAA' if sig[-4:] != 'AAAA' else 'BBBB'}"
    assert "signature" in pair.rejected(tampered_sig)
    import base64
    import json

    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["perms"] = {"*": "all"}
    claims["sub"] = "accounts/mallory"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
    assert "signature" in pair.rejected(f"{header}.{forged}.{sig}")


def test_revoked_token_is_rejected_by_the_other_service(pair: Pair) -> None:
    token = _login(pair).access_token
    assert pair.echo(token) == b"hi|accounts/admin"  # now cached by the probe's verifier
    resp = pair.stub.RevokeToken(accounts_pb2.RevokeTokenRequest(token=token), metadata=bearer(token))
    assert resp.token_kind == "access"
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            pair.echo(token)
        except grpc.RpcError as err:
            assert err.code() == grpc.StatusCode.UNAUTHENTICATED and "revoked" in (err.details() or "")
            break
        time.sleep(0.2)
    else:
        pytest.fail("revoked token still accepted by the other service after 10 s")


def test_key_rotation_keeps_old_tokens_valid_until_expiry(pair: Pair) -> None:
    old = _login(pair).access_token
    assert pair.echo(old)
    rotated = pair.stub.RotateSigningKey(accounts_pb2.RotateSigningKeyRequest(), metadata=pair.admin)
    assert rotated.previous_kids
    new = _login(pair).access_token
    assert new.split(".")[0] != old.split(".")[0]  # different kid header
    assert pair.echo(new) == b"hi|accounts/admin"  # unknown kid: the probe refetches the JWKS
    assert pair.echo(old) == b"hi|accounts/admin"  # previous key still published
    import json

    jwks = json.loads(pair.stub.GetJwks(keys_pb2.GetJwksRequest()).jwks_json)
    assert {rotated.kid, *rotated.previous_kids} <= {k["kid"] for k in jwks["keys"]}


def test_bootstrapped_service_account_authenticates_the_other_service(pair: Pair) -> None:
    # The probe runs as "scoring": its token source uses service-accounts/scoring from the secrets provider.
    token = pair.probe.token_source.token()  # type: ignore[union-attr]
    assert pair.echo(token) == b"hi|serviceAccounts/scoring"
    with pytest.raises(grpc.RpcError) as err:
        pair.stub.IssueServiceToken(
            keys_pb2.IssueServiceTokenRequest(client_id="scoring", client_secret="nope")
        )
    assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED


def test_a_service_account_kept_as_argon2_still_authenticates_and_is_restored_as_a_digest(pair: Pair) -> None:
    """Rows written before client secrets were digests keep working; the first good request upgrades them."""
    from sqlalchemy import text

    from services.identity import passwords

    secret = pair.identity.host.ctx.secrets.get_secret("service-accounts/scoring")["client_secret"]
    db = pair.identity.host.ctx.db  # type: ignore[union-attr]

    def stored() -> str:
        with db.session() as s:
            return str(
                s.execute(
                    text("SELECT secret_hash FROM identity_service_accounts WHERE client_id = 'scoring'")
                ).scalar()
            )

    assert stored().startswith("sha256$")
    with db.session() as s:
        s.execute(
            text("UPDATE identity_service_accounts SET secret_hash = :h WHERE client_id = 'scoring'"),
            {"h": passwords.hash_password(secret)},
        )
    token = pair.stub.IssueServiceToken(
        keys_pb2.IssueServiceTokenRequest(client_id="scoring", client_secret=secret), timeout=10
    ).access_token
    assert pair.echo(token) == b"hi|serviceAccounts/scoring"
    assert stored().startswith("sha256$")
