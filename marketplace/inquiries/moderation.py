"""Abuse handling: parties report messages; organisers hide messages and RFQs and suspend users."""

from __future__ import annotations

import sqlalchemy as sa
from flask_babel import gettext as _

from marketplace.accounts.models import User, new_session_token
from marketplace.core.errors import NotAllowed, ServiceError
from marketplace.core.models import utcnow
from marketplace.core.pagination import Page, paginate
from marketplace.core.vn_text import clean_line
from marketplace.extensions import db
from marketplace.inquiries import messaging
from marketplace.inquiries.common import is_authenticated, site_path
from marketplace.inquiries.models import Message, Report, Rfq
from marketplace.inquiries.notifications import notify


def _require_staff(user) -> None:
    if not is_authenticated(user) or not user.is_staff:
        raise NotAllowed()


def _reason(text: str | None, field: str = "reason", required: bool = True) -> str:
    reason = clean_line(text)
    if required and len(reason) < 3:
        raise ServiceError(field, _("Vui lòng nêu lý do (ít nhất 3 ký tự)."))
    if len(reason) > 500:
        raise ServiceError(field, _("Lý do tối đa 500 ký tự."))
    return reason


def staff_users() -> list[User]:
    users = db.session.scalars(sa.select(User).where(User.suspended.is_(False)))
    return [u for u in users if u.is_staff]


def report_message(user: User, message: Message, reason: str) -> Report:
    """A party reports the other party's message; organisers are told."""
    if not messaging.is_party(user, message.thread):
        raise NotAllowed()
    if message.author_id == user.id:
        raise ServiceError(None, _("Bạn không thể báo cáo tin nhắn của chính mình."))
    text = _reason(reason)
    existing = db.session.scalar(
        sa.select(Report).where(Report.message_id == message.id, Report.reporter_id == user.id)
    )
    if existing is not None:
        raise ServiceError(None, _("Bạn đã báo cáo tin nhắn này; ban tổ chức sẽ xem xét."))
    report = Report(message_id=message.id, reporter_id=user.id, reason=text, status="open")
    db.session.add(report)
    db.session.flush()
    notify(
        staff_users(),
        "report",
        site_path("inquiries.reports"),
        lambda: _("Có tin nhắn bị báo cáo vi phạm: %(reason)s", reason=text),
    )
    return report


def open_reports_page(page: int, per_page: int = 30) -> Page:
    stmt = sa.select(Report).where(Report.status == "open").order_by(Report.created_at, Report.id)
    return paginate(stmt, page, per_page)


def hide_message(staff: User, message: Message, reason: str) -> Message:
    _require_staff(staff)
    text = _reason(reason)
    message.hidden = True
    message.hidden_reason = text
    now = utcnow()
    for report in db.session.scalars(sa.select(Report).where(Report.message_id == message.id, Report.status == "open")):
        report.status = "hidden"
        report.handled_by_id = staff.id
        report.handled_at = now
    from marketplace.dashboard.audit import log_action

    log_action(staff, "message.hide", "message", message.id, message.body[:120], text)
    db.session.flush()
    return message


def unhide_message(staff: User, message: Message) -> Message:
    _require_staff(staff)
    message.hidden = False
    message.hidden_reason = ""
    from marketplace.dashboard.audit import log_action

    log_action(staff, "message.unhide", "message", message.id, message.body[:120])
    db.session.flush()
    return message


def dismiss_report(staff: User, report: Report) -> Report:
    _require_staff(staff)
    if report.status != "open":
        raise ServiceError(None, _("Báo cáo này đã được xử lý."))
    report.status = "dismissed"
    report.handled_by_id = staff.id
    report.handled_at = utcnow()
    from marketplace.dashboard.audit import log_action

    log_action(staff, "message_report.dismiss", "message_report", report.id, report.message.body[:120])
    db.session.flush()
    return report


def hide_rfq(staff: User, rfq: Rfq, reason: str) -> Rfq:
    _require_staff(staff)
    text = _reason(reason)
    rfq.hidden = True
    rfq.hidden_reason = text
    from marketplace.dashboard.audit import log_action

    log_action(staff, "rfq.hide", "rfq", rfq.id, rfq.title, text)
    db.session.flush()
    notify(
        [rfq.buyer],
        "moderation",
        site_path("inquiries.rfq", rfq_id=rfq.id),
        lambda: _("Ban tổ chức đã ẩn yêu cầu báo giá “%(title)s”: %(reason)s", title=rfq.title, reason=text),
    )
    return rfq


def unhide_rfq(staff: User, rfq: Rfq) -> Rfq:
    _require_staff(staff)
    rfq.hidden = False
    rfq.hidden_reason = ""
    from marketplace.dashboard.audit import log_action

    log_action(staff, "rfq.unhide", "rfq", rfq.id, rfq.title)
    db.session.flush()
    return rfq


def suspend_user(staff: User, user: User, reason: str) -> User:
    """Lock the account (signed out everywhere) and hide the user's open RFQs."""
    _require_staff(staff)
    if user.id == staff.id:
        raise ServiceError(None, _("Bạn không thể tự khóa tài khoản của mình."))
    if user.has_role("admin") and not staff.has_role("admin"):
        raise NotAllowed()
    text = _reason(reason)
    user.suspended = True
    user.session_token = new_session_token()
    for rfq in db.session.scalars(sa.select(Rfq).where(Rfq.buyer_id == user.id, Rfq.status == "open")):
        rfq.hidden = True
        rfq.hidden_reason = text
    from marketplace.dashboard.audit import log_action

    log_action(staff, "user.suspend", "user", user.id, f"{user.name} · {user.email}", text)
    db.session.flush()
    return user


def unsuspend_user(staff: User, user: User) -> User:
    _require_staff(staff)
    user.suspended = False
    from marketplace.dashboard.audit import log_action

    log_action(staff, "user.unsuspend", "user", user.id, f"{user.name} · {user.email}")
    db.session.flush()
    return user
