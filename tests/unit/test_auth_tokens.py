"""Local token verification: expiry, tampering, unknown keys, revocation, rotation."""

from __future__ import annotations

import json
import time

import pytest

from covenant.auth import (
    JwksKeySource,
    StaticKeySource,
    TokenSigner,
    TokenVerifier,
    generate_signing_key,
    jwks_document,
)
from covenant.errors import Unauthenticated


@pytest.fixture(scope="module")
def signer() -> TokenSigner:
    kid, pem = generate_signing_key()
    return TokenSigner(pem, kid)


def test_round_trip_carries_claims(signer: TokenSigner) -> None:
    token = signer.issue(
        "employees/E1", employee_id="E1", org_unit="/hq/t1", permissions={"a.b.read": "team"}
    )
    p = TokenVerifier(StaticKeySource(signer.jwks())).verify(token)
    assert (p.employee_id, p.org_unit, str(p.scope_for("a.b.read"))) == ("E1", "/hq/t1", "team")


def test_expired_token_rejected(signer: TokenSigner) -> None:
    token = signer.issue("u", ttl_seconds=10, now=time.time() - 3600)
    with pytest.raises(Unauthenticated, match="expired"):
        TokenVerifier(StaticKeySource(signer.jwks())).verify(token)


def test_tampered_token_rejected(signer: TokenSigner) -> None:
    header, payload, sig = signer.issue("u", permissions={"x.y.read": "self"}).split(".")
    import base64

    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["perms"] = {"*": "all"}
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    with pytest.raises(Unauthenticated, match="signature"):
        TokenVerifier(StaticKeySource(signer.jwks())).verify(f"{header}.{forged}.{sig}")


def test_token_from_unknown_key_rejected(signer: TokenSigner) -> None:
    kid, pem = generate_signing_key()
    other = TokenSigner(pem, kid)
    with pytest.raises(Unauthenticated, match="unknown signing key"):
        TokenVerifier(StaticKeySource(signer.jwks())).verify(other.issue("u"))


def test_revocation_reaches_a_verifier_on_refresh(signer: TokenSigner) -> None:
    token = signer.issue("u", jti="j-1")
    revoked: list[dict[str, object]] = []
    source = JwksKeySource(
        lambda: jwks_document([(signer.kid, signer.private_key_pem)], revoked), refresh_seconds=0
    )
    verifier = TokenVerifier(source)
    verifier.verify(token)
    revoked.append({"jti": "j-1", "exp": int(time.time()) + 600})
    source.refresh()
    with pytest.raises(Unauthenticated, match="revoked"):
        verifier.verify(token)  # also when the verified token was cached


def test_rotation_keeps_old_tokens_valid(signer: TokenSigner) -> None:
    kid2, pem2 = generate_signing_key()
    new = TokenSigner(pem2, kid2)
    both = jwks_document([(new.kid, pem2), (signer.kid, signer.private_key_pem)])
    verifier = TokenVerifier(StaticKeySource(both))
    assert verifier.verify(signer.issue("old")).subject == "old"
    assert verifier.verify(new.issue("new")).subject == "new"


def test_identity_outage_keeps_last_good_keys(signer: TokenSigner) -> None:
    calls = {"n": 0}

    def fetch() -> str:
        calls["n"] += 1
        if calls["n"] > 1:
            raise ConnectionError("identity down")
        return signer.jwks()

    source = JwksKeySource(fetch, refresh_seconds=0, min_refetch_seconds=0)
    verifier = TokenVerifier(source, cache_size=0)
    for _ in range(3):
        assert verifier.verify(signer.issue("u")).subject == "u"
