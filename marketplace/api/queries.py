"""Read queries behind the API: filtered product lists with facets, sales points near a place.

Everything is filtered in SQL; facets are grouped counts, never a load of all rows. Only the
interim text search (`search_ids_by_substring`) and the distance sort read a few columns of the
filtered rows into Python.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.orm import contains_eager, lazyload, selectinload

from marketplace.catalog.models import Certificate, Product
from marketplace.catalog.stars import effective_stars_expr, valid_certificate_clause
from marketplace.core.dates import today
from marketplace.core.vn_text import fold
from marketplace.data import canonical_certification, find_district
from marketplace.extensions import db
from marketplace.producers.models import Producer
from marketplace.sales_points.models import SalesPoint, sales_point_products

PRODUCT_SORTS = ("relevance", "stars", "price_asc", "price_desc", "newest")
MAX_SEARCH_IDS = 30_000  # stays below every driver's bound-parameter limit


@dataclass(frozen=True)
class ProductFilters:
    group: str = ""
    min_stars: int = 0
    district: str = ""
    certification: str = ""


@dataclass
class ProductResult:
    items: Sequence[Product]
    total: int
    facets: dict[str, dict[str, int]] = field(default_factory=dict)


# ---------------------------------------------------------------- products


def _joined(stmt: sa.Select) -> sa.Select:
    return stmt.join(Producer, Product.producer_id == Producer.id).outerjoin(
        Certificate, Certificate.product_id == Product.id
    )


def matching_values(column: sa.ColumnElement[str], wanted: str) -> list[str]:
    """The stored values of `column` equal to `wanted` once folded ('dong anh' -> 'Đông Anh')."""
    district = find_district(wanted)
    keys = {fold(wanted)} | ({fold(district.name)} if district else set())
    values = db.session.scalars(sa.select(column).distinct()).all()
    return [v for v in values if v and fold(v) in keys]


def product_conditions(filters: ProductFilters) -> list[sa.ColumnElement[bool]]:
    """WHERE conditions (over Product ⋈ Producer ⟕ Certificate) for public products and filters."""
    conditions: list[sa.ColumnElement[bool]] = [Product.status == "published", Product.hidden.is_(False)]
    if filters.group:
        conditions.append(Product.ocop_group == filters.group)
    if filters.min_stars > 0:
        conditions.append(valid_certificate_clause(today()))
        conditions.append(Certificate.stars >= filters.min_stars)
    if filters.district:
        conditions.append(Producer.district.in_(matching_values(Producer.district, filters.district)))
    if filters.certification:
        wanted = canonical_certification(filters.certification).lower()
        listed = sa.func.lower(sa.literal(";") + Product.certifications + sa.literal(";"))
        conditions.append(listed.contains(f";{wanted};", autoescape=True))
    return conditions


def _order(sort: str) -> list[sa.ColumnElement]:
    newest = sa.func.coalesce(Product.published_at, Product.created_at)
    if sort == "price_asc":
        return [sa.case((Product.price_min_vnd.is_(None), 1), else_=0), Product.price_min_vnd.asc(), Product.id.asc()]
    if sort == "price_desc":
        high = sa.func.coalesce(Product.price_max_vnd, Product.price_min_vnd)
        return [sa.case((high.is_(None), 1), else_=0), high.desc(), Product.id.desc()]
    if sort == "newest":
        return [newest.desc(), Product.id.desc()]
    # stars, and relevance without a query: counted stars first, then the newest
    return [effective_stars_expr(today()).desc(), newest.desc(), Product.id.desc()]


def load_products(ids: Sequence[int], images: bool = True) -> list[Product]:
    """Products by id, in the order given: producer and certificate joined, the images in one more
    query when `images` (the search page's cards show a thumbnail: without it, one query per
    card), the producers' managers never (no list shows them)."""
    if not ids:
        return []
    rows = db.session.scalars(
        _joined(sa.select(Product))
        .where(Product.id.in_(ids))
        .options(
            contains_eager(Product.producer).lazyload(Producer.managers),
            contains_eager(Product.certificate),
            selectinload(Product.images) if images else lazyload(Product.images),
        )
    ).unique()
    by_id = {p.id: p for p in rows}
    return [by_id[i] for i in ids if i in by_id]


