"""The search interface: queries, results, the indexed document, and what every backend shares."""

from __future__ import annotations

import dataclasses
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache
from typing import NamedTuple

import sqlalchemy as sa
from markupsafe import Markup, escape
from sqlalchemy.orm import Session, noload

from marketplace.core.vn_text import fold, fold_token, has_diacritics, nfc
from marketplace.search.analysis import FieldTokens, QueryPlan, analyse_field, plan_query, sanitise, tokens

SORTS = ("relevance", "stars", "price_asc", "price_desc", "newest")
MAX_PER_PAGE = 100
# Price bands on the product's lowest price (VND): code -> (from, below); None = open.
PRICE_BANDS: dict[str, tuple[int | None, int | None]] = {
    "lt100k": (None, 100_000),
    "100k-500k": (100_000, 500_000),
    "500k-2m": (500_000, 2_000_000),
    "gte2m": (2_000_000, None),
}
FACETS = ("ocop_group", "ocop_stars", "district", "certification", "price_band")
ProgressFn = Callable[[int, int], None]


def _int_or_none(value) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


@dataclass
class SearchQuery:
    """What the user asked for. Every field is optional; normalised() makes any input safe."""

    text: str = ""
    group: str | None = None
    min_stars: int | None = None
    district: str | None = None  # the producer's district, any spelling ("dong anh")
    certification: str | None = None  # a code (vietgap, organic…) or a label/alias
    price_band: str | None = None  # a PRICE_BANDS code
    price_min: int | None = None  # the product's highest price is at least this
    price_max: int | None = None  # the product's lowest price is at most this
    producer_id: int | None = None
    sort: str = "relevance"
    page: int = 1
    per_page: int = 20
    with_facets: bool = True
    with_highlights: bool = True  # False: ids and scores only (callers that show no snippet)
    fuzzy: bool = True  # fall back to a spelling-corrected query when nothing matches

    def normalised(self) -> SearchQuery:
        from marketplace.data import canonical_certification

        page = _int_or_none(self.page) or 1
        per_page = _int_or_none(self.per_page) or 20
        stars = _int_or_none(self.min_stars)
        cert = nfc(sanitise(self.certification))[:100] if self.certification else ""
        return dataclasses.replace(
            self,
            text=nfc(sanitise(self.text[:2000] if isinstance(self.text, str) else self.text))[:500]
            if self.text
            else "",
            group=(nfc(sanitise(self.group)).lower()[:40] or None) if self.group else None,
            min_stars=max(0, min(5, stars)) or None if stars is not None else None,
            district=fold(sanitise(self.district))[:80] or None if self.district else None,
            certification=(canonical_certification(cert) or None) if cert else None,
            price_band=self.price_band if isinstance(self.price_band, str) and self.price_band in PRICE_BANDS else None,
            price_min=_int_or_none(self.price_min),
            price_max=_int_or_none(self.price_max),
            producer_id=_int_or_none(self.producer_id),
            sort=self.sort if isinstance(self.sort, str) and self.sort in SORTS else "relevance",
            page=max(1, page),
            per_page=max(1, min(MAX_PER_PAGE, per_page)),
        )


class Hit(NamedTuple):
    product_id: int
    score: float
    highlights: dict[str, Markup]


@dataclass
class SearchResult:
    hits: list[Hit]
    total: int
    facets: dict[str, dict[str, int]]
    suggestion: str | None = None
    corrected: bool = False  # the hits come from the suggestion (nothing matched as typed)
    page: int = 1
    per_page: int = 20

    @property
    def product_ids(self) -> list[int]:
        return [h.product_id for h in self.hits]

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


@dataclass
class DrainReport:
    applied: int = 0  # outbox rows applied
    busy: bool = False  # the index was locked by another writer: rows stay queued
    remaining: bool = False


# --- stars that count (CONTRACT.md "Certificates and stars") -------------------------------------


def valid_stars(stars: int | None, verified: bool, issued_on: date | None, expires_on: date | None, on: date) -> int:
    """The certificate's stars if it counts today (verified, issued, not expired), else 0.
    Same rule as marketplace.catalog.stars.certificate_status."""
    if not stars or stars <= 0 or not verified:
        return 0
    if expires_on is not None and expires_on <= on:
        return 0
    if issued_on is not None and issued_on > on:
        return 0
    return stars


