"""Screening hits read as sentences: which comparison matched (characters, pinyin, traditional form) and the
similarities behind the score, from the features compliance stores with each hit."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

MATCHED_BY = {
    "characters": "characters",
    "pinyin": "pinyin (same sound)",
    "traditional_form": "traditional form",
}
RATIOS = {
    "core_ratio": "character similarity",
    "pinyin_ratio": "pinyin similarity",
    "word_order": "word order",
}


@dataclass(frozen=True)
class Explanation:
    """``matched_by``: the English label (translated by the page); ``details``: (label, value) pairs."""

    matched_by: str
    details: tuple[tuple[str, str], ...]


def explain(features: Iterable[str]) -> Explanation:
    """The readable explanation of a hit's features; unknown features are kept as they are."""
    matched_by, details = "", []
    for f in features:
        key, _, value = f.partition(":")
        if key == "matched_by":
            matched_by = MATCHED_BY.get(value, value)
        elif key in RATIOS:
            details.append((RATIOS[key], value))
        elif key == "exact_core_name":
            details.append(("exact name", ""))
        elif key in ("suffix_removed", "location_removed", "location_prefix_removed"):
            details.append((key.replace("_", " "), value))
        elif key == "traditional_form":
            details.append(("written in traditional characters", ""))
        else:
            details.append((f, ""))
    return Explanation(matched_by, tuple(details))
