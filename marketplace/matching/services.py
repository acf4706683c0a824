"""Matching services: build a need, find suppliers and sales points for it, fit producers to it.

`match(need)` is what the page "Tìm nhà cung cấp" and `POST /api/v1/match` call:
1. the need's text is interpreted (need.interpret: content words, quantity, stars, place);
2. `retrieval.candidates()` recalls products by any content word above a relevance floor;
3. their facts are read fresh from the database (stars of a valid certificate only);
4. the pure scorer applies the hard constraints, scores, keeps one result per product and at most
   two products per producer in the top ten; approved sales points carrying matching products are
   ranked by those products' scores and the distance to the buyer;
5. reasons are rendered in Vietnamese.
Read-only: nothing is written, nothing committed.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy.orm import Session, contains_eager, lazyload, noload

from marketplace.catalog.models import Certificate, Product
from marketplace.catalog.stars import certificate_status
from marketplace.core.dates import today
from marketplace.core.errors import ServiceError
from marketplace.core.vn_text import clean_line
from marketplace.data import GROUP_2019_TO_2023, OCOP_GROUPS, canonical_certification, find_district
from marketplace.extensions import db
from marketplace.matching import reasons as reason_text
from marketplace.matching.need import DEFAULT_LIMIT, MAX_LIMIT, MAX_TEXT, Hints, Need, Point, canonical_unit, interpret
from marketplace.matching.retrieval import candidates, doc_fields, match_fields, need_plan, term_index
from marketplace.matching.scorer import (
    RELEVANCE_FLOOR,
    Candidate,
    PointFacts,
    PointScore,
    ProductFacts,
    Ranking,
    Responsiveness,
    SupplierScore,
    explain,
    rank_sales_points,
    rank_suppliers,
    reason,
    violations,
)
from marketplace.producers.models import Producer
from marketplace.sales_points.models import SalesPoint, sales_point_products

MAX_QUANTITY = 10**12
MAX_PRICE = 10**13
RESPONSIVENESS_TOP = 20  # producers asked for their responsiveness (the best preliminary results)
CHUNK = 500


# --- the need ---------------------------------------------------------------------------------


def build_need(
    text: str | None,
    ocop_group: str | None = None,
    quantity: float | None = None,
    unit: str | None = None,
    min_stars: int | None = None,
    district: str | None = None,
    lat: float | None = None,
    lng: float | None = None,
    max_price_vnd: int | None = None,
    certifications: Iterable[str] = (),
    limit: int | None = None,
) -> tuple[Need, list[str]]:
    """A validated Need and warnings (things ignored). Raises ServiceError(field, message) on
    input that can't mean anything; field names are the API's and the form's."""
    warnings: list[str] = []
    cleaned = clean_line(text)
    if not cleaned:
        raise ServiceError("text", _("Hãy mô tả sản phẩm bạn cần."))
    if len(cleaned) > MAX_TEXT:
        raise ServiceError("text", _("Mô tả nhu cầu tối đa %(n)s ký tự.", n=MAX_TEXT))
    group = clean_line(ocop_group) or None
    if group is not None:
        group = GROUP_2019_TO_2023.get(group, group)
        if group not in OCOP_GROUPS:
            raise ServiceError("ocop_group", _("Nhóm sản phẩm OCOP không hợp lệ."))
    if quantity is not None and (not math.isfinite(quantity) or quantity <= 0 or quantity > MAX_QUANTITY):
        raise ServiceError("quantity", _("Số lượng phải là một số lớn hơn 0."))
    unit_name = canonical_unit(unit)
    if unit_name is not None and len(unit_name) > 30:
        raise ServiceError("unit", _("Đơn vị tối đa 30 ký tự."))
    stars = min_stars or 0
    if not 0 <= stars <= 5:
        raise ServiceError("min_stars", _("Hạng sao phải từ 0 đến 5."))
    if (lat is None) != (lng is None):
        raise ServiceError("lat" if lat is None else "lng", _("Cần cả vĩ độ và kinh độ."))
    location: Point | None = None
    place: str | None = None
    if lat is not None and lng is not None:
        if not (math.isfinite(lat) and math.isfinite(lng) and -90 <= lat <= 90 and -180 <= lng <= 180):
            raise ServiceError("lat", _("Vĩ độ phải trong khoảng -90–90 và kinh độ trong khoảng -180–180."))
        location = Point(lat, lng)
    district_name = clean_line(district)
    if district_name:
        found = find_district(_strip_place_prefix(district_name))
        if found is None:
            warnings.append(
                _("Không nhận ra địa điểm “%(place)s”: chưa tính được khoảng cách.", place=district_name[:80])
            )
        else:
            place = found.name
            if location is None:
                location = Point(found.lat, found.lng)
    if max_price_vnd is not None and not 0 <= max_price_vnd <= MAX_PRICE:
        raise ServiceError("max_price_vnd", _("Giá tối đa phải là một số tiền hợp lệ."))
    certs = tuple(dict.fromkeys(c for c in (canonical_certification(clean_line(x)) for x in certifications) if c))
    count = DEFAULT_LIMIT if limit is None else limit
    if not 1 <= count <= MAX_LIMIT:
        raise ServiceError("limit", _("Số kết quả phải từ 1 đến %(n)s.", n=MAX_LIMIT))
    need = Need(
        text=cleaned,
        ocop_group=group,
        quantity=float(quantity) if quantity is not None else None,
        unit=unit_name,
        min_stars=stars,
        location=location,
        place=place,
        max_price_vnd=max_price_vnd,
        certifications=certs,
        limit=count,
    )
    return need, warnings


