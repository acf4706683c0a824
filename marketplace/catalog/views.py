"""Public catalogue pages: home, browse (all, per OCOP group, per district), product page.

The managers' and organisers' routes live in catalog/manage.py (same blueprint)."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from marketplace.catalog import services
from marketplace.catalog.forms import HideForm
from marketplace.catalog.models import Product
from marketplace.catalog.services import ProductFilters
from marketplace.catalog.stars import certificate_status, effective_stars
from marketplace.core.pagination import page_arg, paginate
from marketplace.core.vn_text import slugify
from marketplace.data import CERTIFICATIONS, GROUP_2019_TO_2023, OCOP_GROUPS, districts, find_district

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
    filters = ProductFilters.from_args(request.args)
    return _render_list(filters, _("Sản phẩm OCOP Hà Nội"))


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
