"""Candidate retrieval for matching: `candidates(need)` is the one function to swap.

A need is natural language, so retrieval must not require every word: it recalls products having
ANY content word of the need (need.interpret() drops the purchase words first) and ranks them by
an IDF-weighted coverage of the need's words, field by field (scorer.FIELD_FACTORS), plus a bonus
for adjacent words found together. A relevance floor (absolute and relative to the best candidate)
keeps one weak word ("dong" in the district "Hà Đông") from making a candidate.

Text analysis is the search package's own (marketplace.search.analysis: syllables, folding,
bigrams, synonyms), so "mây" / "may", "trà" / "chè" behave as in search. Two sources implement
the same relevance rules:

- "index" (default): `TermIndex`, an in-memory inverted index of the public products' analysed
  fields (compact arrays of product ids), built from marketplace.search.base.iter_public_docs.
  Each process keeps its own (like the embedded Whoosh default). At most every
  MATCH_INDEX_CHECK_SECONDS a request re-reads the products changed since (updated_at of the
  product or its producer; a changed public count finds new and deleted ones) into an overlay;
  a large or old overlay is folded into a new base in a background thread while the old one
  serves (synchronously in tests). A stale index can only affect recall and order for a few
  seconds: every hard constraint is checked again on fresh database rows (services.py).
- "search": asks the configured search backend (marketplace.search.search_products) once per
  content word — any-word recall, and each word's document frequency from the result's total —
  then scores the recalled products' analysed fields. Exact but slower (one backend query per
  word); select it with MATCH_CANDIDATES = "search".

Why not one search_products() call: the backend requires every word (it relaxes to any word
only when nothing matches all of them), exposes no document frequencies, and scoring all matches
of a common word costs it 10–75 ms at 7,200 products, above the matching budget (docs/matching.md).
"""

from __future__ import annotations

import logging
import math
import threading
import time
from array import array
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import Flask, current_app
from sqlalchemy.orm import Session

from marketplace.core.models import utcnow
from marketplace.core.vn_text import fold_token
from marketplace.matching.need import Need
from marketplace.matching.scorer import (
    FIELD_FACTORS,
    FOLDED_ONLY,
    PHRASE_SHARE,
    POSITION_DECAY,
    POSITION_MIN,
    RELATIVE_FLOOR,
    RELEVANCE_FLOOR,
    SYNONYM,
    TextMatch,
)
from marketplace.search.analysis import BIGRAM_JOIN, FieldTokens, QueryPlan, bigrams, plan_query, tokens

log = logging.getLogger(__name__)

EXTENSION_KEY = "ocop_matching_index"
MAX_CANDIDATES = 400  # at most this many products (best relevance first) go on to the scorer
EXACT_GROUPS = ("name", "desc", "producer", "place")  # fields whose accented form is indexed too


# --- the plan of a need's words ---------------------------------------------------------------


def need_plan(content: str, app: Flask | None = None) -> QueryPlan:
    """The need's content words as the search package plans a query (with its synonyms)."""
    from marketplace.search.synonyms import current_synonyms

    app = app or current_app._get_current_object()
    return plan_query(content, current_synonyms(app))


def slot_label(plan: QueryPlan, index: int) -> str:
    return " ".join(plan.slots[index].typed.exact)


def phrase_keys(plan: QueryPlan) -> list[str]:
    """Folded bigrams of adjacent one-word slots as typed: 'miến dong' -> ['mien_dong']."""
    keys: list[str] = []
    for a, b in zip(plan.slots, plan.slots[1:], strict=False):
        if len(a.typed.folded) == 1 and len(b.typed.folded) == 1:
            keys.append(a.typed.folded[0] + BIGRAM_JOIN + b.typed.folded[0])
    return keys


def idf(total_docs: int, doc_freq: int) -> float:
    """BM25's inverse document frequency (always > 0)."""
    return math.log(1 + (total_docs - doc_freq + 0.5) / (doc_freq + 0.5))


def slot_weights(total_docs: int, doc_freqs: list[int]) -> list[float]:
    """Each content word's weight: its idf, less for later words (Vietnamese puts the head noun
    first: "miến dong loại ngon làm quà tặng"). A word no product has still counts, as much as
    the known words on average: if "miến" is missing from the catalogue, "dong" alone must not
    make candidates."""
    known = [idf(total_docs, df) for df in doc_freqs if df]
    unknown = sum(known) / len(known) if known else 0.0
    return [
        (idf(total_docs, df) if df else unknown) * max(POSITION_MIN, POSITION_DECAY**i)
        for i, df in enumerate(doc_freqs)
    ]


