"""Banned-promise scanning that survives the usual evasions and respects disclosures.

Normalisation works character by character on a lookup table built once per process (numpy, over the
BMP and the CJK supplementary planes): NFKC (full-width → half-width), case folding, traditional →
simplified (OpenCC, converted once for every CJK character), removal of spaces, punctuation and symbols
inserted between characters, and the pack's single-character homophones. Because every original
character maps to zero or one normalised characters (the rare ones that expand, e.g. "㍿", take a slower
path), the positions of the kept characters are the offset map back to the ORIGINAL text, so a hit's
span points at the exact original characters.

Speech recognition and chats dodge phrase lists by sound, so phrases are matched on a *sound* layer of
the normalised text: every Chinese character is replaced by a code for its toneless pinyin syllable, with
near homophones folded together (zh/z, ch/c, sh/s, -ng/-n), so 宝本宝息 and 保笨保息 are 保本保息. The
sound layer has exactly one character per normalised character, so it is built by the same lookup
table and costs no more than the character layer. A text holding Latin letters also gets a *pinyin*
layer (each Chinese character spelt out in pinyin, Latin kept), where the phrases' pinyin in full and
their initials are looked for: "baoben baoxi", "bbbx", mixed scripts like "保ben保息". Zero-width
characters, emoji, variation selectors and other symbols between characters are dropped, and look-alike
Cyrillic / Greek letters read as Latin. Every hit says how it matched (characters, homophone, pinyin,
initials) and carries its span in the original text.

Phrases — with their word-level homophone variants and the pack's safe phrases — are matched with
Aho-Corasick (ahocorasick-rs). Whether a hit is negated is decided on the characters (never the sound:
全部 is not 不) within its clause, counting negations: a safe phrase covering it ("不保本"), a negation cue
ending within the negation window before it or overlapping its start ("我们无法保证收益"), chained
backwards cue by cue ("不能说不保本" is two negations: a promise), and a cue that follows it
("保本保息是不可能的"; after a question mark, in the answer: "保本？没有这回事"). An odd count is a
disclosure, an even one a promise. Cue occurrences inside a listed exception ("不用担心", "不可能亏") do
not count.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache

import ahocorasick_rs
import numpy as np
import opencc
from pypinyin import lazy_pinyin
from pypinyin.phrases_dict import phrases_dict
from pypinyin.pinyin_dict import pinyin_dict

CLAUSE_BREAKS = frozenset("，。！？；：,.!?;:\n\r、")
TABLE_SIZE = 0x30000  # BMP + CJK extension planes; rarer characters take the slow path
DROP = 0
SHORT = 256  # below this many characters str.translate beats the numpy path
EXPAND = 0xFFFFFFFF
_CJK = ((0x2E80, 0xA000), (0xF900, 0xFB00), (0xFE30, 0xFE50), (0x20000, TABLE_SIZE))
SOUND_BASE = 0xE000  # sound codes live in the private use area (dropped from input as noise)
QUESTION = frozenset("?？")
_LATIN = re.compile(r"[a-z]")
# any character that may normalise to a Latin letter (ASCII, accented, full-width, Greek, Cyrillic)
_LETTERS = re.compile(
    r"[A-Za-z\u00c0-\u024f\u0370-\u03ff\u0400-\u04ff\u1e00-\u1eff\uff21-\uff3a\uff41-\uff5a]"
)
# Look-alike letters typed to dodge Latin phrases ("rіsk frее" with Cyrillic і and е).
CONFUSABLES = {
    "а": "a", "в": "b", "е": "e", "ё": "e", "к": "k", "м": "m", "н": "h", "о": "o", "р": "p", "с": "c",
    "т": "t", "у": "y", "х": "x", "і": "i", "ї": "i", "ј": "j", "ѕ": "s", "ԁ": "d", "ɡ": "g", "ο": "o",
    "α": "a", "ν": "v", "ρ": "p", "κ": "k", "ι": "i", "τ": "t", "ε": "e", "υ": "u",
}  # fmt: skip


def _is_noise(ch: str) -> bool:
    c = ord(ch)
    if 0xFE00 <= c <= 0xFE0F or 0xE0100 <= c <= 0xE01EF:  # variation selectors (emoji presentation)
        return True
    cat = unicodedata.category(ch)
    return cat[0] in ("P", "Z", "S", "C") or cat == "Me" or ch.isspace()


def _latin_base(text: str) -> str:
    """Latin letters without their accents (typed tone marks: bǎo → bao), look-alikes as Latin."""
    out = []
    for ch in text:
        ch = CONFUSABLES.get(ch, ch)
        if not ch.isascii() and ch.isalpha():
            base = "".join(x for x in unicodedata.normalize("NFD", ch) if not unicodedata.combining(x))
            if len(base) == 1 and base.isascii():
                ch = "v" if ch in "üǖǘǚǜ" else base
        out.append(ch)
    return "".join(out)


def _toneless(reading: str) -> str:
    """A tone-marked pinyin syllable without its tone (ü spelt v, as typed)."""
    out = []
    for x in unicodedata.normalize("NFD", reading):
        if x == "\u0308" and out and out[-1] == "u":
            out[-1] = "v"
        elif not unicodedata.combining(x):
            out.append(x)
    return "".join(out)


def sound_key(syllable: str) -> str:
    """Near homophones read alike: retroflex and flat initials (zh/z, ch/c, sh/s), -ng and -n finals."""
    for a, b in (("zh", "z"), ("ch", "c"), ("sh", "s")):
        if syllable.startswith(a):
            syllable = b + syllable[2:]
    return syllable[:-1] if syllable.endswith("ng") else syllable


@cache
def _heteronyms() -> frozenset[str]:
    """Characters with more than one reading."""
    return frozenset(chr(c) for c, readings in pinyin_dict.items() if "," in readings and c < TABLE_SIZE)


def _has_heteronym_word(text: str) -> bool:
    """Whether ``text`` holds a dictionary word with a character of several readings (its reading in
    context may differ from the character's first one)."""
    many = _heteronyms()
    for i, ch in enumerate(text):
        if ch in many:
            for lo in range(max(0, i - 3), i + 1):
                for hi in range(max(lo + 2, i + 1), min(len(text), lo + 4) + 1):
                    if text[lo:hi] in phrases_dict:
                        return True
    return False


@dataclass(frozen=True)
class SoundTable:
    code: np.ndarray  # uint32 per code point: the sound code of a Chinese character, else itself
    syllable: dict[str, str]  # Chinese character -> toneless pinyin (its first reading)


@cache
def sound_table() -> SoundTable:
    """Sound codes for every character pypinyin knows (built once, about 0.1 s)."""
    code = np.arange(TABLE_SIZE, dtype=np.uint32)
    keys: dict[str, int] = {}
    syllable: dict[str, str] = {}
    for c, readings in pinyin_dict.items():
        if c >= TABLE_SIZE:
            continue
        toneless = _toneless(readings.split(",")[0])
        syllable[chr(c)] = toneless
        code[c] = SOUND_BASE + keys.setdefault(sound_key(toneless), len(keys))
    return SoundTable(code, syllable)


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
        out = unicodedata.normalize("NFKC", ch).casefold() if not 0xD800 <= c < 0xE000 else ""
        folded.append(_latin_base(out) if c < 0x2000 else out)  # Latin, Greek, Cyrillic live below U+2000
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
    sound: str = ""  # the sound layer: one character per character of ``text``


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
        sounds = sound_table()
        self._sound_code = sounds.code
        self.syllable = sounds.syllable
        inside = fold < TABLE_SIZE
        self._sound_fold = np.where(inside, sounds.code[np.where(inside, fold, 0)], fold).astype(np.uint32)
        self._table = _Translation(self, sound=False)
        self._sound_table = _Translation(self, sound=True)

    def _char(self, c: int) -> str:
        """The normalised form of one original code point."""
        if c >= TABLE_SIZE:
            ch = chr(c)
            return "" if _is_noise(ch) else ch
        code = int(self._fold[c])
        if code == EXPAND:
            return "".join(self._hmap.get(x, x) for x in self._expand[c])
        return chr(code) if code else ""

    def sound_of(self, normalised: str) -> str:
        """The sound layer of already normalised text."""
        code = self._sound_code
        return "".join(chr(code[ord(x)]) if ord(x) < TABLE_SIZE else x for x in normalised)

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

    def _codes(self, text: str) -> np.ndarray | None:
        try:
            codes = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
        except UnicodeEncodeError:
            return None
        if codes.size and int(codes.max()) >= TABLE_SIZE:
            return None
        if (self._fold[codes] == EXPAND).any():
            return None
        return codes

    def quick(self, text: str) -> str:
        """The normalised text only (characters)."""
        return self._quick(text, sound=False)

    def quick_sound(self, text: str) -> str:
        """The sound layer only: the fast path for the common case of a text without hits."""
        return self._quick(text, sound=True)

    def _quick(self, text: str, *, sound: bool) -> str:
        """One layer of ``normalise``: the characters, or the sound layer when ``sound``."""
        if len(text) < SHORT:
            return text.translate(self._sound_table if sound else self._table)
        codes = self._codes(text)
        if codes is None:
            slow = self._slow(text)
            return slow.sound if sound else slow.text
        mapped = (self._sound_fold if sound else self._fold)[codes]
        return mapped[mapped != DROP].tobytes().decode("utf-32-le")

    def normalise(self, text: str) -> Normalised:
        """Normalised text with its offset map back to the original text, clause numbers and sound layer."""
        codes = self._codes(text)
        if codes is None:
            return self._slow(text)
        mapped = self._fold[codes]
        keep = mapped != DROP
        clause = np.cumsum(self._brk[codes])
        return Normalised(
            mapped[keep].tobytes().decode("utf-32-le"),
            np.flatnonzero(keep).tolist(),
            clause[keep].tolist(),
            self._sound_fold[codes][keep].tobytes().decode("utf-32-le"),
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
        joined = "".join(chars)
        return Normalised(joined, origin, clause, self.sound_of(joined))


class _Translation(dict[int, str]):
    """A ``str.translate`` table filled on first sight of each character (fast for short texts)."""

    def __init__(self, normaliser: Normaliser, *, sound: bool) -> None:
        super().__init__()
        self._normaliser = normaliser
        self._sound = sound

    def __missing__(self, c: int) -> str:
        out = self._normaliser._char(c)
        if self._sound:
            out = self._normaliser.sound_of(out)
        self[c] = out
        return out


MATCHED_BY = ("characters", "homophone", "pinyin", "initials")


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
    matched_by: str = "characters"  # characters, homophone, pinyin or initials


@dataclass(frozen=True)
class _Match:
    phrase: int  # index into PhraseScanner.phrases
    start: int  # normalised positions
    end: int
    by: str = "sound"  # "sound" (characters or homophones), "pinyin" or "initials"
    safe_start: int = -1  # start of a safe phrase covering the match (a negation), else -1


@dataclass(frozen=True)
class _Cue:
    start: int
    end: int


def _pinyin_forms(canonical: str, syllable: Mapping[str, str]) -> tuple[set[str], str]:
    """Full pinyin spellings of a normalised phrase (in context and character by character) and its
    initials (only for all-Chinese phrases of three characters or more: shorter ones are words)."""
    by_char = "".join(syllable.get(ch, ch) for ch in canonical)
    # in context only when a character has several readings (还钱 is huanqian; phrase segmentation is slow)
    contextual = "".join(lazy_pinyin(canonical)) if _has_heteronym_word(canonical) else by_char
    initials = ""
    if len(canonical) >= 3 and all(ch in syllable for ch in canonical):
        initials = "".join(syllable[ch][0] for ch in canonical)
    return {x for x in (contextual, by_char) if _LATIN.search(x)}, initials


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
        negation_after_cues: Iterable[str] = (),
        negation_after_window: int = 6,
    ) -> None:
        homophones = dict(homophones or {})
        self.normaliser = n = Normaliser({k: v for k, v in homophones.items() if len(k) == 1 and len(v) == 1})
        norm = n.quick
        words = [(norm(k), norm(v)) for k, v in homophones.items() if not (len(k) == 1 and len(v) == 1)]
        self.phrases: list[Phrase] = []
        self._plain: list[str] = []  # each phrase normalised without homophones
        sound: dict[str, int] = {}
        latin: dict[str, tuple[int, str]] = {}
        for p in phrases:
            canonical = norm(p.text)
            if not canonical or n.sound_of(canonical) in sound:
                continue
            idx = len(self.phrases)
            self.phrases.append(p)
            self._plain.append(n._plain(p.text))
            forms = [canonical]
            for variant, word in words:  # word-level homophones: variants of every phrase holding the word
                if word and word in canonical:
                    forms.append(canonical.replace(word, variant))
            for form in forms:
                sound.setdefault(n.sound_of(form), idx)
                full, initials = _pinyin_forms(form, n.syllable)
                for x in full:
                    latin.setdefault(x, (idx, "pinyin"))
                if initials:
                    latin.setdefault(initials, (idx, "initials"))
        self._sound_patterns = list(sound)
        self._sound_owner = list(sound.values())
        safe_chars = {norm(x) for x in safe_phrases if norm(x)}
        self._safe = {n.sound_of(x): x for x in sorted(safe_chars)}
        self._safe_chars = list(self._safe.values())
        safe_latin = {y for x in safe_chars for y in _pinyin_forms(x, n.syllable)[0]}
        self._latin_patterns = [*latin, *sorted(safe_latin - set(latin))]
        self._latin_owner = [*latin.values(), *[(-1, "safe")] * len(safe_latin - set(latin))]
        self.cues = sorted({norm(c) for c in negation_cues if norm(c)}, key=len, reverse=True)
        self.after_cues = sorted({norm(c) for c in negation_after_cues if norm(c)}, key=len, reverse=True)
        self.exceptions = [norm(e) for e in negation_exceptions if norm(e)]
        self.window = negation_window
        self.after_window = negation_after_window
        longest = max((len(x) for x in (*self._sound_patterns, *self._latin_patterns)), default=0)
        after = (
            (negation_after_window + max((len(c) for c in self.after_cues), default=0))
            if self.after_cues
            else 0
        )
        self.lookahead = longest + after
        # without Latin letters in sight only the character patterns can still grow (a stream that turns
        # to pinyin mid-phrase across a chunk border is not caught)
        self.lookahead_chars = max((len(x) for x in self._sound_patterns), default=0) + after
        self.lookbehind = negation_window + max((len(c) for c in self.cues), default=0)
        kind = ahocorasick_rs.MatchKind.Standard
        self._ac = ahocorasick_rs.AhoCorasick(self._sound_patterns or ["\0"], matchkind=kind)
        self._safe_ac = ahocorasick_rs.AhoCorasick(list(self._safe) or ["\0"], matchkind=kind)
        self._latin_ac = ahocorasick_rs.AhoCorasick(self._latin_patterns or ["\0"], matchkind=kind)

    # -- matching on the normalised text ---------------------------------------------------------
    def _spelt(self, text: str) -> tuple[str, list[int]]:
        """The pinyin layer: every Chinese character spelt out, Latin kept; ``pos[k]`` is the index in
        ``text`` of letter ``k``."""
        parts: list[str] = []
        pos: list[int] = []
        get = self.normaliser.syllable.get
        for i, ch in enumerate(text):
            spelt = get(ch, ch)
            parts.append(spelt)
            pos.extend([i] * len(spelt))
        return "".join(parts), pos

    def _candidates(self, norm: Normalised) -> list[_Match]:
        text = norm.text
        out = [
            _Match(self._sound_owner[i], s, e)
            for i, s, e in self._ac.find_matches_as_indexes(norm.sound, overlapping=True)
        ]
        if self._latin_patterns and _LATIN.search(text):
            spelt, pos = self._spelt(text)
            for i, ls, le in self._latin_ac.find_matches_as_indexes(spelt, overlapping=True):
                if (ls and pos[ls - 1] == pos[ls]) or (le < len(spelt) and pos[le] == pos[le - 1]):
                    continue  # not on character boundaries (inside a spelt syllable)
                s, e = pos[ls], pos[le - 1] + 1
                owner, by = self._latin_owner[i]
                if owner >= 0 and _LATIN.search(text[s:e]):  # all-Chinese spans are the sound layer's
                    out.append(_Match(owner, s, e, by))
        return out

    def _safe_spans(self, norm: Normalised) -> list[tuple[int, int]]:
        """Safe phrases present in the characters (a same-sounding 部保本 is no 不保本)."""
        spans = (
            [
                (s, e)
                for i, s, e in self._safe_ac.find_matches_as_indexes(norm.sound, overlapping=True)
                if norm.text[s:e] == self._safe_chars[i]
            ]
            if self._safe
            else []
        )
        if self._safe and _LATIN.search(norm.text):
            spelt, pos = self._spelt(norm.text)
            for i, ls, le in self._latin_ac.find_matches_as_indexes(spelt, overlapping=True):
                if self._latin_owner[i][0] < 0:
                    spans.append((pos[ls], pos[le - 1] + 1))
        return spans

    def _matches(self, original: str, norm: Normalised) -> list[_Match]:
        """Phrase matches not glued into longer Latin words, leftmost-longest without overlaps; a match
        inside a safe phrase carries the safe phrase's start (it counts as a negation)."""
        text = norm.text
        safe = self._safe_spans(norm)
        banned = []
        for m in self._candidates(norm):
            if self._glued(original, text[m.start], int(norm.origin[m.start]) - 1) or self._glued(
                original, text[m.end - 1], int(norm.origin[m.end - 1]) + 1
            ):
                continue
            covering = [
                ss for ss, se in safe if ss <= m.start and m.end <= se and (ss, se) != (m.start, m.end)
            ]
            if covering:
                m = _Match(m.phrase, m.start, m.end, m.by, min(covering))
            banned.append(m)
        banned.sort(key=lambda m: (m.start, -(m.end - m.start), m.by != "sound"))
        out: list[_Match] = []
        for m in banned:
            if not out or m.start >= out[-1].end:
                out.append(m)
        return out

    # -- negation ------------------------------------------------------------------------------------
    def _find_cues(self, text: str, cues: Sequence[str], lo: int, hi: int) -> list[_Cue]:
        """Cue occurrences lying within ``text[lo:hi]`` that no exception covers."""
        found = []
        for cue in cues:
            pos = text.find(cue, lo, hi)
            while pos >= 0:
                if not self._excepted(text, pos, pos + len(cue)):
                    found.append(_Cue(pos, pos + len(cue)))
                pos = text.find(cue, pos + 1, hi)
        return found

    def _chain(self, norm: Normalised, at: int, lo: int, overlap_until: int = -1) -> int:
        """How many negation cues precede position ``at`` cue by cue (each ending within the window
        before the next), not before ``lo``; the first may overlap ``at`` up to ``overlap_until``."""
        text, count = norm.text, 0
        reach = max((len(c) for c in self.cues), default=0)
        while True:
            hi = max(at, overlap_until) if count == 0 else at
            cues = [
                c
                for c in self._find_cues(text, self.cues, max(lo, at - self.window - reach), hi)
                if c.start < at and ((c.end <= at and at - c.end <= self.window) or c.end > at)
            ]
            if not cues:
                return count
            best = max(cues, key=lambda c: (min(c.end, at), c.end - c.start))
            count += 1
            at = best.start

    def _clause_bounds(self, norm: Normalised, start: int, end: int) -> tuple[int, int]:
        """The normalised span of the clause holding [start, end) (clause numbers never decrease)."""
        return bisect_left(norm.clause, norm.clause[start]), bisect_right(norm.clause, norm.clause[end - 1])

    def _after_bound(self, original: str, norm: Normalised, hi: int) -> int:
        if hi >= len(norm.text):
            return hi
        between = original[int(norm.origin[hi - 1]) + 1 : int(norm.origin[hi])]
        if not QUESTION.intersection(between):
            return hi
        return bisect_right(norm.clause, norm.clause[hi])

    def _negations(self, original: str, norm: Normalised, m: _Match) -> int:
        lo, hi = self._clause_bounds(norm, m.start, m.end)
        if m.safe_start >= 0:
            count = 1 + self._chain(norm, m.safe_start, lo)
        else:
            count = self._chain(norm, m.start, lo, overlap_until=m.end)
        if self.after_cues:
            hi = self._after_bound(original, norm, hi)
            limit = min(hi, m.end + self.after_window + max(len(c) for c in self.after_cues))
            after = [
                c
                for c in self._find_cues(norm.text, self.after_cues, m.end, limit)
                if c.start - m.end <= self.after_window
            ]
            if after:
                first = min(after, key=lambda c: (c.start, -(c.end - c.start)))
                count += 1 + self._chain(norm, first.start, m.end)
        return count

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
            if self._negations(text, norm, m) % 2:
                continue
            p = self.phrases[m.phrase]
            o_start, o_end = int(norm.origin[m.start]), int(norm.origin[m.end - 1]) + 1
            if m.by != "sound":
                by = m.by
            elif self.normaliser._plain(text[o_start:o_end]) == self._plain[m.phrase]:
                by = "characters"
            else:
                by = "homophone"
            hits.append(Hit(p.text, p.category, p.severity, o_start, o_end, text[o_start:o_end], by))
        return hits

    def _may_hit(self, text: str) -> bool:
        if self._ac.find_matches_as_indexes(self.normaliser.quick_sound(text)):
            return True
        return (
            bool(self._latin_patterns)
            and _LETTERS.search(text) is not None
            and _LATIN.search(self.normaliser.quick(text)) is not None
        )

    def scan(self, text: str) -> list[Hit]:
        """Violations in ``text`` (disclosures and safe phrases excluded), spans in the original text."""
        if not self._may_hit(text):
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
        ahead = s.lookahead if _LATIN.search(norm.text) else s.lookahead_chars
        limit = len(norm.text) if final else len(norm.text) - ahead
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
