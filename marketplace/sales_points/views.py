"""Sales point registry pages. Public here: the registry (list + map), a point's page, open data.

Operators' and producers' routes live in manage.py, organisers' reviews in review.py (same
blueprint, imported at the bottom)."""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, Response, abort, current_app, render_template, request, url_for
from flask_babel import format_decimal
from flask_login import current_user

from marketplace.core.i18n import label
from marketplace.core.pagination import Page, page_arg
from marketplace.data import OCOP_GROUPS, SALES_POINT_KINDS, district_names, districts
from marketplace.sales_points import hours, registry, services
from marketplace.sales_points.models import SalesPoint

bp = Blueprint("sales_points", __name__)

DEFAULT_TILE_URL = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
DEFAULT_TILE_ATTRIBUTION = "© OpenStreetMap contributors"
REGISTRY_PER_PAGE = 20


# --------------------------------------------------------------------------- helpers shared by the modules


def map_config() -> dict[str, Any]:
    """Tile server for Leaflet: MAP_TILE_URL ('' turns tiles off: markers on a blank map, with
    the districts' names as landmarks)."""
    url = current_app.config.get("MAP_TILE_URL", DEFAULT_TILE_URL)
    return {
        "tile_url": url or "",
        "attribution": current_app.config.get("MAP_TILE_ATTRIBUTION", DEFAULT_TILE_ATTRIBUTION) if url else "",
        "districts": [{"name": d.name, "lat": d.lat, "lng": d.lng} for d in districts()],
    }


def kind_label(code: str) -> str:
    return label(SALES_POINT_KINDS, code)


def point_url(point: SalesPoint) -> str:
    return url_for("sales_points.show", ref=point.ref)


@bp.app_template_filter("km")
def format_km(value: float | None) -> str:
    if value is None:
        return ""
    return format_decimal(value, format="#,##0.0" if value < 10 else "#,##0") + " km"


@bp.app_template_global()
def sales_point_stock(product) -> dict[int, bool]:
    """sales point id -> in stock, for the product page's "where to buy" list."""
    return registry.stock_by_point(product)


@bp.app_template_global()
def sales_point_open(point: SalesPoint) -> bool | None:
    return hours.is_open(point.opening_hours, hours.local_now())


# --------------------------------------------------------------------------- public pages


@bp.get("/diem-ban")
def registry_page():
    filters = registry.RegistryFilters.from_args(request.args)
    rows = registry.registry_rows(filters, hours.local_now())
    number = page_arg(request.args.get("page"))
    pages = max(1, -(-len(rows) // REGISTRY_PER_PAGE))
    number = min(number, pages)
    start = (number - 1) * REGISTRY_PER_PAGE
    page = Page(items=rows[start : start + REGISTRY_PER_PAGE], total=len(rows), page=number, per_page=REGISTRY_PER_PAGE)
    return render_template(
        "sales_points/registry.html",
        page=page,
        filters=filters,
        markers=registry.map_points(rows, point_url, kind_label),
        without_position=sum(1 for r in rows if r.point.lat is None or r.point.lng is None),
        kinds=SALES_POINT_KINDS,
        groups=OCOP_GROUPS,
        districts=district_names(),
        map_config=map_config(),
        export_args=filters.query_args(),
    )


@bp.get("/diem-ban/du-lieu-mo.csv")
def export_csv():
    filters = registry.RegistryFilters.from_args(request.args)
    body = registry.export_csv(registry.export_points(filters, hours.local_now()))
    response = Response(body, mimetype="text/csv")
    response.headers["Content-Type"] = "text/csv; charset=utf-8"
    response.headers["Content-Disposition"] = "attachment; filename=diem-ban-ocop-ha-noi.csv"
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


@bp.get("/diem-ban/du-lieu-mo.geojson")
def export_geojson():
    filters = registry.RegistryFilters.from_args(request.args)
    points = registry.export_points(filters, hours.local_now())
    data = registry.export_geojson(points, lambda p: url_for("sales_points.show", ref=p.ref, _external=True))
    response = Response(json.dumps(data, ensure_ascii=False), mimetype="application/geo+json")
    response.headers["Content-Type"] = "application/geo+json; charset=utf-8"
    response.headers["Content-Disposition"] = "inline; filename=diem-ban-ocop-ha-noi.geojson"
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


@bp.get("/diem-ban/<ref>")
def show(ref: str):
    point = registry.public_point(ref)
    if point is None or not services.can_view(current_user, point):
        abort(404)
    group = request.args.get("group") or ""
    group = group if group in OCOP_GROUPS else ""
    now = hours.local_now()
    is_operator = services.is_operator(current_user, point)
    is_staff = services.is_staff(current_user)
    return render_template(
        "sales_points/show.html",
        point=point,
        products=registry.point_products(point, group),
        group=group,
        open_now=hours.is_open(point.opening_hours, now),
        is_operator=is_operator,
        is_staff=is_staff,
        reviews=point.reviews if (is_operator or is_staff) else [],
        map_config=map_config(),
        markers=[registry.marker(point, "", kind_label)] if point.lat is not None and point.lng is not None else [],
    )


from marketplace.sales_points import manage, review  # noqa: E402,F401  (routes on bp)
