"""The matching scorer: pure and typed (no Flask, no database), so it is easy to test.

Input: a `Need` and candidates (`ProductFacts` with the text relevance found by retrieval).
Hard constraints exclude (`violations`); soft factors score (`score_supplier`); `rank_suppliers`
keeps one result per product and at most PER_PRODUCER_IN_TOP products of one producer in the
first TOP_WINDOW places; `rank_sales_points` ranks approved points that carry matching products.
Every result carries structured `Reason`s; marketplace.matching.reasons renders them in Vietnamese.

All tunables live here, each with a comment. Every factor is a number in [0, 1] and the score is
100 × Σ weight × factor. A factor the need says nothing about (no delivery place, no budget…) is
NEUTRAL for every candidate, so it cannot change the order.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from types import MappingProxyType

from marketplace.matching.need import Need, Point, canonical_unit

# --- weights (sum to 1.0) -------------------------------------------------------------------
WEIGHTS: Mapping[str, float] = MappingProxyType(
    {
        "relevance": 0.40,  # how well the product's texts cover the need's words (retrieval.py)
        "stars": 0.17,  # OCOP stars of a valid, verified certificate: 5★ = 1.0, none = 0
        "distance": 0.13,  # closeness of the producer to the delivery place (haversine)
        "price": 0.10,  # lowest price against the buyer's maximum: the further below, the better
        "certifications": 0.07,  # share of the certifications the buyer asked for that it holds
        "capacity": 0.05,  # capacity and MOQ known to fit the quantity beats "unknown"
        "responsiveness": 0.08,  # the producer's answer rate and speed (inquiries feature)
    }
)
NEUTRAL = 0.5  # the value of a factor the need does not ask about (same for every candidate)

# --- text relevance (used by retrieval.py) ----------------------------------------------------
# Where a need's word is found counts differently: the product's name says what it is; its
# description, producer and tags (certifications, OCOP group, producer kind) less; the place
# (district, commune, craft village) least - "dong" in "Hà Đông" is not miến dong.
FIELD_FACTORS: Mapping[str, float] = MappingProxyType(
    {"name": 1.0, "name_en": 0.8, "desc": 0.6, "tags": 0.6, "producer": 0.6, "place": 0.3}
)
FOLDED_ONLY = 0.6  # the buyer typed diacritics ("mây") and the product has only the folded form ("may")
SYNONYM = 0.8  # a synonym (data/synonyms.txt) counts a little less than the word typed
POSITION_DECAY = 0.7  # the i-th content word weighs POSITION_DECAY**i: the head noun comes first
POSITION_MIN = 0.2  # ...but never less than this ("miến dong làm quà tặng": quà tặng still counts)
PHRASE_SHARE = 0.2  # share of relevance given to adjacent words found together ("miến dong")
RELEVANCE_FLOOR = 0.4  # below this a product is not a candidate at all (one weak word is not enough)
RELATIVE_FLOOR = 0.4  # ...nor below this fraction of the best candidate's relevance

# --- other factor shapes ----------------------------------------------------------------------
DISTANCE_HALF_KM = 15.0  # a producer this far from the delivery place gets half the distance factor
POINT_DISTANCE_HALF_KM = 8.0  # the same for sales points (buyers walk in: nearer matters more)
NO_LOCATION = 0.25  # distance factor of a candidate whose position is unknown (the buyer gave one)
PRICE_UNKNOWN = 0.3  # price factor of "giá liên hệ" when the buyer gave a maximum
CAPACITY_UNKNOWN = 0.4  # capacity factor when the unit compares but capacity/MOQ are not known
FAST_REPLY_SECONDS = 24 * 3600  # answering within a day is "fast"

# --- list shape -------------------------------------------------------------------------------
TOP_WINDOW = 10  # producers must not flood the first TOP_WINDOW results...
PER_PRODUCER_IN_TOP = 2  # ...with more than this many of their products
POINT_WEIGHTS: Mapping[str, float] = MappingProxyType(
    {
        "product": 0.6,  # the best matching product the point carries (its supplier score)
        "distance": 0.3,  # closeness to the buyer
        "assortment": 0.1,  # how many matching products it carries (3 or more = 1.0)
    }
)

# Units that convert into each other (to a base unit): a need in tấn compares with capacity in kg.
UNIT_BASES: Mapping[str, tuple[str, float]] = MappingProxyType(
    {"g": ("g", 1.0), "kg": ("g", 1000.0), "tấn": ("g", 1_000_000.0), "ml": ("ml", 1.0), "lít": ("ml", 1000.0)}
)


# --- inputs -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProductFacts:
    """What the scorer knows about one product (read fresh from the database by services.py)."""

    id: int
    ref: str
    producer_id: int
    name: str
    ocop_group: str
    unit: str | None = None
    price_min_vnd: int | None = None
    price_max_vnd: int | None = None
    moq: int | None = None
    monthly_capacity: int | None = None
    certifications: tuple[str, ...] = ()  # codes of marketplace.data.CERTIFICATIONS or free text
    stars: int = 0  # stars of a valid, verified certificate, else 0 (catalog/stars.py)
    certificate_status: str = "none"  # valid | expired | unverified | none
    certificate_expires_on: date | None = None
    location: Point | None = None  # the product's, else its producer's coordinates, else the district centroid
    place: str | None = None  # the producer's district
    public: bool = True  # published and not hidden


@dataclass(frozen=True)
class TextMatch:
    """Retrieval's verdict on the text: relevance in [0, 1] and which words matched where."""

    relevance: float
    matched: tuple[tuple[str, str], ...] = ()  # (need word, field name of FIELD_FACTORS)


