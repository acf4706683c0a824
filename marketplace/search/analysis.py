"""Query and document analysis shared by every backend: tokens, bigrams, synonyms.

The Vietnamese text rules themselves (NFC, lower-case, tone placement, folding) live in
marketplace.core.vn_text; this module turns text into the token lists the backends index and into
a QueryPlan (slots of alternatives plus adjacent-syllable bigrams) that each backend translates
into its own query objects. User text is only ever split into word tokens: no query syntax exists.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from threading import Lock

from marketplace.core.vn_text import fold_token, has_diacritics, syllables

MAX_QUERY_CHARS = 500
MAX_TOKENS = 12
MAX_TOKEN_CHARS = 40
SYNONYMS_FILE = Path(__file__).resolve().parent.parent / "data" / "synonyms.txt"
BIGRAM_JOIN = "_"


# Control and invisible formatting characters (NUL, zero-width spaces, bidi marks, BOM…).
_INVISIBLE = re.compile("[\x00-\x1f\x7f-\x9f\u00ad\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff\ufff0-\uffff]")


def sanitise(text: str | None) -> str:
    """Drop what no database or index accepts: lone surrogates, NUL and other control or
    invisible characters (replaced by spaces)."""
    if not text:
        return ""
    text = str(text)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = text.encode("utf-8", "ignore").decode("utf-8")
    return _INVISIBLE.sub(" ", text)


def tokens(text: str | None) -> list[str]:
    """Exact tokens of a document field (see vn_text.syllables), each cut to a sane length."""
    return [t[:MAX_TOKEN_CHARS] for t in syllables(sanitise(text))]


def folded(exact: Iterable[str]) -> list[str]:
    return [fold_token(t) for t in exact]


def bigrams(seq: list[str]) -> list[str]:
    """Adjacent pairs joined by '_': ['nước', 'mắm', 'ngon'] -> ['nước_mắm', 'mắm_ngon']."""
    return [a + BIGRAM_JOIN + b for a, b in zip(seq, seq[1:], strict=False)]


@dataclass(frozen=True)
class FieldTokens:
    """One document field analysed: exact and folded unigrams and bigrams."""

    exact: tuple[str, ...]
    folded: tuple[str, ...]
    exact_bigrams: tuple[str, ...]
    folded_bigrams: tuple[str, ...]


def analyse_field(*segments: str | None) -> FieldTokens:
    """Analyse a field made of separate segments (bigrams never cross a segment boundary)."""
    ex: list[str] = []
    fo: list[str] = []
    ebi: list[str] = []
    fbi: list[str] = []
    for segment in segments:
        seg_exact = tokens(segment)
        seg_fold = folded(seg_exact)
        ex += seg_exact
        fo += seg_fold
        ebi += bigrams(seg_exact)
        fbi += bigrams(seg_fold)
    return FieldTokens(tuple(ex), tuple(fo), tuple(ebi), tuple(fbi))


# --- synonyms -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Synonyms:
    by_exact: dict[tuple[str, ...], tuple[tuple[str, ...], ...]]
    by_folded: dict[tuple[str, ...], tuple[tuple[str, ...], ...]]
    longest: int


_synonym_cache: dict[tuple, Synonyms] = {}
_synonym_lock = Lock()


def _mtime(path: Path) -> float:
    try:
        return os.stat(path).st_mtime
    except OSError:
        return -1.0


def load_synonyms(extra: Path | None = None) -> Synonyms:
    """Groups from data/synonyms.txt plus an optional organisers' file; reloaded when changed."""
    paths = [SYNONYMS_FILE] + ([Path(extra)] if extra else [])
    key = tuple((str(p), _mtime(p)) for p in paths)
    with _synonym_lock:
        cached = _synonym_cache.get(key)
        if cached is not None:
            return cached
        groups: list[list[tuple[str, ...]]] = []
        for path in paths:
            if _mtime(path) < 0:
                continue
            for line in path.read_text(encoding="utf-8").splitlines():
                line = line.strip()
                if not line or line.startswith("#"):
                    continue
                members = [tuple(tokens(part)) for part in line.split(",")]
                members = [m for m in members if m]
                if len(members) > 1:
                    groups.append(members)
        by_exact: dict[tuple[str, ...], list[tuple[str, ...]]] = {}
        by_folded: dict[tuple[str, ...], list[tuple[str, ...]]] = {}
        for members in groups:
            for member in members:
                fkey = tuple(folded(member))
                for other in members:
                    if other == member:
                        continue
                    for target in (by_exact.setdefault(member, []), by_folded.setdefault(fkey, [])):
                        if other not in target:
                            target.append(other)
        result = Synonyms(
            {k: tuple(v) for k, v in by_exact.items()},
            {k: tuple(v) for k, v in by_folded.items()},
            max((len(k) for k in by_exact), default=1),
        )
        _synonym_cache.clear()
        _synonym_cache[key] = result
        return result


# --- the query plan -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Alternative:
    exact: tuple[str, ...]
    folded: tuple[str, ...]
    synonym: bool = False


@dataclass(frozen=True)
class Slot:
    """One need in the query: the typed word(s) or any of their synonyms."""

    alternatives: tuple[Alternative, ...]

    @property
    def typed(self) -> Alternative:
        return self.alternatives[0]


@dataclass(frozen=True)
class QueryPlan:
    text: str
    tokens: tuple[str, ...]
    folded: tuple[str, ...]
    accented: bool  # the user typed diacritics: exact-form matches get a boost
    slots: tuple[Slot, ...]
    exact_bigrams: tuple[str, ...]
    folded_bigrams: tuple[str, ...]

    @property
    def empty(self) -> bool:
        return not self.tokens

    def with_tokens(self, new_tokens: list[str], synonyms: Synonyms | None = None) -> QueryPlan:
        return plan_query(" ".join(new_tokens), synonyms)


def clean_query_text(text: str | None) -> str:
    return sanitise((text or "")[:MAX_QUERY_CHARS])


def plan_query(text: str | None, synonyms: Synonyms | None = None) -> QueryPlan:
    """Split the user's text into tokens and slots. Never raises, whatever the text."""
    raw = clean_query_text(text)
    exact = tokens(raw)[:MAX_TOKENS]
    fold = folded(exact)
    accented = any(has_diacritics(t) for t in exact)
    slots: list[Slot] = []
    i = 0
    while i < len(exact):
        matched = False
        if synonyms is not None:
            for length in range(min(synonyms.longest, len(exact) - i), 0, -1):
                span_exact = tuple(exact[i : i + length])
                span_fold = tuple(fold[i : i + length])
                group = synonyms.by_exact.get(span_exact)
                if group is None and not any(has_diacritics(t) for t in span_exact):
                    group = synonyms.by_folded.get(span_fold)
                if group:
                    alts = [Alternative(span_exact, span_fold)]
                    alts += [Alternative(m, tuple(folded(m)), synonym=True) for m in group]
                    slots.append(Slot(tuple(alts)))
                    i += length
                    matched = True
                    break
        if not matched:
            slots.append(Slot((Alternative((exact[i],), (fold[i],)),)))
            i += 1
    return QueryPlan(
        text=raw,
        tokens=tuple(exact),
        folded=tuple(fold),
        accented=accented,
        slots=tuple(slots),
        exact_bigrams=tuple(bigrams(exact)),
        folded_bigrams=tuple(bigrams(fold)),
    )
