"""The organisers' moderation queue, split from dashboard/services.py: reported listings
(ListingReport), reported messages (the inquiries feature's Report) and their authors, with the
hide / restore / dismiss / suspend actions. Every action needs a reason, recorded in the audit log.
Messages, RFQs and users are changed through marketplace.inquiries.moderation (its services log the
action); listings through the catalog's hide_product / unhide_product."""

from __future__ import annotations

import sqlalchemy as sa
from flask_babel import gettext as _

from marketplace.accounts.models import User
from marketplace.catalog.models import Product
from marketplace.core.errors import NotAllowed, ServiceError
from marketplace.core.models import utcnow
from marketplace.core.vn_text import clean_line
from marketplace.dashboard.audit import audit_reason, log_action
from marketplace.dashboard.models import ListingReport
from marketplace.dashboard.services import require_staff
from marketplace.extensions import db


def _moderation_reason(text: str | None, required: bool = True) -> str:
    reason = clean_line(text or "")
    if required and len(reason) < 3:
        raise ServiceError("reason", _("Vui lòng nêu lý do (ít nhất 3 ký tự)."))
    if len(reason) > 500:
        raise ServiceError("reason", _("Lý do tối đa 500 ký tự."))
    return reason


def report_listing(user: User, product: Product, reason: str) -> ListingReport:
    """A logged-in user reports a public listing; one open report per user and listing."""
    if user is None or not getattr(user, "is_authenticated", False):
        raise NotAllowed()
    reason = _moderation_reason(reason)
    already = db.session.scalar(
        sa.select(ListingReport.id).where(
            ListingReport.product_id == product.id,
            ListingReport.reporter_id == user.id,
            ListingReport.status == "open",
        )
    )
    if already:
        raise ServiceError("reason", _("Bạn đã báo cáo sản phẩm này; ban tổ chức đang xem xét."))
    report = ListingReport(product_id=product.id, reporter_id=user.id, reason=reason)
    db.session.add(report)
    db.session.flush()
    return report


def reported_products_stmt() -> sa.Select:
    """Products with open reports, the most reported first."""
    counts = (
        sa.select(ListingReport.product_id, sa.func.count(ListingReport.id).label("n"))
        .where(ListingReport.status == "open")
        .group_by(ListingReport.product_id)
        .subquery()
    )
    return sa.select(Product).join(counts, counts.c.product_id == Product.id).order_by(counts.c.n.desc(), Product.id)


def open_reports(product_ids: list[int]) -> dict[int, list[ListingReport]]:
    grouped: dict[int, list[ListingReport]] = {pid: [] for pid in product_ids}
    if product_ids:
        stmt = (
            sa.select(ListingReport)
            .where(ListingReport.status == "open", ListingReport.product_id.in_(product_ids))
            .order_by(ListingReport.created_at, ListingReport.id)
        )
        for report in db.session.scalars(stmt):
            grouped[report.product_id].append(report)
    return grouped


def hidden_products_stmt() -> sa.Select:
    return sa.select(Product).where(Product.hidden.is_(True)).order_by(Product.updated_at.desc(), Product.id)


def _close_reports(staff: User, product: Product, status: str) -> None:
    now = utcnow()
    for report in db.session.scalars(
        sa.select(ListingReport).where(ListingReport.product_id == product.id, ListingReport.status == "open")
    ):
        report.status, report.handled_by_id, report.handled_at = status, staff.id, now


def hide_listing(staff: User, product: Product, reason: str) -> None:
    """Hide a listing (catalog.hide_product logs `product.hide`) and close its open reports."""
    from marketplace.catalog.services import hide_product

    require_staff(staff)
    if product.hidden:
        raise ServiceError(None, _("Sản phẩm này đã bị ẩn."))
    reason = _moderation_reason(reason)
    hide_product(staff, product, reason)
    _close_reports(staff, product, "hidden")
    db.session.flush()


def restore_listing(staff: User, product: Product, reason: str) -> None:
    """Show a hidden listing again (catalog.unhide_product logs `product.unhide` with the reason)."""
    from marketplace.catalog.services import unhide_product

    require_staff(staff)
    if not product.hidden:
        raise ServiceError(None, _("Sản phẩm này đang hiển thị."))
    reason = _moderation_reason(reason)
    with audit_reason(reason):
        unhide_product(staff, product)
    db.session.flush()


