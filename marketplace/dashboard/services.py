"""Organisers' dashboard rules: certificate review, expiry reminders and the audit log queries. The
OCOP statistics are in dashboard/stats.py and the moderation queue in dashboard/moderation.py; both
check the caller with `require_staff` from here."""

from __future__ import annotations

from datetime import date, timedelta

import sqlalchemy as sa
from flask_babel import gettext as _

from marketplace.accounts.models import User
from marketplace.catalog.models import Certificate, Product
from marketplace.catalog.stars import valid_certificate_clause
from marketplace.core.dates import today
from marketplace.core.errors import NotAllowed, ServiceError
from marketplace.core.models import utcnow
from marketplace.core.vn_text import nfc
from marketplace.dashboard.audit import log_action
from marketplace.dashboard.models import AuditLog, CertificateReminder
from marketplace.extensions import db
from marketplace.mail.services import queue_mail

REMINDER_DAYS = (90, 30)
EXPIRING_DAYS = 90


def require_staff(user) -> None:
    """Raise NotAllowed unless `user` is a signed-in organiser or admin."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.has_role("organiser", "admin"):
        raise NotAllowed()


# --------------------------------------------------------------------------- audit log


def audit_stmt(action: str | None = None, actor_id: int | None = None, object_type: str | None = None) -> sa.Select:
    stmt = sa.select(AuditLog).order_by(AuditLog.created_at.desc(), AuditLog.id.desc())
    if action:
        stmt = stmt.where(AuditLog.action == action)
    if actor_id:
        stmt = stmt.where(AuditLog.actor_id == actor_id)
    if object_type:
        stmt = stmt.where(AuditLog.object_type == object_type)
    return stmt


def audit_actors() -> list[User]:
    ids = sa.select(AuditLog.actor_id).where(AuditLog.actor_id.is_not(None)).distinct()
    return list(db.session.scalars(sa.select(User).where(User.id.in_(ids)).order_by(User.name)))


# --------------------------------------------------------------------------- certificate review


def review_queue_stmt() -> sa.Select:
    """Unverified certificates with stars that no organiser has rejected yet, oldest first."""
    return (
        sa.select(Certificate)
        .join(Product, Product.id == Certificate.product_id)
        .where(Certificate.verified.is_(False), Certificate.stars > 0, Certificate.rejected_reason == "")
        .order_by(Certificate.id)
    )


def pending_count() -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(review_queue_stmt().subquery())) or 0


def _notify_managers(product: Product, subject: str, body: str) -> int:
    sent = 0
    for manager in product.producer.managers:
        if manager.email:
            queue_mail(manager.email, subject, body)
            sent += 1
    return sent


def verify_certificate(staff: User, cert: Certificate) -> None:
    require_staff(staff)
    if cert.verified:
        raise ServiceError(None, _("Chứng nhận này đã được xác minh."))
    if not cert.stars or cert.stars <= 0:
        raise ServiceError(None, _("Chứng nhận không có số sao nên không thể xác minh."))
    now = utcnow()
    cert.verified = True
    cert.verified_at = now
    cert.rejected_reason = ""
    cert.reviewed_by_id = staff.id
    cert.reviewed_at = now
    product = cert.product
    log_action(staff, "certificate.verify", "certificate", cert.id, f"{product.name} · {cert.number}")
    _notify_managers(
        product,
        _("Chứng nhận OCOP của sản phẩm %(name)s đã được xác minh", name=product.name),
        _(
            "Chứng nhận OCOP số %(number)s (%(stars)s sao) của sản phẩm %(name)s đã được ban tổ chức xác minh. "
            "Số sao nay hiển thị công khai trên trang sản phẩm.",
            number=cert.number or "—",
            stars=cert.stars,
            name=product.name,
        ),
    )
    db.session.flush()


def reject_certificate(staff: User, cert: Certificate, reason: str) -> None:
    require_staff(staff)
    reason = nfc(reason or "").strip()
    if not reason:
        raise ServiceError("reason", _("Vui lòng nêu lý do từ chối."))
    if len(reason) > 2000:
        raise ServiceError("reason", _("Lý do tối đa 2.000 ký tự."))
    if cert.verified:
        raise ServiceError(None, _("Chứng nhận này đã được xác minh."))
    cert.verified = False
    cert.verified_at = None
    cert.rejected_reason = reason
    cert.reviewed_by_id = staff.id
    cert.reviewed_at = utcnow()
    product = cert.product
    log_action(staff, "certificate.reject", "certificate", cert.id, f"{product.name} · {cert.number}", reason)
    _notify_managers(
        product,
        _("Chứng nhận OCOP của sản phẩm %(name)s chưa được chấp nhận", name=product.name),
        _(
            "Ban tổ chức chưa thể xác minh chứng nhận OCOP số %(number)s của sản phẩm %(name)s.\n\n"
            "Lý do: %(reason)s\n\nVui lòng kiểm tra và cập nhật lại thông tin chứng nhận.",
            number=cert.number or "—",
            name=product.name,
            reason=reason,
        ),
    )
    db.session.flush()


def expiring_stmt(days: int = EXPIRING_DAYS, on: date | None = None) -> sa.Select:
    """Verified certificates still valid today that expire within `days` days, soonest first."""
    on = on or today()
    return (
        sa.select(Certificate)
        .join(Product, Product.id == Certificate.product_id)
        .where(
            valid_certificate_clause(on),
            Certificate.expires_on.is_not(None),
            Certificate.expires_on <= on + timedelta(days=days),
        )
        .order_by(Certificate.expires_on, Certificate.id)
    )


def send_expiry_reminders(on: date | None = None) -> int:
    """Mail managers of products whose verified certificate expires within 90 or 30 days.
    Each (certificate, expiry date, threshold) is reminded once; returns reminders sent."""
    on = on or today()
    sent = 0
    for cert in db.session.scalars(expiring_stmt(max(REMINDER_DAYS), on)).all():
        left = (cert.expires_on - on).days
        days = min(d for d in REMINDER_DAYS if left <= d)  # the tightest threshold reached
        done = db.session.scalar(
            sa.select(CertificateReminder.id).where(
                CertificateReminder.certificate_id == cert.id,
                CertificateReminder.expires_on == cert.expires_on,
                CertificateReminder.days == days,
            )
        )
        if done:
            continue
        product = cert.product
        _notify_managers(
            product,
            _("Chứng nhận OCOP của %(name)s sắp hết hạn", name=product.name),
            _(
                "Chứng nhận OCOP số %(number)s của sản phẩm %(name)s hết hạn ngày %(date)s (còn %(left)s ngày). "
                "Vui lòng chuẩn bị hồ sơ đánh giá lại để sản phẩm tiếp tục hiển thị số sao.",
                number=cert.number or "—",
                name=product.name,
                date=cert.expires_on.strftime("%d/%m/%Y"),
                left=left,
            ),
        )
        db.session.add(CertificateReminder(certificate_id=cert.id, expires_on=cert.expires_on, days=days))
        db.session.flush()
        sent += 1
    return sent


def expiring_count(days: int = EXPIRING_DAYS, on: date | None = None) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(expiring_stmt(days, on).subquery())) or 0
