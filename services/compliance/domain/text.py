"""Banned-promise scanning that survives the usual evasions and respects disclosures.

Normalisation works character by character on a lookup table built once per process (numpy, over the
BMP and the CJK supplementary planes): NFKC (full-width → half-width), case folding, traditional →
simplified (OpenCC, converted once for every CJK character), removal of spaces, punctuation and symbols
inserted between characters, and the pack's single-character homophones. Because every original
character maps to zero or one normalised characters (the rare ones that expand, e.g. "㍿", take a slower
path), the positions of the kept characters are the offset map back to the ORIGINAL text, so a hit's
span points at the exact original characters.

Phrases — with their word-level homophone variants and the pack's safe phrases — are matched on the
normalised text with Aho-Corasick (ahocorasick-rs). A hit is not a violation when a safe phrase covers it
("不保本") or when a negation / disclosure cue from the pack ends within the negation window before it in
the same clause ("我们不能承诺保本保息"); cue occurrences inside a listed exception ("不用担心") do not
count.
"""

from __future__ import annotations

import threading
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache

import ahocorasick_rs
import numpy as np
import opencc

CLAUSE_BREAKS = frozenset("，。！？；：,.!?;:\n\r、")
TABLE_SIZE = 0x30000  # BMP + CJK extension planes; rarer characters take the slow path
DROP = 0
SHORT = 256  # below this many characters str.translate beats the numpy path
EXPAND = 0xFFFFFFFF
_CJK = ((0x2E80, 0xA000), (0xF900, 0xFB00), (0xFE30, 0xFE50), (0x20000, TABLE_SIZE))


def _is_noise(ch: str) -> bool:
    cat = unicodedata.category(ch)
    return cat[0] in ("P", "Z", "S", "C") or ch.isspace()


@dataclass(frozen=True)
class CharTable:
    fold: np.ndarray  # uint32 code per original code point: DROP, EXPAND or the normalised character
    clause_break: np.ndarray  # bool: the original character ends a clause
    expand: dict[int, str]  # original code point -> its multi-character normalised form


@cache
def char_table() -> CharTable:
    """Build the per-process normalisation table (about 0.3 s, once)."""
    folded = []
    for c in range(TABLE_SIZE):
        ch = chr(c)
        folded.append(unicodedata.normalize("NFKC", ch).casefold() if not 0xD800 <= c < 0xE000 else "")
    # Traditional -> simplified for every CJK character at once (one per line, so no phrase context).
    t2s = opencc.OpenCC("t2s")
    cjk = [c for lo, hi in _CJK for c in range(lo, hi)]
    converted = t2s.convert("\n".join(folded[c] or " " for c in cjk)).split("\n")
    if len(converted) == len(cjk):
        for c, out in zip(cjk, converted, strict=True):
            if folded[c]:
                folded[c] = out
    fold = np.zeros(TABLE_SIZE, dtype=np.uint32)
    brk = np.zeros(TABLE_SIZE, dtype=bool)
    expand: dict[int, str] = {}
    for c, out in enumerate(folded):
        kept = "".join(x for x in out if not _is_noise(x))
        brk[c] = chr(c) in CLAUSE_BREAKS or any(x in CLAUSE_BREAKS for x in out)
        if len(kept) == 1:
            fold[c] = ord(kept)
        elif kept:
            fold[c] = EXPAND
            expand[c] = kept
    return CharTable(fold, brk, expand)


@dataclass(frozen=True)
class Normalised:
    text: str
    origin: Sequence[int]  # origin[i] = index in the original text of normalised char i
    clause: Sequence[int]  # clause number of normalised char i


