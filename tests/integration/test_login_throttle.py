"""Login through real gRPC (SQLite and PostgreSQL): one answer for every refusal, throttled by source;
Covenant services' own accounts cannot be created by hand.

Observed on main: login told a locked account from an unknown one, and anyone could lock any account,
admin included, with five wrong passwords. Now every refused login reads the same, and failures throttle
the source that makes them (RESOURCE_EXHAUSTED) while the account's owner, elsewhere, logs in as usual.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import grpc
import pytest
from sqlalchemy import update

from covenant.grpc.testing import RunningService, bearer, running_service
from covenant.identity.v1 import accounts_pb2, identity_service_pb2_grpc
from services.identity import storage

PASSWORD = "Passw0rd-rep"


def _identity(url: str, tmp_path: Path) -> Iterator[RunningService]:
    # The test client stands in for the console: a trusted proxy that names each user's address.
    env = {
        "COVENANT_IDENTITY_TRUSTED_PROXIES": "127.0.0.1/32",
        "COVENANT_IDENTITY_LOGIN_FAILURES_PER_SOURCE": "8",
    }
    with running_service("identity", db_url=url, data_dir=tmp_path, env=env) as s:
        yield s


@pytest.fixture
def svc(db_url: str, tmp_path: Path) -> Iterator[RunningService]:
    yield from _identity(db_url, tmp_path)


@pytest.fixture
def lite(sqlite_url: str, tmp_path: Path) -> Iterator[RunningService]:
    """SQLite only, for what does not depend on the database."""
    yield from _identity(sqlite_url, tmp_path)


def stub(svc: RunningService) -> identity_service_pb2_grpc.IdentityServiceStub:
    return identity_service_pb2_grpc.IdentityServiceStub(svc.channel)


def admin_password(svc: RunningService) -> str:
    return svc.host.ctx.secrets.get_secret("identity/bootstrap-admin")["password"]  # type: ignore[union-attr]


def login(svc: RunningService, username: str, password: str, source: str) -> accounts_pb2.TokenPair:
    req = accounts_pb2.LoginRequest(username=username, password=password)
    return stub(svc).Login(req, metadata=[("x-forwarded-for", source)], timeout=30)


def refusal(svc: RunningService, username: str, password: str, source: str) -> tuple[grpc.StatusCode, str]:
    with pytest.raises(grpc.RpcError) as err:
        login(svc, username, password, source)
    return err.value.code(), err.value.details() or ""


def add_account(svc: RunningService, username: str) -> None:
    admin = bearer(login(svc, "admin", admin_password(svc), "192.0.2.1").access_token)
    stub(svc).CreateAccount(
        accounts_pb2.CreateAccountRequest(account=accounts_pb2.Account(username=username), password=PASSWORD),
        metadata=admin,
        timeout=10,
    )


def test_unknown_locked_disabled_and_wrong_password_read_the_same(svc: RunningService) -> None:
    add_account(svc, "locked1")
    add_account(svc, "disabled1")
    add_account(svc, "rep1")
    with svc.host.ctx.db.session() as s:  # type: ignore[union-attr]
        s.execute(
            update(storage.accounts)
            .where(storage.accounts.c.username == "locked1")
            .values(locked_until=datetime.now(UTC) + timedelta(hours=1), failed_attempts=9)
        )
        s.execute(
            update(storage.accounts).where(storage.accounts.c.username == "disabled1").values(disabled=True)
        )
    answers = {
        "unknown": refusal(svc, "nobody", PASSWORD, "198.51.100.1"),
        "locked": refusal(svc, "locked1", PASSWORD, "198.51.100.2"),
        "disabled": refusal(svc, "disabled1", PASSWORD, "198.51.100.3"),
        "wrong password": refusal(svc, "rep1", "Wrong-passw0rd", "198.51.100.4"),
    }
    assert set(answers.values()) == {(grpc.StatusCode.UNAUTHENTICATED, "invalid username or password")}, (
        answers
    )
    assert login(svc, "rep1", PASSWORD, "198.51.100.4").access_token


def test_nobody_can_lock_the_admin_out_the_guessing_source_is_throttled(svc: RunningService) -> None:
    attacker, owner = "203.0.113.66", "198.51.100.7"
    codes = [refusal(svc, "admin", f"Guess-{i:04d}x", attacker)[0] for i in range(8)]
    assert codes[:5] == [grpc.StatusCode.UNAUTHENTICATED] * 5
    assert codes[5:] == [grpc.StatusCode.RESOURCE_EXHAUSTED] * 3
    # Even the right password is refused from the throttled source (guessing cannot continue there)...
    code, details = refusal(svc, "admin", admin_password(svc), attacker)
    assert code == grpc.StatusCode.RESOURCE_EXHAUSTED and "retry in" in details
    # ...while the owner, from their own address, logs in at once: the account was never locked.
    pair = login(svc, "admin", admin_password(svc), owner)
    account = stub(svc).GetAccount(
        accounts_pb2.GetAccountRequest(name="accounts/admin"), metadata=bearer(pair.access_token), timeout=10
    )
    assert not account.locked


def test_spraying_many_accounts_from_one_source_is_throttled(lite: RunningService) -> None:
    svc = lite
    sprayer = "203.0.113.99"
    codes = [refusal(svc, f"user{i:02d}", "Spring2026!x", sprayer)[0] for i in range(9)]
    assert codes[:8] == [grpc.StatusCode.UNAUTHENTICATED] * 8  # the budget set above: 8 per source
    assert codes[8] == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert login(svc, "admin", admin_password(svc), "198.51.100.8").access_token


def test_a_client_cannot_pick_its_source_unless_it_is_a_trusted_proxy(
    sqlite_url: str, tmp_path: Path
) -> None:
    with running_service("identity", db_url=sqlite_url, data_dir=tmp_path) as svc:  # no trusted proxies
        codes = [refusal(svc, "admin", f"Guess-{i:04d}x", f"203.0.113.{i}")[0] for i in range(6)]
    assert codes[5] == grpc.StatusCode.RESOURCE_EXHAUSTED  # a fresh x-forwarded-for each time did not help


def test_a_covenant_services_own_account_cannot_be_created_by_hand(lite: RunningService) -> None:
    """Event provenance trusts ``serviceAccounts/<service>``: only the bootstrap may make those accounts."""
    svc = lite
    admin = bearer(login(svc, "admin", admin_password(svc), "192.0.2.1").access_token)
    for name in ("points", "commitments"):
        req = accounts_pb2.CreateServiceAccountRequest(
            service_account=accounts_pb2.ServiceAccount(client_id=name)
        )
        with pytest.raises(grpc.RpcError) as err:
            stub(svc).CreateServiceAccount(req, metadata=admin, timeout=10)
        assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED
        assert "identity.service_accounts.write" in (err.value.details() or "")
    crm = accounts_pb2.CreateServiceAccountRequest(
        service_account=accounts_pb2.ServiceAccount(client_id="crm")
    )
    assert stub(svc).CreateServiceAccount(crm, metadata=admin, timeout=10).client_secret