@dataclass(frozen=True)
class SlotHit:
    value: float  # FIELD_FACTORS of the best field, times FOLDED_ONLY / SYNONYM where they apply
    field: str


def combine(
    plan: QueryPlan,
    weights: list[float],
    hits: list[SlotHit | None],
    phrase: float | None,
) -> TextMatch:
    """Relevance from per-slot hits: Σ weight × value / Σ weight (slot_weights), blended with the
    share of adjacent words found together (PHRASE_SHARE). Pure."""
    denominator = sum(weights)
    if denominator <= 0:
        return TextMatch(0.0)
    coverage = sum(w * h.value for w, h in zip(weights, hits, strict=True) if h is not None) / denominator
    relevance = coverage if phrase is None else (1 - PHRASE_SHARE) * coverage + PHRASE_SHARE * phrase
    matched = tuple((slot_label(plan, i), h.field) for i, h in enumerate(hits) if h is not None and weights[i] > 0)
    return TextMatch(round(min(1.0, relevance), 6), matched)


# --- the same rules over a product's analysed fields (search source, leads, tests) ------------


def slot_hit_in_fields(plan: QueryPlan, index: int, fields: Mapping[str, FieldTokens]) -> SlotHit | None:
    best: SlotHit | None = None
    for alt in plan.slots[index].alternatives:
        factor = SYNONYM if alt.synonym else 1.0
        for group, analysed in fields.items():
            if len(alt.folded) == 1:
                if alt.folded[0] not in analysed.folded:
                    continue
                value = FIELD_FACTORS[group] * factor
                typed_accent = plan.accented and alt.exact[0] != alt.folded[0]
                if typed_accent and group in EXACT_GROUPS and alt.exact[0] not in analysed.exact:
                    value *= FOLDED_ONLY
            else:
                pairs = [a + BIGRAM_JOIN + b for a, b in zip(alt.folded, alt.folded[1:], strict=False)]
                if not all(p in analysed.folded_bigrams for p in pairs):
                    continue
                value = FIELD_FACTORS[group] * factor
            if best is None or value > best.value:
                best = SlotHit(value, group)
    return best


def phrase_in_fields(keys: list[str], fields: Mapping[str, FieldTokens]) -> float | None:
    if not keys:
        return None
    found = 0.0
    for key in keys:
        found += max((FIELD_FACTORS[g] for g, t in fields.items() if key in t.folded_bigrams), default=0.0)
    return found / len(keys)


def match_fields(plan: QueryPlan, weights: list[float], fields: Mapping[str, FieldTokens]) -> TextMatch:
    """TextMatch of one product from its analysed fields (ProductDoc.analysed())."""
    hits = [slot_hit_in_fields(plan, i, fields) if weights[i] > 0 else None for i in range(len(plan.slots))]
    return combine(plan, weights, hits, phrase_in_fields(phrase_keys(plan), fields))


def apply_floor(scored: Mapping[int, TextMatch]) -> dict[int, TextMatch]:
    """Keep relevance ≥ RELEVANCE_FLOOR and ≥ RELATIVE_FLOOR × the best."""
    if not scored:
        return {}
    best = max(m.relevance for m in scored.values())
    floor = max(RELEVANCE_FLOOR, RELATIVE_FLOOR * best)
    return {pid: m for pid, m in scored.items() if m.relevance >= floor - 1e-9}


# --- the in-memory index ----------------------------------------------------------------------


class FoldCache(dict):
    """token -> folded token: a catalogue has few distinct words, folding each once is cheap."""

    def __missing__(self, token: str) -> str:
        value = self[token] = fold_token(token)
        return value


def _analyse(cache: FoldCache, *segments: str | None) -> FieldTokens:
    """analysis.analyse_field with memoised folding (same tokens, same bigrams)."""
    ex: list[str] = []
    fo: list[str] = []
    ebi: list[str] = []
    fbi: list[str] = []
    for segment in segments:
        seg_exact = tokens(segment)
        seg_fold = [cache[t] for t in seg_exact]
        ex += seg_exact
        fo += seg_fold
        ebi += bigrams(seg_exact)
        fbi += bigrams(seg_fold)
    return FieldTokens(tuple(ex), tuple(fo), tuple(ebi), tuple(fbi))