def _strip_place_prefix(name: str) -> str:
    lowered = name.lower()
    for prefix in ("quận ", "huyện ", "thị xã ", "tx ", "q. ", "h. "):
        if lowered.startswith(prefix):
            return name[len(prefix) :]
    return name


# --- facts from the database ------------------------------------------------------------------


class _Cert:
    """The certificate columns certificate_status() reads, without loading the ORM object."""

    __slots__ = ("stars", "verified", "issued_on", "expires_on")

    def __init__(self, stars, verified, issued_on, expires_on) -> None:
        self.stars, self.verified, self.issued_on, self.expires_on = stars, verified, issued_on, expires_on


def _position(lat, lng, district: str | None) -> Point | None:
    if lat is not None and lng is not None:
        return Point(float(lat), float(lng))
    centroid = find_district(district)
    return Point(centroid.lat, centroid.lng) if centroid else None


def _chunks(ids: Sequence[int]) -> Iterable[Sequence[int]]:
    for start in range(0, len(ids), CHUNK):
        yield ids[start : start + CHUNK]


_certification = lru_cache(maxsize=1024)(canonical_certification)


def load_facts(product_ids: Collection[int]) -> dict[int, ProductFacts]:
    """ProductFacts for these ids, read now (public or not: the scorer checks)."""
    on = today()
    out: dict[int, ProductFacts] = {}
    columns = (
        Product.id,
        Product.ref,
        Product.producer_id,
        Product.name,
        Product.ocop_group,
        Product.unit,
        Product.price_min_vnd,
        Product.price_max_vnd,
        Product.moq,
        Product.monthly_capacity,
        Product.certifications,
        Product.status,
        Product.hidden,
        Product.lat,
        Product.lng,
        Producer.lat,
        Producer.lng,
        Producer.district,
        Certificate.stars,
        Certificate.verified,
        Certificate.issued_on,
        Certificate.expires_on,
    )
    for part in _chunks(sorted(product_ids)):
        stmt = (
            sa.select(*columns)
            .join(Producer, Producer.id == Product.producer_id)
            .outerjoin(Certificate, Certificate.product_id == Product.id)
            .where(Product.id.in_(part))
        )
        for row in db.session.execute(stmt):
            (pid, ref, producer_id, name, group, unit, pmin, pmax, moq, capacity, certs, status, hidden) = row[:13]
            plat, plng, prod_lat, prod_lng, district, stars, verified, issued, expires = row[13:]
            cert = _Cert(stars, verified, issued, expires) if stars is not None else None
            state = certificate_status(cert, on)  # type: ignore[arg-type]
            out[pid] = ProductFacts(
                id=pid,
                ref=ref,
                producer_id=producer_id,
                name=name,
                ocop_group=group,
                unit=canonical_unit(unit),
                price_min_vnd=pmin,
                price_max_vnd=pmax,
                moq=moq,
                monthly_capacity=capacity,
                certifications=tuple(_certification(c) for c in (certs or "").split(";") if c.strip()),
                stars=(stars or 0) if state == "valid" else 0,
                certificate_status=state,
                certificate_expires_on=expires if state == "valid" else None,
                location=_position(plat, plng, None) or _position(prod_lat, prod_lng, district),
                place=district or None,
                public=status == "published" and not hidden,
            )
    return out


