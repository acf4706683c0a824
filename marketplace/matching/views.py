"""The page "Tìm nhà cung cấp": a buyer describes a need, suppliers and sales points come back."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template, request, url_for
from werkzeug.routing import BuildError

from marketplace.core.errors import ServiceError
from marketplace.matching import services
from marketplace.matching.forms import NeedForm
from marketplace.matching.reasons import number

bp = Blueprint("matching", __name__)
bp.add_app_template_filter(number, "quantity")

INQUIRY_ENDPOINT = "inquiries.new_inquiry"


@bp.app_template_global()
def supplier_inquiry_url(ref: str) -> str:
    """The inquiry form for this product when the inquiries feature is installed, else its page."""
    if INQUIRY_ENDPOINT in current_app.view_functions:
        try:
            return url_for(INQUIRY_ENDPOINT, product=ref)
        except BuildError:
            pass
    return url_for("catalog.product", ref=ref)


def _map(result) -> tuple[dict | None, list[dict]]:
    """The sales points feature's Leaflet map (config, markers) when it is installed, else (None, [])."""
    if result is None or not result.sales_points or "sales_points.show" not in current_app.view_functions:
        return None, []
    try:
        from marketplace.sales_points.views import map_config
    except ImportError:
        return None, []
    from marketplace.core.i18n import label
    from marketplace.data import SALES_POINT_KINDS

    markers = [
        {
            "ref": p.point.ref,
            "name": p.point.name,
            "kind": label(SALES_POINT_KINDS, p.point.kind),
            "address": ", ".join(x for x in (p.point.address, p.point.commune, p.point.district) if x),
            "hours": p.point.opening_hours,
            "lat": p.point.lat,
            "lng": p.point.lng,
            "url": url_for("sales_points.show", ref=p.point.ref),
        }
        for p in result.sales_points
        if p.point.lat is not None and p.point.lng is not None
    ]
    return (map_config(), markers) if markers else (None, [])


@bp.get("/tim-nha-cung-cap")
def find():
    form = NeedForm(formdata=request.args if request.args else None)
    result = None
    if "text" in request.args and form.validate():
        try:
            need, warnings = services.build_need(
                form.text.data,
                ocop_group=form.ocop_group.data or None,
                quantity=form.quantity.data,
                unit=form.unit.data or None,
                min_stars=int(form.min_stars.data or 0),
                district=form.district.data or None,
                max_price_vnd=form.max_price_vnd.data,
                certifications=form.certifications.data or (),
            )
        except ServiceError as error:
            target = form._fields.get(error.field or "")
            (target.errors if target is not None else form.form_errors).append(error.message)
        else:
            result = services.match(need, warnings)
    config, markers = _map(result)
    return render_template(
        "matching/find.html",
        form=form,
        result=result,
        map_config=config,
        markers=markers,
        point_links="sales_points.show" in current_app.view_functions,
    )
