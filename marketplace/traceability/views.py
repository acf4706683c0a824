"""Traceability pages. Public: the trace page a QR code points to (no login) and its inspection
reports. The producers' routes (batches, chain, QR codes, labels) live in traceability/manage.py
on the same blueprint."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, abort, render_template, request, send_file
from flask_login import current_user

from marketplace.catalog.services import approved_sales_points, is_staff
from marketplace.catalog.stars import certificate_status, effective_stars
from marketplace.extensions import db
from marketplace.traceability import services
from marketplace.traceability.files import file_path
from marketplace.traceability.models import Batch
from marketplace.traceability.public import find_by_public_code, record_scan, should_count_scan, timeline
from marketplace.traceability.qr import public_trace_url

bp = Blueprint("traceability", __name__)

IMAGE_TYPES = {"jpg": "image/jpeg", "png": "image/png", "webp": "image/webp"}


@bp.app_template_filter("trace_qty")
def trace_qty(value) -> str:
    return services.format_quantity(value)


@bp.context_processor
def trace_helpers() -> dict:
    return {
        "field_label": services.field_label,
        "value_label": services.value_label,
        "entity_labels": services.ENTITY_LABELS,
        "action_labels": services.ACTION_LABELS,
        "best_before": services.best_before,
        "public_trace_url": public_trace_url,
    }


def _visible_batch(code: str) -> tuple[Batch, bool]:
    """The batch behind a public code and whether this is a preview (a draft its managers or staff
    look at). Unknown codes and other people's drafts are 404."""
    batch = find_by_public_code(code)
    if batch is None:
        abort(404)
    if batch.is_published:
        return batch, False
    if services.can_manage_batch(current_user, batch) or is_staff(current_user):
        return batch, True
    abort(404)


def _from_same_page() -> bool:
    """A reload through the language switch: the referrer is this very page."""
    referrer = request.referrer
    if not referrer:
        return False
    parts = urlsplit(referrer)
    return parts.netloc == request.host and parts.path == request.path


@bp.get("/truy-xuat/<code>")
def trace(code: str):
    batch, preview = _visible_batch(code)
    if request.method == "GET" and should_count_scan(
        current_user, batch, request.headers.get("User-Agent"), _from_same_page()
    ):
        record_scan(batch)
        db.session.commit()
    product = batch.product
    return render_template(
        "traceability/trace.html",
        batch=batch,
        product=product,
        preview=preview,
        stars=effective_stars(product.certificate),
        cert_status=certificate_status(product.certificate),
        events=timeline(batch, public=True),
        where_to_buy=approved_sales_points(product),
        revisions=services.revisions(batch),
    )


@bp.get("/truy-xuat/<code>/kiem-nghiem/<int:inspection_id>")
def inspection_file(code: str, inspection_id: int):
    batch, _preview = _visible_batch(code)
    item = services.item_of(batch, services.ITEM_KINDS["inspections"], inspection_id)
    if item is None or not item.file_name:
        abort(404)
    path = file_path(item.file_name)
    if not path.is_file():
        abort(404)
    if item.file_kind == "pdf":
        response = send_file(
            path, mimetype="application/pdf", as_attachment=True, download_name=item.file_original_name or "ket-qua.pdf"
        )
    else:
        mimetype = IMAGE_TYPES.get(path.suffix.lstrip(".").lower(), "application/octet-stream")
        response = send_file(path, mimetype=mimetype, max_age=3600)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'; img-src 'self'; sandbox"
    return response


from marketplace.traceability import manage  # noqa: E402,F401  (registers the producers' routes on bp)