def load_points(product_ids: Collection[int]) -> list[PointFacts]:
    """Approved sales points carrying any of these products (with only those products)."""
    carried: dict[int, list[int]] = {}
    for part in _chunks(sorted(product_ids)):
        rows = db.session.execute(
            sa.select(sales_point_products.c.sales_point_id, sales_point_products.c.product_id)
            .join(SalesPoint, SalesPoint.id == sales_point_products.c.sales_point_id)
            .where(sales_point_products.c.product_id.in_(part), SalesPoint.status == "approved")
        )
        for point_id, product_id in rows:
            carried.setdefault(point_id, []).append(product_id)
    if not carried:
        return []
    points: list[PointFacts] = []
    for part in _chunks(sorted(carried)):
        stmt = sa.select(
            SalesPoint.id,
            SalesPoint.ref,
            SalesPoint.name,
            SalesPoint.kind,
            SalesPoint.status,
            SalesPoint.lat,
            SalesPoint.lng,
            SalesPoint.district,
            SalesPoint.opening_hours,
        ).where(SalesPoint.id.in_(part))
        for pid, ref, name, kind, status, lat, lng, district, hours in db.session.execute(stmt):
            points.append(
                PointFacts(
                    id=pid,
                    ref=ref,
                    name=name,
                    kind=kind,
                    status=status,
                    product_ids=tuple(sorted(carried[pid])),
                    location=_position(lat, lng, district),
                    place=district or None,
                    opening_hours=hours or "",
                )
            )
    return points


# --- the responsiveness hook ------------------------------------------------------------------


def _inquiries_ready() -> bool:
    """The inquiries feature is installed and its tables exist (checked once per app)."""
    key = "ocop_matching_inquiries_ready"
    ready = current_app.extensions.get(key)
    if ready is None:
        ready = False
        if "inquiries" in current_app.blueprints:
            try:
                import marketplace.inquiries.responsiveness  # noqa: F401
            except ImportError:
                pass
            else:
                with db.engine.connect() as conn:
                    inspector = sa.inspect(conn)
                    ready = inspector.has_table("inquiries") and inspector.has_table("rfq_invitations")
        current_app.extensions[key] = ready
    return bool(ready)


def producer_responsiveness(producer_ids: Collection[int]) -> dict[int, Responsiveness | None]:
    """How producers answer buyers, for the "responsiveness" factor.

    Hook: empty (every producer None = neutral) until the inquiries feature is installed (its
    blueprint "inquiries" registered and marketplace.inquiries.responsiveness.responsiveness(id)
    -> (answer rate 0–1, median seconds to the first answer) | None available)."""
    if not producer_ids or not _inquiries_ready():
        return {}
    from marketplace.inquiries.models import Inquiry, RfqInvitation
    from marketplace.inquiries.responsiveness import responsiveness

    ids = list(producer_ids)
    asked = set(db.session.scalars(sa.select(Inquiry.producer_id).where(Inquiry.producer_id.in_(ids)).distinct()))
    asked |= set(
        db.session.scalars(sa.select(RfqInvitation.producer_id).where(RfqInvitation.producer_id.in_(ids)).distinct())
    )
    out: dict[int, Responsiveness | None] = dict.fromkeys(ids)
    for producer_id in asked:  # only producers ever asked can have a record
        found = responsiveness(producer_id)
        out[producer_id] = Responsiveness(float(found[0]), found[1]) if found else None
    return out


# --- matching ---------------------------------------------------------------------------------


@dataclass
class SupplierResult:
    score: SupplierScore
    product: Product
    reasons: list[str]


@dataclass
class PointResult:
    score: PointScore
    point: SalesPoint  # loaded without its product list: use product_refs
    reasons: list[str]
    product_refs: list[str] = field(default_factory=list)  # every public product it carries


@dataclass
class MatchResult:
    need: Need  # with what the text suggested filled in
    hints: Hints
    suppliers: list[SupplierResult]
    sales_points: list[PointResult]
    warnings: list[str] = field(default_factory=list)
    unknown_words: tuple[str, ...] = ()
    suggestion: str | None = None  # a spelling correction of the content words ("did you mean")
    considered: int = 0  # products whose text matched (above the floor)
    excluded: Counter[str] = field(default_factory=Counter)  # hard constraint -> products it excluded


