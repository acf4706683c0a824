"""Organisers: reported messages, hiding messages and RFQs, suspending users."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from marketplace.accounts.models import User
from marketplace.core.auth import role_required
from marketplace.core.errors import ServiceError
from marketplace.core.form_errors import apply_error
from marketplace.core.pagination import page_arg
from marketplace.core.urls import safe_next
from marketplace.extensions import db
from marketplace.inquiries import messaging, moderation
from marketplace.inquiries.forms import EmptyForm, ReasonForm
from marketplace.inquiries.models import Message, Report, Rfq
from marketplace.inquiries.views import bp, get_or_404

STAFF = ("organiser", "admin")


def _back(default: str) -> str:
    return safe_next(request.form.get("next"), default=default)


def _with_reason(action, target, success: str, default_back: str):
    form = ReasonForm()
    if not form.validate():
        flash(_("Vui lòng nêu lý do."), "error")
        return redirect(_back(default_back))
    try:
        action(current_user, target, form.reason.data)
    except ServiceError as error:
        db.session.rollback()
        apply_error(None, error)
    else:
        db.session.commit()
        flash(success, "success")
    return redirect(_back(default_back))


@bp.get("/moderation/reports")
@role_required(*STAFF)
def reports():
    page = moderation.open_reports_page(page_arg(request.args.get("page")))
    return render_template(
        "inquiries/reports.html",
        page=page,
        reason_form=ReasonForm(),
        action_form=EmptyForm(),
        link_of=messaging.link_of,
    )


@bp.post("/moderation/reports/<int:report_id>/dismiss")
@role_required(*STAFF)
def dismiss_report(report_id: int):
    report = get_or_404(Report, report_id)
    try:
        moderation.dismiss_report(current_user, report)
    except ServiceError as error:
        apply_error(None, error)
    else:
        db.session.commit()
        flash(_("Đã bỏ qua báo cáo."), "success")
    return redirect(url_for("inquiries.reports"))


@bp.post("/moderation/messages/<int:message_id>/hide")
@role_required(*STAFF)
def hide_message(message_id: int):
    message = get_or_404(Message, message_id)
    return _with_reason(moderation.hide_message, message, _("Đã ẩn tin nhắn."), url_for("inquiries.reports"))


@bp.post("/moderation/messages/<int:message_id>/unhide")
@role_required(*STAFF)
def unhide_message(message_id: int):
    message = get_or_404(Message, message_id)
    moderation.unhide_message(current_user, message)
    db.session.commit()
    flash(_("Đã hiện lại tin nhắn."), "success")
    return redirect(_back(url_for("inquiries.reports")))


@bp.post("/moderation/rfqs/<int:rfq_id>/hide")
@role_required(*STAFF)
def hide_rfq(rfq_id: int):
    rfq = get_or_404(Rfq, rfq_id)
    return _with_reason(moderation.hide_rfq, rfq, _("Đã ẩn yêu cầu báo giá."), url_for("inquiries.rfq", rfq_id=rfq.id))


@bp.post("/moderation/rfqs/<int:rfq_id>/unhide")
@role_required(*STAFF)
def unhide_rfq(rfq_id: int):
    rfq = get_or_404(Rfq, rfq_id)
    moderation.unhide_rfq(current_user, rfq)
    db.session.commit()
    flash(_("Đã hiện lại yêu cầu báo giá."), "success")
    return redirect(url_for("inquiries.rfq", rfq_id=rfq.id))


@bp.post("/moderation/users/<int:user_id>/suspend")
@role_required(*STAFF)
def suspend_user(user_id: int):
    user = get_or_404(User, user_id)
    if user.suspended:
        flash(_("Tài khoản này đã bị tạm khóa."), "info")
        return redirect(_back(url_for("inquiries.reports")))
    return _with_reason(
        moderation.suspend_user,
        user,
        _("Đã tạm khóa tài khoản %(email)s.", email=user.email),
        url_for("inquiries.reports"),
    )