def doc_fields(doc, cache: FoldCache | None = None) -> dict[str, FieldTokens]:
    """The field groups of marketplace.search.base.ProductDoc.analysed(), folded through `cache`
    (tests check both give the same tokens)."""
    from marketplace.data import CERTIFICATIONS, OCOP_GROUPS, PRODUCER_KINDS

    cache = cache if cache is not None else FoldCache()
    tags: list[str] = []
    for cert in doc.certifications:
        known = CERTIFICATIONS.get(cert)
        tags += [known[0], *known[1]] if known else [cert]
    if doc.ocop_group in OCOP_GROUPS:
        tags += list(OCOP_GROUPS[doc.ocop_group])
    if doc.producer_kind in PRODUCER_KINDS:
        tags += list(PRODUCER_KINDS[doc.producer_kind])
        if doc.producer_kind == "cooperative":
            tags.append("HTX")
    tags += list(doc.extra_tags)
    return {
        "name": _analyse(cache, doc.name),
        "name_en": _analyse(cache, doc.name_en),
        "producer": _analyse(cache, doc.producer_name),
        "place": _analyse(cache, doc.craft_village, doc.commune, doc.district),
        "desc": _analyse(cache, doc.description),
        "tags": _analyse(cache, *tags),
    }


@dataclass(frozen=True)
class SlotHits:
    """One need word's hits: product id -> best value, and the field it was found in."""

    values: dict[int, float]
    fields: dict[int, str]

    def __len__(self) -> int:
        return len(self.values)


@dataclass(frozen=True)
class DocEntry:
    """A product analysed outside the base arrays (changed since the base was built)."""

    fields: dict[str, FieldTokens]
    group: str
    stars: int