def _rank(need: Need, facts: dict[int, ProductFacts], matches) -> Ranking:
    """Rank with neutral responsiveness, then again with the answers of the best producers."""
    found = [Candidate(facts[pid], match) for pid, match in matches.items() if pid in facts]
    ranking = rank_suppliers(need, found, explain_top=0)
    top: dict[int, None] = {}
    for s in ranking.suppliers:
        top.setdefault(s.product.producer_id)
        if len(top) >= RESPONSIVENESS_TOP:
            break
    answers = {pid: r for pid, r in producer_responsiveness(list(top)).items() if r}
    if answers:
        return rank_suppliers(need, found, answers, explain_top=need.limit)
    ranking.suppliers[: need.limit] = [explain(need, s) for s in ranking.suppliers[: need.limit]]
    return ranking


def _load_products(ids: Sequence[int]) -> dict[int, Product]:
    if not ids:
        return {}
    rows = db.session.scalars(
        sa.select(Product)
        .join(Producer, Producer.id == Product.producer_id)
        .outerjoin(Certificate, Certificate.product_id == Product.id)
        .where(Product.id.in_(list(ids)))
        .options(
            contains_eager(Product.producer).lazyload(Producer.managers),
            contains_eager(Product.certificate),
            lazyload(Product.images),
        )
    ).unique()
    return {p.id: p for p in rows}


def _load_points(ids: Sequence[int]) -> tuple[dict[int, SalesPoint], dict[int, list[str]]]:
    """Sales points (without their product lists) and the refs of the public products each carries."""
    if not ids:
        return {}, {}
    points = {
        p.id: p
        for p in db.session.scalars(
            sa.select(SalesPoint).where(SalesPoint.id.in_(ids)).options(noload(SalesPoint.products))
        )
    }
    # Two indexed lookups (the link table's primary key, then products' ids): one join ordered by
    # ref makes SQLite scan the products table.
    links = db.session.execute(
        sa.select(sales_point_products.c.sales_point_id, sales_point_products.c.product_id).where(
            sales_point_products.c.sales_point_id.in_(list(points))
        )
    ).all()
    public: dict[int, str] = {}
    for part in _chunks(sorted({product_id for _point, product_id in links})):
        public.update(
            db.session.execute(
                sa.select(Product.id, Product.ref).where(
                    Product.id.in_(part), Product.status == "published", Product.hidden.is_(False)
                )
            ).all()
        )
    refs: dict[int, list[str]] = {pid: [] for pid in points}
    for point_id, product_id in links:
        if product_id in public:
            refs[point_id].append(public[product_id])
    return points, {pid: sorted(found) for pid, found in refs.items()}


def match(need: Need, warnings: Sequence[str] = ()) -> MatchResult:
    """Suppliers and sales points for `need`, best first, with reasons (see the module doc)."""
    hints = interpret(need.text)
    need = need.with_hints(hints)
    found = candidates(need, hints.content)
    facts = load_facts(list(found.matches))
    excluded: Counter[str] = Counter()
    for product in facts.values():
        excluded.update(violations(need, product)[:1])
    ranking = _rank(need, facts, found.matches)
    ranked = ranking.suppliers
    shown = ranked[: need.limit]
    more = Counter(ranking.more_from_producer)
    shown_producers = {s.product.producer_id for s in shown}
    for extra in ranked[need.limit :]:
        if extra.product.producer_id in shown_producers:
            more[extra.product.producer_id] += 1
    products = _load_products([s.product.id for s in shown])
    last_of_producer = {s.product.producer_id: s.product.id for s in shown}
    suppliers: list[SupplierResult] = []
    for s in shown:
        if s.product.id not in products:
            continue
        extra_reasons = s.reasons
        if more.get(s.product.producer_id) and last_of_producer[s.product.producer_id] == s.product.id:
            extra_reasons = extra_reasons + (reason("more_from_producer", n=more[s.product.producer_id]),)
        suppliers.append(SupplierResult(s, products[s.product.id], reason_text.render_all(extra_reasons)))
    passing = ranking.passing
    point_scores = rank_sales_points(need, load_points([s.product.id for s in passing]), passing)[: need.limit]
    points, carried = _load_points([p.point.id for p in point_scores])
    sales_points = [
        PointResult(p, points[p.point.id], reason_text.render_all(p.reasons), carried[p.point.id])
        for p in point_scores
        if p.point.id in points
    ]
    return MatchResult(
        need=need,
        hints=hints,
        suppliers=suppliers,
        sales_points=sales_points,
        warnings=list(warnings),
        unknown_words=found.unknown_words,
        suggestion=found.suggestion,
        considered=len(found.matches),
        excluded=excluded,
    )


# --- producers fitting a need (RFQ leads, trade-forum meetings) --------------------------------


