"""Masking of sensitive values for callers without the unmask permission. Pure functions."""

from __future__ import annotations


def mask(value: str, keep_last: int = 4, *, keep_first: int = 0, char: str = "*") -> str:
    """Keep the first ``keep_first`` and last ``keep_last`` characters and star the rest; a value too short
    to keep anything back is starred completely (``mask("123")`` → ``***``)."""
    if not value:
        return ""
    if len(value) <= keep_first + keep_last:
        return char * len(value)
    return value[:keep_first] + char * (len(value) - keep_first - keep_last) + value[len(value) - keep_last :]


def mask_national_id(value: str) -> str:
    """``110101199003071234`` → ``110***********1234`` (18- and 15-digit resident ID numbers)."""
    return mask(value.strip(), 4, keep_first=3)


def mask_phone(value: str) -> str:
    """``13812345678`` → ``138****5678``; a leading ``+86``/``86`` country code is kept as it is."""
    digits = "".join(ch for ch in value if ch.isdigit())
    country = ""
    if len(digits) == 13 and digits.startswith("86"):
        country, digits = "+86 ", digits[2:]
    return country + mask(digits, 4, keep_first=3)


def mask_bank_card(value: str) -> str:
    """``6222021234567890123`` → ``**** **** **** 0123`` (only digits count; spaces and dashes ignored)."""
    digits = "".join(ch for ch in value if ch.isdigit())
    return f"**** **** **** {digits[-4:]}" if len(digits) > 4 else "*" * len(digits)
