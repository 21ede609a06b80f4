import pytest

from covenant.errors import InvalidArgument
from covenant.paging import DEFAULT_PAGE, MAX_PAGE, page_size


def test_one_page_size_rule() -> None:
    assert page_size(0) == DEFAULT_PAGE == 50
    assert page_size(7) == 7
    assert page_size(MAX_PAGE + 1) == MAX_PAGE == 1000
    with pytest.raises(InvalidArgument) as err:
        page_size(-1)
    assert err.value.field == "page_size"