def product_facets(conditions: Sequence[sa.ColumnElement[bool]]) -> dict[str, dict[str, int]]:
    """Counts over every match: OCOP group, counted stars, producer district."""
    count = sa.func.count(Product.id)
    groups = db.session.execute(
        _joined(sa.select(Product.ocop_group, count)).where(*conditions).group_by(Product.ocop_group)
    ).all()
    districts = db.session.execute(
        _joined(sa.select(Producer.district, count)).where(*conditions).group_by(Producer.district)
    ).all()
    # Group by a subquery column: PostgreSQL cannot group by a CASE holding bound parameters.
    stars_rows = _joined(sa.select(Product.id, effective_stars_expr(today()).label("stars"))).where(*conditions)
    sub = stars_rows.subquery()
    stars = db.session.execute(sa.select(sub.c.stars, sa.func.count()).group_by(sub.c.stars)).all()
    return {
        "ocop_group": {code: n for code, n in sorted(groups, key=lambda r: (-r[1], r[0] or ""))},
        "ocop_stars": {str(int(s or 0)): n for s, n in sorted(stars, key=lambda r: -(r[0] or 0))},
        "district": {name or "": n for name, n in sorted(districts, key=lambda r: (-r[1], r[0] or ""))},
    }


def list_products(
    filters: ProductFilters,
    sort: str,
    offset: int,
    limit: int,
    search_ids: Sequence[int] | None = None,
) -> ProductResult:
    """A page of public products matching `filters`. `search_ids` (a text search's hits, best
    first) restricts the list to those products; with sort=relevance they keep that order."""
    conditions = product_conditions(filters)
    if search_ids is not None:
        search_ids = list(search_ids)[:MAX_SEARCH_IDS]
        if not search_ids:
            return ProductResult(items=[], total=0, facets=product_facets([sa.false()]))
        conditions.append(Product.id.in_(search_ids))
    if search_ids is not None and sort == "relevance":
        kept = set(db.session.scalars(_joined(sa.select(Product.id)).where(*conditions)))
        ordered = [i for i in search_ids if i in kept]
        total = len(ordered)
        page_ids = ordered[offset : offset + limit]
    else:
        total = db.session.scalar(_joined(sa.select(sa.func.count(Product.id))).where(*conditions)) or 0
        page_ids = db.session.scalars(
            _joined(sa.select(Product.id)).where(*conditions).order_by(*_order(sort)).offset(offset).limit(limit)
        ).all()
    return ProductResult(items=load_products(page_ids, images=False), total=total, facets=product_facets(conditions))


def public_product(ref: str) -> Product | None:
    if not ref or "\x00" in ref or len(ref) > 200:
        return None
    return db.session.scalar(
        sa.select(Product).where(Product.ref == ref, Product.status == "published", Product.hidden.is_(False))
    )


_WORD = re.compile(r"\w+")


def search_ids_by_substring(q: str, filters: ProductFilters, limit_terms: int = 20) -> list[int]:
    """Interim text search: diacritic-insensitive substring matching over the product's names and
    its producer's name, best first. Every word must match; when nothing matches all of them,
    products matching most words come first. Any text is accepted."""
    phrase = fold(q)[:500]
    terms = list(dict.fromkeys(_WORD.findall(phrase)))[:limit_terms]
    if not terms:
        return []
    rows = db.session.execute(
        _joined(sa.select(Product.id, Product.name, Product.name_en, Producer.name)).where(*product_conditions(filters))
    ).all()
    scored: list[tuple[int, int, int]] = []
    for product_id, name, name_en, producer_name in rows:
        own = fold(name)
        other = f"{fold(name_en)} {fold(producer_name)}"
        hits = sum(1 for t in terms if t in own or t in other)
        if not hits:
            continue
        score = (
            hits * 100
            + (50 if phrase in own else 0)
            + sum(10 for t in terms if t in own)
            + (5 if phrase in other else 0)
        )
        scored.append((hits, score, product_id))
    if any(hits == len(terms) for hits, _, _ in scored):
        scored = [row for row in scored if row[0] == len(terms)]
    scored.sort(key=lambda row: (-row[1], row[2]))
    return [product_id for _, _, product_id in scored]


