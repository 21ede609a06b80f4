"""Client secrets: machine secrets as SHA-256 digests, short ones as argon2, old argon2 rows upgraded."""

from __future__ import annotations

from services.identity import passwords

MACHINE = passwords.new_opaque_token()  # 43 characters, as the platform makes them


def test_a_machine_secret_is_kept_as_a_digest_not_argon2() -> None:
    stored = passwords.hash_client_secret(MACHINE)
    assert stored.startswith("sha256$") and MACHINE not in stored  # no argon2 work to verify it
    assert passwords.verify_client_secret(stored, MACHINE)
    assert not passwords.verify_client_secret(stored, MACHINE[:-1] + ("A" if MACHINE[-1] != "A" else "B"))
    assert not passwords.verify_client_secret(stored, "short")
    assert not passwords.client_secret_needs_rehash(stored, MACHINE)


def test_an_unknown_client_never_verifies() -> None:
    assert not passwords.verify_client_secret(None, MACHINE)
    assert not passwords.verify_client_secret(None, "short-secret")


def test_a_short_secret_is_hashed_like_a_password() -> None:
    stored = passwords.hash_client_secret("operator-chose")
    assert stored.startswith("$argon2id$")
    assert passwords.verify_client_secret(stored, "operator-chose")
    assert not passwords.verify_client_secret(stored, "operator-chosE")


def test_an_argon2_row_of_a_machine_secret_still_verifies_and_asks_to_be_restored() -> None:
    legacy = passwords.hash_password(MACHINE)  # how every client secret was kept before
    assert passwords.verify_client_secret(legacy, MACHINE)
    assert passwords.client_secret_needs_rehash(legacy, MACHINE)


def test_made_up_credentials_never_cost_an_argon2_check(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    calls: list[str] = []
    monkeypatch.setattr(passwords, "verify_password", lambda *a: calls.append("argon2") or False)
    assert not passwords.verify_client_secret(None, "short")
    assert not passwords.verify_client_secret(None, MACHINE)
    assert not passwords.verify_client_secret(passwords.hash_client_secret(MACHINE), "short")
    assert calls == []
