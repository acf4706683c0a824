"""Managers' routes (create, edit, status, images) and organisers' moderation (hide/unhide).

Access: managers' routes need the producer role (anonymous → login, others → 403) and that the
user manages the product's producer (else 403). Unknown ids → 404. Every change is a POST."""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user
from wtforms.fields.choices import SelectChoice

from marketplace.catalog import scans, services
from marketplace.catalog.forms import HideForm, NewProductForm, ProductForm
from marketplace.catalog.models import PRODUCT_STATUSES, Product
from marketplace.catalog.views import bp
from marketplace.core.auth import role_required
from marketplace.core.errors import NotAllowed, ServiceError
from marketplace.core.pagination import page_arg, paginate
from marketplace.core.uploads import delete_image
from marketplace.core.urls import safe_next
from marketplace.data import UNITS
from marketplace.extensions import db
from marketplace.producers.models import Producer


def _product_or_404(product_id: int) -> Product:
    product = db.session.get(Product, product_id)
    if product is None:
        abort(404)
    return product


def _managed_product(product_id: int) -> Product:
    product = _product_or_404(product_id)
    if not services.can_manage(current_user, product):
        abort(403)
    return product


def _show_error(form, error: ServiceError) -> None:
    """Put a service error next to its field, or above the form."""
    if isinstance(error, NotAllowed):
        abort(403)
    if error.field and error.field in form:
        form[error.field].errors = [*form[error.field].errors, error.message]
    else:
        form.form_errors.append(error.message)


def _edit_url(product: Product, anchor: str | None = None) -> str:
    return url_for("catalog.edit_product", product_id=product.id, _anchor=anchor)


def _scan_name(product: Product) -> str:
    return product.certificate.scan_filename if product.certificate is not None else ""


def _apply_scan(form: ProductForm, product: Product) -> None:
    """Attach the chosen scan, or remove the current one when asked (same transaction)."""
    data = form.scan_upload(scans.max_bytes())
    if data is not None:
        services.attach_certificate_scan(current_user, product, data)
    elif form.cert_scan_remove.data and _scan_name(product):
        services.remove_certificate_scan(current_user, product)


def _drop_old_scan(old: str, product: Product) -> None:
    """After the commit: delete the file of a scan that was replaced, removed or lost with its certificate."""
    if old and old != _scan_name(product):
        scans.remove(old)


def _ask_scan_again(form: ProductForm) -> None:
    """Browsers never send a chosen file twice: say so when the form comes back with errors."""
    if form.scan_upload(0) is not None and not form.cert_scan.errors:
        form.cert_scan.errors = [_("Vui lòng chọn lại tệp bản chụp trước khi lưu.")]


# --------------------------------------------------------------------------- list, create, edit


@bp.get("/my/products")
@role_required("producer")
def my_products():
    producers = services.managed_producers(current_user)
    producer_id = request.args.get("producer_id", type=int)
    if producer_id is not None and producer_id not in {p.id for p in producers}:
        producer_id = None
    status = request.args.get("status")
    status = status if status in PRODUCT_STATUSES else None
    stmt = services.managed_products_stmt(current_user, producer_id=producer_id, status=status)
    page = paginate(stmt, page_arg(request.args.get("page")), current_app.config["PER_PAGE"])
    return render_template(
        "catalog/my_products.html", page=page, producers=producers, producer_id=producer_id, status=status
    )


@bp.route("/my/products/new", methods=["GET", "POST"])
@role_required("producer")
def new_product():
    producers = services.managed_producers(current_user)
    if not producers:
        flash(_("Bạn chưa quản lý nhà sản xuất nào: hãy tạo hoặc nhận quản lý một gian hàng trước."), "info")
        return redirect(url_for("producers.dashboard"))
    managed_ids = {str(p.id) for p in producers}
    wanted = (request.form if request.method == "POST" else request.args).get("producer_id", "").strip()
    if wanted and wanted not in managed_ids:
        # Another producer's id in the URL or in the form: refuse, never fall back silently.
        if not wanted.isdigit() or db.session.get(Producer, int(wanted)) is None:
            abort(404)
        abort(403)
    form = NewProductForm()
    form.producer_id.choices = [SelectChoice(str(p.id), p.name) for p in producers]
    if request.method == "GET":
        form.producer_id.data = wanted or str(producers[0].id)
    if form.validate_on_submit():
        producer = next(p for p in producers if str(p.id) == form.producer_id.data)
        try:
            item = services.create_product(current_user, producer, form.product_data(), form.certificate_data())
            _apply_scan(form, item)
        except ServiceError as error:
            db.session.rollback()
            _show_error(form, error)
        else:
            db.session.commit()
            flash(_("Đã lưu bản nháp “%(name)s”. Thêm ảnh rồi đăng bán khi sẵn sàng.", name=item.name), "success")
            return redirect(_edit_url(item, "images"))
    if request.method == "POST":
        _ask_scan_again(form)
    return render_template("catalog/form.html", form=form, product=None, units=UNITS)


@bp.route("/my/products/<int:product_id>/edit", methods=["GET", "POST"])
@role_required("producer")
def edit_product(product_id: int):
    item = _managed_product(product_id)
    form = ProductForm()
    if request.method == "GET":
        form.fill_from(item)
    old_scan = _scan_name(item)
    if form.validate_on_submit():
        try:
            services.update_product(current_user, item, form.product_data(), form.certificate_data())
            _apply_scan(form, item)
        except ServiceError as error:
            db.session.rollback()
            _show_error(form, error)
        else:
            db.session.commit()
            _drop_old_scan(old_scan, item)
            flash(_("Đã lưu thay đổi."), "success")
            return redirect(_edit_url(item))
    if request.method == "POST":
        _ask_scan_again(form)
    return render_template(
        "catalog/form.html",
        form=form,
        product=item,
        units=UNITS,
        max_images=services.max_images(),
        publish_problems=services.publish_problems(item),
    )