@dataclass(frozen=True)
class Candidate:
    product: ProductFacts
    text: TextMatch


@dataclass(frozen=True)
class Responsiveness:
    rate: float  # share of inquiries/RFQ invitations answered, 0–1
    median_seconds: int | None  # median time to the first answer


@dataclass(frozen=True)
class PointFacts:
    id: int
    ref: str
    name: str
    kind: str
    status: str
    product_ids: tuple[int, ...]
    location: Point | None = None
    place: str | None = None
    opening_hours: str = ""


# --- outputs ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reason:
    """One human reason: a code and its values; reasons.py turns it into a Vietnamese sentence."""

    code: str
    params: tuple[tuple[str, object], ...] = ()

    def get(self, key: str, default: object = None) -> object:
        return dict(self.params).get(key, default)


def reason(code: str, **params: object) -> Reason:
    return Reason(code, tuple(params.items()))


@dataclass(frozen=True)
class SupplierScore:
    product: ProductFacts
    score: float  # 0–100
    factors: Mapping[str, float]
    reasons: tuple[Reason, ...]
    distance_km: float | None = None
    relevance: float = 0.0
    text: TextMatch = TextMatch(0.0)


@dataclass(frozen=True)
class PointScore:
    point: PointFacts
    score: float  # 0–100
    reasons: tuple[Reason, ...]
    products: tuple[ProductFacts, ...]  # the matching products it carries, best first
    distance_km: float | None = None


@dataclass
class Ranking:
    suppliers: list[SupplierScore]  # best first, producers not flooding the top
    more_from_producer: dict[int, int] = field(default_factory=dict)  # producer id -> products left out
    passing: list[SupplierScore] = field(default_factory=list)  # every product passing, best first


# --- geometry and units -----------------------------------------------------------------------


def haversine_km(a: Point, b: Point) -> float:
    """Great-circle distance in km (mean Earth radius)."""
    p1, p2 = math.radians(a.lat), math.radians(b.lat)
    dp, dl = p2 - p1, math.radians(b.lng - a.lng)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371.0088 * math.asin(min(1.0, math.sqrt(h)))


def quantity_in(need: Need, unit: str | None) -> float | None:
    """The need's quantity expressed in `unit`, or None when either is unknown or they don't
    convert (500 kg vs. a capacity in chiếc)."""
    if need.quantity is None:
        return None
    have, want = canonical_unit(need.unit), canonical_unit(unit)
    if have is None or want is None:
        return None
    if have == want:
        return need.quantity
    a, b = UNIT_BASES.get(have), UNIT_BASES.get(want)
    if a is None or b is None or a[0] != b[0]:
        return None
    return need.quantity * a[1] / b[1]


# --- hard constraints -------------------------------------------------------------------------

CONSTRAINTS = ("public", "group", "stars", "capacity", "moq", "price")


def violations(need: Need, product: ProductFacts) -> tuple[str, ...]:
    """The hard constraints `product` breaks for `need` (empty: it may be proposed)."""
    broken: list[str] = []
    if not product.public:
        broken.append("public")
    if need.ocop_group and product.ocop_group != need.ocop_group:
        broken.append("group")
    if need.min_stars and product.stars < need.min_stars:
        broken.append("stars")
    wanted = quantity_in(need, product.unit)
    if wanted is not None:
        if product.monthly_capacity is not None and product.monthly_capacity < wanted:
            broken.append("capacity")
        if product.moq is not None and product.moq > wanted:
            broken.append("moq")
    if need.max_price_vnd is not None and product.price_min_vnd is not None:
        if product.price_min_vnd > need.max_price_vnd:
            broken.append("price")
    return tuple(broken)


# --- soft factors -----------------------------------------------------------------------------


def stars_factor(product: ProductFacts) -> float:
    return max(0, min(5, product.stars)) / 5


