"""JSON API views (CONTRACT.md "JSON API"). POST /match lives with the matching module."""

from __future__ import annotations

from collections.abc import Sequence

from flask import request
from flask_babel import gettext as _

from marketplace.api import bp
from marketplace.api.openapi import openapi_document
from marketplace.api.params import BadParam, choice_arg, int_arg, near_arg, paging_args, text_arg
from marketplace.api.queries import (
    PRODUCT_SORTS,
    ProductFilters,
    SalesPointFilters,
    approved_points_carrying,
    list_products,
    list_sales_points,
    load_products,
    public_product,
)
from marketplace.api.serializers import product_detail, product_item, sales_point_item
from marketplace.catalog.models import Product
from marketplace.core.errors import json_error
from marketplace.data import OCOP_GROUPS, SALES_POINT_KINDS
from marketplace.search import SearchQuery, search_products

MAX_QUERY_LENGTH = 500


@bp.errorhandler(BadParam)
def bad_param(error: BadParam):
    return json_error(400, error.code, error.message, error.field)


def _text_search(q: str, filters: ProductFilters, sort: str, paging) -> tuple[list[Product], int, dict, str | None]:
    """A page of public products for the text `q` from the search backend (Whoosh or PostgreSQL):
    the page's products best first, the total, facet counts over all matches, a spelling suggestion."""
    result = search_products(
        SearchQuery(
            text=q,
            group=filters.group or None,
            min_stars=filters.min_stars or None,
            district=filters.district or None,
            certification=filters.certification or None,
            sort=sort,
            page=paging.page,
            per_page=paging.per_page,
        )
    )
    facets = {key: result.facets.get(key, {}) for key in ("ocop_group", "ocop_stars", "district")}
    return load_products(result.product_ids, images=False), result.total, facets, result.suggestion


def _list(items: Sequence[dict], total: int, paging) -> dict:
    return {"total": total, "page": paging.page, "per_page": paging.per_page, "items": list(items)}


@bp.get("/products")
def products():
    args = request.args
    q = text_arg(args, "q", max_length=MAX_QUERY_LENGTH)
    filters = ProductFilters(
        group=choice_arg(args, "group", OCOP_GROUPS),
        min_stars=int_arg(args, "min_stars", 0, 0, 5),
        district=text_arg(args, "district"),
        certification=text_arg(args, "certification"),
    )
    sort = choice_arg(args, "sort", PRODUCT_SORTS, default="relevance")
    paging = paging_args(args)
    if q:
        items, total, facets, suggestion = _text_search(q, filters, sort, paging)
    else:
        result = list_products(filters, sort, paging.offset, paging.per_page)
        items, total, facets, suggestion = result.items, result.total, result.facets, None
    body = _list([product_item(p) for p in items], total, paging)
    body.update(facets=facets, suggestion=suggestion)
    return body


@bp.get("/products/<path:ref>")
def product(ref: str):
    found = public_product(ref)
    if found is None:
        return json_error(404, "not_found", _("Không tìm thấy sản phẩm."), "ref")
    return product_detail(found, approved_points_carrying(found))


@bp.get("/sales-points")
def sales_points():
    args = request.args
    filters = SalesPointFilters(
        district=text_arg(args, "district"),
        kind=choice_arg(args, "kind", SALES_POINT_KINDS),
        product=text_arg(args, "product"),
    )
    near = near_arg(args)
    paging = paging_args(args)
    rows, total = list_sales_points(filters, paging.offset, paging.per_page, near=near)
    return _list([sales_point_item(point, distance) for point, distance in rows], total, paging)


@bp.get("/openapi.json")
def openapi():
    return openapi_document()
