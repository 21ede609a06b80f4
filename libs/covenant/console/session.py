"""The console's session: the user's tokens sealed in an HttpOnly cookie, and the CSRF token bound to it.

The cookie is AES-GCM sealed with a key from the secrets provider (``console/session``), so replicas share
sessions without a store and the browser can neither read nor alter the token it carries. The CSRF token
is an HMAC of the session id: a form posted from another site cannot know it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import time
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

COOKIE = "covenant_session"
LANG_COOKIE = "covenant_lang"
_AAD = b"covenant-console-session-v1"


@dataclass(frozen=True)
class Session:
    """What a signed-in browser carries."""

    sid: str
    access_token: str
    refresh_token: str
    username: str
    expires_at: float  # when the access token expires (epoch seconds)

    def expired(self, now: float | None = None) -> bool:
        return (now or time.time()) >= self.expires_at


class SessionSealer:
    """Seals and opens session cookies; derives CSRF tokens."""

    def __init__(self, key: bytes) -> None:
        if len(key) < 16:
            raise ValueError("the console session key must be at least 16 bytes")
        digest = hashlib.sha256(key).digest()
        self._aead = AESGCM(digest)
        self._mac_key = hashlib.sha256(b"csrf" + key).digest()

    @classmethod
    def from_text(cls, text: str) -> SessionSealer:
        return cls(text.encode())

    def new(self, access_token: str, refresh_token: str, username: str, ttl_seconds: float) -> Session:
        return Session(
            sid=secrets.token_urlsafe(16),
            access_token=access_token,
            refresh_token=refresh_token,
            username=username,
            expires_at=time.time() + ttl_seconds,
        )

    def seal(self, session: Session) -> str:
        body = json.dumps(
            [session.sid, session.access_token, session.refresh_token, session.username, session.expires_at]
        ).encode()
        nonce = os.urandom(12)
        return base64.urlsafe_b64encode(nonce + self._aead.encrypt(nonce, body, _AAD)).decode()

    def open(self, cookie: str | None) -> Session | None:
        """The session in ``cookie``, or None when it is missing, forged or tampered with."""
        if not cookie or len(cookie) > 8192:
            return None
        try:
            raw = base64.urlsafe_b64decode(cookie.encode())
            body = self._aead.decrypt(raw[:12], raw[12:], _AAD)
            sid, access, refresh, username, expires_at = json.loads(body)
        except (ValueError, InvalidTag, TypeError):
            return None
        return Session(str(sid), str(access), str(refresh), str(username), float(expires_at))

    def csrf_token(self, session: Session) -> str:
        return hmac.new(self._mac_key, session.sid.encode(), hashlib.sha256).hexdigest()

    def check_csrf(self, session: Session, token: str) -> bool:
        return hmac.compare_digest(self.csrf_token(session), token or "")