def distance_factor(distance_km: float | None, asked: bool, half_km: float = DISTANCE_HALF_KM) -> float:
    """1 at the door, 0.5 at half_km, falling slowly; NEUTRAL when the buyer gave no place."""
    if not asked:
        return NEUTRAL
    if distance_km is None:
        return NO_LOCATION
    return 1 / (1 + max(0.0, distance_km) / half_km)


def price_factor(need: Need, product: ProductFacts) -> float:
    """With a maximum: 0.7 at the maximum up to 1.0 for free; unknown price PRICE_UNKNOWN."""
    if need.max_price_vnd is None:
        return NEUTRAL
    if product.price_min_vnd is None:
        return PRICE_UNKNOWN
    if need.max_price_vnd <= 0:
        return 0.7 if product.price_min_vnd <= 0 else 0.0
    share = min(1.0, max(0.0, product.price_min_vnd / need.max_price_vnd))
    return 0.7 + 0.3 * (1 - share)


def certifications_factor(need: Need, product: ProductFacts) -> float:
    if not need.certifications:
        return NEUTRAL
    held = set(product.certifications)
    return sum(1 for c in need.certifications if c in held) / len(need.certifications)


def capacity_factor(need: Need, product: ProductFacts) -> float:
    """1.0 when capacity (and MOQ, if any) are known to fit; CAPACITY_UNKNOWN when the unit
    compares but the producer did not say; NEUTRAL when the quantity can't be compared."""
    wanted = quantity_in(need, product.unit)
    if wanted is None:
        return NEUTRAL
    return 1.0 if product.monthly_capacity is not None else CAPACITY_UNKNOWN


def responsiveness_factor(found: Responsiveness | None) -> float:
    """Answer rate, discounted when answers are slow; NEUTRAL without any data."""
    if found is None:
        return NEUTRAL
    rate = max(0.0, min(1.0, found.rate))
    if found.median_seconds is None:
        speed = 0.5
    elif found.median_seconds <= FAST_REPLY_SECONDS:
        speed = 1.0
    elif found.median_seconds <= 3 * FAST_REPLY_SECONDS:
        speed = 0.8
    else:
        speed = 0.6
    return rate * speed


def total(factors: Mapping[str, float], weights: Mapping[str, float] = WEIGHTS) -> float:
    return round(100 * sum(weights[name] * factors[name] for name in weights), 2)


# --- one supplier -----------------------------------------------------------------------------


def _text_reasons(text: TextMatch) -> list[Reason]:
    by_field: dict[str, list[str]] = {}
    for word, where in text.matched:
        words = by_field.setdefault(where, [])
        if word not in words:
            words.append(word)
    ordered = sorted(by_field.items(), key=lambda item: -FIELD_FACTORS.get(item[0], 0))
    shown = [reason("text", words=tuple(words), field=where) for where, words in ordered[:2]]
    return shown or [reason("text_any")]


def score_supplier(need: Need, candidate: Candidate, responsiveness: Responsiveness | None = None) -> SupplierScore:
    """Score one candidate (assumed to pass `violations`) and explain it."""
    return explain(need, score_only(need, candidate, responsiveness), responsiveness)


def score_only(need: Need, candidate: Candidate, responsiveness: Responsiveness | None = None) -> SupplierScore:
    """The score without its reasons (ranking hundreds of candidates; `explain` the shown ones)."""
    product, text = candidate.product, candidate.text
    distance = haversine_km(need.location, product.location) if need.location and product.location else None
    factors = {
        "relevance": max(0.0, min(1.0, text.relevance)),
        "stars": stars_factor(product),
        "distance": distance_factor(distance, need.location is not None),
        "price": price_factor(need, product),
        "certifications": certifications_factor(need, product),
        "capacity": capacity_factor(need, product),
        "responsiveness": responsiveness_factor(responsiveness),
    }
    return SupplierScore(product, total(factors), factors, (), distance, factors["relevance"], text)


