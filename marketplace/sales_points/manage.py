"""Operators' pages (apply, edit, photos, products and stock, answering carry requests) and the
producers' view (which points carry my products, ask a point to carry one)."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from marketplace.catalog.models import Product
from marketplace.core.auth import role_required
from marketplace.core.errors import ServiceError
from marketplace.core.form_errors import apply_error
from marketplace.core.uploads import delete_image
from marketplace.extensions import db
from marketplace.sales_points import carrying, services
from marketplace.sales_points.forms import CarryRequestForm, PhotoForm, ResponseForm, SalesPointForm
from marketplace.sales_points.models import CarryRequest, SalesPoint
from marketplace.sales_points.views import bp, map_config


def _point_or_404(point_id: int) -> SalesPoint:
    point = db.session.get(SalesPoint, point_id)
    if point is None:
        abort(404)
    return point


def _operated_or_403(point_id: int) -> SalesPoint:
    point = _point_or_404(point_id)
    if not services.is_operator(current_user, point):
        abort(403)
    return point


def _uploads(name: str = "photos") -> list[services.Upload]:
    return [services.Upload(f.filename or "", f.read()) for f in request.files.getlist(name) if f.filename]


def _int_arg(value: str | None) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


# --------------------------------------------------------------------------- operators


@bp.get("/my/sales-points")
@role_required("sales_point")
def dashboard():
    return render_template(
        "sales_points/dashboard.html",
        points=services.operated_points(current_user),
        incoming=carrying.incoming_requests(current_user),
        response_form=ResponseForm(),
    )


def _render_form(form: SalesPointForm, point: SalesPoint | None = None):
    return render_template(
        "sales_points/form.html",
        form=form,
        point=point,
        photo_form=PhotoForm(),
        max_photos=services.max_photos(),
        map_config=map_config(),
    )


@bp.route("/my/sales-points/new", methods=["GET", "POST"])
@role_required("sales_point")
def apply():
    form = SalesPointForm()
    if form.validate_on_submit():
        try:
            point = services.apply(current_user, form.to_data(), _uploads())
        except ServiceError as error:
            db.session.rollback()
            apply_error(form, error)
        else:
            db.session.commit()
            flash(
                _(
                    "Đã gửi hồ sơ điểm bán “%(name)s”. Bước tiếp theo: chọn các sản phẩm OCOP điểm bán đang bày bán.",
                    name=point.name,
                ),
                "success",
            )
            return redirect(url_for("sales_points.products", point_id=point.id))
    return _render_form(form)


@bp.route("/my/sales-points/<int:point_id>/edit", methods=["GET", "POST"])
@role_required("sales_point")
def edit(point_id: int):
    point = _operated_or_403(point_id)
    form = SalesPointForm(obj=point if request.method == "GET" else None)
    if request.method == "POST" and form.validate_on_submit():
        was_rejected = point.status == "rejected"
        try:
            services.update_point(current_user, point, form.to_data())
            uploads = _uploads()
            result = services.add_photos(current_user, point, uploads) if uploads else None
        except ServiceError as error:
            db.session.rollback()
            apply_error(form, error)
        else:
            db.session.commit()
            if was_rejected:
                flash(_("Đã lưu và gửi lại hồ sơ để ban tổ chức xem xét."), "success")
            else:
                flash(_("Đã lưu thông tin điểm bán."), "success")
            for message in result.errors if result else []:
                flash(message, "error")
            return redirect(url_for("sales_points.dashboard"))
    return _render_form(form, point)


@bp.post("/my/sales-points/<int:point_id>/photos")
@role_required("sales_point")
def upload_photos(point_id: int):
    point = _operated_or_403(point_id)
    try:
        result = services.add_photos(current_user, point, _uploads())
    except ServiceError as error:
        apply_error(None, error)
        return redirect(url_for("sales_points.edit", point_id=point.id, _anchor="photos"))
    db.session.commit()
    if result.added:
        flash(_("Đã thêm %(n)s ảnh.", n=len(result.added)), "success")
    for message in result.errors:
        flash(message, "error")
    return redirect(url_for("sales_points.edit", point_id=point.id, _anchor="photos"))


@bp.post("/my/sales-points/<int:point_id>/photos/<int:photo_id>/delete")
@role_required("sales_point")
def delete_photo(point_id: int, photo_id: int):
    point = _operated_or_403(point_id)
    try:
        stored = services.delete_photo(current_user, point, photo_id)
    except ServiceError as error:
        if error.code == "not_found":
            abort(404)
        apply_error(None, error)
        return redirect(url_for("sales_points.edit", point_id=point.id, _anchor="photos"))
    db.session.commit()
    delete_image(stored)
    flash(_("Đã xoá ảnh."), "success")
    return redirect(url_for("sales_points.edit", point_id=point.id, _anchor="photos"))


@bp.get("/my/sales-points/<int:point_id>/products")
@role_required("sales_point")
def products(point_id: int):
    point = _operated_or_403(point_id)
    rows = services.carried_rows(point)
    q = (request.args.get("q") or "").strip()[:200]
    results = services.search_catalogue(q, exclude=[r.product_id for r in rows]) if q else []
    return render_template("sales_points/products.html", point=point, rows=rows, q=q, results=results)


@bp.post("/my/sales-points/<int:point_id>/products/add")
@role_required("sales_point")
def add_product(point_id: int):
    point = _operated_or_403(point_id)
    product_id = _int_arg(request.form.get("product_id"))
    try:
        product = services.add_product(current_user, point, product_id or 0)
    except ServiceError as error:
        apply_error(None, error)
    else:
        db.session.commit()
        flash(_("Đã thêm “%(name)s” vào danh sách sản phẩm của điểm bán.", name=product.name), "success")
    return redirect(url_for("sales_points.products", point_id=point.id, q=request.form.get("q") or None))


@bp.post("/my/sales-points/<int:point_id>/products/remove")
@role_required("sales_point")
def remove_product(point_id: int):
    point = _operated_or_403(point_id)
    product_id = _int_arg(request.form.get("product_id"))
    try:
        product = services.remove_product(current_user, point, product_id or 0)
    except ServiceError as error:
        apply_error(None, error)
    else:
        db.session.commit()
        flash(_("Đã bỏ “%(name)s” khỏi danh sách.", name=product.name), "success")
    return redirect(url_for("sales_points.products", point_id=point.id))


@bp.post("/my/sales-points/<int:point_id>/stock")
@role_required("sales_point")
def update_stock(point_id: int):
    point = _operated_or_403(point_id)
    wanted = [n for n in (_int_arg(v) for v in request.form.getlist("in_stock")) if n is not None]
    changed = services.set_stock(current_user, point, wanted)
    db.session.commit()
    flash(_("Đã cập nhật tình trạng hàng (%(n)s thay đổi).", n=changed), "success")
    return redirect(url_for("sales_points.products", point_id=point.id))


def _request_or_404(request_id: int) -> CarryRequest:
    found = db.session.get(CarryRequest, request_id)
    if found is None:
        abort(404)
    return found


@bp.post("/my/carry-requests/<int:request_id>/<any(accept, decline):decision>")
@role_required("sales_point")
def answer_request(request_id: int, decision: str):
    found = _request_or_404(request_id)
    if not services.is_operator(current_user, found.sales_point):
        abort(403)
    form = ResponseForm()
    response = form.response.data or ""
    try:
        if decision == "accept":
            carrying.accept_request(current_user, found, response)
        else:
            carrying.decline_request(current_user, found, response)
    except ServiceError as error:
        db.session.rollback()
        apply_error(None, error)
    else:
        db.session.commit()
        if decision == "accept":
            flash(_("Đã nhận bày bán “%(name)s”.", name=found.product.name), "success")
        else:
            flash(_("Đã từ chối đề nghị bày bán “%(name)s”.", name=found.product.name), "success")
    return redirect(url_for("sales_points.dashboard"))


# --------------------------------------------------------------------------- producers


def _carry_form(products) -> CarryRequestForm:
    form = CarryRequestForm()
    form.product_id.choices = [(0, _("— Chọn sản phẩm —"))] + [(p.id, f"{p.name} ({p.ref})") for p in products]
    form.sales_point_id.choices = [(0, _("— Chọn điểm bán —"))] + [
        (p.id, f"{p.name} — {p.district}") for p in carrying.requestable_points()
    ]
    return form


def _render_producer_view(form: CarryRequestForm, products):
    return render_template(
        "sales_points/producer.html",
        products=products,
        carriers=carrying.carriers_of(products),
        form=form,
        requests=carrying.outgoing_requests(current_user),
    )


@bp.get("/my/producers/sales-points")
@role_required("producer")
def producer_view():
    products = carrying.managed_products(current_user)
    form = _carry_form([p for p in products if p.is_public])
    wanted = _int_arg(request.args.get("product"))
    if wanted is not None:
        form.product_id.data = wanted
    return _render_producer_view(form, products)


@bp.post("/my/producers/carry-requests")
@role_required("producer")
def request_carry():
    posted = db.session.get(Product, _int_arg(request.form.get("product_id")) or 0)
    if posted is not None and not posted.producer.is_managed_by(current_user):
        abort(403)  # another producer's product
    products = carrying.managed_products(current_user)
    form = _carry_form([p for p in products if p.is_public])
    if form.validate_on_submit():
        product = db.session.get(Product, form.product_id.data)
        point = db.session.get(SalesPoint, form.sales_point_id.data)
        try:
            carrying.request_carry(current_user, point, product, form.message.data or "")
        except ServiceError as error:
            db.session.rollback()
            apply_error(form, error)
        else:
            db.session.commit()
            flash(_("Đã gửi đề nghị tới “%(name)s”.", name=point.name), "success")
            return redirect(url_for("sales_points.producer_view"))
    return _render_producer_view(form, products)


@bp.post("/my/producers/carry-requests/<int:request_id>/withdraw")
@role_required("producer")
def withdraw_request(request_id: int):
    found = _request_or_404(request_id)
    try:
        carrying.withdraw_request(current_user, found)
    except ServiceError as error:
        db.session.rollback()
        apply_error(None, error)
    else:
        db.session.commit()
        flash(_("Đã rút lại đề nghị."), "success")
    return redirect(url_for("sales_points.producer_view"))
