"""The Vault provider (hvac over real HTTP) against tests/support/fake_vault.py.

No Vault server binary can be installed on these machines, so these tests run the provider against a TEST
DOUBLE: a local HTTP server implementing only the documented Vault HTTP API endpoints the provider calls
(token lookup/renew-self, AppRole and Kubernetes login, KV v2, transit, database creds, sys/leases/renew).
They show the provider speaks that API correctly; they do not prove anything about a real Vault.
"""

from __future__ import annotations

import logging
import secrets
import time
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from covenant.secrets import (
    DecryptionFailed,
    FieldCipher,
    SecretNotFound,
    SecretsError,
    SecretsProvider,
    provider_from_settings,
)
from covenant.secrets.database import database_url
from covenant.secrets.vault import K8S_TOKEN, VaultSecretsProvider
from covenant.settings import Settings
from tests.support.fake_vault import FakeVault


@pytest.fixture
def vault() -> Iterator[FakeVault]:
    with FakeVault() as v:
        yield v


@pytest.fixture
def make_provider(vault: FakeVault) -> Iterator[Callable[..., VaultSecretsProvider]]:
    made: list[VaultSecretsProvider] = []

    def make(**env: str) -> VaultSecretsProvider:
        base = {"VAULT_ADDR": vault.url, "VAULT_TOKEN": vault.state.root_token}
        p = VaultSecretsProvider.from_env(base | env)
        made.append(p)
        return p

    yield make
    for p in made:
        p.close()


