"""Producers' routes: batches list, create/edit/publish/recall/delete a batch, its chain items,
QR code downloads and the printable label sheet.

Access: the producer role (anonymous → login, others → 403) and managing the product's producer
(else 403). Unknown ids, and items of another batch, are 404. Every change is a POST."""

from __future__ import annotations

import math
from dataclasses import dataclass

from flask import Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from wtforms.fields.choices import SelectChoice

from marketplace.catalog.models import Product
from marketplace.catalog.services import can_manage
from marketplace.core.auth import role_required
from marketplace.core.dates import today
from marketplace.core.errors import NotAllowed, ServiceError
from marketplace.core.pagination import page_arg, paginate
from marketplace.core.vn_text import slugify
from marketplace.extensions import db
from marketplace.traceability import services
from marketplace.traceability.files import remove_files
from marketplace.traceability.forms import ITEM_FORMS, BatchForm, RecallForm
from marketplace.traceability.models import BATCH_STATUSES, Batch
from marketplace.traceability.qr import public_trace_url, qr_png, qr_svg
from marketplace.traceability.views import bp

KINDS = "any(inputs, steps, inspections, destinations)"
ANCHORS = {"inputs": "inputs", "steps": "steps", "inspections": "inspections", "destinations": "destinations"}


@dataclass(frozen=True)
class LabelSheet:
    """A common A4 label sheet: label size and the sheet's margins, in millimetres."""

    columns: int
    rows: int
    width: float
    height: float
    top: float
    left: float
    gap: float

    @property
    def per_page(self) -> int:
        return self.columns * self.rows


LABEL_SHEETS = {
    "21": LabelSheet(columns=3, rows=7, width=63.5, height=38.1, top=15.1, left=7.2, gap=2.5),
    "40": LabelSheet(columns=4, rows=10, width=45.7, height=25.4, top=21.5, left=9.7, gap=2.5),
    "8": LabelSheet(columns=2, rows=4, width=99.1, height=67.7, top=13.1, left=4.7, gap=2.5),
}
MAX_LABELS = 1000


# --------------------------------------------------------------------------- helpers


def _managed_batch(batch_id: int) -> Batch:
    batch = db.session.get(Batch, batch_id)
    if batch is None:
        abort(404)
    if not can_manage(current_user, batch.product):
        abort(403)
    return batch


def _managed_product(product_id: int) -> Product:
    product = db.session.get(Product, product_id)
    if product is None:
        abort(404)
    if not can_manage(current_user, product):
        abort(403)
    return product


def _show_error(form, error: ServiceError) -> None:
    if isinstance(error, NotAllowed):
        abort(403)
    if form is not None and error.field and error.field in form:
        form[error.field].errors = [*form[error.field].errors, error.message]
    elif form is not None:
        form.form_errors.append(error.message)
    else:
        flash(error.message, "error")


def _batch_url(batch: Batch, anchor: str | None = None) -> str:
    return url_for("traceability.batch", batch_id=batch.id, _anchor=anchor)


def _render_batch(batch: Batch, recall_form: RecallForm | None = None):
    return render_template(
        "traceability/batch.html",
        batch=batch,
        product=batch.product,
        recall_form=recall_form or RecallForm(),
        revisions=services.revisions(batch),
        trace_url=public_trace_url(batch),
        sheets=LABEL_SHEETS,
    )


def _prepare_item_form(form) -> None:
    if "sales_point_id" in form:
        form.sales_point_id.choices = [SelectChoice("", _("— Chọn điểm bán —"))] + [
            SelectChoice(point.id, f"{point.name} — {point.district}" if point.district else point.name)
            for point in services.sales_point_choices()
        ]


# --------------------------------------------------------------------------- batches


