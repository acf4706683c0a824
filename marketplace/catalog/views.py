"""Public catalogue pages: home, browse (all, per OCOP group, per district), product page.

/products with a non-empty q is the search page (marketplace.search: highlighted hits, facet
counts, spelling suggestion, matching producers and sales points); without q it is the SQL
listing. GET /goi-y?q= feeds the header box's autocomplete (static/js/autocomplete.js).

The managers' and organisers' routes live in catalog/manage.py (same blueprint)."""

from __future__ import annotations

from dataclasses import dataclass, replace

import sqlalchemy as sa
from flask import Blueprint, abort, current_app, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from marketplace.api.queries import load_products
from marketplace.catalog import services
from marketplace.catalog.forms import HideForm
from marketplace.catalog.models import Product
from marketplace.catalog.services import ProductFilters
from marketplace.catalog.stars import certificate_status, effective_stars
from marketplace.core.i18n import certification_label
from marketplace.core.i18n import label as code_label
from marketplace.core.pagination import Page, page_arg, paginate
from marketplace.core.templating import url_with
from marketplace.core.vn_text import clean_line, fold, slugify
from marketplace.data import CERTIFICATIONS, GROUP_2019_TO_2023, OCOP_GROUPS, districts, find_district
from marketplace.extensions import db
from marketplace.producers.models import Producer
from marketplace.sales_points.models import SalesPoint
from marketplace.search import PRICE_BANDS, SearchQuery, search_producers, search_products
from marketplace.search import suggest as search_suggest

bp = Blueprint("catalog", __name__)


# --------------------------------------------------------------------------- template helpers


@bp.app_template_global()
def product_stars(product: Product) -> int:
    """The stars that count (a valid, verified certificate), else 0."""
    return effective_stars(product.certificate)


@bp.app_template_global()
def product_cert_status(product: Product) -> str:
    return certificate_status(product.certificate)


@bp.app_template_global()
def product_thumb(product: Product) -> str | None:
    """URL of the main image's thumbnail, or None (the card shows a placeholder)."""
    images = product.images
    return url_for("core.media", filename=images[0].thumb_filename) if images else None


@bp.app_template_global()
def district_url(name: str) -> str:
    return url_for("catalog.district", name=slugify(name))


# --------------------------------------------------------------------------- pages


@bp.get("/")
def home():
    return render_template("catalog/home.html", stats=services.home_stats(), featured=services.featured_products(8))


def _render_list(filters: ProductFilters, title: str, heading_note: str | None = None):
    stmt = services.public_products_stmt(filters)
    page = paginate(stmt, page_arg(request.args.get("page")), current_app.config["PER_PAGE"])
    return render_template(
        "catalog/browse.html",
        page=page,
        filters=filters,
        title=title,
        heading_note=heading_note,
        districts=districts(),
        certifications=CERTIFICATIONS,
        sorts=services.SORTS,
    )


@bp.get("/products")
def browse():
    q = clean_line(request.args.get("q"))
    filters = ProductFilters.from_args(request.args, default_sort="relevance" if q else "newest")
    if not filters.q:
        return _render_list(filters, _("Sản phẩm OCOP Hà Nội"))
    band = request.args.get("price_band") or None
    band = band if band in PRICE_BANDS else None
    result = _search(filters, band)
    page = Page(items=load_products(result.product_ids), total=result.total, page=result.page, per_page=result.per_page)
    return render_template(
        "catalog/browse.html",
        page=page,
        filters=filters,
        title=_("Kết quả tìm kiếm"),
        heading_note=None,
        districts=districts(),
        certifications=CERTIFICATIONS,
        sorts=SEARCH_SORTS,
        search=result,
        highlights={hit.product_id: hit.highlights for hit in result.hits},
        price_band=band,
        facets=_facet_sections(result.facets, filters, band),
        active_filters=_active_filters(filters, band),
        producers=_matching_producers(filters.q),
        sales_points=_matching_sales_points(filters.q),
    )