def wait_for(cond: Callable[[], bool], timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def test_kv_v2_read_is_cached_and_write_invalidates(vault: FakeVault, make_provider) -> None:  # type: ignore[no-untyped-def]
    vault.state.kv["secret/covenant/service-accounts/points"] = {"client_secret": "s3cr3t-value"}
    p = make_provider(COVENANT_VAULT_CACHE_SECONDS="60")
    assert p.get_secret("service-accounts/points") == {"client_secret": "s3cr3t-value"}
    assert p.get_secret("service-accounts/points") == {"client_secret": "s3cr3t-value"}
    assert vault.state.kv_reads == 1  # the second read came from the cache
    assert vault.state.calls("GET", "secret/data/covenant/service-accounts/points") == 1

    p.put_secret("service-accounts/points", {"client_secret": "rotated"})  # KV v2 write: a new version
    assert vault.state.kv_versions["secret/covenant/service-accounts/points"] == 1
    assert vault.state.calls("POST", "secret/data/covenant/service-accounts/points") == 1
    assert p.get_secret("service-accounts/points") == {"client_secret": "rotated"}  # cache dropped on write
    assert vault.state.kv_reads == 2

    with pytest.raises(SecretNotFound, match="nowhere") as missing:
        p.get_secret("nowhere")
    assert isinstance(missing.value, KeyError)


def test_kv_cache_expires_and_mount_and_prefix_come_from_env(vault: FakeVault, make_provider) -> None:  # type: ignore[no-untyped-def]
    vault.state.kv["kv2/apps/covenant/x"] = {"a": "1"}
    p = make_provider(
        COVENANT_VAULT_KV_MOUNT="kv2",
        COVENANT_VAULT_KV_PREFIX="apps/covenant",
        COVENANT_VAULT_CACHE_SECONDS="0.2",
    )
    assert p.get_secret("x") == {"a": "1"}
    vault.state.kv["kv2/apps/covenant/x"] = {"a": "2"}  # changed behind the provider's back
    assert p.get_secret("x") == {"a": "1"}  # still cached
    time.sleep(0.3)
    assert p.get_secret("x") == {"a": "2"}
    uncached = make_provider(COVENANT_VAULT_KV_MOUNT="kv2", COVENANT_VAULT_KV_PREFIX="apps/covenant",
                             COVENANT_VAULT_CACHE_SECONDS="0")  # fmt: skip
    uncached.get_secret("x")
    uncached.get_secret("x")
    assert vault.state.calls("GET", "kv2/data/apps/covenant/x") == 4


def test_transit_round_trip_context_binding_and_rotation(vault: FakeVault, make_provider) -> None:  # type: ignore[no-untyped-def]
    cipher = FieldCipher(make_provider(), "identity")
    ciphertext = cipher.encrypt_str("110101199003071234", "identity.employees.national_id")
    assert ciphertext.startswith("vault:v1:") and ciphertext != "110101199003071234"
    assert "110101199003071234" not in ciphertext
    assert vault.state.transit["identity"].derived  # created on first use with a context: a derived key
    assert cipher.decrypt_str(ciphertext, "identity.employees.national_id") == "110101199003071234"
    assert cipher.encrypt_str("110101199003071234", "identity.employees.national_id") != ciphertext  # nonce

    with pytest.raises(DecryptionFailed) as wrong:
        cipher.decrypt_str(ciphertext, "identity.employees.phone")  # the context is bound
    assert "110101199003071234" not in str(wrong.value) and wrong.value.status == 400

    cipher.provider.rotate_key("identity")
    assert vault.state.calls("POST", "transit/keys/identity/rotate") == 1
    newer = cipher.encrypt_str("13812345678", "identity.employees.phone")
    assert newer.startswith("vault:v2:")
    assert cipher.decrypt_str(ciphertext, "identity.employees.national_id") == "110101199003071234"  # old one
    assert cipher.decrypt_str(newer, "identity.employees.phone") == "13812345678"

    plain = make_provider(COVENANT_VAULT_TRANSIT_MOUNT="transit")
    token = plain.encrypt("reports", b"\x00binary\xff")  # no context: an ordinary (non-derived) key
    assert plain.decrypt("reports", token) == b"\x00binary\xff"
    assert not vault.state.transit["reports"].derived


def test_database_lease_is_renewed_before_expiry_and_a_refusal_is_surfaced(
    vault: FakeVault, make_provider, caplog: pytest.LogCaptureFixture
) -> None:  # type: ignore[no-untyped-def]
    vault.state.db_lease_seconds = 1
    vault.state.renew_lease_seconds = 1
    p = make_provider()
    creds = p.database_credentials("points")
    assert vault.state.calls("GET", "database/creds/points") == 1
    assert creds.username.startswith("v-token-points-") and creds.lease_id.startswith(
        "database/creds/points/"
    )
    assert creds.lease_duration == 1 and creds.renewable and creds.password not in repr(creds)

    lost: list[str] = []
    renewer = p.start_renewer(creds, on_lost=lost.append)
    first_expiry = renewer.expires_at
    # Renewed at two thirds of each 1 s lease: the lease outlives its original expiry several times over.
    assert wait_for(lambda: renewer.renewals >= 3)
    assert vault.state.leases[creds.lease_id].renewals >= 3 and renewer.expires_at > first_expiry + 1
    assert all(lease_id == creds.lease_id for lease_id, _ in vault.state.lease_renewals)
    assert vault.state.calls("PUT", "sys/leases/renew") >= 3
    assert not renewer.lost.is_set() and lost == []

    with caplog.at_level(logging.DEBUG):
        vault.state.refuse_lease_renewals = True  # e.g. the role's max TTL reached or the lease revoked
        assert renewer.lost.wait(5)
    assert lost and "refused" in lost[0] and "HTTP 400" in lost[0]
    assert renewer.lost_reason == lost[0]
    assert creds.password not in caplog.text and creds.password not in lost[0]
    assert len(lost) == 1  # signalled once, and the renewer stopped


def test_database_url_uses_the_engine_credentials_and_keeps_them_renewed(
    vault: FakeVault, make_provider
) -> None:  # type: ignore[no-untyped-def]
    vault.state.db_lease_seconds = 1
    env = {
        "COVENANT_VAULT_DB_ROLE": "points",
        "COVENANT_POINTS_DB_URL": "postgresql://owner:pw@db:5432/points",
    }
    p = make_provider()
    url = make_url(database_url(Settings.from_env("points", env), p, on_lost=lambda _r: None))
    assert url.username.startswith("v-token-points-") and url.password and url.password != "pw"
    assert url.host == "db" and url.database == "points"
    assert wait_for(lambda: any(lease.renewals >= 1 for lease in vault.state.leases.values()))


def test_token_is_renewed_with_renew_self_and_a_refused_renewal_is_surfaced(
    vault: FakeVault, make_provider
) -> None:  # type: ignore[no-untyped-def]
    token = vault.state.issue_token(1)  # a renewable service token with a 1 s TTL
    p = make_provider(VAULT_TOKEN=token)
    assert p.token_renewer is not None and p.token_renewer.lease_duration == 1
    assert wait_for(lambda: vault.state.token_renewals >= 2)
    assert vault.state.calls("POST", "auth/token/renew-self") >= 2
    vault.state.kv["secret/covenant/x"] = {"a": "b"}
    time.sleep(1.2)  # past the token's original TTL: still valid because it was renewed
    assert p.get_secret("x") == {"a": "b"}
    vault.state.refuse_token_renewals = True
    assert p.token_renewer.lost.wait(5)
    assert "refused" in (p.token_renewer.lost_reason or "") or "no more time" in (
        p.token_renewer.lost_reason or ""
    )
    assert token not in (p.token_renewer.lost_reason or "")

    root = make_provider()  # the root token never expires: nothing to renew
    assert root.token_renewer is None


def test_approle_login_renews_and_logs_in_again_when_renewal_is_refused(
    vault: FakeVault, make_provider, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    vault.state.auth_mounts["approle-covenant"] = "approle"
    vault.state.approle["role-1"] = "secret-id-1"
    vault.state.kv["secret/covenant/x"] = {"a": "b"}
    vault.state.login_ttl = 1
    secret_file = tmp_path / "secret-id"
    secret_file.write_text("secret-id-1\n")
    p = make_provider(
        VAULT_TOKEN="",
        COVENANT_VAULT_AUTH="approle",
        COVENANT_VAULT_AUTH_MOUNT="approle-covenant",
        COVENANT_VAULT_ROLE_ID="role-1",
        COVENANT_VAULT_SECRET_ID_FILE=str(secret_file),
    )
    assert vault.state.calls("POST", "auth/approle-covenant/login") == 1
    assert p.client.token != vault.state.root_token and p.client.token in vault.state.tokens
    assert p.get_secret("x") == {"a": "b"}
    first = p.client.token
    vault.state.refuse_token_renewals = True  # renew-self refused: the provider logs in again instead
    # the fake counts the login on arrival; the client holds the new token once the reply is read
    assert wait_for(
        lambda: vault.state.calls("POST", "auth/approle-covenant/login") >= 2 and p.client.token != first
    )
    assert p.client.token != first and not p.token_renewer.lost.is_set()  # type: ignore[union-attr]

    vault.state.kv["secret/covenant/y"] = {"c": "d"}
    logins = vault.state.calls("POST", "auth/approle-covenant/login")
    del vault.state.tokens[p.client.token]  # revoked behind its back: the next call logs in again (403)
    assert p.get_secret("y") == {"c": "d"}
    assert vault.state.calls("POST", "auth/approle-covenant/login") > logins

    with pytest.raises(SecretsError, match="login") as bad:
        make_provider(
            VAULT_TOKEN="",
            COVENANT_VAULT_AUTH="approle",
            COVENANT_VAULT_AUTH_MOUNT="approle-covenant",
            COVENANT_VAULT_ROLE_ID="role-1",
            COVENANT_VAULT_SECRET_ID="not-the-secret-id",
        )
    assert bad.value.status == 400 and "not-the-secret-id" not in "".join(
        traceback.format_exception(bad.value)
    )


def test_kubernetes_login_with_the_service_account_token(
    vault: FakeVault, make_provider, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    assert K8S_TOKEN == "/var/run/secrets/kubernetes.io/serviceaccount/token"  # the documented default
    jwt_file = tmp_path / "token"
    jwt_file.write_text("eyJ.k8s-sa-jwt.sig")
    vault.state.k8s_roles["covenant-points"] = "eyJ.k8s-sa-jwt.sig"
    vault.state.kv["secret/covenant/x"] = {"a": "b"}
    k = make_provider(
        VAULT_TOKEN="",
        VAULT_NAMESPACE="team-a",
        COVENANT_VAULT_AUTH="kubernetes",
        COVENANT_VAULT_ROLE="covenant-points",
        COVENANT_VAULT_K8S_TOKEN_FILE=str(jwt_file),
    )
    assert k.get_secret("x") == {"a": "b"}
    login = [r for r in vault.state.requests if r.path == "auth/kubernetes/login"]
    assert len(login) == 1 and login[0].method == "POST" and login[0].token is None
    assert {r.namespace for r in vault.state.requests} == {"team-a"}  # VAULT_NAMESPACE on every call
    assert k.client.token in vault.state.tokens

    jwt_file.write_text("eyJ.another-pods-token.sig")
    with pytest.raises(SecretsError, match=r"login.*HTTP 403") as refused:
        make_provider(
            VAULT_TOKEN="",
            COVENANT_VAULT_AUTH="kubernetes",
            COVENANT_VAULT_ROLE="covenant-points",
            COVENANT_VAULT_K8S_TOKEN_FILE=str(jwt_file),
        )
    assert "another-pods-token" not in str(refused.value)


def test_no_secret_value_in_repr_str_or_exception_text(vault: FakeVault, make_provider) -> None:  # type: ignore[no-untyped-def]
    # Values made at run time, so a traceback's source lines cannot contain them by accident.
    kv_value, new_value, national_id = (secrets.token_hex(8) for _ in range(3))
    token = vault.state.issue_token(3600)
    p = make_provider(VAULT_TOKEN=token)
    vault.state.kv["secret/covenant/service-accounts/points"] = {"client_secret": kv_value}
    p.get_secret("service-accounts/points")
    creds = p.database_credentials("points")
    texts = [
        repr(p),
        str(p),
        repr(creds),
        str(creds),
        repr(FieldCipher(p, "identity")),
        repr(p.token_renewer),
    ]
    del vault.state.tokens[token]  # revoked: token auth cannot log in again, so calls fail
    for call in (
        lambda: p.encrypt("identity", national_id.encode(), context=b"c"),
        lambda: p.put_secret("service-accounts/points", {"client_secret": new_value}),
        lambda: p.decrypt("identity", "vault:v1:AAAA", context=national_id.encode()),
    ):
        with pytest.raises(SecretsError) as failed:
            call()
        assert failed.value.status == 403 and failed.value.__cause__ is None
        assert failed.value.__suppress_context__  # hvac's exception (response body) is not shown
        texts.append("".join(traceback.format_exception(failed.value)))
    everything = "\n".join(texts)
    for secret in (kv_value, new_value, national_id, token, creds.password):
        assert secret not in everything


def test_provider_from_settings_picks_vault(vault: FakeVault, tmp_path: Path) -> None:
    env = {
        "COVENANT_DATA_DIR": str(tmp_path),
        "COVENANT_SECRETS_PROVIDER": "vault",
        "VAULT_ADDR": vault.url,
        "VAULT_TOKEN": vault.state.root_token,
    }
    p = provider_from_settings(Settings.from_env("points", env))
    try:
        assert isinstance(p, VaultSecretsProvider) and isinstance(p, SecretsProvider)
        assert vault.state.calls("GET", "auth/token/lookup-self") == 1
    finally:
        p.close()
    with pytest.raises(SecretsError, match="VAULT_TOKEN"):
        provider_from_settings(Settings.from_env("points", env | {"VAULT_TOKEN": ""}))
