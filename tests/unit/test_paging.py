"""The one page-token helper: opaque, bound to the filter, garbage refused as INVALID_ARGUMENT."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

import pytest

from covenant.errors import InvalidArgument
from covenant.paging import page, page_cursor, page_token


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


ROWS = [{"id": i, "name": f"n{i}"} for i in range(1, 6)]  # ids 1..5, ascending


class Fetch:
    """An in-memory keyset query over ``ROWS`` by id (ascending, or descending with ``before``)."""

    def __init__(self, *, before: bool = False) -> None:
        self.before = before
        self.calls: list[tuple[int | None, int]] = []

    def __call__(self, cursor: int | None, limit: int) -> list[dict[str, Any]]:
        self.calls.append((cursor, limit))
        if self.before:
            rows = [r for r in reversed(ROWS) if not cursor or r["id"] < cursor]
        else:
            rows = [r for r in ROWS if r["id"] > (cursor or 0)]
        return rows[:limit]


def ids(rows: list[dict[str, Any]]) -> list[int]:
    return [r["id"] for r in rows]


def test_page_reads_the_first_page_with_one_row_more_than_it_holds() -> None:
    fetch = Fetch()
    rows, token = page(2, "", "f", fetch, key=itemgetter("id"), kind=int, first=0)
    assert ids(rows) == [1, 2] and fetch.calls == [(0, 3)]
    assert page_cursor(token, "f", kind=int) == 2


def test_page_follows_its_tokens_to_the_last_page_which_has_none() -> None:
    fetch, seen, token, pages = Fetch(), [], "", 0
    while True:
        rows, token = page(2, token, "f", fetch, key=itemgetter("id"), kind=int, first=0)
        seen, pages = seen + ids(rows), pages + 1
        if not token:
            break
    assert seen == [1, 2, 3, 4, 5] and pages == 3
    assert [c for c, _ in fetch.calls] == [0, 2, 4]


def test_a_page_that_ends_the_list_exactly_has_no_next_token() -> None:
    rows, token = page(5, "", "f", Fetch(), key=itemgetter("id"), kind=int, first=0)
    assert ids(rows) == [1, 2, 3, 4, 5] and token == ""
    assert page(0, "", "f", Fetch(), key=itemgetter("id"), kind=int, first=0) == (ROWS, "")  # 0: default size


def test_page_with_a_descending_before_cursor() -> None:
    fetch = Fetch(before=True)
    rows, token = page(2, "", "f", fetch, key=itemgetter("id"), kind=int)
    assert ids(rows) == [5, 4] and fetch.calls == [(None, 3)]  # first=None: no cursor yet
    rows, token = page(2, token, "f", fetch, key=itemgetter("id"), kind=int)
    assert ids(rows) == [3, 2] and fetch.calls[-1] == (4, 3)
    rows, token = page(2, token, "f", fetch, key=itemgetter("id"), kind=int)
    assert ids(rows) == [1] and token == ""


@dataclass(frozen=True)
class Score:
    org_unit: str
    rank: int
    employee_id: str


SCORES = [Score(f"/hq/t{t}", r, f"E{t}{r}") for t in (1, 2) for r in (1, 2, 3)]  # in key order


def test_page_with_a_tuple_cursor_over_dataclass_rows() -> None:
    def fetch(after: tuple[str, int, str] | None, limit: int) -> list[Score]:
        return [s for s in SCORES if after is None or (s.org_unit, s.rank, s.employee_id) > after][:limit]

    def key(s: Score) -> tuple[str, int, str]:
        return (s.org_unit, s.rank, s.employee_id)

    seen, token = [], ""
    while True:
        rows, token = page(4, token, ("scores", "2026-10"), fetch, key=key, kind=tuple)
        seen += rows
        if not token:
            break
        assert page_cursor(token, ("scores", "2026-10"), kind=tuple) == key(rows[-1])
    assert seen == SCORES


def test_page_with_tuple_rows() -> None:
    numbered = list(enumerate("abcde", start=1))  # offset paging: a row's cursor is its position
    rows, token = page(3, "", "f", lambda at, n: numbered[at : at + n], key=itemgetter(0), kind=int, first=0)
    assert [v for _, v in rows] == ["a", "b", "c"]
    rows, token = page(3, token, "f", lambda at, n: numbered[at : at + n], key=itemgetter(0), kind=int)
    assert [v for _, v in rows] == ["d", "e"] and token == ""


def test_page_refuses_a_token_of_another_filter_before_fetching() -> None:
    fetch = Fetch()
    _, token = page(2, "", ("ledger", "E1"), fetch, key=itemgetter("id"), kind=int, first=0)
    for bad in (token, "not a token", page_token("E7", ("ledger", "E2"))):
        with pytest.raises(InvalidArgument, match="^page_token: ") as err:
            page(2, bad, ("ledger", "E2"), fetch, key=itemgetter("id"), kind=int, first=0)
        assert err.value.field == "page_token"
    with pytest.raises(InvalidArgument, match="another filter"):
        page(2, token, ("ledger", "E2"), fetch, key=itemgetter("id"), kind=int, first=0)
    with pytest.raises(InvalidArgument, match="^page_size: "):
        page(-1, token, ("ledger", "E1"), fetch, key=itemgetter("id"), kind=int, first=0)
    assert len(fetch.calls) == 1
