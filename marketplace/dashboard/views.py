"""Organisers' dashboard pages: /dashboard/... (organisers and admins only)."""

from __future__ import annotations

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from marketplace.accounts.models import User
from marketplace.catalog.models import Certificate, Product
from marketplace.core.auth import login_required, role_required
from marketplace.core.errors import NotAllowed, ServiceError
from marketplace.core.pagination import page_arg, paginate
from marketplace.dashboard import moderation as moderation_queue
from marketplace.dashboard import services
from marketplace.dashboard import stats as ocop_stats
from marketplace.dashboard.audit import AUDIT_ACTIONS, LEGACY_ACTIONS, action_label
from marketplace.dashboard.forms import ModerationForm, RejectForm, ReportForm, TargetForm
from marketplace.extensions import db

bp = Blueprint("dashboard", __name__, url_prefix="/dashboard")
staff_only = role_required("organiser", "admin")
PER_PAGE = 20


def _scheme() -> str:
    scheme = request.args.get("scheme", "2023")
    return scheme if scheme in ocop_stats.SCHEMES else "2023"


@bp.get("/")
@staff_only
def index():
    return render_template(
        "dashboard/index.html",
        pending=services.pending_count(),
        expiring=services.expiring_count(),
        total=ocop_stats.product_total(),
        progress=ocop_stats.target_progress(),
        moderation=moderation_queue.moderation_counts(),
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
    if action not in AUDIT_ACTIONS and action not in LEGACY_ACTIONS:
        action = None
    actor_id = page_arg(request.args.get("actor"), default=0) or None
    page = paginate(services.audit_stmt(action, actor_id), page_arg(request.args.get("page")), PER_PAGE)
    return render_template(
        "dashboard/audit.html",
        page=page,
        actions=AUDIT_ACTIONS,
        action=action,
        action_label=action_label,
        actors=services.audit_actors(),
        actor_id=actor_id,
    )


def _render_stats(form: TargetForm, status: int = 200):
    scheme = _scheme()
    return (
        render_template(
            "dashboard/stats.html",
            scheme=scheme,
            tables=ocop_stats.all_tables(scheme),
            total=ocop_stats.product_total(),
            expiring=services.expiring_count(),
            progress=ocop_stats.target_progress(),
            form=form,
        ),
        status,
    )


@bp.get("/stats")
@staff_only
def stats():
    target = ocop_stats.get_target()
    return _render_stats(TargetForm(min_stars=target.min_stars, goal=target.goal))


@bp.post("/stats/target")
@staff_only
def set_target():
    form = TargetForm()
    if not form.validate():
        return _render_stats(form, 400)
    try:
        ocop_stats.set_target(current_user, form.min_stars.data, form.goal.data)
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
    table = ocop_stats.find_table(key, scheme)
    if table is None or fmt not in ("csv", "xlsx"):
        abort(404)
    name = f"ocop-{key}-{scheme}" if key == "groups" else f"ocop-{key}"
    if fmt == "csv":
        return Response(
            ocop_stats.table_csv(table),
            mimetype="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
        )
    return Response(
        ocop_stats.table_xlsx(table),
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
        moderation_queue.report_listing(current_user, product, form.reason.data)
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
    args = request.args

    def page_of(stmt, name: str):
        return paginate(stmt, page_arg(args.get(name)), PER_PAGE)

    listings = page_of(moderation_queue.reported_products_stmt(), "page")
    return render_template(
        "dashboard/moderation.html",
        page=listings,
        reports=moderation_queue.open_reports([p.id for p in listings.items]),
        message_reports=page_of(moderation_queue.message_reports_stmt(), "messages_page"),
        hidden=page_of(moderation_queue.hidden_products_stmt(), "hidden_page"),
        hidden_messages=page_of(moderation_queue.hidden_messages_stmt(), "hidden_messages_page"),
        hidden_rfqs=page_of(moderation_queue.hidden_rfqs_stmt(), "rfqs_page"),
        suspended=page_of(moderation_queue.suspended_users_stmt(), "users_page"),
        counts=moderation_queue.moderation_counts(),
        link_of=_thread_link,
    )


def _thread_link(thread) -> str:
    from marketplace.inquiries.messaging import link_of

    return link_of(thread)


def _moderate(model, object_id: int, action, done: str, anchor: str):
    target = db.session.get(model, object_id)
    if target is None:
        abort(404)
    form = ModerationForm()
    if not form.validate():
        for message in form.reason.errors:
            flash(message, "error")
        return redirect(url_for("dashboard.moderation", _anchor=anchor))
    try:
        action(current_user, target, form.reason.data)
    except NotAllowed:
        db.session.rollback()
        abort(403)
    except ServiceError as error:
        db.session.rollback()
        flash(error.message, "error")
    else:
        db.session.commit()
        flash(done, "success")
    return redirect(url_for("dashboard.moderation", _anchor=anchor))


@bp.post("/moderation/<int:product_id>/hide")
@staff_only
def hide_listing(product_id: int):
    return _moderate(Product, product_id, moderation_queue.hide_listing, _("Đã ẩn sản phẩm."), "listings")


@bp.post("/moderation/<int:product_id>/restore")
@staff_only
def restore_listing(product_id: int):
    return _moderate(
        Product, product_id, moderation_queue.restore_listing, _("Sản phẩm đã hiển thị trở lại."), "hidden-products"
    )


@bp.post("/moderation/<int:product_id>/dismiss")
@staff_only
def dismiss_reports(product_id: int):
    return _moderate(Product, product_id, moderation_queue.dismiss_reports, _("Đã bỏ qua các báo cáo."), "listings")


@bp.post("/moderation/messages/<int:message_id>/hide")
@staff_only
def hide_message(message_id: int):
    from marketplace.inquiries.models import Message

    return _moderate(Message, message_id, moderation_queue.hide_message, _("Đã ẩn tin nhắn."), "messages")


@bp.post("/moderation/messages/<int:message_id>/restore")
@staff_only
def restore_message(message_id: int):
    from marketplace.inquiries.models import Message

    return _moderate(
        Message, message_id, moderation_queue.restore_message, _("Đã hiện lại tin nhắn."), "hidden-messages"
    )


@bp.post("/moderation/message-reports/<int:report_id>/dismiss")
@staff_only
def dismiss_message_report(report_id: int):
    from marketplace.inquiries.models import Report

    return _moderate(Report, report_id, moderation_queue.dismiss_message_report, _("Đã bỏ qua báo cáo."), "messages")


@bp.post("/moderation/rfqs/<int:rfq_id>/restore")
@staff_only
def restore_rfq(rfq_id: int):
    from marketplace.inquiries.models import Rfq

    return _moderate(Rfq, rfq_id, moderation_queue.restore_rfq, _("Đã hiện lại yêu cầu báo giá."), "hidden-rfqs")


@bp.post("/moderation/users/<int:user_id>/suspend")
@staff_only
def suspend_user(user_id: int):
    return _moderate(User, user_id, moderation_queue.suspend_user, _("Đã tạm khóa tài khoản."), "messages")


@bp.post("/moderation/users/<int:user_id>/unsuspend")
@staff_only
def unsuspend_user(user_id: int):
    return _moderate(User, user_id, moderation_queue.unsuspend_user, _("Đã mở khóa tài khoản."), "suspended")