@bp.get("/my/batches")
@role_required("producer")
def batches():
    products = services.managed_products(current_user)
    product_id = request.args.get("product_id", type=int)
    selected = next((p for p in products if p.id == product_id), None)
    status = request.args.get("status")
    status = status if status in BATCH_STATUSES else None
    stmt = services.managed_batches_stmt(current_user, product_id=selected.id if selected else None, status=status)
    page = paginate(stmt, page_arg(request.args.get("page")), current_app.config["PER_PAGE"])
    return render_template("traceability/batches.html", page=page, products=products, selected=selected, status=status)


@bp.route("/my/products/<int:product_id>/batches/new", methods=["GET", "POST"])
@role_required("producer")
def new_batch(product_id: int):
    product = _managed_product(product_id)
    form = BatchForm()
    if request.method == "GET":
        form.unit.data = product.unit
        form.produced_on.data = today()
    if form.validate_on_submit():
        try:
            batch = services.create_batch(current_user, product, form.to_data())
        except ServiceError as error:
            _show_error(form, error)
        else:
            db.session.commit()
            flash(
                _("Đã tạo lô %(code)s. Hãy bổ sung nguyên liệu, công đoạn, kiểm nghiệm rồi công bố.", code=batch.code),
                "success",
            )
            return redirect(_batch_url(batch))
    return render_template("traceability/batch_form.html", form=form, product=product, batch=None)


@bp.get("/my/batches/<int:batch_id>")
@role_required("producer")
def batch(batch_id: int):
    return _render_batch(_managed_batch(batch_id))


@bp.route("/my/batches/<int:batch_id>/edit", methods=["GET", "POST"])
@role_required("producer")
def edit_batch(batch_id: int):
    batch = _managed_batch(batch_id)
    form = BatchForm(obj=batch)
    if form.validate_on_submit():
        try:
            changes = services.update_batch(current_user, batch, form.to_data())
        except ServiceError as error:
            _show_error(form, error)
        else:
            db.session.commit()
            flash(_("Đã lưu thay đổi.") if changes else _("Không có gì thay đổi."), "success" if changes else "info")
            return redirect(_batch_url(batch))
    return render_template("traceability/batch_form.html", form=form, product=batch.product, batch=batch)


@bp.post("/my/batches/<int:batch_id>/publish")
@role_required("producer")
def publish(batch_id: int):
    batch = _managed_batch(batch_id)
    try:
        services.publish_batch(current_user, batch)
    except ServiceError as error:
        _show_error(None, error)
    else:
        db.session.commit()
        flash(_("Đã công bố trang truy xuất. Từ giờ mọi chỉnh sửa đều được ghi vào lịch sử công khai."), "success")
    return redirect(_batch_url(batch))


@bp.post("/my/batches/<int:batch_id>/recall")
@role_required("producer")
def recall(batch_id: int):
    batch = _managed_batch(batch_id)
    form = RecallForm()
    if form.validate_on_submit():
        try:
            services.recall_batch(current_user, batch, form.reason.data)
        except ServiceError as error:
            _show_error(form, error)
        else:
            db.session.commit()
            flash(_("Đã thu hồi lô %(code)s. Trang truy xuất hiển thị cảnh báo thu hồi.", code=batch.code), "warning")
            return redirect(_batch_url(batch))
    return _render_batch(batch, recall_form=form)


@bp.post("/my/batches/<int:batch_id>/delete")
@role_required("producer")
def delete_batch(batch_id: int):
    batch = _managed_batch(batch_id)
    code, product_id = batch.code, batch.product_id
    try:
        files = services.delete_batch(current_user, batch)
    except ServiceError as error:
        _show_error(None, error)
        return redirect(_batch_url(batch))
    db.session.commit()
    remove_files(files)
    flash(_("Đã xóa lô nháp %(code)s.", code=code), "success")
    return redirect(url_for("traceability.batches", product_id=product_id))


# --------------------------------------------------------------------------- chain items


