"""Opaque page tokens for every list RPC: a keyset cursor bound to the request's filter.

``page_token(cursor, bound_to)`` writes the position after the last row returned (a key, or a tuple of
keys) together with a digest of the filter the page was read with; ``page_cursor(token, bound_to)`` reads
it back. A token that does not decode, was written for another list or filter, or holds a cursor of the
wrong shape is INVALID_ARGUMENT naming ``page_token``, never INTERNAL. Tokens are base64url text, so a
client can only pass them back, not build them; nothing in them is secret (a forged cursor can only move
within the caller's own filter, which the query still scopes).

``page(size, token, bound_to, fetch, key=...)`` is how a list RPC uses them: it reads the page size and the
cursor, fetches one row more than the page holds and writes the next page's token.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from covenant.errors import InvalidArgument

MAX_TOKEN_CHARS = 512
# every list RPC: page_size 0 means DEFAULT_PAGE, a larger one than MAX_PAGE gets MAX_PAGE
DEFAULT_PAGE, MAX_PAGE = 50, 1000
Cursor = int | str | tuple[int | str, ...]
_VERSION = 1
R = TypeVar("R")


def page_size(value: int) -> int:
    """The page size a list RPC serves for a requested ``page_size`` (negative is INVALID_ARGUMENT)."""
    if value < 0:
        raise InvalidArgument("must not be negative", field="page_size")
    return min(value or DEFAULT_PAGE, MAX_PAGE)


def _digest(bound_to: Any) -> str:
    text = json.dumps(bound_to, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def page_token(cursor: Cursor | None, bound_to: Any = None) -> str:
    """The token for the page after ``cursor`` ("" when there is no next page: ``cursor`` is None)."""
    if cursor is None:
        return ""
    body = {"v": _VERSION, "f": _digest(bound_to), "k": list(cursor) if isinstance(cursor, tuple) else cursor}
    raw = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _bad(detail: str) -> InvalidArgument:
    return InvalidArgument(
        f"is not a page token of this list ({detail}); pass next_page_token back unchanged",
        field="page_token",
    )


def _key(value: Any) -> int | str:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise _bad("bad cursor")
    if isinstance(value, int) and not 0 <= value < 2**63:
        raise _bad("cursor out of range")
    if isinstance(value, str) and (len(value) > 256 or "\x00" in value):
        raise _bad("bad cursor")
    return value


def page_cursor(token: str, bound_to: Any = None, *, kind: type | tuple[type, ...] = (int, str)) -> Any:
    """The cursor a token from ``page_token`` holds (None for the first page, token ""). ``kind``: the type
    of the cursor (``int``, ``str``, or ``tuple`` for a composite key)."""
    if not token:
        return None
    if len(token) > MAX_TOKEN_CHARS:
        raise _bad("too long")
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        body = json.loads(raw.decode())
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise _bad("not decodable") from None
    if not isinstance(body, dict) or body.get("v") != _VERSION or "k" not in body:
        raise _bad("unknown format")
    if body.get("f") != _digest(bound_to):
        raise _bad("it was issued for another filter")
    cursor = body["k"]
    if isinstance(cursor, list):
        if kind is not tuple or not cursor or len(cursor) > 8:
            raise _bad("bad cursor")
        return tuple(_key(v) for v in cursor)
    if kind is tuple:
        raise _bad("bad cursor")
    value = _key(cursor)
    if not isinstance(value, kind):
        raise _bad("bad cursor")
    return value


def page(
    size: int,
    token: str,
    bound_to: Any,
    fetch: Callable[[Any, int], Sequence[R]],
    *,
    key: Callable[[R], Cursor],
    kind: type | tuple[type, ...] = (int, str),
    first: Any = None,
) -> tuple[list[R], str]:
    """One page of a keyset-paged list from the request's ``page_size`` and ``page_token``: its rows and the
    next page's token ("" after the last page).

    ``fetch(cursor, limit)`` returns at most ``limit`` rows following ``cursor`` in the list's own order
    (rows below it for a newest-first list); it is asked for one row more than the page holds, which only
    tells whether another page follows. ``cursor`` is what the token holds (``kind`` as in ``page_cursor``),
    or ``first`` on the first page. ``key(row)`` is a row's cursor (a key or a tuple of keys); the last row of
    the page gives the next token. A bad ``page_size`` or ``page_token`` is INVALID_ARGUMENT before
    ``fetch`` runs."""
    limit = page_size(size)
    cursor = page_cursor(token, bound_to, kind=kind)
    rows = list(fetch(first if cursor is None else cursor, limit + 1))
    return rows[:limit], page_token(key(rows[limit - 1]) if len(rows) > limit else None, bound_to)
