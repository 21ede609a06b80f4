"""Password hashing (argon2id via argon2-cffi), client-secret and opaque token digests.

Passwords are chosen by people and guessable: argon2id makes each guess cost ~0.1 s of CPU. A client secret
of ``MACHINE_SECRET_MIN_CHARS`` or more is a machine secret (the platform makes them with 256 bits of
randomness): no guess can succeed, so it is kept as a SHA-256 digest and checked in microseconds, as API keys
are. Argon2 there only cost identity ~0.1 s per service-token request (a cost any caller could make it pay
with made-up credentials) and every start ~0.1 s per service account. A shorter client secret (an operator's
own choice in the secrets store) is hashed like a password. See docs/security.md.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()  # argon2id, library defaults (RFC 9106 low-memory profile)

# Verified against when the account does not exist, so timing does not reveal valid usernames.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """True when ``password`` matches; an unknown account (None) still costs one verification."""
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


def new_opaque_token() -> str:
    """A random refresh token / client secret (256 bits)."""
    return secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    """SHA-256 of a high-entropy opaque token (what is stored instead of the token)."""
    return hashlib.sha256(token.encode()).hexdigest()


#: A client secret at least this long is treated as a machine secret (SHA-256 digest, not argon2).
MACHINE_SECRET_MIN_CHARS = 32
_DIGEST = "sha256$"


def hash_client_secret(secret: str) -> str:
    """What is stored for a service account's secret (see the module docstring)."""
    if len(secret) >= MACHINE_SECRET_MIN_CHARS:
        return _DIGEST + token_digest(secret)
    return hash_password(secret)


def verify_client_secret(secret_hash: str | None, secret: str) -> bool:
    """True when ``secret`` matches. Argon2 runs only for a stored argon2 hash: an unknown account (None)
    costs one digest comparison, whatever is sent, so made-up credentials cost identity next to nothing."""
    if secret_hash is None or secret_hash.startswith(_DIGEST):
        expected = secret_hash or _DIGEST + token_digest("")  # the same comparison for an unknown account
        return hmac.compare_digest(expected, _DIGEST + token_digest(secret)) and secret_hash is not None
    return verify_password(secret_hash, secret)


def client_secret_needs_rehash(secret_hash: str, secret: str) -> bool:
    """Whether a verified secret is stored in an older form (an argon2 hash of a machine secret)."""
    current_kind = len(secret) >= MACHINE_SECRET_MIN_CHARS
    return current_kind != secret_hash.startswith(_DIGEST) or (not current_kind and needs_rehash(secret_hash))