@bp.get("/my/products/<int:product_id>/certificate/scan")
def certificate_scan(product_id: int):
    """The certificate's scan, for the product's managers and organisers only (404 to anyone else)."""
    item = db.session.get(Product, product_id)
    if item is None or not services.can_see_certificate_scan(current_user, item):
        abort(404)
    path = scans.path_of(_scan_name(item))
    if path is None or not path.is_file():
        abort(404)
    ext = path.suffix.lstrip(".")
    response = send_file(
        path,
        mimetype=scans.content_type(path.name),
        download_name=f"chung-nhan-ocop-{item.ref}.{ext}",
        conditional=True,
        max_age=0,
    )
    response.headers["Cache-Control"] = "private, no-store"  # never in a shared cache
    response.headers["X-Content-Type-Options"] = "nosniff"
    if ext != "pdf":
        response.headers["Content-Security-Policy"] = "default-src 'none'; img-src 'self'; sandbox"
    return response


# --------------------------------------------------------------------------- status


def _change_status(product_id: int, action, done: str):
    item = _managed_product(product_id)
    try:
        action(current_user, item)
    except NotAllowed:
        abort(403)
    except ServiceError as error:
        db.session.rollback()
        flash(error.message, "error")
    else:
        db.session.commit()
        flash(done, "success")
    return redirect(safe_next(request.form.get("next"), default=_edit_url(item)))


@bp.post("/my/products/<int:product_id>/publish")
@role_required("producer")
def publish(product_id: int):
    return _change_status(product_id, services.publish_product, _("Sản phẩm đã được đăng bán công khai."))


@bp.post("/my/products/<int:product_id>/unpublish")
@role_required("producer")
def unpublish(product_id: int):
    return _change_status(product_id, services.unpublish_product, _("Đã ngừng đăng bán: sản phẩm trở về bản nháp."))


@bp.post("/my/products/<int:product_id>/archive")
@role_required("producer")
def archive(product_id: int):
    return _change_status(product_id, services.archive_product, _("Đã chuyển sản phẩm vào lưu trữ."))


@bp.post("/my/products/<int:product_id>/restore")
@role_required("producer")
def restore(product_id: int):
    return _change_status(product_id, services.restore_product, _("Đã khôi phục sản phẩm thành bản nháp."))


# --------------------------------------------------------------------------- images


@bp.post("/my/products/<int:product_id>/images")
@role_required("producer")
def upload_images(product_id: int):
    item = _managed_product(product_id)
    limit = current_app.config["MAX_IMAGE_BYTES"]
    # Read one byte past the limit: enough to know a file is too big without holding more of it.
    files = [(f.filename or "", f.read(limit + 1)) for f in request.files.getlist("images") if f and f.filename]
    if not files:
        flash(_("Hãy chọn ít nhất một ảnh để tải lên."), "warning")
        return redirect(_edit_url(item, "images"))
    result = services.add_images(current_user, item, files)
    db.session.commit()
    if result.added:
        flash(_("Đã thêm %(n)s ảnh.", n=len(result.added)), "success")
    for filename, message in result.errors:
        flash(_("Ảnh “%(file)s” không được nhận: %(reason)s", file=filename, reason=message), "error")
    return redirect(_edit_url(item, "images"))


@bp.post("/my/products/<int:product_id>/images/<int:image_id>/delete")
@role_required("producer")
def delete_product_image(product_id: int, image_id: int):
    item = _managed_product(product_id)
    try:
        stored = services.remove_image(current_user, item, image_id)
    except ServiceError:
        abort(404)
    db.session.commit()
    delete_image(stored)
    flash(_("Đã xoá ảnh."), "success")
    return redirect(_edit_url(item, "images"))


@bp.post("/my/products/<int:product_id>/images/<int:image_id>/first")
@role_required("producer")
def make_image_first(product_id: int, image_id: int):
    item = _managed_product(product_id)
    try:
        services.make_image_first(current_user, item, image_id)
    except ServiceError:
        abort(404)
    db.session.commit()
    flash(_("Đã đặt làm ảnh chính."), "success")
    return redirect(_edit_url(item, "images"))


# --------------------------------------------------------------------------- moderation


@bp.post("/admin/products/<int:product_id>/hide")
@role_required("organiser", "admin")
def hide(product_id: int):
    item = _product_or_404(product_id)
    form = HideForm()
    if not form.validate():
        for message in form.reason.errors:
            flash(message, "error")
        return redirect(url_for("catalog.product", ref=item.ref, _anchor="moderation"))
    try:
        services.hide_product(current_user, item, form.reason.data)
    except ServiceError as error:
        db.session.rollback()
        flash(error.message, "error")
    else:
        db.session.commit()
        flash(_("Đã ẩn sản phẩm khỏi trang công khai."), "success")
    return redirect(url_for("catalog.product", ref=item.ref))


@bp.post("/admin/products/<int:product_id>/unhide")
@role_required("organiser", "admin")
def unhide(product_id: int):
    item = _product_or_404(product_id)
    services.unhide_product(current_user, item)
    db.session.commit()
    flash(_("Sản phẩm đã hiển thị trở lại."), "success")
    return redirect(url_for("catalog.product", ref=item.ref))