def price_band(price_min: int | None, price_max: int | None) -> str | None:
    price = price_min if price_min is not None else price_max
    if price is None:
        return None
    for code, (low, below) in PRICE_BANDS.items():
        if (low is None or price >= low) and (below is None or price < below):
            return code
    return None


# --- the indexed document ----------------------------------------------------------------------


@dataclass
class ProductDoc:
    """What the index knows about one public product (read from the database, the truth)."""

    product_id: int
    producer_id: int
    ref: str
    name: str
    name_en: str = ""
    producer_name: str = ""
    producer_kind: str = ""
    district: str = ""
    commune: str = ""
    craft_village: str = ""
    description: str = ""
    ocop_group: str = ""
    certifications: tuple[str, ...] = ()
    price_min: int | None = None
    price_max: int | None = None
    stars: int = 0
    verified: bool = False
    issued_on: date | None = None
    expires_on: date | None = None
    published_at: datetime | None = None
    extra_tags: tuple[str, ...] = field(default_factory=tuple)

    def analysed(self) -> dict[str, FieldTokens]:
        """Field groups, heaviest first: name > name_en > producer, place > description, tags."""
        cached = self.__dict__.get("_analysed")
        if cached is None:
            cached = self.__dict__["_analysed"] = self._analyse()
        return cached

    def _analyse(self) -> dict[str, FieldTokens]:
        from marketplace.data import CERTIFICATIONS, OCOP_GROUPS, PRODUCER_KINDS

        tags: list[str] = []
        for cert in self.certifications:
            known = CERTIFICATIONS.get(cert)
            tags += [known[0], *known[1]] if known else [cert]
        if self.ocop_group in OCOP_GROUPS:
            tags += list(OCOP_GROUPS[self.ocop_group])
        if self.producer_kind in PRODUCER_KINDS:
            tags += list(PRODUCER_KINDS[self.producer_kind])
            if self.producer_kind == "cooperative":
                tags.append("HTX")
        tags += list(self.extra_tags)
        return {
            "name": analyse_field(self.name),
            "name_en": analyse_field(self.name_en),
            "producer": analyse_field(self.producer_name),
            "place": analyse_field(self.craft_village, self.commune, self.district),
            "desc": analyse_field(self.description),
            "tags": analyse_field(*tags),
        }

    def stars_on(self, on: date) -> int:
        return valid_stars(self.stars, self.verified, self.issued_on, self.expires_on, on)


def doc_from_product(product) -> ProductDoc | None:
    """A ProductDoc for a public product; None when it must not be searchable."""
    from marketplace.data import canonical_certification

    if product is None or product.status != "published" or product.hidden:
        return None
    producer = product.producer
    cert = product.certificate
    certs = []
    for raw in product.certification_list:
        code = canonical_certification(raw)
        if code and code not in certs:
            certs.append(code)
    return ProductDoc(
        product_id=product.id,
        producer_id=product.producer_id,
        ref=product.ref,
        name=nfc(product.name),
        name_en=nfc(product.name_en),
        producer_name=nfc(producer.name) if producer else "",
        producer_kind=producer.kind if producer else "",
        district=nfc(producer.district) if producer else "",
        commune=nfc(producer.commune) if producer else "",
        craft_village=nfc(producer.craft_village) if producer else "",
        description=nfc(product.description),
        ocop_group=product.ocop_group or "",
        certifications=tuple(certs),
        price_min=product.price_min_vnd,
        price_max=product.price_max_vnd,
        stars=(cert.stars or 0) if cert else 0,
        verified=bool(cert.verified) if cert else False,
        issued_on=cert.issued_on if cert else None,
        expires_on=cert.expires_on if cert else None,
        published_at=product.published_at or product.created_at,
    )


def _product_query():
    from marketplace.catalog.models import Product

    return sa.select(Product).options(noload(Product.images))