@dataclass(frozen=True)
class ProducerFit:
    producer_id: int
    score: float  # 0–100, the best of its products
    product_ids: tuple[int, ...]  # its matching products, best first
    reasons: tuple[str, ...]


def fitting_producers_for_need(
    need: Need, among: Collection[int] | None = None, limit: int | None = None
) -> list[ProducerFit]:
    """Producers whose public products fit `need`, best first: the same retrieval, constraints
    and scorer as match(). `among` restricts to these producer ids (see fits_among). For the
    inquiries feature's "Cơ hội" leads (an open RFQ is a need) and for trade-forum suggestions."""
    if among is not None:
        fits = fits_among([need], among)[0]
        return fits[:limit] if limit is not None else fits
    hints = interpret(need.text)
    need = need.with_hints(hints)
    found = candidates(need, hints.content)
    facts = load_facts(list(found.matches))
    fits = _producer_fits(need, [Candidate(facts[p], m) for p, m in found.matches.items() if p in facts])
    return fits[:limit] if limit is not None else fits


def fits_among(needs: Sequence[Need], among: Collection[int]) -> list[list[ProducerFit]]:
    """For each need, which of the `among` producers fit it, best first.

    The leads path: a producer's few products are scored against many open RFQs. Each product's
    text relevance is computed from its own fields with the catalogue-wide word weights (the same
    relevance as retrieval), kept at the absolute RELEVANCE_FLOOR (the floor relative to the
    catalogue's best is a ranking device of match(), not a fit rule), then the same hard
    constraints and scorer as match(). Every product a catalogue-wide call finds for these
    producers is found here too."""
    from marketplace.search.base import load_docs

    if not needs:
        return []
    ids = list(db.session.scalars(sa.select(Product.id).where(Product.producer_id.in_(list(among))))) if among else []
    if not ids:
        return [[] for _ in needs]
    with Session(db.engine) as session:  # load_docs expunges its session
        fields = {pid: doc_fields(doc) for pid, doc in load_docs(session, ids).items() if doc is not None}
    # Each product's folded words: a product sharing none with a need is skipped at once.
    words = {pid: frozenset(t for f in by_group.values() for t in f.folded) for pid, by_group in fields.items()}
    facts = load_facts(list(fields))
    index = term_index()
    out: list[list[ProducerFit]] = []
    for raw in needs:
        hints = interpret(raw.text)
        need = raw.with_hints(hints)
        plan = need_plan(hints.content)
        if plan.empty:
            out.append([])
            continue
        weights = index.df_weights(plan)
        wanted = {t for slot in plan.slots for alt in slot.alternatives for t in alt.folded}
        found = []
        for pid, product_fields in fields.items():
            if pid not in facts or words[pid].isdisjoint(wanted):
                continue
            text = match_fields(plan, weights, product_fields)
            if text.relevance >= RELEVANCE_FLOOR - 1e-9:
                found.append(Candidate(facts[pid], text))
        out.append(_producer_fits(need, found))
    return out


def _producer_fits(need: Need, found: list[Candidate]) -> list[ProducerFit]:
    """One ProducerFit per producer with a passing product, scored by its best, best first."""
    if not found:
        return []
    ranking = rank_suppliers(need, found, explain_top=0)
    by_producer: dict[int, list[SupplierScore]] = {}
    for scored in ranking.passing:  # best first
        by_producer.setdefault(scored.product.producer_id, []).append(scored)
    fits = [
        ProducerFit(
            pid,
            items[0].score,
            tuple(i.product.id for i in items),
            tuple(reason_text.render_all(explain(need, items[0]).reasons)),
        )
        for pid, items in by_producer.items()
    ]
    fits.sort(key=lambda f: (-f.score, f.producer_id))
    return fits


def need_for_rfq(rfq) -> Need:
    """A Need from an inquiries RFQ (title, details, ocop_group, quantity, unit, min_stars,
    target_price_vnd, delivery_district). The target price is not a hard maximum: left out."""
    text = " ".join(x for x in (getattr(rfq, "title", ""), getattr(rfq, "details", "")) if x)[:MAX_TEXT]
    need, _warnings = build_need(
        text or "?",
        ocop_group=getattr(rfq, "ocop_group", None),
        quantity=float(rfq.quantity) if getattr(rfq, "quantity", None) else None,
        unit=getattr(rfq, "unit", None),
        min_stars=getattr(rfq, "min_stars", 0) or 0,
        district=getattr(rfq, "delivery_district", None),
    )
    return need
