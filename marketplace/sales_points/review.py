"""Organisers' review of sales points: the queue, one application with the Decision 950 checklist,
approve / reject with a reason / suspend / reinstate. Every decision is recorded."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from marketplace.core.auth import role_required
from marketplace.core.errors import ServiceError
from marketplace.core.form_errors import apply_error
from marketplace.core.pagination import page_arg
from marketplace.extensions import db
from marketplace.sales_points import approvals, registry, services
from marketplace.sales_points.forms import ChecklistForm, ReasonForm
from marketplace.sales_points.models import ALL_STATUSES, SalesPoint
from marketplace.sales_points.views import bp, kind_label, map_config

QUEUE_PER_PAGE = 30


@bp.get("/admin/sales-points")
@role_required("organiser", "admin")
def queue():
    status = request.args.get("status") or "pending"
    status = status if status in ALL_STATUSES else "pending"
    page = approvals.review_page(status, page_arg(request.args.get("page")), QUEUE_PER_PAGE)
    return render_template(
        "sales_points/queue.html",
        page=page,
        status=status,
        counts=approvals.status_counts(),
        product_counts=registry.product_counts([p.id for p in page.items]),
    )


def _point_or_404(point_id: int) -> SalesPoint:
    point = db.session.get(SalesPoint, point_id)
    if point is None:
        abort(404)
    return point


def _render_review(point: SalesPoint, checklist_form: ChecklistForm | None = None, reason_form=None):
    return render_template(
        "sales_points/review.html",
        point=point,
        facts=approvals.review_facts(point),
        rows=services.carried_rows(point),
        checklist=approvals.CHECKLIST,
        checklist_form=checklist_form or ChecklistForm(formdata=None),
        reason_form=reason_form or ReasonForm(formdata=None),
        map_config=map_config(),
        markers=[registry.marker(point, "", kind_label)] if point.lat is not None and point.lng is not None else [],
    )


@bp.get("/admin/sales-points/<int:point_id>")
@role_required("organiser", "admin")
def review_point(point_id: int):
    return _render_review(_point_or_404(point_id))


@bp.post("/admin/sales-points/<int:point_id>/<any(approve, reject):decision>")
@role_required("organiser", "admin")
def decide(point_id: int, decision: str):
    point = _point_or_404(point_id)
    form = ChecklistForm()
    if form.validate_on_submit():
        try:
            if decision == "approve":
                approvals.approve(current_user, point, form.answers(), form.reason.data or "")
            else:
                approvals.reject(current_user, point, form.reason.data or "", form.answers())
        except ServiceError as error:
            db.session.rollback()
            apply_error(form, error)
        else:
            db.session.commit()
            if decision == "approve":
                flash(_("Đã duyệt điểm bán “%(name)s”; điểm bán đã hiển thị công khai.", name=point.name), "success")
            else:
                flash(_("Đã từ chối hồ sơ “%(name)s” và báo cho người đăng ký.", name=point.name), "success")
            return redirect(url_for("sales_points.queue"))
    return _render_review(point, checklist_form=form)


@bp.post("/admin/sales-points/<int:point_id>/<any(suspend, reinstate):decision>")
@role_required("organiser", "admin")
def change_status(point_id: int, decision: str):
    point = _point_or_404(point_id)
    form = ReasonForm()
    if form.validate_on_submit():
        try:
            if decision == "suspend":
                approvals.suspend(current_user, point, form.reason.data or "")
            else:
                approvals.reinstate(current_user, point, form.reason.data or "")
        except ServiceError as error:
            db.session.rollback()
            apply_error(form, error)
        else:
            db.session.commit()
            if decision == "suspend":
                flash(_("Đã tạm ngừng hiển thị “%(name)s”.", name=point.name), "success")
            else:
                flash(_("“%(name)s” đã hiển thị trở lại.", name=point.name), "success")
            return redirect(url_for("sales_points.review_point", point_id=point.id))
    return _render_review(point, reason_form=form)