def load_docs(session: Session, product_ids: Iterable[int], chunk: int = 500) -> dict[int, ProductDoc | None]:
    """Re-read products from the database; missing or non-public ones map to None."""
    from marketplace.catalog.models import Product

    ids = sorted(set(product_ids))
    docs: dict[int, ProductDoc | None] = dict.fromkeys(ids)
    for start in range(0, len(ids), chunk):
        part = ids[start : start + chunk]
        for product in session.scalars(_product_query().where(Product.id.in_(part))).unique():
            docs[product.id] = doc_from_product(product)
        session.expunge_all()
    return docs


def count_public(session: Session) -> int:
    from marketplace.catalog.models import Product

    return session.scalar(
        sa.select(sa.func.count(Product.id)).where(Product.status == "published", Product.hidden.is_(False))
    )


def iter_public_docs(session: Session, chunk: int = 1000) -> Iterator[ProductDoc]:
    """Every public product, in id order, read in chunks (keyset pagination)."""
    from marketplace.catalog.models import Product

    last = 0
    while True:
        rows = list(
            session.scalars(
                _product_query()
                .where(Product.id > last, Product.status == "published", Product.hidden.is_(False))
                .order_by(Product.id)
                .limit(chunk)
            ).unique()
        )
        if not rows:
            return
        for product in rows:
            doc = doc_from_product(product)
            if doc is not None:
                yield doc
        last = rows[-1].id
        session.expunge_all()


def product_ids_of_producers(session: Session, producer_ids: Iterable[int]) -> set[int]:
    from marketplace.catalog.models import Product

    ids = list(set(producer_ids))
    found: set[int] = set()
    for start in range(0, len(ids), 500):
        found |= set(session.scalars(sa.select(Product.id).where(Product.producer_id.in_(ids[start : start + 500]))))
    return found


# --- highlighting (shared so that both backends mark the same words) ----------------------------

_WORD = re.compile(r"[^\W_]+")


@lru_cache(maxsize=65536)
def _folded_word(word: str) -> str:
    return fold(word)


def _marked(text: str, wanted: set[str]) -> tuple[Markup, int]:
    parts: list[str] = []
    first = -1
    pos = 0
    for match in _WORD.finditer(text):
        if _folded_word(match.group(0)) in wanted:
            if first < 0:
                first = match.start()
            parts.append(escape(text[pos : match.start()]))
            parts.append(Markup("<mark>%s</mark>") % match.group(0))
            pos = match.end()
    parts.append(escape(text[pos:]))
    return Markup("").join(parts), first