def dismiss_reports(staff: User, product: Product, reason: str) -> None:
    require_staff(staff)
    reason = _moderation_reason(reason)
    if not db.session.scalar(
        sa.select(ListingReport.id).where(ListingReport.product_id == product.id, ListingReport.status == "open")
    ):
        raise ServiceError(None, _("Sản phẩm này không còn báo cáo nào đang chờ."))
    _close_reports(staff, product, "dismissed")
    log_action(staff, "listing.dismiss", "product", product.id, product.name, reason)
    db.session.flush()


# Reported messages and their authors (the inquiries feature's reports).


def message_reports_stmt() -> sa.Select:
    """Open reports of messages, oldest first (the same queue as the inquiries reports page)."""
    from marketplace.inquiries.models import Report

    return sa.select(Report).where(Report.status == "open").order_by(Report.created_at, Report.id)


def hidden_messages_stmt() -> sa.Select:
    from marketplace.inquiries.models import Message

    return sa.select(Message).where(Message.hidden.is_(True)).order_by(Message.id.desc())


def hidden_rfqs_stmt() -> sa.Select:
    from marketplace.inquiries.models import Rfq

    return sa.select(Rfq).where(Rfq.hidden.is_(True)).order_by(Rfq.id.desc())


def suspended_users_stmt() -> sa.Select:
    return sa.select(User).where(User.suspended.is_(True)).order_by(User.name, User.id)


def hide_message(staff: User, message, reason: str) -> None:
    """Hide a reported message; its open reports are closed (inquiries logs `message.hide`)."""
    from marketplace.inquiries import moderation

    require_staff(staff)
    moderation.hide_message(staff, message, _moderation_reason(reason))


def restore_message(staff: User, message, reason: str) -> None:
    from marketplace.inquiries import moderation

    require_staff(staff)
    if not message.hidden:
        raise ServiceError(None, _("Tin nhắn này đang hiển thị."))
    with audit_reason(_moderation_reason(reason)):
        moderation.unhide_message(staff, message)


def dismiss_message_report(staff: User, report, reason: str) -> None:
    from marketplace.inquiries import moderation

    require_staff(staff)
    with audit_reason(_moderation_reason(reason)):
        moderation.dismiss_report(staff, report)


def restore_rfq(staff: User, rfq, reason: str) -> None:
    from marketplace.inquiries import moderation

    require_staff(staff)
    if not rfq.hidden:
        raise ServiceError(None, _("Yêu cầu báo giá này đang hiển thị."))
    with audit_reason(_moderation_reason(reason)):
        moderation.unhide_rfq(staff, rfq)


def suspend_user(staff: User, user: User, reason: str) -> None:
    """Lock an account (signed out everywhere, open RFQs hidden); inquiries logs `user.suspend`."""
    from marketplace.inquiries import moderation

    require_staff(staff)
    if user.suspended:
        raise ServiceError(None, _("Tài khoản này đã bị tạm khóa."))
    moderation.suspend_user(staff, user, _moderation_reason(reason))


def unsuspend_user(staff: User, user: User, reason: str) -> None:
    from marketplace.inquiries import moderation

    require_staff(staff)
    if not user.suspended:
        raise ServiceError(None, _("Tài khoản này không bị khóa."))
    if user.has_role("admin") and not staff.has_role("admin"):
        raise NotAllowed()
    with audit_reason(_moderation_reason(reason)):
        moderation.unsuspend_user(staff, user)


def moderation_counts() -> dict[str, int]:
    """How many items wait in each part of the queue (the dashboard's overview)."""

    def count(stmt: sa.Select) -> int:
        return db.session.scalar(sa.select(sa.func.count()).select_from(stmt.order_by(None).subquery())) or 0

    return {
        "listings": count(reported_products_stmt()),
        "messages": count(message_reports_stmt()),
        "hidden_products": count(hidden_products_stmt()),
        "hidden_messages": count(hidden_messages_stmt()),
        "hidden_rfqs": count(hidden_rfqs_stmt()),
        "suspended": count(suspended_users_stmt()),
    }