class Normaliser:
    """Normalises text with an optional single-character homophone map (variant → canonical)."""

    def __init__(self, homophones: Mapping[str, str] | None = None) -> None:
        base = char_table()
        self._brk = base.clause_break
        self._expand = base.expand
        fold = base.fold.copy()
        self._hmap: dict[str, str] = {}
        for variant, canonical in (homophones or {}).items():
            v, c = self._plain(variant), self._plain(canonical)
            if len(v) == 1 and len(c) == 1 and v != c:
                fold[fold == ord(v)] = ord(c)
                self._hmap[v] = c
        self._fold = fold
        self._table = _Translation(self)

    def _char(self, c: int) -> str:
        """The normalised form of one original code point."""
        if c >= TABLE_SIZE:
            ch = chr(c)
            return "" if _is_noise(ch) else ch
        code = int(self._fold[c])
        if code == EXPAND:
            return "".join(self._hmap.get(x, x) for x in self._expand[c])
        return chr(code) if code else ""

    def _plain(self, text: str) -> str:
        """Normalised text without homophones (used while building)."""
        base = char_table()
        out = []
        for ch in text:
            c = ord(ch)
            code = int(base.fold[c]) if c < TABLE_SIZE else -1
            if code == EXPAND:
                out.append(base.expand[c])
            elif code > 0:
                out.append(chr(code))
            elif code < 0 and not _is_noise(ch):
                out.append(ch)
        return "".join(out)

    def _codes(self, text: str) -> tuple[np.ndarray, np.ndarray] | None:
        try:
            codes = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
        except UnicodeEncodeError:
            return None
        if codes.size and int(codes.max()) >= TABLE_SIZE:
            return None
        mapped = self._fold[codes]
        if (mapped == EXPAND).any():
            return None
        return codes, mapped

    def quick(self, text: str) -> str:
        """The normalised text only: the fast path for the common case of a text without hits."""
        if len(text) < SHORT:
            return text.translate(self._table)
        got = self._codes(text)
        if got is None:
            return self._slow(text).text
        mapped = got[1]
        return mapped[mapped != DROP].tobytes().decode("utf-32-le")

    def normalise(self, text: str) -> Normalised:
        """Normalised text with its offset map back to the original text and clause numbers."""
        got = self._codes(text)
        if got is None:
            return self._slow(text)
        codes, mapped = got
        keep = mapped != DROP
        clause = np.cumsum(self._brk[codes])
        return Normalised(
            mapped[keep].tobytes().decode("utf-32-le"), np.flatnonzero(keep).tolist(), clause[keep].tolist()
        )

    def _slow(self, text: str) -> Normalised:
        chars: list[str] = []
        origin: list[int] = []
        clause: list[int] = []
        current = 0
        for i, ch in enumerate(text):
            c = ord(ch)
            if c < TABLE_SIZE and self._brk[c]:
                current += 1
            for x in self._char(c):
                chars.append(x)
                origin.append(i)
                clause.append(current)
        return Normalised("".join(chars), origin, clause)


class _Translation(dict[int, str]):
    """A ``str.translate`` table filled on first sight of each character (fast for short texts)."""

    def __init__(self, normaliser: Normaliser) -> None:
        super().__init__()
        self._normaliser = normaliser

    def __missing__(self, c: int) -> str:
        out = self[c] = self._normaliser._char(c)
        return out


@dataclass(frozen=True)
class Phrase:
    text: str
    category: str
    severity: str


@dataclass(frozen=True)
class Hit:
    phrase: str
    category: str
    severity: str
    start: int  # span in the ORIGINAL text, code points, [start, end)
    end: int
    matched_text: str  # the original characters


@dataclass(frozen=True)
class _Match:
    phrase: int  # index into PhraseScanner.phrases, -1 for a safe phrase
    start: int  # normalised positions
    end: int