def highlight(text: str | None, wanted: set[str], max_chars: int | None = None) -> Markup:
    """Escape `text` and wrap the words whose folded form is in `wanted` in <mark>. With
    max_chars, cut a snippet around the first match (… where cut)."""
    text = nfc(text)
    if max_chars and len(text) > max_chars:
        _, first = _marked(text, wanted)
        start = 0
        if first > max_chars // 3:
            start = text.rfind(" ", 0, first - max_chars // 4) + 1
        end = start + max_chars
        if end < len(text):
            end = text.rfind(" ", start, end) if text.rfind(" ", start, end) > start else end
        snippet = text[start:end]
        marked, _ = _marked(snippet, wanted)
        return (Markup("…") if start else Markup("")) + marked + (Markup("…") if end < len(text) else Markup(""))
    return _marked(text, wanted)[0]


def plan_words(plan: QueryPlan) -> set[str]:
    words = set(plan.folded)
    for slot in plan.slots:
        for alt in slot.alternatives:
            words.update(alt.folded)
    return words


def make_highlights(plan: QueryPlan, name: str, name_en: str, producer: str, description: str) -> dict[str, Markup]:
    wanted = plan_words(plan)
    return {
        "name": highlight(name, wanted),
        "name_en": highlight(name_en, wanted),
        "producer": highlight(producer, wanted),
        "description": highlight(description, wanted, max_chars=180),
    }


# --- autocomplete -------------------------------------------------------------------------------


def _words(text: str) -> tuple[list[str], list[str]]:
    exact = tokens(text)
    return exact, [fold_token(t) for t in exact]


def pick_suggestions(rows: Iterable[tuple[str, str, str]], typed: list[str], limit: int) -> list[str]:
    """Autocomplete strings from candidate (name, English name, producer) rows, best first:
    product names that contain the earlier words and a word starting with the last one (English
    words count for the Vietnamese name), then producer names the same way. Typed diacritics
    narrow the choice ("mâ" means mây, mâm…, not mai or mật) when anything matches them.
    Rows are read lazily and reading stops as soon as enough names are found."""
    typed_fold = [fold_token(t) for t in typed]
    head, last = typed_fold[:-1], typed_fold[-1]
    accented = any(has_diacritics(t) for t in typed)
    # [as typed, other] x [product names, producer names]
    found: list[list[dict[str, str]]] = [[{}, {}], [{}, {}]]

    def matches(text: str, extra: str = "") -> bool | None:
        exact, fold_words = _words(f"{text} {extra}")
        if all(h in fold_words for h in head) and any(w.startswith(last) for w in fold_words):
            return not accented or all(any(w.startswith(t) for w in exact) for t in typed)
        return None

    for name, name_en, producer in rows:
        for kind, (text, extra) in enumerate(((name, name_en), (producer, ""))):
            bucket = found[kind]
            if text and text.casefold() not in bucket[0] and len(bucket[0]) < limit:
                as_typed = matches(text, extra)
                if as_typed is not None:
                    bucket[0 if as_typed else 1].setdefault(text.casefold(), text)
        if len(found[0][0]) >= limit:
            break
    result: list[str] = []
    seen: set[str] = set()
    for typed_matches, others in found:
        for key, text in [*typed_matches.items(), *([] if typed_matches and accented else others.items())]:
            if key not in seen:
                seen.add(key)
                result.append(text)
                if len(result) >= limit:
                    return result
    return result


# --- spelling -----------------------------------------------------------------------------------


def edit_distance(a: str, b: str, limit: int = 3) -> int:
    """Damerau-Levenshtein (optimal string alignment) distance, capped at limit + 1."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cost = 0 if ca == cb else 1
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                cur[j] = min(cur[j], prev2[j - 2] + 1)
        prev2, prev = prev, cur
    return min(prev[-1], limit + 1)


class SearchBackend:
    """One backend: Whoosh (embedded default) or PostgreSQL full text. Subclasses implement the
    index access; spelling and suggestions' wording are shared here."""

    name = "base"

    def __init__(self, app) -> None:
        self.app = app
        self.pending = False  # a commit queued changes to apply before the next read (tests)

    def before_read(self) -> None:
        """Apply this process's queued changes first when draining is deferred to reads."""
        if self.pending:
            self.pending = False
            self.drain(timeout=float(self.app.config.get("SEARCH_CLI_LOCK_TIMEOUT", 30.0)))

    # the interface -------------------------------------------------------------------------
    def ensure_schema(self) -> None:  # pragma: no cover - trivial
        """Create what the backend needs (idempotent)."""

    def query(self, query: SearchQuery) -> SearchResult:
        raise NotImplementedError

    def suggest(self, prefix: str, limit: int = 8) -> list[str]:
        raise NotImplementedError

    def drain(self, timeout: float = 0.25) -> DrainReport:
        raise NotImplementedError

    def rebuild(self, progress: ProgressFn | None = None, only_if_missing: bool = False, drain: bool = True) -> int:
        """Rebuild from the database; then (drain=True) apply what was queued meanwhile."""
        raise NotImplementedError

    def index(self, docs: Iterable[ProductDoc]) -> int:
        """Add or replace documents directly (bench, tests); normal changes go through the outbox."""
        raise NotImplementedError

    def delete(self, product_ids: Iterable[int]) -> None:
        raise NotImplementedError

    def close(self) -> None:
        """Release files and caches."""

    def doc_count(self) -> int:
        """Documents in the index."""
        raise NotImplementedError

    # spelling hooks ------------------------------------------------------------------------
    def has_term(self, token: str) -> bool:
        """Is the folded token anywhere in the index?"""
        raise NotImplementedError

    def has_exact(self, token: str) -> bool:
        """Is the exact (accented) token anywhere in the index?"""
        raise NotImplementedError

    def similar_terms(self, token: str, maxdist: int) -> list[tuple[str, int]]:
        """Folded index terms within maxdist edits of the folded token, with document counts."""
        raise NotImplementedError

    def exact_forms(self, folded_token: str) -> list[tuple[str, int]]:
        """Accented spellings of a folded term found in the index, with counts."""
        raise NotImplementedError

    # shared logic --------------------------------------------------------------------------
    def plan(self, text: str) -> QueryPlan:
        from marketplace.search.synonyms import current_synonyms

        return plan_query(text, current_synonyms(self.app))

    def correction(self, plan: QueryPlan, known: set[str] | None = None) -> list[str] | None:
        """Corrected tokens when some typed word is unknown to the index (typo), else None.
        Syllables shorter than 4 letters are left alone: one edit away from almost anything."""
        out: list[str] = []
        out_folded: list[str] = []
        changed = False
        if known is None:
            known = self.known_terms([f for f in plan.folded if len(f) >= 4 and not f.isdigit()])
        for i, (exact, folded_tok) in enumerate(zip(plan.tokens, plan.folded, strict=True)):
            replacement, replacement_folded = exact, folded_tok
            if len(folded_tok) >= 4 and not folded_tok.isdigit():
                if folded_tok not in known:
                    before = out_folded[-1] if out_folded else None
                    after = plan.folded[i + 1] if i + 1 < len(plan.folded) else None
                    best = self._closest(folded_tok, before, after)
                    if best is not None:
                        replacement, replacement_folded = self._display(best, exact, plan.accented), best
                elif plan.accented and exact != folded_tok and not self.has_exact(exact):
                    replacement = self._display(folded_tok, exact, True)
            if replacement != exact:
                changed = True
            out.append(replacement)
            out_folded.append(replacement_folded)
        return out if changed else None

    def _closest(self, folded_tok: str, before: str | None = None, after: str | None = None) -> str | None:
        maxdist = 1 if len(folded_tok) <= 5 else 2
        candidates = [(t, n) for t, n in self.similar_terms(folded_tok, maxdist) if t != folded_tok]
        if not candidates:
            return None

        def in_phrase(term: str) -> bool:  # "banh cuonn": "cuon" makes the known phrase "banh cuon"
            return bool(
                (before and self.has_bigram(f"{before}_{term}")) or (after and self.has_bigram(f"{term}_{after}"))
            )

        return min(candidates, key=lambda tn: (not in_phrase(tn[0]), edit_distance(folded_tok, tn[0]), -tn[1], tn[0]))[
            0
        ]

    def known_terms(self, folded_tokens: list[str]) -> set[str]:
        """The folded tokens that are in the index (one look-up per token unless overridden)."""
        return {t for t in folded_tokens if self.has_term(t)}

    def has_bigram(self, folded_bigram: str) -> bool:
        """Is this pair of adjacent folded syllables in the index (names, places)?"""
        return False

    def _display(self, folded_term: str, typed: str, accented: bool) -> str:
        if not accented:
            return folded_term
        forms = self.exact_forms(folded_term)
        if not forms:
            return folded_term
        return min(forms, key=lambda fn: (edit_distance(typed, fn[0]), -fn[1], fn[0]))[0]

    def suggestion_for(self, plan: QueryPlan, known: set[str] | None = None) -> tuple[str | None, QueryPlan | None]:
        """('did you mean' text, the corrected plan) or (None, None)."""
        if plan.empty:
            return None, None
        corrected = self.correction(plan, known)
        if not corrected:
            return None, None
        return " ".join(corrected), self.plan(" ".join(corrected))

    def confident_correction(self, plan: QueryPlan, fixed: QueryPlan, known: set[str]) -> bool:
        """Whether the corrected query may stand in for one that found nothing: a word the index
        knows still anchors it, or only one word changed, or the corrected words are a phrase the
        index holds ("banhh cuonn" -> "banh cuon"). "shan tuyet" -> "san thuyet" changes every word
        into an unrelated one: that is only offered as a suggestion."""
        checked = [f for f in plan.folded if len(f) >= 4 and not f.isdigit()]
        unknown = [f for f in checked if f not in known]
        if len(unknown) <= 1 or len(unknown) < len(checked):
            return True
        return all(self.has_bigram(f"{a}_{b}") for a, b in zip(fixed.folded, fixed.folded[1:], strict=False))

    def reduced_plan(self, plan: QueryPlan, known: set[str]) -> QueryPlan | None:
        """The plan without the words no product has ("mật ong giá tốt" → "mật ong"), or None
        when every word (or none) is known."""
        kept = [slot for slot in plan.slots if any(all(t in known for t in alt.folded) for alt in slot.alternatives)]
        if not kept or len(kept) == len(plan.slots):
            return None
        return self.plan(" ".join(t for slot in kept for t in slot.typed.exact))

    def run_with_fallbacks(self, plan: QueryPlan, fuzzy: bool, run: Callable) -> tuple:
        """Search as typed, else the spelling correction, else without unknown words, else (three
        words or more) with all words but one. `run(plan, relaxed)` returns (result, total).
        Returns (result, plan used, suggestion, corrected)."""
        result, total = run(plan, False)
        if plan.empty:
            return result, plan, None, False
        words = sorted({t for slot in plan.slots for alt in slot.alternatives for t in alt.folded})
        known = self.known_terms(words)
        suggestion, fixed = self.suggestion_for(plan, known) if fuzzy else (None, None)
        if total:
            return result, plan, suggestion, False
        if fixed is not None and self.confident_correction(plan, fixed, known):
            fixed_result, fixed_total = run(fixed, False)
            if fixed_total:
                return fixed_result, fixed, suggestion, True
        reduced = self.reduced_plan(plan, known)
        if reduced is not None:
            reduced_result, reduced_total = run(reduced, False)
            if reduced_total:
                return reduced_result, reduced, suggestion, False
        widest = reduced or plan
        if len(widest.slots) >= 3:
            relaxed_result, relaxed_total = run(widest, True)
            if relaxed_total:
                return relaxed_result, widest, suggestion, False
        return result, plan, suggestion, False

    def search_producers(self, text: str, limit: int = 20) -> list[int]:
        """Producer ids whose public products match, best first (producers are found through
        their products, so a storefront without a public product is not listed)."""
        result = self.query(SearchQuery(text=text, per_page=MAX_PER_PAGE, with_facets=False, with_highlights=False))
        seen: dict[int, None] = {}
        for producer_id in self.producer_ids_for(result.product_ids):
            seen.setdefault(producer_id)
            if len(seen) >= limit:
                break
        return list(seen)

    def producer_ids_for(self, product_ids: list[int]) -> list[int]:
        from marketplace.catalog.models import Product
        from marketplace.extensions import db

        if not product_ids:
            return []
        rows = db.session.execute(sa.select(Product.id, Product.producer_id).where(Product.id.in_(product_ids)))
        owners = {pid: producer_id for pid, producer_id in rows}
        return [owners[p] for p in product_ids if p in owners]


def count_facets(rows: Iterable[tuple[str, int, str, tuple[str, ...], str | None]]) -> dict[str, dict[str, int]]:
    """Facet counts from (group, valid stars, district, certifications, price band) rows."""
    groups: Counter[str] = Counter()
    stars: Counter[str] = Counter()
    districts: Counter[str] = Counter()
    certs: Counter[str] = Counter()
    bands: Counter[str] = Counter()
    for group, star, district, certifications, band in rows:
        groups[group] += 1
        stars[str(star)] += 1
        if district:
            districts[district] += 1
        for cert in certifications:
            certs[cert] += 1
        if band:
            bands[band] += 1

    def ordered(counter: Counter[str]) -> dict[str, int]:
        return dict(sorted(counter.items(), key=lambda kv: (-kv[1], kv[0])))

    return {
        "ocop_group": ordered(groups),
        "ocop_stars": dict(sorted(stars.items(), key=lambda kv: -int(kv[0]))),
        "district": ordered(districts),
        "certification": ordered(certs),
        "price_band": {code: bands[code] for code in PRICE_BANDS if bands[code]},
    }


def empty_facets() -> dict[str, dict[str, int]]:
    return {name: {} for name in FACETS}