def explain(need: Need, scored: SupplierScore, responsiveness: Responsiveness | None = None) -> SupplierScore:
    """`scored` with its reasons: what matched, stars, capacity, distance, price, certifications."""
    product, distance = scored.product, scored.distance_km
    reasons = _text_reasons(scored.text)
    if product.stars > 0:
        reasons.append(reason("stars", stars=product.stars, until=product.certificate_expires_on))
    wanted = quantity_in(need, product.unit)
    if wanted is not None:
        if product.monthly_capacity is not None:
            reasons.append(reason("capacity", capacity=product.monthly_capacity, unit=product.unit, quantity=wanted))
        if product.moq is not None:
            reasons.append(reason("moq", moq=product.moq, unit=product.unit, quantity=wanted))
    elif need.quantity is not None and product.unit:
        reasons.append(reason("unit_other", unit=product.unit, need_unit=need.unit or ""))
    if distance is not None:
        reasons.append(reason("distance", km=distance, place=need.place or ""))
    if need.max_price_vnd is not None and product.price_min_vnd is not None:
        reasons.append(
            reason("price_fit", price=product.price_min_vnd, unit=product.unit or "", max=need.max_price_vnd)
        )
    held = [c for c in need.certifications if c in product.certifications]
    if held:
        reasons.append(reason("certifications", names=tuple(held)))
    elif not need.certifications and product.certifications:
        reasons.append(reason("certifications_held", names=product.certifications[:3]))
    if responsiveness is not None and responsiveness.rate > 0:
        reasons.append(reason("responsive", rate=responsiveness.rate, seconds=responsiveness.median_seconds))
    return replace(scored, reasons=tuple(reasons))


# --- the list ---------------------------------------------------------------------------------


def sort_key(item: SupplierScore) -> tuple:
    return (-item.score, -item.relevance, -item.product.stars, item.product.ref, item.product.id)


def diversify(
    ranked: Sequence[SupplierScore], per_producer: int = PER_PRODUCER_IN_TOP, window: int = TOP_WINDOW
) -> tuple[list[SupplierScore], dict[int, int]]:
    """At most `per_producer` products of one producer in the first `window` places. Further
    products of a flooding producer come after the window, and only once it is full (a short
    list never shows a third product of the same producer); the count left out is returned."""
    top: list[SupplierScore] = []
    deferred: list[SupplierScore] = []
    rest: list[SupplierScore] = []
    seen: Counter[int] = Counter()
    for position, item in enumerate(ranked):
        if len(top) >= window:
            rest = list(ranked[position:])
            break
        if seen[item.product.producer_id] >= per_producer:
            deferred.append(item)
            continue
        top.append(item)
        seen[item.product.producer_id] += 1
    if len(top) >= window:
        return top + sorted(deferred + rest, key=sort_key), {}
    return top, dict(Counter(x.product.producer_id for x in deferred))


def rank_suppliers(
    need: Need,
    candidates: Iterable[Candidate],
    responsiveness: Mapping[int, Responsiveness | None] | None = None,
    explain_top: int | None = None,
) -> Ranking:
    """Every candidate passing the hard constraints, scored, best first, one per product, with
    producers not flooding the top. Not cut to need.limit (the caller cuts); only the first
    `explain_top` suppliers carry reasons (all when None). `passing` carries none."""
    responsiveness = responsiveness or {}
    best: dict[int, SupplierScore] = {}
    for candidate in candidates:
        if violations(need, candidate.product):
            continue
        scored = score_only(need, candidate, responsiveness.get(candidate.product.producer_id))
        known = best.get(scored.product.id)
        if known is None or sort_key(scored) < sort_key(known):
            best[scored.product.id] = scored
    ranked = sorted(best.values(), key=sort_key)
    suppliers, left_out = diversify(ranked)
    count = len(suppliers) if explain_top is None else min(explain_top, len(suppliers))
    explained = [explain(need, s, responsiveness.get(s.product.producer_id)) for s in suppliers[:count]]
    return Ranking(explained + suppliers[count:], left_out, ranked)


# --- sales points -----------------------------------------------------------------------------


def rank_sales_points(need: Need, points: Iterable[PointFacts], suppliers: Sequence[SupplierScore]) -> list[PointScore]:
    """Approved points that carry at least one matching product, by the best such product's
    score, the distance to the buyer and how many matching products they carry."""
    by_product = {s.product.id: s for s in suppliers}
    ranked: list[PointScore] = []
    for point in points:
        if point.status != "approved":
            continue
        carried = sorted((by_product[i] for i in set(point.product_ids) if i in by_product), key=sort_key)
        if not carried:
            continue
        distance = haversine_km(need.location, point.location) if need.location and point.location else None
        factors = {
            "product": carried[0].score / 100,
            "distance": distance_factor(distance, need.location is not None, POINT_DISTANCE_HALF_KM),
            "assortment": min(len(carried), 3) / 3,
        }
        reasons = [reason("carries", names=tuple(s.product.name for s in carried[:3]), more=max(0, len(carried) - 3))]
        if distance is not None:
            reasons.append(reason("distance", km=distance, place=need.place or ""))
        if point.opening_hours:
            reasons.append(reason("hours", hours=point.opening_hours))
        ranked.append(
            PointScore(
                point,
                total(factors, POINT_WEIGHTS),
                tuple(reasons),
                tuple(s.product for s in carried),
                distance,
            )
        )
    ranked.sort(key=lambda p: (-p.score, p.distance_km if p.distance_km is not None else math.inf, p.point.ref))
    return ranked