# ---------------------------------------------------------------- sales points


def approved_points_carrying(product: Product) -> list[SalesPoint]:
    return list(
        db.session.scalars(
            sa.select(SalesPoint)
            .join(sales_point_products, sales_point_products.c.sales_point_id == SalesPoint.id)
            .where(sales_point_products.c.product_id == product.id, SalesPoint.status == "approved")
            .order_by(SalesPoint.ref, SalesPoint.id)
        )
    )


@dataclass(frozen=True)
class SalesPointFilters:
    district: str = ""
    kind: str = ""
    product: str = ""  # a product ref


def sales_point_conditions(filters: SalesPointFilters) -> list[sa.ColumnElement[bool]]:
    conditions: list[sa.ColumnElement[bool]] = [SalesPoint.status == "approved"]
    if filters.district:
        conditions.append(SalesPoint.district.in_(matching_values(SalesPoint.district, filters.district)))
    if filters.kind:
        conditions.append(SalesPoint.kind == filters.kind)
    if filters.product:
        product = public_product(filters.product)
        if product is None:
            conditions.append(sa.false())
        else:
            carrying = sa.select(sales_point_products.c.sales_point_id).where(
                sales_point_products.c.product_id == product.id
            )
            conditions.append(SalesPoint.id.in_(carrying))
    return conditions


def haversine_km(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lng2 - lng1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371.0088 * math.asin(min(1.0, math.sqrt(a)))


def point_position(lat: float | None, lng: float | None, district: str | None) -> tuple[float, float] | None:
    """The point's coordinates, else its district's centroid, else None."""
    if lat is not None and lng is not None:
        return lat, lng
    centroid = find_district(district)
    return (centroid.lat, centroid.lng) if centroid else None


def list_sales_points(
    filters: SalesPointFilters, offset: int, limit: int, near: tuple[float, float] | None = None
) -> tuple[list[tuple[SalesPoint, float | None]], int]:
    """A page of approved sales points with their distance from `near` (None without it).
    With `near` they are sorted by distance; points without any position come last."""
    conditions = sales_point_conditions(filters)
    if near is None:
        total = db.session.scalar(sa.select(sa.func.count(SalesPoint.id)).where(*conditions)) or 0
        ids = db.session.scalars(
            sa.select(SalesPoint.id)
            .where(*conditions)
            .order_by(SalesPoint.ref, SalesPoint.id)
            .offset(offset)
            .limit(limit)
        ).all()
        distances: dict[int, float | None] = dict.fromkeys(ids)
    else:
        rows = db.session.execute(
            sa.select(SalesPoint.id, SalesPoint.ref, SalesPoint.lat, SalesPoint.lng, SalesPoint.district).where(
                *conditions
            )
        ).all()
        measured = []
        for point_id, ref, lat, lng, district in rows:
            position = point_position(lat, lng, district)
            distance = haversine_km(near[0], near[1], *position) if position else None
            measured.append((distance is None, distance or 0.0, ref, point_id, distance))
        measured.sort()
        total = len(measured)
        distances = {row[3]: row[4] for row in measured[offset : offset + limit]}
        ids = list(distances)
    points = {p.id: p for p in db.session.scalars(sa.select(SalesPoint).where(SalesPoint.id.in_(ids)))} if ids else {}
    return [(points[i], distances[i]) for i in ids if i in points], total
