"""The words around a hit, kept with a case so an officer sees the promise in its context.

Only a window around the match is kept (never the whole transcript), and every run of 6 or more digits in
it (phone, ID and card numbers) is starred to the same length, so the match's offsets stay valid.
"""

from __future__ import annotations

import re

CONTEXT = 40  # characters kept on each side of the match
_DIGITS = re.compile(r"\d{6,}")


def excerpt(text: str, start: int, end: int, context: int = CONTEXT) -> tuple[str, int, int]:
    """(excerpt, start, end): the text around ``text[start:end]`` and the match's offsets within it."""
    start = max(0, min(start, len(text)))
    end = max(start, min(end, len(text)))
    lo, hi = max(0, start - context), min(len(text), end + context)
    window = _DIGITS.sub(lambda m: "*" * len(m.group(0)), text[lo:hi])
    return window, start - lo, end - lo
