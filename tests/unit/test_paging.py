"""The one page-token helper: opaque, bound to the filter, garbage refused as INVALID_ARGUMENT."""

from __future__ import annotations

import base64

import pytest

from covenant.errors import InvalidArgument
from covenant.paging import page_cursor, page_token


def test_a_token_round_trips_its_cursor_for_the_same_filter() -> None:
    assert page_cursor(page_token(42, ("ledger", "E1")), ("ledger", "E1"), kind=int) == 42
    assert page_cursor(page_token("E7", ("employees", "/hq")), ("employees", "/hq"), kind=str) == "E7"
    assert page_cursor(page_token(("2026-11", 3), "x"), "x", kind=tuple) == ("2026-11", 3)
    assert page_token(None, "x") == "" and page_cursor("", "x") is None


def test_a_token_is_opaque_text() -> None:
    token = page_token(42, ("ledger", "E1"))
    assert token.isascii() and "42" not in token and "ledger" not in token


@pytest.mark.parametrize(
    "token",
    [
        "not a token",
        "!!!!",
        "12345",
        "-1",
        "9" * 600,
        base64.urlsafe_b64encode(b'{"v":2,"f":"x","k":1}').decode(),
        base64.urlsafe_b64encode(b"[1,2,3]").decode(),
        base64.urlsafe_b64encode(b"\xff\xfe").decode(),
    ],
)
def test_garbage_is_invalid_argument_naming_page_token(token: str) -> None:
    with pytest.raises(InvalidArgument, match="^page_token: "):
        page_cursor(token, ("ledger", "E1"), kind=int)


def test_a_token_of_another_filter_or_cursor_type_is_refused() -> None:
    token = page_token(42, ("ledger", "E1"))
    with pytest.raises(InvalidArgument, match="another filter"):
        page_cursor(token, ("ledger", "E2"), kind=int)
    with pytest.raises(InvalidArgument, match="bad cursor"):
        page_cursor(token, ("ledger", "E1"), kind=str)
    with pytest.raises(InvalidArgument, match="out of range"):
        page_cursor(page_token(2**70, "f"), "f", kind=int)