@bp.route(f"/my/batches/<int:batch_id>/<{KINDS}:kind>/new", methods=["GET", "POST"])
@role_required("producer")
def new_item(batch_id: int, kind: str):
    batch = _managed_batch(batch_id)
    item_kind = services.ITEM_KINDS[kind]
    form = ITEM_FORMS[kind]()
    _prepare_item_form(form)
    if request.method == "GET" and kind == "destinations":
        form.shipped_on.data = today()
    if form.validate_on_submit():
        try:
            services.add_item(current_user, batch, item_kind, form.to_data())
        except ServiceError as error:
            _show_error(form, error)
        else:
            db.session.commit()
            flash(_("Đã thêm."), "success")
            return redirect(_batch_url(batch, ANCHORS[kind]))
    return render_template("traceability/item_form.html", form=form, batch=batch, kind=kind, item=None)


@bp.route(f"/my/batches/<int:batch_id>/<{KINDS}:kind>/<int:item_id>/edit", methods=["GET", "POST"])
@role_required("producer")
def edit_item(batch_id: int, kind: str, item_id: int):
    batch = _managed_batch(batch_id)
    item_kind = services.ITEM_KINDS[kind]
    item = services.item_of(batch, item_kind, item_id)
    if item is None:
        abort(404)
    form = ITEM_FORMS[kind](obj=item)
    _prepare_item_form(form)
    if form.validate_on_submit():
        try:
            result = services.update_item(current_user, batch, item_kind, item, form.to_data())
        except ServiceError as error:
            _show_error(form, error)
        else:
            db.session.commit()
            remove_files(result.files_to_remove)
            flash(_("Đã lưu thay đổi.") if result.changes else _("Không có gì thay đổi."), "success")
            return redirect(_batch_url(batch, ANCHORS[kind]))
    return render_template("traceability/item_form.html", form=form, batch=batch, kind=kind, item=item)


@bp.post(f"/my/batches/<int:batch_id>/<{KINDS}:kind>/<int:item_id>/delete")
@role_required("producer")
def delete_item(batch_id: int, kind: str, item_id: int):
    batch = _managed_batch(batch_id)
    item_kind = services.ITEM_KINDS[kind]
    item = services.item_of(batch, item_kind, item_id)
    if item is None:
        abort(404)
    files = services.delete_item(current_user, batch, item_kind, item)
    db.session.commit()
    remove_files(files)
    flash(_("Đã xóa."), "success")
    return redirect(_batch_url(batch, ANCHORS[kind]))


# --------------------------------------------------------------------------- QR codes and labels


def _download_name(batch: Batch, ext: str) -> str:
    return f"qr-{slugify(batch.product.ref, 40)}-{slugify(batch.code, 40)}.{ext}"


@bp.get("/my/batches/<int:batch_id>/qr.<any(svg, png):fmt>")
@role_required("producer")
def qr(batch_id: int, fmt: str):
    batch = _managed_batch(batch_id)
    url = public_trace_url(batch)
    if fmt == "svg":
        response = Response(qr_svg(url, scalable=request.args.get("inline") == "1"), mimetype="image/svg+xml")
    else:
        response = Response(qr_png(url), mimetype="image/png")
    if request.args.get("download") == "1":
        response.headers["Content-Disposition"] = f'attachment; filename="{_download_name(batch, fmt)}"'
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, max-age=300"
    return response


@bp.get("/my/batches/<int:batch_id>/labels")
@role_required("producer")
def labels(batch_id: int):
    batch = _managed_batch(batch_id)
    sheet_key = request.args.get("sheet") if request.args.get("sheet") in LABEL_SHEETS else "21"
    sheet = LABEL_SHEETS[sheet_key]
    copies = request.args.get("copies", type=int) or sheet.per_page
    copies = max(1, min(copies, MAX_LABELS))
    pages = [min(sheet.per_page, copies - n * sheet.per_page) for n in range(math.ceil(copies / sheet.per_page))]
    return render_template(
        "traceability/labels.html",
        batch=batch,
        product=batch.product,
        sheet=sheet,
        sheet_key=sheet_key,
        sheets=LABEL_SHEETS,
        copies=copies,
        pages=pages,
        max_labels=MAX_LABELS,
        trace_url=public_trace_url(batch),
    )
