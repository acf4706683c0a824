"""Organisers' dashboard pages: /dashboard/... (organisers and admins only)."""

from __future__ import annotations

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from marketplace.catalog.models import Certificate, Product
from marketplace.core.auth import login_required, role_required
from marketplace.core.errors import ServiceError
from marketplace.core.pagination import page_arg, paginate
from marketplace.dashboard import services
from marketplace.dashboard.forms import RejectForm, ReportForm, TargetForm
from marketplace.extensions import db

bp = Blueprint("dashboard", __name__, url_prefix="/dashboard")
staff_only = role_required("organiser", "admin")
PER_PAGE = 20


def _scheme() -> str:
    scheme = request.args.get("scheme", "2023")
    return scheme if scheme in services.SCHEMES else "2023"


@bp.get("/")
@staff_only
def index():
    return render_template(
        "dashboard/index.html",
        pending=services.pending_count(),
        expiring=services.expiring_count(),
        total=services.product_total(),
        progress=services.target_progress(),
    )


@bp.get("/certificates")
@staff_only
def certificates():
    page = paginate(services.review_queue_stmt(), page_arg(request.args.get("page")), PER_PAGE)
    return render_template("dashboard/certificates.html", page=page, form=RejectForm())


def _certificate_or_404(cert_id: int) -> Certificate:
    cert = db.session.get(Certificate, cert_id)
    if cert is None:
        abort(404)
    return cert


@bp.post("/certificates/<int:cert_id>/verify")
@staff_only
def verify(cert_id: int):
    cert = _certificate_or_404(cert_id)
    try:
        services.verify_certificate(current_user, cert)
    except ServiceError as error:
        db.session.rollback()
        flash(error.message, "error")
    else:
        db.session.commit()
        flash(_("Đã xác minh chứng nhận và thông báo cho cơ sở."), "success")
    return redirect(url_for("dashboard.certificates"))


@bp.post("/certificates/<int:cert_id>/reject")
@staff_only
def reject(cert_id: int):
    cert = _certificate_or_404(cert_id)
    form = RejectForm()
    if not form.validate():
        for message in form.reason.errors:
            flash(message, "error")
        return redirect(url_for("dashboard.certificates", _anchor=f"cert-{cert.id}"))
    try:
        services.reject_certificate(current_user, cert, form.reason.data)
    except ServiceError as error:
        db.session.rollback()
        flash(error.message, "error")
    else:
        db.session.commit()
        flash(_("Đã từ chối chứng nhận và thông báo lý do cho cơ sở."), "success")
    return redirect(url_for("dashboard.certificates"))


@bp.get("/certificates/expiring")
@staff_only
def expiring():
    page = paginate(services.expiring_stmt(), page_arg(request.args.get("page")), PER_PAGE)
    return render_template("dashboard/expiring.html", page=page, days=services.EXPIRING_DAYS)


@bp.get("/audit")
@staff_only
def audit():
    action = request.args.get("action") or None
    if action not in services.AUDIT_ACTIONS:
        action = None
    actor_id = page_arg(request.args.get("actor"), default=0) or None
    page = paginate(services.audit_stmt(action, actor_id), page_arg(request.args.get("page")), PER_PAGE)
    return render_template(
        "dashboard/audit.html",
        page=page,
        actions=services.AUDIT_ACTIONS,
        action=action,
        actors=services.audit_actors(),
        actor_id=actor_id,
    )


def _render_stats(form: TargetForm, status: int = 200):
    scheme = _scheme()
    return (
        render_template(
            "dashboard/stats.html",
            scheme=scheme,
            tables=services.all_tables(scheme),
            total=services.product_total(),
            expiring=services.expiring_count(),
            progress=services.target_progress(),
            form=form,
        ),
        status,
    )


@bp.get("/stats")
@staff_only
def stats():
    target = services.get_target()
    return _render_stats(TargetForm(min_stars=target.min_stars, goal=target.goal))


@bp.post("/stats/target")
@staff_only
def set_target():
    form = TargetForm()
    if not form.validate():
        return _render_stats(form, 400)
    try:
        services.set_target(current_user, form.min_stars.data, form.goal.data)
    except ServiceError as error:
        db.session.rollback()
        if error.field in form:
            form[error.field].errors.append(error.message)
        else:
            flash(error.message, "error")
        return _render_stats(form, 400)
    db.session.commit()
    flash(_("Đã cập nhật chỉ tiêu."), "success")
    return redirect(url_for("dashboard.stats"))


@bp.get("/stats/<key>.<fmt>")
@staff_only
def export(key: str, fmt: str):
    scheme = _scheme()
    table = services.find_table(key, scheme)
    if table is None or fmt not in ("csv", "xlsx"):
        abort(404)
    name = f"ocop-{key}-{scheme}" if key == "groups" else f"ocop-{key}"
    if fmt == "csv":
        return Response(
            services.table_csv(table),
            mimetype="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
        )
    return Response(
        services.table_xlsx(table),
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": f'attachment; filename="{name}.xlsx"'},
    )


# --------------------------------------------------------------------------- listing moderation


def _product_or_404(product_id: int, public_only: bool = False) -> Product:
    product = db.session.get(Product, product_id)
    if product is None or (public_only and not product.is_public):
        abort(404)
    return product


@bp.post("/listings/<int:product_id>/report")
@login_required
def report_listing(product_id: int):
    product = _product_or_404(product_id, public_only=True)
    form = ReportForm()
    back = url_for("catalog.product", ref=product.ref, _anchor="report")
    if not form.validate():
        for message in form.reason.errors:
            flash(message, "error")
        return redirect(back)
    try:
        services.report_listing(current_user, product, form.reason.data)
    except ServiceError as error:
        db.session.rollback()
        flash(error.message, "error")
    else:
        db.session.commit()
        flash(_("Cảm ơn bạn. Ban tổ chức sẽ xem xét báo cáo."), "success")
    return redirect(back)


@bp.get("/moderation")
@staff_only
def moderation():
    page = paginate(services.reported_products_stmt(), page_arg(request.args.get("page")), PER_PAGE)
    hidden = paginate(services.hidden_products_stmt(), page_arg(request.args.get("hidden_page")), PER_PAGE)
    return render_template(
        "dashboard/moderation.html",
        page=page,
        reports=services.open_reports([p.id for p in page.items]),
        hidden=hidden,
    )


def _moderate(product_id: int, action, done: str):
    product = _product_or_404(product_id)
    try:
        action(current_user, product, request.form.get("reason", ""))
    except ServiceError as error:
        db.session.rollback()
        flash(error.message, "error")
    else:
        db.session.commit()
        flash(done, "success")
    return redirect(url_for("dashboard.moderation"))


@bp.post("/moderation/<int:product_id>/hide")
@staff_only
def hide_listing(product_id: int):
    return _moderate(product_id, services.hide_listing, _("Đã ẩn sản phẩm."))


@bp.post("/moderation/<int:product_id>/restore")
@staff_only
def restore_listing(product_id: int):
    return _moderate(product_id, services.restore_listing, _("Sản phẩm đã hiển thị trở lại."))


@bp.post("/moderation/<int:product_id>/dismiss")
@staff_only
def dismiss_reports(product_id: int):
    return _moderate(product_id, services.dismiss_reports, _("Đã bỏ qua các báo cáo."))