@bp.get("/goi-y")
def suggest():
    """Autocomplete for the header search box: {"suggestions": [at most 8 strings]}."""
    q = clean_line(request.args.get("q"))[:100].strip()
    suggestions = search_suggest(q, MAX_SUGGESTIONS)[:MAX_SUGGESTIONS] if q else []
    response = jsonify(suggestions=suggestions)
    response.headers["Cache-Control"] = "private, max-age=60"
    return response


# --------------------------------------------------------------------------- search page helpers

SEARCH_SORTS = ("relevance", *services.SORTS)
MAX_SUGGESTIONS = 8
SIDE_RESULTS = 5
MAX_DISTRICT_FACETS = 12


def _search(filters: ProductFilters, band: str | None):
    query = SearchQuery(
        text=filters.q,
        group=filters.group,
        min_stars=filters.min_stars or None,
        district=filters.district,
        certification=filters.certification,
        price_band=band,
        sort=filters.sort if filters.sort in SEARCH_SORTS else "relevance",
        page=page_arg(request.args.get("page")),
        per_page=current_app.config["PER_PAGE"],
    )
    result = search_products(query)
    if not result.hits and result.total and query.page > result.pages:  # past the end: show the last page
        result = search_products(replace(query, page=result.pages))
    return result


@dataclass(frozen=True)
class FacetLink:
    label: str
    count: int
    url: str
    active: bool
    value: str


@dataclass(frozen=True)
class FacetSection:
    param: str
    title: str
    links: list[FacetLink]


def price_band_label(code: str) -> str:
    low, below = PRICE_BANDS[code]
    if low is None:
        return _("Dưới %(price)s", price=_short_vnd(below))
    if below is None:
        return _("Từ %(price)s trở lên", price=_short_vnd(low))
    return _("%(low)s – %(high)s", low=_short_vnd(low), high=_short_vnd(below))