@dataclass
class TermIndex:
    """Postings 'f:<folded>' / 'x:<exact>' / 'b:<folded bigram>' -> field group -> product ids,
    plus an overlay of products changed since (`overlay`: id -> DocEntry, or None = removed)."""

    postings: dict[str, dict[str, array]] = field(default_factory=dict)
    groups: dict[int, str] = field(default_factory=dict)  # product id -> OCOP group (prefilter)
    stars: dict[int, int] = field(default_factory=dict)  # product id -> valid stars when built (tie-break)
    overlay: dict[int, DocEntry | None] = field(default_factory=dict)
    size: int = field(init=False, default=0)  # public products
    # plan words -> doc_freqs: an index never changes (changes make a new one), so neither do they
    _freqs: dict[tuple, list[int]] = field(init=False, default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        base = len(self.groups) - sum(1 for pid in self.overlay if pid in self.groups)
        self.size = base + sum(1 for e in self.overlay.values() if e is not None)

    @classmethod
    def build(cls, docs: Iterable) -> TermIndex:
        """From marketplace.search.base.ProductDoc objects (the public products)."""
        from marketplace.core.dates import today

        on = today()
        cache = FoldCache()
        raw: dict[str, dict[str, list[int]]] = {}
        groups: dict[int, str] = {}
        stars: dict[int, int] = {}
        for doc in docs:
            pid = doc.product_id
            groups[pid] = doc.ocop_group
            stars[pid] = doc.stars_on(on)
            for group, analysed in doc_fields(doc, cache).items():
                keys = {"f:" + t for t in analysed.folded} | {"b:" + t for t in analysed.folded_bigrams}
                if group in EXACT_GROUPS:
                    keys |= {"x:" + t for t in analysed.exact}
                for key in keys:
                    raw.setdefault(key, {}).setdefault(group, []).append(pid)
        postings = {key: {g: array("i", ids) for g, ids in by_group.items()} for key, by_group in raw.items()}
        return cls(postings, groups, stars)

    def with_overlay(self, changes: Mapping[int, DocEntry | None]) -> TermIndex:
        """A new index sharing the base arrays, with these changes over the current overlay."""
        return TermIndex(self.postings, self.groups, self.stars, {**self.overlay, **changes})

    def known_ids(self) -> set[int]:
        ids = {pid for pid in self.groups if pid not in self.overlay}
        ids.update(pid for pid, e in self.overlay.items() if e is not None)
        return ids

    def _slot_hits(self, plan: QueryPlan, index: int) -> SlotHits:
        """Per product, the best value of the slot's word over its fields (bulk dict updates in
        ascending value order: the last write is the best)."""
        layers: list[tuple[float, Iterable[int], str]] = []
        for alt in plan.slots[index].alternatives:
            factor = SYNONYM if alt.synonym else 1.0
            if len(alt.folded) == 1:
                typed_accent = plan.accented and alt.exact[0] != alt.folded[0]
                exact = self.postings.get("x:" + alt.exact[0], {}) if typed_accent else {}
                for group, ids in self.postings.get("f:" + alt.folded[0], {}).items():
                    value = FIELD_FACTORS[group] * factor
                    if typed_accent and group in EXACT_GROUPS:
                        layers.append((value * FOLDED_ONLY, ids, group))
                        layers.append((value, exact.get(group, ()), group))  # a subset of ids
                    else:
                        layers.append((value, ids, group))
            else:
                pairs = ["b:" + a + BIGRAM_JOIN + b for a, b in zip(alt.folded, alt.folded[1:], strict=False)]
                lists = [self.postings.get(p, {}) for p in pairs]
                for group in FIELD_FACTORS:
                    sets = [set(found.get(group, ())) for found in lists]
                    if sets:
                        layers.append((FIELD_FACTORS[group] * factor, set.intersection(*sets), group))
        values: dict[int, float] = {}
        fields: dict[int, str] = {}
        for value, ids, group in sorted(layers, key=lambda layer: layer[0]):
            values.update(dict.fromkeys(ids, value))
            fields.update(dict.fromkeys(ids, group))
        for pid, entry in self.overlay.items():
            values.pop(pid, None)
            fields.pop(pid, None)
            hit = slot_hit_in_fields(plan, index, entry.fields) if entry is not None else None
            if hit is not None:
                values[pid], fields[pid] = hit.value, hit.field
        return SlotHits(values, fields)

    def group_of(self, pid: int) -> str | None:
        entry = self.overlay.get(pid)
        return entry.group if entry is not None else self.groups.get(pid)

    def stars_of(self, pid: int) -> int:
        entry = self.overlay.get(pid)
        return entry.stars if entry is not None else self.stars.get(pid, 0)

    def _phrase_values(self, keys: list[str]) -> dict[int, float]:
        """Product id -> Σ over the need's adjacent word pairs of the best field holding the pair."""
        total: dict[int, float] = {}
        for key in keys:
            best: dict[int, float] = {}
            found = self.postings.get("b:" + key, {})
            for group in sorted(found, key=lambda g: FIELD_FACTORS[g]):
                best.update(dict.fromkeys(found[group], FIELD_FACTORS[group]))
            for pid, entry in self.overlay.items():
                best.pop(pid, None)
                value = phrase_in_fields([key], entry.fields) if entry is not None else None
                if value:
                    best[pid] = value
            get = total.get
            for pid, value in best.items():
                total[pid] = get(pid, 0.0) + value
        return total

    def search(self, plan: QueryPlan, group: str | None = None, limit: int = MAX_CANDIDATES) -> dict[int, TextMatch]:
        """Products having any of the plan's words, above the relevance floor, best first.
        Same relevance as combine()/match_fields(), computed in bulk."""
        return self.search_with_freqs(plan, group, limit)[0]

    def search_with_freqs(
        self, plan: QueryPlan, group: str | None = None, limit: int = MAX_CANDIDATES
    ) -> tuple[dict[int, TextMatch], list[int]]:
        """search() and each word's document frequency (doc_freqs)."""
        if plan.empty or not self.size:
            return {}, [0] * len(plan.slots)
        per_slot = [self._slot_hits(plan, i) for i in range(len(plan.slots))]
        freqs = [len(h) for h in per_slot]
        weights = slot_weights(self.size, freqs)
        denominator = sum(weights)
        if denominator <= 0:
            return {}, freqs
        keys = phrase_keys(plan)
        # MaxScore: products holding none of the heaviest ("essential") words can't reach the
        # floor even with every other word in their name; only products holding an essential word
        # are scored, the other words are looked up for them.
        share, phrase_max = ((1 - PHRASE_SHARE), PHRASE_SHARE) if keys else (1.0, 0.0)
        rest = denominator
        essential: list[int] = []
        for i in sorted(range(len(weights)), key=lambda i: -weights[i]):
            if share * rest / denominator + phrase_max < RELEVANCE_FLOOR - 1e-9:
                break
            essential.append(i)
            rest -= weights[i]
        coverage: dict[int, float] = {}
        for i in essential:
            weight, found = weights[i], per_slot[i].values
            if not coverage:
                coverage = {pid: weight * value for pid, value in found.items()}
                continue
            get = coverage.get
            for pid, value in found.items():
                coverage[pid] = get(pid, 0.0) + weight * value
        for i in set(range(len(weights))) - set(essential):
            weight, found = weights[i], per_slot[i].values
            if len(found) < len(coverage):
                for pid, value in found.items():
                    if pid in coverage:
                        coverage[pid] += weight * value
            else:
                lookup = found.get
                for pid in coverage:
                    value = lookup(pid)
                    if value:
                        coverage[pid] += weight * value
        if group:
            coverage = {pid: c for pid, c in coverage.items() if self.group_of(pid) == group}
        relevance: dict[int, float]
        if keys:
            phrases = self._phrase_values(keys)
            relevance = {
                pid: (1 - PHRASE_SHARE) * c / denominator + PHRASE_SHARE * phrases.get(pid, 0.0) / len(keys)
                for pid, c in coverage.items()
            }
        else:
            relevance = {pid: c / denominator for pid, c in coverage.items()}
        if not relevance:
            return {}, freqs
        floor = max(RELEVANCE_FLOOR, RELATIVE_FLOOR * max(relevance.values())) - 1e-9
        kept = [pid for pid, r in relevance.items() if r >= floor]
        kept.sort(key=lambda pid: (-round(relevance[pid], 6), -self.stars_of(pid), pid))
        out: dict[int, TextMatch] = {}
        for pid in kept[:limit]:
            matched = tuple(
                (slot_label(plan, i), hits.fields[pid]) for i, hits in enumerate(per_slot) if pid in hits.values
            )
            out[pid] = TextMatch(round(min(1.0, relevance[pid]), 6), matched)
        return out, freqs

    def doc_freqs(self, plan: QueryPlan) -> list[int]:
        """How many products have each slot's word (or one of its synonyms); memoised."""
        key = (plan.accented, tuple(slot.alternatives for slot in plan.slots))
        found = self._freqs.get(key)
        if found is None:
            if len(self._freqs) > 5000:
                self._freqs.clear()
            found = self._freqs[key] = [len(self._slot_hits(plan, i)) for i in range(len(plan.slots))]
        return list(found)

    def df_weights(self, plan: QueryPlan) -> list[float]:
        return slot_weights(self.size, self.doc_freqs(plan))


# --- keeping the index fresh ------------------------------------------------------------------

SLACK = timedelta(minutes=2)  # changes of the last two minutes are looked at again (late commits);
# new and removed products are always found (public count); a rebuild every MATCH_INDEX_MAX_AGE
# seconds after any change catches the rest


def _recent_changes(session: Session, since: datetime | None) -> dict[int, datetime]:
    """Product id -> the latest of its own and its producer's update time, for the products
    changed (or whose producer changed) after `since` (all products when None)."""
    from marketplace.catalog.models import Product
    from marketplace.producers.models import Producer

    stmt = sa.select(Product.id, Product.updated_at, Producer.updated_at).join(
        Producer, Producer.id == Product.producer_id
    )
    if since is not None:
        stmt = stmt.where(sa.or_(Product.updated_at > since, Producer.updated_at > since))
    return {pid: max(a, b) for pid, a, b in session.execute(stmt)}


def _public_count(session: Session) -> int:
    from marketplace.search.base import count_public

    return count_public(session) or 0


def _public_ids(session: Session) -> set[int]:
    from marketplace.catalog.models import Product

    return set(session.scalars(sa.select(Product.id).where(Product.status == "published", Product.hidden.is_(False))))


class IndexHolder:
    """One app's TermIndex: a base built from every public product (in a background thread when
    serving) plus an overlay of the products changed since, refreshed at most every
    MATCH_INDEX_CHECK_SECONDS. The overlay is folded into a new base when it grows past
    MATCH_INDEX_OVERLAY_MAX products. Each process keeps its own; the database is the truth."""

    def __init__(self) -> None:
        self.index: TermIndex | None = None
        self.seen: dict[int, datetime] = {}  # product id -> change time already reflected
        self.watermark: datetime | None = None
        self.checked_at = 0.0
        self.built_at = 0.0
        self.dirty = False  # a change was seen since the last full build
        self.lock = threading.Lock()
        self.first_build = threading.Lock()  # one first build per process: later callers wait for it
        self.building = False

    # -- full builds
    def _build(self, app: Flask) -> None:
        from marketplace.extensions import db
        from marketplace.search.base import iter_public_docs

        with app.app_context(), Session(db.engine) as session:
            seen = _recent_changes(session, None)
            watermark = max(seen.values(), default=None)
            index = TermIndex.build(iter_public_docs(session))
        with self.lock:
            self.index = index
            self.built_at = time.monotonic()
            self.dirty = False
            cutoff = utcnow() - SLACK
            self.seen = {pid: t for pid, t in seen.items() if t > cutoff}
            self.watermark = watermark

    def _background(self, app: Flask) -> None:
        try:
            self._build(app)
        except Exception:  # a failed rebuild keeps the previous index serving
            log.exception("matching index rebuild failed")
        finally:
            self.building = False

    # -- overlay refresh
    def _refresh(self, app: Flask) -> None:
        from marketplace.extensions import db
        from marketplace.search.base import load_docs

        index = self.index
        assert index is not None
        # New changes (after the watermark), and those of the last SLACK of wall-clock time: a
        # transaction that committed late with earlier timestamps is still found.
        since = min(self.watermark, utcnow() - SLACK) if self.watermark is not None else None
        recent = _recent_changes(db.session, since)
        changed = [pid for pid, t in recent.items() if self.seen.get(pid) != t]
        changes: dict[int, DocEntry | None] = {}
        on = None
        if changed:
            from marketplace.core.dates import today

            on = today()
            with Session(db.engine) as session:  # load_docs expunges its session
                for pid, doc in load_docs(session, changed).items():
                    changes[pid] = None if doc is None else DocEntry(doc_fields(doc), doc.ocop_group, doc.stars_on(on))
        updated = index.with_overlay(changes) if changes else index
        if _public_count(db.session) != updated.size:  # deleted rows, or changes missed
            public = _public_ids(db.session)
            known = updated.known_ids()
            removed = {pid: None for pid in known - public}
            missing = list(public - known)
            added: dict[int, DocEntry | None] = {}
            if missing:
                from marketplace.core.dates import today

                on = on or today()
                with Session(db.engine) as session:
                    for pid, doc in load_docs(session, missing).items():
                        added[pid] = (
                            None if doc is None else DocEntry(doc_fields(doc), doc.ocop_group, doc.stars_on(on))
                        )
            if removed or added:
                updated = updated.with_overlay({**removed, **added})
        with self.lock:
            if self.index is index:
                self.index = updated
                self.seen.update({pid: recent[pid] for pid in changed})
                self.dirty = self.dirty or bool(recent) or updated is not index
                if recent:
                    newest = max(recent.values())
                    self.watermark = max(self.watermark, newest) if self.watermark else newest
                cutoff = utcnow() - SLACK
                self.seen = {pid: t for pid, t in self.seen.items() if t > cutoff}

    def get(self, app: Flask) -> TermIndex:
        interval = float(app.config.get("MATCH_INDEX_CHECK_SECONDS", 0 if app.testing else 2.0) or 0)
        sync = bool(app.config.get("MATCH_INDEX_SYNC", app.testing))
        overlay_max = int(app.config.get("MATCH_INDEX_OVERLAY_MAX", 500))
        max_age = float(app.config.get("MATCH_INDEX_MAX_AGE", 900))
        now = time.monotonic()
        if self.index is None:
            with self.first_build:
                if self.index is None:
                    self._build(app)
                    self.checked_at = time.monotonic()
            assert self.index is not None
            return self.index
        if interval and now - self.checked_at < interval:
            return self.index  # type: ignore[return-value]
        self.checked_at = now
        self._refresh(app)
        index = self.index
        assert index is not None
        stale = self.dirty and now - self.built_at > max_age
        if stale or len(index.overlay) > max(overlay_max, index.size // 20):
            if sync:
                self._build(app)
            elif not self.building:
                self.building = True
                threading.Thread(target=self._background, args=(app,), daemon=True).start()
        return self.index  # type: ignore[return-value]


def term_index(app: Flask | None = None) -> TermIndex:
    app = app or current_app._get_current_object()
    holder = app.extensions.get(EXTENSION_KEY)
    if holder is None:
        holder = app.extensions.setdefault(EXTENSION_KEY, IndexHolder())
    return holder.get(app)


def warm(app: Flask) -> threading.Thread:
    """Build the index in a background thread (a gunicorn worker calls this when it starts), so
    the first match request does not wait for the build (seconds at 7,200 products)."""

    def build() -> None:
        try:
            with app.app_context():
                term_index(app)
        except Exception:  # the first request will try again
            log.exception("warming the matching index failed")

    thread = threading.Thread(target=build, name="matching-index-warm", daemon=True)
    thread.start()
    return thread


# --- the swap point ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Candidates:
    """Recalled products above the floor (product id -> TextMatch, best first) and the plan."""

    matches: dict[int, TextMatch]
    plan: QueryPlan
    unknown_words: tuple[str, ...] = ()  # content words no product has
    suggestion: str | None = None  # a spelling correction of the content words, when some are unknown


def candidates(need: Need, content: str | None = None, limit: int | None = None) -> Candidates:
    """The products worth scoring for `need`, with their text relevance, at most `limit`
    (MAX_CANDIDATES) best first. `content` is the need's content words
    (need.interpret(need.text).content when not given)."""
    from marketplace.matching.need import interpret

    plan = need_plan(content if content is not None else interpret(need.text).content)
    source = (current_app.config.get("MATCH_CANDIDATES") or "index").lower()
    if source == "search":
        return _from_search(need, plan, limit or MAX_CANDIDATES)
    index = term_index()
    matches, freqs = index.search_with_freqs(plan, group=need.ocop_group, limit=limit or MAX_CANDIDATES)
    unknown = tuple(slot_label(plan, i) for i, df in enumerate(freqs) if df == 0)
    # A word no product has may be a typo: offer the search backend's correction, never apply it
    # silently ("miến" missing from the catalogue must not turn into "men" glaze).
    return Candidates(matches, plan, unknown, spelling(plan) if unknown else None)


def spelling(plan: QueryPlan) -> str | None:
    """The search backend's correction of the need's words ("mien dongg" -> "mien dong"), or None."""
    from marketplace.search import get_backend

    try:
        suggestion, _fixed = get_backend().suggestion_for(plan)
    except Exception:  # spelling is a help: never let it break matching
        log.exception("spelling suggestion failed")
        return None
    return suggestion or None


def _from_search(need: Need, plan: QueryPlan, limit: int) -> Candidates:
    """Any-word recall through the search backend: one query per content word."""
    from marketplace.extensions import db
    from marketplace.search import SearchQuery, search_products
    from marketplace.search.base import count_public, load_docs

    if plan.empty:
        return Candidates({}, plan)
    total_docs = count_public(db.session) or 0
    freqs: list[int] = []
    recalled: dict[int, None] = {}
    for slot in plan.slots:
        result = search_products(
            SearchQuery(text=" ".join(slot.typed.exact), per_page=100, with_facets=False, fuzzy=False)
        )
        freqs.append(result.total)
        for pid in result.product_ids:
            recalled.setdefault(pid)
    weights = slot_weights(total_docs, freqs)
    scored: dict[int, TextMatch] = {}
    with Session(db.engine) as session:  # load_docs expunges its session: never the request's
        docs = load_docs(session, list(recalled))
    for pid, doc in docs.items():
        if doc is None or (need.ocop_group and doc.ocop_group != need.ocop_group):
            continue
        scored[pid] = match_fields(plan, weights, doc.analysed())
    kept = apply_floor(scored)
    order = sorted(kept, key=lambda pid: (-kept[pid].relevance, pid))[:limit]
    unknown = tuple(slot_label(plan, i) for i, df in enumerate(freqs) if df == 0)
    return Candidates({pid: kept[pid] for pid in order}, plan, unknown)
