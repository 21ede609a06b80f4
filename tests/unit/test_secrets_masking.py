"""Masking of ID numbers, phone numbers and bank cards (pure functions)."""

from __future__ import annotations

import pytest

from covenant.secrets.masking import mask, mask_bank_card, mask_national_id, mask_phone


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        ("110101199003071234", "110***********1234"),
        ("11010119900307123X", "110***********123X"),
        ("110101900307123", "110********7123"),  # the old 15-digit form
        ("", ""),
        ("1234567", "*******"),  # too short to keep anything back
    ],
)
def test_national_id(value: str, masked: str) -> None:
    assert mask_national_id(value) == masked
    assert len(masked) == len(value)


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        ("13812345678", "138****5678"),
        ("138 1234 5678", "138****5678"),
        ("+86 138-1234-5678", "+86 138****5678"),
        ("5678", "****"),
    ],
)
def test_phone(value: str, masked: str) -> None:
    assert mask_phone(value) == masked


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        ("6222021234567890123", "**** **** **** 0123"),
        ("6222 0212 3456 7890", "**** **** **** 7890"),
        ("6222-0212-3456-7890", "**** **** **** 7890"),
        ("1234", "****"),
    ],
)
def test_bank_card(value: str, masked: str) -> None:
    assert mask_bank_card(value) == masked


def test_generic_mask_keeps_the_last_characters() -> None:
    assert mask("ABCDEFGH") == "****EFGH"
    assert mask("ABCDEFGH", keep_last=2) == "******GH"
    assert mask("ABCDEFGH", 2, keep_first=1, char="#") == "A#####GH"
    assert mask("ABC") == "***"