def _short_vnd(amount: int | None) -> str:
    amount = amount or 0
    if amount >= 1_000_000 and amount % 1_000_000 == 0:
        return _("%(n)s triệu đ", n=amount // 1_000_000)
    if amount >= 1000 and amount % 1000 == 0:
        return _("%(n)s nghìn đ", n=amount // 1000)
    return f"{amount:,}".replace(",", ".") + " đ"


def _stars_label(n: int) -> str:
    return _("5 sao") if n == 5 else _("Từ %(n)s sao trở lên", n=n)


def _link(param: str, value: str, label: str, count: int, active: bool) -> FacetLink:
    # A facet link keeps every other filter; clicking the active one removes it (a checkbox).
    url = url_with(**{param: None if active else value, "page": None})
    return FacetLink(label=label, count=count, url=url, active=active, value=value)


def _facet_sections(facets: dict, filters: ProductFilters, band: str | None) -> list[FacetSection]:
    sections = []
    groups = facets.get("ocop_group") or {}
    sections.append(
        FacetSection(
            "group",
            _("Nhóm sản phẩm"),
            [
                _link("group", code, code_label(OCOP_GROUPS, code), n, code == filters.group)
                for code, n in groups.items()
                if code in OCOP_GROUPS
            ],
        )
    )
    exact = {int(k): v for k, v in (facets.get("ocop_stars") or {}).items() if str(k).isdigit()}
    star_links = []
    for n in (5, 4, 3, 2, 1):
        count = sum(v for s, v in exact.items() if s >= n)  # what min_stars=n would list
        # Hà Nội certifies 3★-5★: "from 2★" only when some product has exactly 2★ (else it
        # repeats "from 3★"), and likewise "from 1★".
        redundant = n < 3 and not exact.get(n)
        if (count and not redundant) or filters.min_stars == n:
            star_links.append(_link("min_stars", str(n), _stars_label(n), count, filters.min_stars == n))
    sections.append(FacetSection("min_stars", _("Hạng sao OCOP (chứng nhận còn hiệu lực)"), star_links))
    wanted_district = fold(filters.district) if filters.district else None
    sections.append(
        FacetSection(
            "district",
            _("Quận/huyện"),
            [
                _link("district", name, name, n, fold(name) == wanted_district)
                for name, n in list((facets.get("district") or {}).items())[:MAX_DISTRICT_FACETS]
            ],
        )
    )
    sections.append(
        FacetSection(
            "certification",
            _("Chứng nhận"),
            [
                _link("certification", code, certification_label(code), n, code == filters.certification)
                for code, n in (facets.get("certification") or {}).items()
            ],
        )
    )
    sections.append(
        FacetSection(
            "price_band",
            _("Khoảng giá"),
            [
                _link("price_band", code, price_band_label(code), n, code == band)
                for code, n in (facets.get("price_band") or {}).items()
                if code in PRICE_BANDS
            ],
        )
    )
    return [section for section in sections if section.links]


def _active_filters(filters: ProductFilters, band: str | None) -> list[tuple[str, str]]:
    """(label, URL without that filter) for the summary above the results."""
    active = [(_("Từ khoá: “%(q)s”", q=filters.q), url_with(q=None, page=None))]
    if filters.group:
        active.append((code_label(OCOP_GROUPS, filters.group), url_with(group=None, page=None)))
    if filters.min_stars:
        active.append((_stars_label(filters.min_stars), url_with(min_stars=None, page=None)))
    if filters.district:
        active.append((filters.district, url_with(district=None, page=None)))
    if filters.certification:
        active.append((certification_label(filters.certification), url_with(certification=None, page=None)))
    if band:
        active.append((price_band_label(band), url_with(price_band=None, page=None)))
    return active


def _matching_producers(q: str) -> list[Producer]:
    ids = search_producers(q, SIDE_RESULTS)
    if not ids:
        return []
    found = {p.id: p for p in db.session.scalars(sa.select(Producer).where(Producer.id.in_(ids)))}
    return [found[i] for i in ids if i in found]


def _matching_sales_points(q: str) -> list[SalesPoint]:
    """Approved sales points whose name, district, commune or address contains q (diacritics
    optional). There are a few dozen approved points: read their short fields and fold in Python."""
    wanted = fold(q)
    if not wanted:
        return []
    rows = db.session.execute(
        sa.select(SalesPoint.id, SalesPoint.name, SalesPoint.district, SalesPoint.commune, SalesPoint.address)
        .where(SalesPoint.status == "approved")
        .order_by(SalesPoint.name)
    ).all()
    ids = [row.id for row in rows if any(wanted in fold(text) for text in row[1:] if text)][:SIDE_RESULTS]
    if not ids:
        return []
    found = {p.id: p for p in db.session.scalars(sa.select(SalesPoint).where(SalesPoint.id.in_(ids)))}
    return [found[i] for i in ids if i in found]


@bp.get("/nhom/<code>")
def group(code: str):
    if code not in OCOP_GROUPS:
        mapped = GROUP_2019_TO_2023.get(code)
        if mapped is None:
            abort(404)
        args = {key: value for key, value in request.args.items() if key != "code"}
        return redirect(url_for(".group", code=mapped, **args), code=301)
    args = request.args.to_dict()
    args["group"] = code
    filters = ProductFilters.from_args(args)
    return _render_list(filters, OCOP_GROUPS[code][1] if _english() else OCOP_GROUPS[code][0])


@bp.get("/khu-vuc/<name>")
def district(name: str):
    found = find_district(name.replace("-", " ")) or find_district(name)
    if found is None:
        abort(404)
    args = request.args.to_dict()
    args["district"] = found.name
    filters = ProductFilters.from_args(args)
    return _render_list(filters, _("Sản phẩm OCOP ở %(district)s", district=found.name), heading_note=found.kind)


@bp.get("/san-pham/<ref>")
def product(ref: str):
    item = services.get_product_by_ref(ref)
    if item is None or not services.can_view(current_user, item):
        abort(404)
    return render_template(
        "catalog/product.html",
        product=item,
        sales_points=services.approved_sales_points(item),
        can_manage=services.can_manage(current_user, item),
        is_staff=services.is_staff(current_user),
        hide_form=HideForm() if services.is_staff(current_user) else None,
    )


def _english() -> bool:
    from flask_babel import get_locale

    return str(get_locale()) == "en"


from marketplace.catalog import manage  # noqa: E402,F401  (registers the managers' routes on bp)
