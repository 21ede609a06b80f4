"""False-positive feedback per banned phrase: how often a phrase put evidence into a case and how often an
officer marked such a case FALSE_POSITIVE, with the reasons given. The pack owner reads it to see which
phrases cause noise; nothing here changes the pack."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

MAX_REASONS = 5  # the latest reasons kept per phrase


@dataclass
class PhraseNoise:
    phrase: str
    category: str
    hits: int = 0  # evidence items (hits) of this phrase in cases
    false_positives: int = 0  # of those, in cases marked FALSE_POSITIVE
    reasons: list[str] = field(default_factory=list)  # the officers' reasons, latest first

    @property
    def noise_ratio(self) -> float:
        return self.false_positives / self.hits if self.hits else 0.0


@dataclass(frozen=True)
class CaseView:
    """What feedback needs of a case: its state, its evidence items and its comments (oldest first)."""

    state: str
    items: Sequence[dict]
    comments: Sequence[str]


def _reason(comments: Sequence[str]) -> str:
    """The closing comment (the last one, ``"subject: text"``), without its author."""
    if not comments:
        return ""
    return comments[-1].split(": ", 1)[-1]


def phrase_noise(cases: Iterable[CaseView]) -> list[PhraseNoise]:
    """Per phrase, noisiest first (most false positives, then the highest ratio, then the phrase)."""
    out: dict[str, PhraseNoise] = {}
    for case in cases:
        reason = _reason(case.comments) if case.state == "FALSE_POSITIVE" else ""
        for item in case.items:
            phrase = item.get("phrase")
            if not phrase:
                continue
            noise = out.setdefault(phrase, PhraseNoise(phrase, str(item.get("category", ""))))
            noise.hits += 1
            if case.state == "FALSE_POSITIVE":
                noise.false_positives += 1
                if reason and reason not in noise.reasons:
                    noise.reasons.insert(0, reason)
                    del noise.reasons[MAX_REASONS:]
    return sorted(out.values(), key=lambda n: (-n.false_positives, -n.noise_ratio, n.phrase))