class PhraseScanner:
    """Scans texts for a phrase list; immutable, build a new one when the pack changes."""

    def __init__(
        self,
        phrases: Iterable[Phrase],
        *,
        negation_cues: Iterable[str] = (),
        negation_window: int = 4,
        negation_exceptions: Iterable[str] = (),
        safe_phrases: Iterable[str] = (),
        homophones: Mapping[str, str] | None = None,
    ) -> None:
        homophones = dict(homophones or {})
        self.normaliser = Normaliser({k: v for k, v in homophones.items() if len(k) == 1 and len(v) == 1})
        norm = self.normaliser.quick
        words = [(norm(k), norm(v)) for k, v in homophones.items() if not (len(k) == 1 and len(v) == 1)]
        self.phrases: list[Phrase] = []
        patterns: list[str] = []
        owner: list[int] = []
        seen: set[str] = set()

        def add(pattern: str, idx: int) -> None:
            if pattern and pattern not in seen:
                seen.add(pattern)
                patterns.append(pattern)
                owner.append(idx)

        for p in phrases:
            canonical = norm(p.text)
            if not canonical or canonical in seen:
                continue
            idx = len(self.phrases)
            self.phrases.append(p)
            add(canonical, idx)
            for variant, word in words:  # word-level homophones: variants of every phrase holding the word
                if word and word in canonical:
                    add(canonical.replace(word, variant), idx)
        for s in safe_phrases:
            add(norm(s), -1)
        self._owner = owner
        self._lengths = [len(p) for p in patterns]
        self.lookahead = max(self._lengths, default=0)
        self.cues = sorted({norm(c) for c in negation_cues if norm(c)}, key=len, reverse=True)
        self.exceptions = [norm(e) for e in negation_exceptions if norm(e)]
        self.window = negation_window
        self.lookbehind = negation_window + max((len(c) for c in self.cues), default=0)
        self._ac = ahocorasick_rs.AhoCorasick(patterns, matchkind=ahocorasick_rs.MatchKind.Standard)

    # -- matching on the normalised text ---------------------------------------------------------
    def _matches(self, original: str, norm: Normalised) -> list[_Match]:
        """Phrase matches not covered by a safe phrase nor glued into longer Latin words, leftmost-longest
        without overlaps."""
        text = norm.text
        found = self._ac.find_matches_as_indexes(text, overlapping=True)
        safe = [(s, e) for i, s, e in found if self._owner[i] < 0]
        banned = [
            _Match(self._owner[i], s, e)
            for i, s, e in found
            if self._owner[i] >= 0
            and not any(ss <= s and e <= se for ss, se in safe)
            and not self._glued(original, text[s], int(norm.origin[s]) - 1)
            and not self._glued(original, text[e - 1], int(norm.origin[e - 1]) + 1)
        ]
        banned.sort(key=lambda m: (m.start, -(m.end - m.start)))  # leftmost-longest, no overlaps
        out: list[_Match] = []
        for m in banned:
            if not out or m.start >= out[-1].end:
                out.append(m)
        return out

    def _negated(self, norm: Normalised, start: int) -> bool:
        clause = norm.clause[start]
        lo = max(0, start - self.lookbehind)
        while lo < start and norm.clause[lo] != clause:
            lo += 1
        before = norm.text[lo:start]
        for cue in self.cues:
            pos = before.rfind(cue)
            while pos >= 0:
                cue_end = lo + pos + len(cue)
                if start - cue_end <= self.window and not self._excepted(norm.text, lo + pos, cue_end):
                    return True
                pos = before.rfind(cue, 0, pos + len(cue) - 1) if pos > 0 else -1
        return False

    def _excepted(self, text: str, cue_start: int, cue_end: int) -> bool:
        for e in self.exceptions:
            lo = max(0, cue_end - len(e))
            pos = text.find(e, lo, cue_start + len(e))
            while pos >= 0:
                if pos <= cue_start and pos + len(e) >= cue_end:
                    return True
                pos = text.find(e, pos + 1, cue_start + len(e))
        return False

    def _glued(self, text: str, edge: str, neighbour: int) -> bool:
        """Whether a Latin letter/digit at a phrase edge continues into the original neighbour character
        ("brisk freedom" does not hold "risk free")."""
        if not (edge.isascii() and edge.isalnum()) or not 0 <= neighbour < len(text):
            return False
        other = self.normaliser.quick(text[neighbour])
        return len(other) == 1 and other.isascii() and other.isalnum()

    def _hits(self, text: str, norm: Normalised, matches: Iterable[_Match]) -> list[Hit]:
        hits = []
        for m in matches:
            if self._negated(norm, m.start):
                continue
            p = self.phrases[m.phrase]
            o_start, o_end = int(norm.origin[m.start]), int(norm.origin[m.end - 1]) + 1
            hits.append(Hit(p.text, p.category, p.severity, o_start, o_end, text[o_start:o_end]))
        return hits

    def scan(self, text: str) -> list[Hit]:
        """Violations in ``text`` (disclosures and safe phrases excluded), spans in the original text."""
        if not self._ac.find_matches_as_indexes(self.normaliser.quick(text)):
            return []
        norm = self.normaliser.normalise(text)
        return self._hits(text, norm, self._matches(text, norm))

    def stream(self) -> StreamScan:
        """A scanning session for a live transcript arriving in chunks."""
        return StreamScan(self)


@dataclass
class StreamScan:
    """Incremental scan of a transcript: each ``feed`` returns the hits that became final.

    A hit is final once enough normalised text follows it that no longer phrase or safe phrase could
    still change it (or when the stream ends); the scan re-reads a bounded tail so phrases, cues and
    safe phrases split across chunk borders are still seen, and each hit is reported exactly once.
    """

    scanner: PhraseScanner
    transcript: str = ""
    _reported_until: int = 0  # original position: hits starting before it were decided
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def feed(self, chunk: str) -> list[Hit]:
        with self._lock:
            self.transcript += chunk
            return self._decide(final=False)

    def finish(self) -> list[Hit]:
        with self._lock:
            return self._decide(final=True)

    def _decide(self, *, final: bool) -> list[Hit]:
        s = self.scanner
        margin = 4 * (s.lookahead + s.lookbehind) + 64
        base = max(0, self._reported_until - margin)
        region = self.transcript[base:]
        norm = s.normaliser.normalise(region)
        limit = len(norm.text) if final else len(norm.text) - s.lookahead
        out = []
        for m in s._matches(region, norm):
            if base + int(norm.origin[m.start]) < self._reported_until:
                continue  # decided by an earlier feed
            if m.start >= limit:
                break  # a longer phrase or a safe phrase may still complete it
            for h in s._hits(region, norm, [m]):
                out.append(
                    Hit(h.phrase, h.category, h.severity, h.start + base, h.end + base, h.matched_text)
                )
        if final:
            until = len(self.transcript)
        elif limit > 0:
            until = base + int(norm.origin[limit - 1]) + 1  # matches starting before this are decided
        else:
            until = self._reported_until
        self._reported_until = max(self._reported_until, until)
        return out
